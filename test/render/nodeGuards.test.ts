// Issue 11: the node scripts' refusals, run with stand-in commands first on PATH (hostname, id,
// kubeadm, ...): a stand-in records its call in a log so a test can show nothing was changed.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { renderScript } from "../../components/render/manifests";
import { standInNode } from "../helpers/standInNode";

const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "i11-node-guards-"));
after(() => fs.rmSync(workDir, { recursive: true, force: true }));

/** A fresh fake node: a bin/ of stand-ins (hostname prints `host`, id -u prints 0) and a call log. */
function fakeNode(host: string): { bin: string; calls: string; state: string } {
    const dir = fs.mkdtempSync(path.join(workDir, "node-"));
    const state = path.join(dir, "state");
    fs.mkdirSync(state);
    const { bin, calls, standIn } = standInNode(dir, host);
    for (const tool of ["kubeadm", "systemctl", "apt-get", "kubectl", "install", "touch", "sed", "tail"]) standIn(tool, "exit 0");
    return { bin, calls, state };
}

/** Runs a rendered script as the node would (main included), or with `prelude` after loading its functions. */
function run(script: string, node: ReturnType<typeof fakeNode>, env: Record<string, string>, prelude?: string) {
    const file = path.join(workDir, script);
    fs.writeFileSync(file, renderScript(script));
    const command = prelude === undefined ? 'source "$0"' : `K8S_LAB_FUNCTIONS_ONLY=1; source "$0"; ${prelude}`;
    return spawnSync("bash", ["-c", command, file], {
        encoding: "utf8",
        env: { PATH: `${node.bin}:/usr/bin:/bin`, FAKE_STATE: node.state, ...env },
        timeout: 30_000,
    });
}

const nodeScripts = ["node-prepare.sh", "kubeadm-init.sh", "kubeadm-join.sh", "node-reset.sh", "node-remove.sh", "join-credentials-mint.sh", "join-credentials-revoke.sh", "kubelet-serving-certs.sh", "control-plane-taint.sh", "node-resize.sh"];

for (const script of nodeScripts) {
    test(`${script} stops before doing anything on a host that is not NODE_NAME`, () => {
        const node = fakeNode("k8s-control02");
        const result = run(script, node, { NODE_NAME: "k8s-control01", JOIN_ROLE: "worker", JOINING_NODE: "k8s-worker01", TARGET_NODE: "k8s-worker01", TARGET_ROLE: "worker", TARGET_ADDRESS: "192.168.1.210", REMOVE_STEP: "drain" });
        assert.equal(result.status, 1, result.stderr);
        assert.match(result.stderr, /\[k8s-control01\] error: this host is 'k8s-control02', not k8s-control01: .*Nothing was changed; check the node's name and address in controlPlanes\/workers/);
        assert.equal(fs.readFileSync(node.calls, "utf8"), "hostname \n", "a command other than hostname ran");
    });
}

test("the host check accepts the node's own name, short or fully qualified", () => {
    for (const host of ["k8s-control01", "k8s-control01.lab.example"]) {
        // id -u answers 1000 here: main's root check failing shows the host check passed.
        const node = fakeNode(host);
        fs.writeFileSync(path.join(node.bin, "id"), "#!/usr/bin/env bash\necho 1000\n", { mode: 0o755 });
        const result = run("kubeadm-init.sh", node, { NODE_NAME: "k8s-control01" });
        assert.equal(result.status, 1);
        assert.match(result.stderr, /error: run as root/, host);
    }
});

// step_done reads markers under /var/lib/k8s-lab; the tests point it at the fake node's state dir.
const fakeMarkers = 'step_done() { [ -f "$FAKE_STATE/$1.done" ]; }; main';

test("kubeadm-init.sh refuses, never resets, a node that joined the cluster", () => {
    const node = fakeNode("k8s-control02");
    fs.writeFileSync(path.join(node.state, "kubeadm-join.done"), "");
    const result = run("kubeadm-init.sh", node, { NODE_NAME: "k8s-control02" }, fakeMarkers);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /k8s-control02 already joined the cluster as a member: kubeadm init would reset it\. Nothing was changed; the first entry of controlPlanes/);
    assert.doesNotMatch(fs.readFileSync(node.calls, "utf8"), /kubeadm/);
});

test("kubeadm-join.sh refuses, never resets, the node that ran kubeadm init", () => {
    for (const role of ["control-plane", "worker"]) {
        const node = fakeNode("k8s-control01");
        fs.writeFileSync(path.join(node.state, "kubeadm-init.done"), "");
        const result = run("kubeadm-join.sh", node, { NODE_NAME: "k8s-control01", JOIN_ROLE: role }, fakeMarkers);
        assert.equal(result.status, 1);
        assert.match(result.stderr, /k8s-control01 ran kubeadm init: it is the cluster's first control plane, and joining would reset it\. Nothing was changed/);
        assert.doesNotMatch(fs.readFileSync(node.calls, "utf8"), /kubeadm/);
    }
});

test("without the other kind's marker the scripts go on to their own step (the refusal is not unconditional)", () => {
    const node = fakeNode("k8s-control01");
    const result = run("kubeadm-init.sh", node, { NODE_NAME: "k8s-control01" }, fakeMarkers);
    // Past the refusal, the missing staged config is the next stop.
    assert.equal(result.status, 1);
    assert.match(result.stderr, /kubeadm-init\.yaml is missing or empty/);
});
