/**
 * Runs ha-endpoint-install.sh, as the program renders it, for real (root): in a network namespace
 * of its own, with /etc as an overlay and a private /run (test/ha/sandbox/run-install-sandbox.sh),
 * real haproxy, keepalived, dpkg-query and the script's own config checks, and stand-ins only for
 * systemctl (runs the daemons directly) and apt-get (must not be needed: the packages are
 * installed here).
 * Addresses exist only inside the test's namespace (10.213.8.0/24).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
    keepalivedPriority, renderHaEndpointInstallScript, renderHaproxyCheckScript, renderHaproxyConfig, renderKeepalivedConfig,
} from "../../components/render/haEndpoint";
import { projectRoot } from "../../components/render/manifests";
import { currentLoad, loadRefusal, MachineLoad, writeResults } from "../../bench/machineLoad";
import { requireTool } from "../helpers/tools";
import { NetnsLab } from "./netnsLab";

const nodeName = "k8s-control01";
const nodeAddress = "10.213.8.11";
const vip = "10.213.8.100";
const apiPort = 443;
const authPassword = "Sbx4pass";

describe("ha-endpoint-install.sh on a sandboxed node (run as root)", { timeout: 120_000 }, () => {
    let lab: NetnsLab | undefined;
    /** Output of each step of the sandbox run, by its `=== <step>` marker. */
    const steps = new Map<string, string>();
    const systemctlCalls = new Map<string, string[]>();
    let workDir = "";
    let machineLoad: MachineLoad | undefined;

    before(() => {
        if (typeof process.getuid !== "function" || process.getuid() !== 0) {
            throw new Error("run as root (CI runs as root): the install-script test mounts an overlay and builds a network namespace");
        }
        for (const tool of ["ip", "unshare", "haproxy", "keepalived", "ss", "dpkg-query"]) requireTool(tool);
        lab = new NetnsLab();
        lab.addHost("node", "eth0", nodeAddress, 24);
        workDir = fs.mkdtempSync(path.join(os.tmpdir(), `${lab.prefix}-install-`));
        lab.trackFolder(workDir);

        const self = { name: nodeName, address: nodeAddress };
        const haproxyConfig = renderHaproxyConfig({ apiPort, controlPlanes: [self] });
        fs.writeFileSync(path.join(workDir, "haproxy.cfg"), haproxyConfig);
        fs.writeFileSync(path.join(workDir, "broken-haproxy.cfg"), haproxyConfig.replace("balance roundrobin", "balance no-such-algorithm"));
        fs.writeFileSync(path.join(workDir, "keepalived.conf"), renderKeepalivedConfig({
            self, peers: [self], interfaceName: "eth0", vip, vipPrefixLength: 24, virtualRouterId: 51,
            priority: keepalivedPriority(0), authPassword, apiPort,
        }));
        fs.writeFileSync(path.join(workDir, "check-haproxy.sh"), renderHaproxyCheckScript());
        // The install script as the program sends it (rendered), not the file under manifests/.
        const installScript = path.join(workDir, "ha-endpoint-install.sh");
        fs.writeFileSync(installScript, renderHaEndpointInstallScript());

        machineLoad = currentLoad();
        const run = spawnSync("ip", [
            "netns", "exec", lab.namespaceOf("node"), "unshare", "--mount", "--uts", "--propagation", "private",
            path.join(projectRoot, "test", "ha", "sandbox", "run-install-sandbox.sh"), workDir, installScript,
        ], { encoding: "utf8", timeout: 100_000, env: { ...process.env, NODE_NAME: nodeName, VIP: vip, API_PORT: String(apiPort) } });
        assert.equal(run.status, 0, `the sandbox itself failed:\n${run.stdout}\n${run.stderr}`);

        for (const [marker, text] of splitByMarker(run.stdout)) steps.set(marker, text);
        const calls = fs.readFileSync(path.join(workDir, "systemctl-calls.log"), "utf8");
        for (const [marker, text] of splitByMarker(calls)) systemctlCalls.set(marker, text.split("\n").filter((line) => line !== ""));
    });

    after(() => {
        if (process.env.HA_TEST_DIAGNOSTICS === "1") {
            for (const [step, output] of steps) console.log(`=== ${step}\n${output}`);
            for (const [step, calls] of systemctlCalls) console.log(`=== systemctl calls, ${step}\n${calls.join("\n")}`);
        }
        lab?.destroy();
    });

    it("installs, starts both services and ends once the VIP answers", () => {
        const output = steps.get("first-run") ?? "";
        assert.match(output, /exit=0$/m, output);
        assert.match(output, new RegExp(`^\\[${nodeName}\\] haproxy on this node listens on port ${apiPort}$`, "m"), output);
        assert.match(output, new RegExp(`^\\[${nodeName}\\] API endpoint ${vip.replace(/\./g, "\\.")}:${apiPort} answers$`, "m"), output);
        const calls = systemctlCalls.get("first-run") ?? [];
        assert.ok(calls.includes("systemctl reload-or-restart haproxy"), calls.join("\n"));
        assert.ok(calls.includes("systemctl reload-or-restart keepalived"), calls.join("\n"));
    });

    it("prints one [node] progress line per step and never the VRRP password", () => {
        for (const [step, output] of steps) {
            assert.ok(!output.includes(authPassword), `step ${step} printed the password`);
        }
        const lines = (steps.get("first-run") ?? "").split("\n").filter((line) => line !== "" && !/^(exit|took_ms)=/.test(line));
        assert.ok(lines.length >= 5, lines.join("\n"));
        for (const line of lines) assert.ok(line.startsWith(`[${nodeName}] `), `not a progress line: ${line}`);
    });

    it("times the first run, packages in place as on a prepared template (issue 14: the plan's ha-install-prepared)", () => {
        const tookMs = Number(/^took_ms=(\d+)$/m.exec(steps.get("first-run") ?? "")?.[1]);
        assert.ok(Number.isInteger(tookMs) && tookMs > 0, `no took_ms line in the first run:\n${steps.get("first-run")}`);
        const results = {
            test: "test/ha/installScript.test.ts",
            measuredAt: new Date().toISOString(),
            machine: machineLoad,
            what: "ha-endpoint-install.sh's first run with haproxy and keepalived installed (no apt): configs checked and installed, both daemons started, this node's haproxy listening and the VIP answering",
            firstRun_s: Math.round(tookMs / 10) / 100,
        };
        console.log(`HA install results ${writeResults("ha-install.json", `${JSON.stringify(results, null, 2)}\n`, loadRefusal(machineLoad!))}`);
    });

    it("is idempotent: a second run with the same files restarts nothing", () => {
        const output = steps.get("second-run") ?? "";
        assert.match(output, /exit=0$/m, output);
        assert.match(output, /haproxy unchanged and running/);
        assert.match(output, /keepalived unchanged and running/);
        const restarts = (systemctlCalls.get("second-run") ?? []).filter((call) => /\b(start|restart|reload-or-restart)\b/.test(call));
        assert.deepEqual(restarts, []);
    });

    it("keeps keepalived.conf root-only and the check script root-executable", () => {
        const modes = (steps.get("modes") ?? "").trim().split("\n");
        assert.deepEqual(modes, [
            "600 root /etc/keepalived/keepalived.conf",
            "700 root /etc/keepalived/check-haproxy.sh",
            "644 root /etc/haproxy/haproxy.cfg",
        ]);
    });

    it("refuses a haproxy.cfg that haproxy rejects and leaves the running config alone", () => {
        const output = steps.get("broken-haproxy") ?? "";
        assert.match(output, /exit=1$/m, output);
        assert.match(output, /haproxy rejects \/etc\/k8s-lab\/haproxy\.cfg/);
        assert.match(output, /balance only supports/, "haproxy's own reason should be shown");
        assert.match(output, /^live-haproxy-config=unchanged$/m);
    });

    it("fails naming the port when this node's own haproxy does not listen on it (a roll of a new config stops at this node)", () => {
        const output = steps.get("nothing-on-port") ?? "";
        assert.match(output, /exit=1$/m, output);
        assert.match(output, /haproxy on this node does not listen on port 8443 within 3s/, output);
    });

    it("fails with a clear error naming VIP:port when the endpoint never answers (haproxy listens here, no node holds that VIP)", () => {
        const output = steps.get("vip-not-held") ?? "";
        assert.match(output, /exit=1$/m, output);
        assert.match(output, /haproxy on this node listens on port 443$/m, output);
        assert.match(output, /10\.213\.8\.101:443 did not answer TCP within 3s/, output);
    });

    it("the reload step's run records the config hash root-only and never prints it", () => {
        const output = steps.get("reload-step") ?? "";
        assert.match(output, /exit=0$/m, output);
        assert.match(output, /recorded the config this node serves in .*\/var\/lib\/k8s-lab\/ha-endpoint\.config$/m, output);
        assert.ok(!output.includes("0123456789abcdef"), output);
        assert.deepEqual((steps.get("config-record") ?? "").trim().split("\n"), ["600 root", "0123456789abcdef"]);
    });
});

/** Splits text at lines `=== <name>` into [name, text] pairs. */
function splitByMarker(text: string): [string, string][] {
    const parts: [string, string][] = [];
    for (const chunk of text.split(/^=== /m).slice(1)) {
        const newline = chunk.indexOf("\n");
        parts.push([chunk.slice(0, newline).trim(), chunk.slice(newline + 1)]);
    }
    return parts;
}
