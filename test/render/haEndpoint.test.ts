import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
    ControlPlanePeer,
    keepalivedPriority,
    renderHaEndpointInstallScript,
    renderHaproxyCheckScript,
    renderHaproxyConfig,
    renderKeepalivedConfig,
} from "../../components/render/haEndpoint";
import { manifestPath, projectRoot } from "../../components/render/manifests";
import { requireTool, runTool } from "../helpers/tools";

/** A lab like the seed's: control planes from .200 up, VIP .220:443 (rendered only, never contacted). */
interface LabHa {
    readonly controlPlanes: ControlPlanePeer[];
    readonly vip: string;
    readonly apiPort: number;
    readonly interfaceName: string;
}

function labHa(controlPlaneCount: number): LabHa {
    const controlPlanes = Array.from({ length: controlPlaneCount }, (_, index) => ({
        name: `k8s-control${String(index + 1).padStart(2, "0")}`,
        address: `192.168.1.${200 + index}`,
    }));
    return { controlPlanes, vip: "192.168.1.220", apiPort: 443, interfaceName: "ens192" };
}

const authPassword = "Lab7pw9X";
const virtualRouterId = 51;

/** Every file one control plane receives, rendered into `dir` (check script next to the config). */
interface RenderedNode {
    readonly haproxyConfig: string;
    readonly keepalivedConfig: string;
    readonly keepalivedPath: string;
}

function renderNodes(lab: LabHa, dir: string): { haproxyPath: string; haproxyConfig: string; nodes: RenderedNode[] } {
    const checkScriptPath = path.join(dir, "check-haproxy.sh");
    fs.writeFileSync(checkScriptPath, renderHaproxyCheckScript(), { mode: 0o700 });
    const haproxyConfig = renderHaproxyConfig({
        apiPort: lab.apiPort,
        controlPlanes: lab.controlPlanes,
        statsSocketPath: path.join(dir, "haproxy.sock"),
    });
    const haproxyPath = path.join(dir, "haproxy.cfg");
    fs.writeFileSync(haproxyPath, haproxyConfig);
    const nodes = lab.controlPlanes.map((self, index) => {
        const keepalivedConfig = renderKeepalivedConfig({
            self,
            peers: lab.controlPlanes,
            interfaceName: lab.interfaceName,
            vip: lab.vip,
            vipPrefixLength: 24,
            virtualRouterId,
            priority: keepalivedPriority(index),
            authPassword,
            apiPort: lab.apiPort,
            checkScriptPath,
        });
        const keepalivedPath = path.join(dir, `keepalived-${self.name}.conf`);
        fs.writeFileSync(keepalivedPath, keepalivedConfig, { mode: 0o600 });
        return { haproxyConfig, keepalivedConfig, keepalivedPath };
    });
    return { haproxyPath, haproxyConfig, nodes };
}

function withTempDir<T>(body: (dir: string) => T): T {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "k8s-lab-ha-render-"));
    try {
        return body(dir);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/**
 * Runs a shell command in a fresh, empty network namespace (`unshare -r -n`: works as root and,
 * where user namespaces are allowed, without it) holding a veth named like the node's NIC, since
 * keepalived refuses a config whose interface does not exist.
 */
function inPrivateNetwork(interfaceName: string, command: string, args: string[]) {
    requireTool("unshare");
    const script = `ip link add "$0" type veth peer name peer0 && exec "$@"`;
    return spawnSync("unshare", ["-r", "-n", "sh", "-c", script, interfaceName, command, ...args], {
        encoding: "utf8",
        timeout: 60_000,
    });
}

const controlPlaneCounts = [1, 3, 5];

for (const count of controlPlaneCounts) {
    test(`haproxy accepts haproxy.cfg for ${count} control plane(s)`, () => {
        withTempDir((dir) => {
            const { haproxyPath } = renderNodes(labHa(count), dir);
            const result = runTool("haproxy", ["-c", "-f", haproxyPath]);
            assert.equal(result.status, 0, `haproxy -c failed:\n${result.stdout}${result.stderr}`);
        });
    });

    test(`keepalived accepts every node's keepalived.conf for ${count} control plane(s)`, () => {
        requireTool("keepalived");
        requireTool("ip");
        withTempDir((dir) => {
            const lab = labHa(count);
            for (const node of renderNodes(lab, dir).nodes) {
                const result = inPrivateNetwork(lab.interfaceName, "keepalived", ["--config-test", "-f", node.keepalivedPath]);
                assert.equal(result.status, 0, `keepalived --config-test -f ${path.basename(node.keepalivedPath)} failed:\n${result.stdout}${result.stderr}`);
                assert.equal(result.stderr.trim(), "", `keepalived warned about ${path.basename(node.keepalivedPath)}`);
            }
        });
    });
}

test("shellcheck passes check-haproxy.sh, ha-endpoint-install.sh and the install-test sandbox", () => {
    const sandbox = path.join(projectRoot, "test", "ha", "sandbox");
    const scripts = [
        manifestPath("check-haproxy.sh"),
        manifestPath("ha-endpoint-install.sh"),
        ...["run-install-sandbox.sh", "systemctl", "apt-get"].map((name) => path.join(sandbox, name)),
    ];
    for (const script of scripts) {
        const result = runTool("shellcheck", [script]);
        assert.equal(result.status, 0, `shellcheck ${script}:\n${result.stdout}${result.stderr}`);
    }
});

test("node scripts start with bash strict mode", () => {
    for (const text of [renderHaproxyCheckScript(), renderHaEndpointInstallScript()]) {
        assert.match(text, /^#!\/usr\/bin\/env bash\n/);
        assert.match(text, /^set -euo pipefail$/m);
    }
});

test("haproxy.cfg balances TCP on the API port to every control plane's apiserver", () => {
    const config = renderHaproxyConfig({ apiPort: 443, controlPlanes: labHa(3).controlPlanes });
    assert.match(config, /^frontend kube-apiserver\n\s+bind \*:443$/m);
    assert.match(config, /^\s+mode tcp$/m);
    const servers = config.split("\n").filter((line) => /^\s+server /.test(line)).map((line) => line.trim());
    assert.deepEqual(servers, [
        "server k8s-control01 192.168.1.200:6443",
        "server k8s-control02 192.168.1.201:6443",
        "server k8s-control03 192.168.1.202:6443",
    ]);
});

test("haproxy.cfg health-checks every apiserver on /readyz over TLS", () => {
    const config = renderHaproxyConfig({ apiPort: 443, controlPlanes: labHa(3).controlPlanes });
    assert.match(config, /^\s+option httpchk GET \/readyz$/m);
    assert.match(config, /^\s+http-check expect status 200$/m);
    assert.match(config, /^\s+default-server check check-ssl verify none inter \d+m?s fall \d+ rise \d+$/m);
});

test("haproxy.cfg retries a failed connection on another apiserver", () => {
    const config = renderHaproxyConfig({ apiPort: 443, controlPlanes: labHa(3).controlPlanes });
    assert.match(config, /^\s+retries [1-9]$/m);
    assert.match(config, /^\s+option redispatch$/m);
});

test("haproxy.cfg keeps watches and log streams open for hours", () => {
    const config = renderHaproxyConfig({ apiPort: 443, controlPlanes: labHa(3).controlPlanes });
    for (const timeout of ["client", "server", "tunnel"]) {
        const match = config.match(new RegExp(`^\\s+timeout ${timeout} (\\d+)h$`, "m"));
        assert.ok(match && Number(match[1]) >= 1, `timeout ${timeout} should be at least 1h`);
    }
});

test("keepalived.conf peers over unicast with every other control plane, never itself", () => {
    const lab = labHa(5);
    withTempDir((dir) => {
        renderNodes(lab, dir).nodes.forEach((node, index) => {
            const self = lab.controlPlanes[index];
            assert.match(node.keepalivedConfig, new RegExp(`^\\s+unicast_src_ip ${self.address.replace(/\./g, "\\.")}$`, "m"));
            const peerBlock = node.keepalivedConfig.match(/unicast_peer \{\n([^}]*)\}/);
            assert.ok(peerBlock, "unicast_peer block missing");
            const peers = peerBlock[1].split("\n").map((line) => line.trim()).filter((line) => line !== "");
            const expected = lab.controlPlanes.filter((peer) => peer !== self).map((peer) => peer.address);
            assert.deepEqual(peers, expected);
            assert.ok(!peers.includes(self.address), "self among its peers");
        });
    });
});

test("keepalived.conf for a single control plane stays unicast", () => {
    const config = renderKeepalivedConfig({
        self: labHa(1).controlPlanes[0],
        peers: labHa(1).controlPlanes,
        interfaceName: "ens192",
        vip: "192.168.1.220",
        vipPrefixLength: 24,
        virtualRouterId,
        priority: keepalivedPriority(0),
        authPassword,
        apiPort: 443,
    });
    const peerBlock = config.match(/unicast_peer \{\n([^}]*)\}/);
    assert.ok(peerBlock);
    assert.deepEqual(peerBlock[1].trim(), "127.0.0.1");
});

test("keepalived.conf never uses multicast or a virtual MAC", () => {
    withTempDir((dir) => {
        for (const node of renderNodes(labHa(3), dir).nodes) {
            const settings = node.keepalivedConfig.split("\n").filter((line) => !/^\s*[#!]/.test(line)).join("\n");
            assert.doesNotMatch(settings, /mcast|multicast|use_vmac|vmac_xmit_base/i);
        }
    });
});

test("keepalived.conf holds the VIP with the router id, priority and password it was given", () => {
    const lab = labHa(3);
    withTempDir((dir) => {
        renderNodes(lab, dir).nodes.forEach((node, index) => {
            const config = node.keepalivedConfig;
            assert.match(config, /^\s+192\.168\.1\.220\/24 dev ens192$/m);
            assert.match(config, /^\s+interface ens192$/m);
            assert.match(config, new RegExp(`^\\s+virtual_router_id ${virtualRouterId}$`, "m"));
            assert.match(config, new RegExp(`^\\s+priority ${keepalivedPriority(index)}$`, "m"));
            assert.match(config, /^\s+auth_type PASS$/m);
            assert.match(config, new RegExp(`^\\s+auth_pass ${authPassword}$`, "m"));
            assert.match(config, new RegExp(`^\\s+router_id ${lab.controlPlanes[index].name}$`, "m"));
        });
    });
});

test("keepalived.conf gives up the VIP when haproxy stops listening", () => {
    const config = renderKeepalivedConfig({
        self: labHa(3).controlPlanes[1],
        peers: labHa(3).controlPlanes,
        interfaceName: "ens192",
        vip: "192.168.1.220",
        vipPrefixLength: 24,
        virtualRouterId,
        priority: keepalivedPriority(1),
        authPassword,
        apiPort: 443,
    });
    // The script watches haproxy for 800 ms of each 1 s run and one failure acts (issue 14).
    assert.match(config, /^vrrp_script check_haproxy \{\n\s+script "\/etc\/keepalived\/check-haproxy\.sh 443 800"$/m);
    assert.match(config, /^\s+interval 1\n\s+timeout 2\n\s+fall 1\n\s+rise 2$/m);
    // Adverts only from the listed peers (issue 15).
    assert.match(config, /^\s+check_unicast_src$/m);
    // A master keeps its own advert pace, whatever a stranger sends (HA test, scenario i).
    assert.match(config, /^\s+lower_prio_no_advert$/m);
    assert.match(config, /track_script \{\n\s+check_haproxy\n\s+\}/);
    assert.match(config, /^\s+enable_script_security$/m);
    assert.match(config, /^\s+script_user root$/m);
    // weight 0: a failed check means FAULT (VIP released), not just a lower priority.
    assert.match(config, /^\s+weight 0$/m);
});

test("keepalivedPriority ranks node 0 highest, within VRRP's 1-254", () => {
    const priorities = [0, 1, 2, 3, 4].map(keepalivedPriority);
    assert.deepEqual([...priorities].sort((a, b) => b - a), priorities);
    assert.equal(new Set(priorities).size, priorities.length);
    assert.ok(priorities.every((priority) => priority >= 1 && priority <= 254));
    assert.throws(() => keepalivedPriority(25), /index 25/);
});

test("renderKeepalivedConfig refuses bad values, naming each and never the password", () => {
    const secret = "waytoolongpassword";
    assert.throws(
        () =>
            renderKeepalivedConfig({
                self: { name: "k8s-control01", address: "192.168.1.200" },
                peers: [],
                interfaceName: "ens192\nnopreempt",
                vip: "192.168.1.300",
                vipPrefixLength: 24,
                virtualRouterId: 256,
                priority: 255,
                authPassword: secret,
                apiPort: 443,
            }),
        (error: Error) => {
            for (const key of ["interfaceName", "vip", "virtualRouterId", "priority", "authPassword"]) {
                assert.ok(error.message.includes(key), `message should name ${key}: ${error.message}`);
            }
            assert.ok(!error.message.includes(secret), "message leaks the password");
            return true;
        },
    );
});

test("renderHaproxyConfig refuses an empty control-plane list and bad ports", () => {
    assert.throws(() => renderHaproxyConfig({ apiPort: 443, controlPlanes: [] }), /controlPlanes is empty/);
    assert.throws(
        () => renderHaproxyConfig({ apiPort: 70000, controlPlanes: labHa(1).controlPlanes }),
        /apiPort 70000/,
    );
});

/** Waits until `predicate` holds, polling; bounded. */
async function waitFor(predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
}

test("check-haproxy.sh succeeds only while haproxy listens on the API port", async () => {
    requireTool("haproxy");
    requireTool("ss");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "k8s-lab-ha-check-"));
    const checkScript = path.join(dir, "check-haproxy.sh");
    fs.writeFileSync(checkScript, renderHaproxyCheckScript(), { mode: 0o700 });
    const haproxyConfig = path.join(dir, "haproxy.cfg");
    fs.writeFileSync(haproxyConfig, "defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\nfrontend api\n  bind 127.0.0.1:8443\n");
    // One private network namespace: haproxy listens on 8443 in it; the check runs in it at each step.
    const steps = `
        ip link set lo up
        "$1" 8443 && echo "before:ok" || echo "before:fail"
        haproxy -f "$2" -db & haproxy_pid=$!
        for _ in $(seq 50); do ss -Hltn "sport = :8443" | grep -q . && break; sleep 0.1; done
        "$1" 8443 && echo "haproxy:ok" || echo "haproxy:fail"
        "$1" 9443 && echo "otherport:ok" || echo "otherport:fail"
        kill "$haproxy_pid"; wait "$haproxy_pid" 2>/dev/null || true
        node -e 'const s=require("net").createServer().listen(8443,"127.0.0.1",()=>console.log("other:listening"));setTimeout(()=>s.close(),3000)' & other_pid=$!
        for _ in $(seq 50); do ss -Hltn "sport = :8443" | grep -q . && break; sleep 0.1; done
        "$1" 8443 && echo "other:ok" || echo "other:fail"
        wait "$other_pid"
    `;
    try {
        const child = spawn("unshare", ["-r", "-n", "bash", "-c", steps, "steps", checkScript, haproxyConfig], {
            stdio: ["ignore", "pipe", "pipe"],
        });
        let output = "";
        child.stdout.on("data", (chunk) => (output += chunk));
        child.stderr.on("data", (chunk) => (output += chunk));
        const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
        await waitFor(() => child.exitCode !== null, "the check-script steps", 20_000).catch((error) => {
            child.kill("SIGKILL");
            throw error;
        });
        await exited;
        const verdicts = output.split("\n").filter((line) => /^(before|haproxy|otherport|other):(ok|fail)$/.test(line));
        assert.deepEqual(verdicts, ["before:fail", "haproxy:ok", "otherport:fail", "other:fail"], output);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
});
