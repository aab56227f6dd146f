import { stringifyYaml } from "./yaml";

/** What a node's guest learns at first boot through VMware's guestinfo cloud-init datasource. */
export interface CloudInitArgs {
    readonly hostname: string;
    readonly address: string;
    readonly prefixLength: number;
    readonly gateway: string;
    readonly dnsServers: readonly string[];
    readonly searchDomains: readonly string[];
    /**
     * The NIC's static MAC address (the VM's network interface sets it): netplan and cloud-init
     * find the NIC by it, whatever the kernel called it on first boot.
     */
    readonly macAddress: string;
    /** The name cloud-init gives that NIC in the guest, so keepalived can rely on it. */
    readonly interfaceName: string;
    readonly adminUser: string;
    readonly sshPublicKey: string;
    /**
     * The API's DNS name and VIP, written to /etc/hosts: kubeadm init and join dial the
     * controlPlaneEndpoint by name, and the nodes must not depend on the LAN's DNS for it.
     */
    readonly apiHost?: { readonly name: string; readonly address: string };
}

/**
 * cloud-init's /etc/hosts template for Ubuntu (hosts.debian.tmpl), plus the API name. cloud-init
 * renders /etc/hosts from it at every boot (manage_etc_hosts), so an entry added to /etc/hosts
 * itself would be lost; write_files runs before that module, so the template is in place first.
 */
function hostsTemplate(apiHost: { name: string; address: string }): string {
    return [
        "## template:jinja",
        "{# Written by k8s-vsphere-lab: cloud-init's default for Debian/Ubuntu plus the Kubernetes API name. #}",
        "127.0.1.1 {{fqdn}} {{hostname}}",
        "127.0.0.1 localhost",
        `${apiHost.address} ${apiHost.name}`,
        "",
        "# The following lines are desirable for IPv6 capable hosts",
        "::1 localhost ip6-localhost ip6-loopback",
        "ff02::1 ip6-allnodes",
        "ff02::2 ip6-allrouters",
        "",
    ].join("\n");
}

/**
 * `guestinfo.metadata`: instance id, hostname and a netplan v2 network config with the static
 * address. The instance id is the hostname, so a re-cloned VM runs cloud-init again.
 */
export function renderCloudInitMetadata(args: CloudInitArgs): string {
    return stringifyYaml({
        "instance-id": args.hostname,
        "local-hostname": args.hostname,
        network: {
            version: 2,
            ethernets: {
                [args.interfaceName]: {
                    // Matched by MAC: a vmxnet3 NIC's kernel name follows its PCI slot (ens160, ens192,
                    // ...), which the VM's hardware version decides. cloud-init renames a NIC only
                    // when its entry matches a macaddress and has a set-name (cloudinit/net
                    // extract_physdevs), and networkd's .network then matches the new name and MAC.
                    match: { macaddress: args.macAddress },
                    "set-name": args.interfaceName,
                    dhcp4: false,
                    addresses: [`${args.address}/${args.prefixLength}`],
                    routes: [{ to: "default", via: args.gateway }],
                    nameservers: { addresses: [...args.dnsServers], search: [...args.searchDomains] },
                },
            },
        },
    });
}

/** `guestinfo.userdata`: the admin user with the SSH key and passwordless sudo, key-only SSH. */
export function renderCloudInitUserdata(args: CloudInitArgs): string {
    const config = {
        hostname: args.hostname,
        manage_etc_hosts: true,
        ssh_pwauth: false,
        disable_root: true,
        users: [
            {
                name: args.adminUser,
                gecos: "k8s-vsphere-lab admin",
                shell: "/bin/bash",
                groups: ["sudo"],
                sudo: "ALL=(ALL) NOPASSWD:ALL",
                lock_passwd: true,
                ssh_authorized_keys: [args.sshPublicKey],
            },
        ],
        // Swap is turned off by node-prepare.sh; a template without swap just makes that a no-op.
        package_update: false,
        ...(args.apiHost
            ? { write_files: [{ path: "/etc/cloud/templates/hosts.debian.tmpl", permissions: "0644", content: hostsTemplate(args.apiHost) }] }
            : {}),
    };
    return `#cloud-config\n${stringifyYaml(config)}`;
}

/** The VM's extraConfig entries that hand metadata and userdata to cloud-init (base64, as VMware expects). */
export function cloudInitExtraConfig(args: CloudInitArgs): Record<string, string> {
    const base64 = (text: string) => Buffer.from(text, "utf8").toString("base64");
    return {
        "guestinfo.metadata": base64(renderCloudInitMetadata(args)),
        "guestinfo.metadata.encoding": "base64",
        "guestinfo.userdata": base64(renderCloudInitUserdata(args)),
        "guestinfo.userdata.encoding": "base64",
    };
}
