// Issue 13: kubelet-serving-certs.sh, run as a node would run it, with stand-ins first on PATH
// (hostname answers the node's name, systemctl records its calls) and a kubelet config in a temp dir.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { renderScript } from "../../components/render/manifests";

const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "addons-kubelet-serving-"));
after(() => fs.rmSync(workDir, { recursive: true, force: true }));

// What kubeadm writes to /var/lib/kubelet/config.yaml, shortened.
const kubeadmKubeletConfig = "apiVersion: kubelet.config.k8s.io/v1beta1\nauthentication:\n  webhook:\n    enabled: true\ncgroupDriver: systemd\nkind: KubeletConfiguration\n";

/** A fake node with the given kubelet config; runs the script there and returns what happened. */
function runOn(config: string | undefined) {
    const dir = fs.mkdtempSync(path.join(workDir, "node-"));
    const bin = path.join(dir, "bin");
    fs.mkdirSync(bin);
    const calls = path.join(dir, "calls.log");
    fs.writeFileSync(calls, "");
    const standIn = (name: string, body: string) =>
        fs.writeFileSync(path.join(bin, name), `#!/usr/bin/env bash\necho "${name} $*" >>"${calls}"\n${body}\n`, { mode: 0o755 });
    standIn("hostname", 'echo "k8s-worker01"');
    standIn("systemctl", "exit 0");
    const configFile = path.join(dir, "config.yaml");
    if (config !== undefined) fs.writeFileSync(configFile, config);
    const script = path.join(dir, "kubelet-serving-certs.sh");
    fs.writeFileSync(script, renderScript("kubelet-serving-certs.sh"));
    const run = () =>
        spawnSync("bash", [script], {
            encoding: "utf8",
            env: { PATH: `${bin}:/usr/bin:/bin`, NODE_NAME: "k8s-worker01", KUBELET_CONFIG: configFile },
            timeout: 30_000,
        });
    return { run, configFile, calls: () => fs.readFileSync(calls, "utf8").split("\n").filter((line) => line.startsWith("systemctl")) };
}

test("a kubelet config without serverTLSBootstrap gets it once, and the kubelet is restarted once", () => {
    const node = runOn(kubeadmKubeletConfig);
    const first = node.run();
    assert.equal(first.status, 0, first.stderr);
    assert.equal(fs.readFileSync(node.configFile, "utf8"), `${kubeadmKubeletConfig}serverTLSBootstrap: true\n`);
    assert.deepEqual(node.calls(), ["systemctl restart kubelet"]);
    const second = node.run();
    assert.equal(second.status, 0, second.stderr);
    assert.equal(fs.readFileSync(node.configFile, "utf8"), `${kubeadmKubeletConfig}serverTLSBootstrap: true\n`, "the second run changes nothing");
    assert.deepEqual(node.calls(), ["systemctl restart kubelet"], "the second run does not restart the kubelet");
});

test("a config written by a kubeadm init that had the setting is left alone, with no restart", () => {
    const config = `${kubeadmKubeletConfig}serverTLSBootstrap: true\nshutdownGracePeriod: 0s\n`;
    const node = runOn(config);
    const result = node.run();
    assert.equal(result.status, 0, result.stderr);
    assert.equal(fs.readFileSync(node.configFile, "utf8"), config);
    assert.deepEqual(node.calls(), []);
});

test("serverTLSBootstrap: false is switched to true in place; a file without a final newline keeps its last line", () => {
    const off = runOn(`serverTLSBootstrap: false\n${kubeadmKubeletConfig}`);
    assert.equal(off.run().status, 0);
    assert.equal(fs.readFileSync(off.configFile, "utf8"), `serverTLSBootstrap: true\n${kubeadmKubeletConfig}`);
    assert.deepEqual(off.calls(), ["systemctl restart kubelet"]);
    const unterminated = runOn("kind: KubeletConfiguration");
    assert.equal(unterminated.run().status, 0);
    assert.equal(fs.readFileSync(unterminated.configFile, "utf8"), "kind: KubeletConfiguration\nserverTLSBootstrap: true\n");
});

test("a node without a kubelet config (not joined) is refused, the kubelet untouched", () => {
    const node = runOn(undefined);
    const result = node.run();
    assert.equal(result.status, 1);
    assert.match(result.stderr, /\[k8s-worker01\] error: .*config\.yaml is missing: the node has not joined the cluster/);
    assert.deepEqual(node.calls(), []);
});
