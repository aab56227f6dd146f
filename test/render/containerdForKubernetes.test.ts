// Issue 12 item 2: node preparation refuses a Kubernetes version the node's containerd cannot run
// (1.36 and later need containerd 2), before any Kubernetes package is installed.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, test } from "node:test";
import { renderScript } from "../../components/render/manifests";
import { standInNode } from "../helpers/standInNode";

const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "i12-containerd-"));
after(() => fs.rmSync(workDir, { recursive: true, force: true }));

/** Runs node-prepare.sh's check on a node whose `containerd --version` prints `versionLine`. */
function check(kubernetesVersion: string, versionLine: string) {
    const root = fs.mkdtempSync(path.join(workDir, "node-"));
    const tools = standInNode(root, "k8s-worker01");
    tools.standIn("containerd", `echo "${versionLine}"`);
    const script = path.join(root, "node-prepare.sh");
    fs.writeFileSync(script, renderScript("node-prepare.sh"));
    return spawnSync("bash", ["-c", 'K8S_LAB_FUNCTIONS_ONLY=1; source "$0"; require_containerd_for_kubernetes', script], {
        encoding: "utf8",
        env: { PATH: `${tools.bin}:/usr/bin:/bin`, K8S_LAB_TEST_ROOT: root, NODE_NAME: "k8s-worker01", KUBERNETES_VERSION: kubernetesVersion },
        timeout: 30_000,
    });
}

const ubuntuContainerd = "containerd github.com/containerd/containerd 1.7.28 1.7.28-0ubuntu1~24.04.1";
const containerd2 = "containerd github.com/containerd/containerd/v2 v2.1.4 75cb2b7193e4e490e9fbdc236c0e811ccaba3376";

test("Kubernetes 1.36 on containerd 1.7 is refused, naming kubernetesVersion, the node's containerd and the fix", () => {
    const result = check("1.36.1", ubuntuContainerd);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /kubernetesVersion 1\.36\.1 needs containerd 2\.0 or later, and this node's containerd is 1\.7\.28 .*Set kubernetesVersion to a 1\.35 release/);
});

test("Kubernetes 1.36 on containerd 2 passes, and 1.35 or older passes on containerd 1.7 without asking", () => {
    const on2 = check("1.36.1", containerd2);
    assert.equal(on2.status, 0, on2.stderr);
    assert.match(on2.stdout, /containerd 2\.1\.4 runs Kubernetes 1\.36\.1/);
    const older = check("1.35.4", ubuntuContainerd);
    assert.equal(older.status, 0, older.stderr);
    assert.equal(older.stdout, "");
});
