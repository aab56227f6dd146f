/**
 * Every node's first boot, read by the real tools that read it on the VM: cloud-init validates the
 * user-data (`cloud-init schema`), converts the metadata's network config into the netplan file it
 * writes on Ubuntu (`cloud-init devel net-convert`), decides which NIC to rename (its own
 * cloudinit.net code), and netplan turns that file into systemd-networkd's (`netplan generate`).
 * The NIC is called ens224 here, a name the config never mentions: the template's hardware decides
 * what the kernel calls it (ens160, ens192, ...).
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { before, test } from "node:test";
import * as YAML from "yaml";
import { projectRoot } from "../../components/render/manifests";
import { stringifyYaml } from "../../components/render/yaml";
import { evaluateProgram } from "../helpers/program";
import { labConfigWith } from "../helpers/stackConfig";
import { requireTool, runTool } from "../helpers/tools";

const kernelNicName = "ens224";

interface RenderedNode {
    readonly name: string;
    readonly address: string;
    readonly mac: string;
    readonly metadata: Record<string, any>;
    readonly userdata: string;
}

let nodes: RenderedNode[] = [];

const decode = (base64: string) => Buffer.from(base64, "base64").toString("utf8");

before(async () => {
    const { recorder } = await evaluateProgram(labConfigWith());
    nodes = recorder.ofType("vsphere:index/virtualMachine:VirtualMachine").map((vm) => {
        const metadata = YAML.parse(decode(vm.inputs.extraConfig["guestinfo.metadata"]));
        return {
            name: vm.inputs.name,
            address: metadata.network.ethernets.lan0.addresses[0],
            mac: vm.inputs.networkInterfaces[0].macAddress,
            metadata,
            userdata: decode(vm.inputs.extraConfig["guestinfo.userdata"]),
        };
    });
    assert.equal(nodes.length, 6);
});

const scratch = (label: string) => fs.mkdtempSync(path.join(os.tmpdir(), `k8s-lab-cloudinit-${label}-`));

/** The Python that runs cloud-init (its own shebang), so its modules are importable. */
function cloudInitPython(): string {
    const shebang = fs.readFileSync(requireTool("cloud-init"), "utf8").split("\n")[0];
    return shebang.replace(/^#!\s*/, "").split(" ")[0];
}

/** The `ip link set` commands cloud-init's renaming code would run for this network config. */
function cloudInitRenames(network: unknown, nic: { name: string; mac: string }): string[] {
    const result = runTool(cloudInitPython(), [path.join(projectRoot, "test/helpers/cloudInitRename.py")], JSON.stringify({ network, nic }));
    assert.equal(result.status, 0, result.stderr);
    return result.stdout.split("\n").filter((line) => line.trim() !== "");
}

/** networkd's files (path relative to the root, text) that cloud-init + netplan write for a network config. */
function networkdFiles(network: unknown, mac: string): Map<string, string> {
    const dir = scratch("net");
    const input = path.join(dir, "network-config.yaml");
    fs.writeFileSync(input, stringifyYaml(network));
    const root = path.join(dir, "root");
    const convert = runTool("cloud-init", ["devel", "net-convert", "-p", input, "-k", "yaml", "-D", "ubuntu", "-O", "netplan", "-d", root, "-m", `${kernelNicName},${mac}`]);
    assert.equal(convert.status, 0, convert.stderr);
    const netplanDir = path.join(root, "etc/netplan");
    fs.readdirSync(netplanDir).forEach((file) => fs.chmodSync(path.join(netplanDir, file), 0o600));
    const generate = runTool("netplan", ["generate", "--root-dir", root]);
    assert.equal(generate.status, 0, generate.stderr);
    const networkDir = path.join(root, "run/systemd/network");
    const files = new Map(fs.readdirSync(networkDir).map((file) => [file, fs.readFileSync(path.join(networkDir, file), "utf8")]));
    fs.rmSync(dir, { recursive: true, force: true });
    return files;
}

/** `Key=value` lines of one [Section] of a systemd unit-style file. */
function section(text: string, name: string): string[] {
    const body = text.split(/^\[/m).find((part) => part.startsWith(`${name}]`)) ?? "";
    return body
        .split("\n")
        .slice(1)
        .filter((line) => line.includes("="));
}

/** Runs the real `cloud-init schema` on a user-data text and asserts it is valid cloud-config. */
function assertValidCloudConfig(userdata: string, what: string): void {
    const dir = scratch("userdata");
    const file = path.join(dir, "user-data");
    fs.writeFileSync(file, userdata);
    const result = runTool("cloud-init", ["schema", "--config-file", file]);
    fs.rmSync(dir, { recursive: true, force: true });
    assert.equal(result.status, 0, `${what}: ${result.stdout}${result.stderr}`);
    assert.match(result.stdout, /Valid cloud-config/, what);
}

test("cloud-init accepts every node's user-data (cloud-init schema)", () => {
    for (const node of nodes) assertValidCloudConfig(node.userdata, node.name);
});

// Issue 13 item 7: with ntpServers, cloud-init's ntp module sets up chrony with them.
test("with ntpServers the user-data sets up chrony with them, and cloud-init accepts it; without, no ntp section", async () => {
    assert.ok(nodes.every((node) => !YAML.parse(node.userdata).ntp), "the lab sets no ntpServers: the template's time sync stays");
    const { recorder } = await evaluateProgram(labConfigWith({ ntpServers: ["192.168.1.1", "ntp.lab.example"] }));
    const vm = recorder.ofType("vsphere:index/virtualMachine:VirtualMachine")[0];
    const userdata = decode(vm.inputs.extraConfig["guestinfo.userdata"]);
    assert.deepEqual(YAML.parse(userdata).ntp, { enabled: true, ntp_client: "chrony", servers: ["192.168.1.1", "ntp.lab.example"] });
    assertValidCloudConfig(userdata, "user-data with ntpServers");
});

// Issue 13 item 7: behind a proxy, first-boot apt (cloud-init's chrony install) uses it.
test("with httpProxy the user-data gives apt the proxy, and cloud-init accepts it", async () => {
    const { recorder } = await evaluateProgram(labConfigWith({ httpProxy: "http://proxy.lab.example:3128", ntpServers: ["192.168.1.1"] }));
    const userdata = decode(recorder.ofType("vsphere:index/virtualMachine:VirtualMachine")[0].inputs.extraConfig["guestinfo.userdata"]);
    assert.deepEqual(YAML.parse(userdata).apt, { http_proxy: "http://proxy.lab.example:3128", https_proxy: "http://proxy.lab.example:3128" });
    assertValidCloudConfig(userdata, "user-data with httpProxy");
    assert.ok(nodes.every((node) => !YAML.parse(node.userdata).apt), "no proxy: no apt section");
});

test("cloud-init renames each node's NIC, whatever the kernel called it, to the configured name", () => {
    for (const node of nodes) {
        assert.deepEqual(cloudInitRenames(node.metadata.network, { name: kernelNicName, mac: node.mac }), [`ip link set ${kernelNicName} name lan0`], node.name);
    }
    // The check can tell: a name match with set-name (the old config) renames nothing.
    const byName = { version: 2, ethernets: { ens160: { match: { name: "e*" }, "set-name": "ens160", addresses: [nodes[0].address] } } };
    assert.deepEqual(cloudInitRenames(byName, { name: kernelNicName, mac: nodes[0].mac }), []);
});

test("netplan gives each node's NIC, found by its MAC, the node's static address, route and DNS", () => {
    for (const node of nodes) {
        const files = networkdFiles(node.metadata.network, node.mac);
        const network = files.get("10-netplan-lan0.network");
        assert.ok(network, `${node.name}: no .network file for lan0 in ${[...files.keys()].join(", ")}`);
        assert.deepEqual(section(network, "Match").sort(), [`Name=lan0`, `PermanentMACAddress=${node.mac}`].sort(), node.name);
        assert.ok(section(network, "Network").includes(`Address=${node.address}`), `${node.name}: ${network}`);
        assert.ok(section(network, "Network").includes("DNS=192.168.1.1"), `${node.name}: ${network}`);
        assert.ok(section(network, "Route").includes("Gateway=192.168.1.1"), `${node.name}: ${network}`);
        // On later boots udev names the NIC by the same MAC.
        const link = files.get("10-netplan-lan0.link")!;
        assert.deepEqual(section(link, "Match"), [`PermanentMACAddress=${node.mac}`], node.name);
        assert.ok(section(link, "Link").includes("Name=lan0"), node.name);
    }
});
