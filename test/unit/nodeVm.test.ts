import assert from "node:assert/strict";
import { before, test } from "node:test";
import * as YAML from "yaml";
import { templateProblems } from "../../components/nodeVm";
import { GetVirtualMachineResult } from "../../providers/vsphere";
import { evaluateProgram } from "../helpers/program";
import { MockRecorder, mockTemplate, secretValues } from "../helpers/pulumiMocks";
import { labConfigWith } from "../helpers/stackConfig";

const vmType = "vsphere:index/virtualMachine:VirtualMachine";
let recorder: MockRecorder;

before(async () => {
    ({ recorder } = await evaluateProgram(labConfigWith()));
});

const vms = () => recorder.ofType(vmType);
const vm = (node: string) => recorder.named(`${node}-vm`, vmType);
const decode = (base64: string) => Buffer.from(base64, "base64").toString("utf8");

test("the lab config yields the seed's 6 VMs with their names, sizes and addresses", () => {
    const seen = vms().map((r) => [r.inputs.name, r.inputs.numCpus, r.inputs.memory]);
    assert.deepEqual(seen, [
        ["k8s-control01", 2, 2048],
        ["k8s-control02", 2, 2048],
        ["k8s-control03", 2, 2048],
        ["k8s-worker01", 2, 4096],
        ["k8s-worker02", 2, 4096],
        ["k8s-worker03", 2, 4096],
    ]);
    const addresses = vms().map((r) => YAML.parse(decode(r.inputs.extraConfig["guestinfo.metadata"])).network.ethernets.lan0.addresses);
    assert.deepEqual(addresses, [
        ["192.168.1.200/24"],
        ["192.168.1.201/24"],
        ["192.168.1.202/24"],
        ["192.168.1.210/24"],
        ["192.168.1.211/24"],
        ["192.168.1.212/24"],
    ]);
});

test("workers reserve all guest memory; control planes reserve none", () => {
    for (const worker of ["k8s-worker01", "k8s-worker02", "k8s-worker03"]) {
        assert.equal(vm(worker).inputs.memoryReservation, vm(worker).inputs.memory);
        assert.equal(vm(worker).inputs.memoryReservationLockedToMax, true);
    }
    for (const controlPlane of ["k8s-control01", "k8s-control02", "k8s-control03"]) {
        assert.equal(vm(controlPlane).inputs.memoryReservation, 0);
        assert.equal(vm(controlPlane).inputs.memoryReservationLockedToMax, false);
    }
});

test("control planes reserve their memory when reserveControlPlaneMemory is on", async () => {
    const { recorder: reserved } = await evaluateProgram(labConfigWith({ reserveControlPlaneMemory: true }));
    const controlPlane = reserved.named("k8s-control01-vm", vmType);
    assert.equal(controlPlane.inputs.memoryReservation, 2048);
    assert.equal(controlPlane.inputs.memoryReservationLockedToMax, true);
    ({ recorder } = await evaluateProgram(labConfigWith()));
});

test("each VM is cloned from the template found by name, never smaller than its disk", () => {
    const templateLookup = recorder.invokes.find((i) => i.token === "vsphere:index/getVirtualMachine:getVirtualMachine");
    assert.equal(templateLookup?.inputs.name, "ubuntu-24.04-cloudimg");
    for (const r of vms()) {
        assert.equal(r.inputs.clone.templateUuid, "4216b7b1-0000-4000-8000-000000000001");
        assert.equal(r.inputs.disks[0].size, 50);
        assert.equal(r.inputs.disks[0].label, "disk0");
        assert.equal(r.inputs.folder, "k8s-lab");
        assert.equal(r.inputs.resourcePoolId, "resgroup-Lab");
        assert.equal(r.inputs.guestId, "ubuntu64Guest");
    }
});

test("cloud-init gives each guest its hostname, static network and the admin's SSH key", () => {
    const r = vm("k8s-worker02");
    assert.equal(r.inputs.extraConfig["guestinfo.metadata.encoding"], "base64");
    assert.equal(r.inputs.extraConfig["guestinfo.userdata.encoding"], "base64");
    const metadata = YAML.parse(decode(r.inputs.extraConfig["guestinfo.metadata"]));
    assert.equal(metadata["local-hostname"], "k8s-worker02");
    assert.deepEqual(metadata.network.ethernets.lan0.routes, [{ to: "default", via: "192.168.1.1" }]);
    assert.deepEqual(metadata.network.ethernets.lan0.nameservers, { addresses: ["192.168.1.1"], search: ["lab.example"] });
    const userdataText = decode(r.inputs.extraConfig["guestinfo.userdata"]);
    assert.ok(userdataText.startsWith("#cloud-config\n"));
    const userdata = YAML.parse(userdataText);
    assert.equal(userdata.users[0].name, "svc_mgmt");
    assert.match(userdata.users[0].ssh_authorized_keys[0], /^ssh-ed25519 AAAA/);
    assert.equal(userdata.ssh_pwauth, false);
});

test("every vSphere resource and lookup goes through the explicit provider at plugin version 4.17.0", () => {
    const provider = recorder.ofType("pulumi:providers:vsphere");
    assert.equal(provider.length, 1);
    assert.equal(provider[0].version, "4.17.0");
    for (const r of vms()) {
        assert.equal(r.version, "4.17.0");
        assert.ok(r.provider.startsWith(provider[0].urn), `${r.name} uses provider ${r.provider}`);
    }
    const vsphereInvokes = recorder.invokes.filter((i) => i.token.startsWith("vsphere:"));
    assert.ok(vsphereInvokes.length >= 5);
    for (const invoke of vsphereInvokes) {
        assert.equal(invoke.version, "4.17.0", invoke.token);
        assert.ok(invoke.provider.startsWith(provider[0].urn), invoke.token);
    }
});

test("the vCenter password reaches the provider only as a secret", () => {
    const provider = recorder.ofType("pulumi:providers:vsphere")[0];
    assert.equal(typeof provider.wireInputs.password, "object", "password must be wrapped as a secret on the wire");
    assert.equal(provider.inputs.password, "<secret vsphere:password from the stack's encrypted config>");
});

test("each NIC gets a static MAC from VMware's manual range, derived from its address, and the guest finds the NIC by it", () => {
    const macs = vms().map((r) => r.inputs.networkInterfaces[0].macAddress);
    assert.deepEqual(macs, ["00:50:56:28:01:c8", "00:50:56:28:01:c9", "00:50:56:28:01:ca", "00:50:56:28:01:d2", "00:50:56:28:01:d3", "00:50:56:28:01:d4"]);
    for (const r of vms()) {
        const nic = r.inputs.networkInterfaces[0];
        assert.equal(nic.useStaticMac, true);
        // vCenter accepts manual MACs only in 00:50:56:00:00:00-00:50:56:3f:ff:ff.
        assert.match(nic.macAddress, /^00:50:56:[0-3][0-9a-f]:[0-9a-f]{2}:[0-9a-f]{2}$/);
        const ethernets = YAML.parse(decode(r.inputs.extraConfig["guestinfo.metadata"])).network.ethernets;
        assert.deepEqual(Object.keys(ethernets), ["lan0"]);
        assert.deepEqual(ethernets.lan0.match, { macaddress: nic.macAddress }, "matched by MAC, never by a kernel name");
        assert.equal(ethernets.lan0["set-name"], "lan0");
    }
});

test("linked clones keep the template's disk size; full clones get diskGb", async () => {
    const { recorder: linked } = await evaluateProgram(labConfigWith({ linkedClones: true, diskGb: undefined }));
    for (const r of linked.ofType(vmType)) {
        assert.equal(r.inputs.clone.linkedClone, true);
        assert.equal(r.inputs.disks[0].size, 10, "the mock template's disk is 10 GB");
    }
    ({ recorder } = await evaluateProgram(labConfigWith()));
    assert.equal(vm("k8s-worker01").inputs.disks[0].size, 50);
});

const stockTemplate: GetVirtualMachineResult = { ...mockTemplate, disks: [{ ...mockTemplate.disks[0], size: 50 }] };

test("a template with vApp options on is refused, naming vsphereTemplate and the fix", () => {
    assert.deepEqual(templateProblems(stockTemplate, "ubuntu-24.04-cloudimg", false), []);
    const [problem, ...rest] = templateProblems({ ...stockTemplate, vappTransports: ["iso"] }, "ubuntu-24.04-cloudimg", false);
    assert.equal(rest.length, 0);
    assert.match(problem, /^k8s-vsphere-lab:vsphereTemplate 'ubuntu-24.04-cloudimg' has vApp options on \(OVF environment transport iso\)/);
    assert.match(problem, /uncheck 'Enable vApp options'/);
});

test("linked clones of a template with a too small disk are refused, naming linkedClones", () => {
    const small = { ...stockTemplate, disks: [{ ...stockTemplate.disks[0], size: 3 }] };
    assert.deepEqual(templateProblems(small, "tpl", false), [], "a full clone grows the disk to diskGb");
    const [problem] = templateProblems(small, "tpl", true);
    assert.match(problem, /has a 3 GB disk and k8s-vsphere-lab:linkedClones is on/);
    assert.match(problem, /grow the template's disk to at least 10 GB/);
});

test("every remote command pins its node's generated ED25519 host key, which cloud-init installs as the node's only host key", () => {
    const commands = recorder.ofType("command:remote:Command");
    assert.ok(commands.length > 20);
    for (const r of vms()) {
        const node = r.inputs.name as string;
        const key = recorder.named(`${node}-ssh-host-key`, "tls:index/privateKey:PrivateKey");
        assert.equal(key.inputs.algorithm, "ED25519");
        const publicKey = (key.outputs.publicKeyOpenssh as string).trim();
        const userdata = YAML.parse(decode(r.inputs.extraConfig["guestinfo.userdata"]));
        assert.equal(userdata.ssh_deletekeys, true);
        assert.deepEqual(userdata.ssh_genkeytypes, ["ed25519"]);
        assert.equal(userdata.ssh_keys.ed25519_public, publicKey);
        assert.equal(userdata.ssh_keys.ed25519_private, key.outputs.privateKeyOpenssh);
        // The guestinfo carries a private key: the whole extraConfig is a secret.
        assert.equal(typeof r.wireInputs.extraConfig, "object");
        assert.ok(secretValues(r.wireInputs).length > 0, `${node}'s extraConfig is not sent as a secret`);
        const address = YAML.parse(decode(r.inputs.extraConfig["guestinfo.metadata"])).network.ethernets.lan0.addresses[0].split("/")[0];
        const onNode = commands.filter((c) => c.inputs.connection?.host === address);
        assert.ok(onNode.length > 0, `no command runs on ${node}`);
        for (const command of onNode) assert.equal(command.inputs.connection.hostKey, publicKey, `${command.name} does not pin ${node}'s host key`);
    }
    assert.ok(commands.every((c) => typeof c.inputs.connection?.hostKey === "string" && c.inputs.connection.hostKey.startsWith("ssh-ed25519 ")), "a command without a pinned host key");
});
