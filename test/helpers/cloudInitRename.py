"""What cloud-init's own renaming code does with a network config on a given NIC.

Reads {"network": <netplan v2 config>, "nic": {"name": ..., "mac": ...}} as JSON on stdin and
prints, one per line, the `ip link set ...` commands cloud-init would run at first boot
(cloudinit.net.extract_physdevs + _rename_interfaces, the code behind apply_network_config_names),
with the commands recorded instead of run. Used by test/render/cloudInit.test.ts.
"""
import json
import sys

from cloudinit import net, subp

request = json.load(sys.stdin)
commands = []
subp.subp = lambda args, **kwargs: (commands.append(" ".join(args)), ("", ""))[1]
# extract_physdevs looks up each entry's driver in /sys; this machine has no such NIC.
net.device_driver = lambda name: None
net.device_devid = lambda name: None

renames = net.extract_physdevs(request["network"])
nic = request["nic"]
current = {nic["name"]: {"mac": nic["mac"], "driver": None, "device_id": None, "up": False, "downable": True}}
net._rename_interfaces(renames, current_info=current)
print("\n".join(commands))
