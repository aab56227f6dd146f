// Issue 11 item 4: node-resize.sh run as node 0 runs it, on a fake cluster: stand-in hostname, id,
// sleep and kubectl first on PATH, recording their calls in one log, and an "API" of files the
// stand-in kubectl reads and writes (each Node's Ready status, boot id and resizing annotation;
// etcd's health). A power cycle is the stand-in kubectl reporting the node NotReady, then with a
// new boot id and Ready, after a few polls. The graph that runs the steps in turn is tested in
// test/unit/nodeResizeRoll.test.ts.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { renderScript } from "../../components/render/manifests";
import { standInNode } from "../helpers/standInNode";

const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "i11-resize-"));
after(() => fs.rmSync(workDir, { recursive: true, force: true }));
const scriptFile = path.join(workDir, "node-resize.sh");
fs.writeFileSync(scriptFile, renderScript("node-resize.sh"));

interface FakeCluster {
    readonly root: string;
    readonly api: string;
    readonly bin: string;
    readonly calls: string;
}

/** Node 0 of a cluster whose nodes are all Ready with boot id boot-1, etcd healthy with 3 members. */
function fakeCluster(nodes = ["k8s-control01", "k8s-control02", "k8s-control03", "k8s-worker01"]): FakeCluster {
    const root = fs.mkdtempSync(path.join(workDir, "node0-"));
    const api = path.join(root, "api");
    fs.mkdirSync(api);
    fs.writeFileSync(path.join(api, "nodes"), nodes.map((name) => `${name} True boot-1\n`).join(""));
    fs.mkdirSync(path.join(root, "etc", "kubernetes"), { recursive: true });
    fs.writeFileSync(path.join(root, "etc", "kubernetes", "admin.conf"), "stand-in\n");
    const { bin, calls, standIn } = standInNode(root, "k8s-control01");
    standIn("sleep", "exit 0");
    standIn(
        "kubectl",
        [
            `API="${api}"`,
            'case "$*" in',
            "  *--raw=/readyz*) exit 0 ;;",
            // A power cycle in progress: $API/reboot holds "<node> <polls left>"; the node is still
            // up (Ready, old boot id) while more than one poll is left, NotReady at the last one,
            // then Ready with boot id boot-2.
            '  "get nodes -o jsonpath="*)',
            '    if [ -f "$API/reboot" ]; then',
            '      read -r node left <"$API/reboot"',
            '      if [ "$left" -gt 1 ]; then echo "$node $((left - 1))" >"$API/reboot"',
            '      elif [ "$left" -eq 1 ]; then echo "$node 0" >"$API/reboot"; sed -i -E "s/^($node) True /\\1 False /" "$API/nodes"',
            '      else rm "$API/reboot"; sed -i -E "s/^($node) \\S+ \\S+/\\1 True boot-2/" "$API/nodes"; fi',
            "    fi",
            '    cat "$API/nodes" ;;',
            '  "get node "*" -o jsonpath="*) echo "4 vCPU, 8148812Ki memory" ;;',
            '  *"etcdctl"*"member list"*) for n in $(seq 1 "$(cat "$API/etcd-members" 2>/dev/null || echo 3)"); do echo "8e9e05c52164694$n, started, k8s-control0$n, https://192.168.1.20$n:2380, https://192.168.1.20$n:2379, false"; done ;;',
            '  *"etcdctl"*"endpoint health"*)',
            '    if [ -s "$API/etcd-unhealthy-checks" ]; then left=$(cat "$API/etcd-unhealthy-checks"); if [ "$left" -gt 0 ]; then echo $((left - 1)) >"$API/etcd-unhealthy-checks"; exit 1; fi; fi',
            '    [ ! -f "$API/etcd-unhealthy" ] ;;',
            '  "drain "*) [ ! -f "$API/drain-fails" ] ;;',
            '  "annotate node "*" --overwrite k8s-vsphere-lab/resizing="*) sed -i -E "s/^($3 \\S+ \\S+).*/\\1 ${5#*=}/" "$API/nodes" ;;',
            '  "annotate node "*" k8s-vsphere-lab/resizing-") sed -i -E "s/^($3 \\S+ \\S+).*/\\1/" "$API/nodes" ;;',
            '  "uncordon "*) exit 0 ;;',
            // The kube-system ConfigMap of finished resizes: one file per node under $API/resizes.
            '  "-n kube-system get configmap k8s-vsphere-lab-resizes --ignore-not-found -o go-template="*)',
            '    args="$*"; node="${args#*index . \\"}"; node="${node%%\\"*}"; cat "$API/resizes/$node" 2>/dev/null || true ;;',
            '  "-n kube-system get configmap k8s-vsphere-lab-resizes") [ -d "$API/resizes" ] ;;',
            '  "-n kube-system create configmap k8s-vsphere-lab-resizes") mkdir "$API/resizes" ;;',
            '  "-n kube-system patch configmap k8s-vsphere-lab-resizes --type merge -p "*)',
            '    [ -d "$API/resizes" ] || exit 1',
            // -p {"data":{"<node>":"<id>"}}: the file <node> holds <id>.
            '    args="$*"; entry="${args#*\\"data\\":\\{\\"}"; node="${entry%%\\"*}"; id="${entry#*\\":\\"}"; printf "%s" "${id%\\"\\}\\}}" >"$API/resizes/$node" ;;',
            '  *) echo "unexpected kubectl $*" >&2; exit 1 ;;',
            "esac",
        ].join("\n"),
    );
    return { root, api, bin, calls };
}

/** The resize guard's id of the size change under test (providers/resizeGuard.ts: the time of the pulumi up). */
const resizeId = "2026-12-07T09:00:00.000Z";

function resize(cluster: FakeCluster, step: "drain" | "return", target: string, env: Record<string, string> = {}) {
    return spawnSync("bash", [scriptFile], {
        encoding: "utf8",
        env: {
            PATH: `${cluster.bin}:/usr/bin:/bin`,
            K8S_LAB_TEST_ROOT: cluster.root,
            NODE_NAME: "k8s-control01",
            RESIZE_STEP: step,
            TARGET_NODE: target,
            TARGET_ROLE: target.includes("control") ? "control-plane" : "worker",
            TARGET_CPUS: "4",
            TARGET_MEMORY_MB: "8192",
            CONTROL_PLANE_COUNT: "3",
            RESIZE_ID: resizeId,
            ...env,
        },
        timeout: 30_000,
    });
}

// The calls that change something or read a node: not the API and node table polls, nor the reads of the finished-resize record.
const kubectlCalls = (cluster: FakeCluster) =>
    fs
        .readFileSync(cluster.calls, "utf8")
        .split("\n")
        .filter((line) => line.startsWith("kubectl ") && !line.includes("--raw=/readyz") && !line.startsWith("kubectl get nodes") && !line.includes(" get configmap "));
const finishedResizes = (cluster: FakeCluster) => {
    const dir = path.join(cluster.api, "resizes");
    return fs.existsSync(dir) ? Object.fromEntries(fs.readdirSync(dir).map((node) => [node, fs.readFileSync(path.join(dir, node), "utf8")])) : undefined;
};
const nodeLine = (cluster: FakeCluster, name: string) => fs.readFileSync(path.join(cluster.api, "nodes"), "utf8").split("\n").find((line) => line.startsWith(`${name} `));

test("a worker: drained with its boot id recorded, then uncordoned only once it is Ready with a new boot id", () => {
    const cluster = fakeCluster();
    const drained = resize(cluster, "drain", "k8s-worker01");
    assert.equal(drained.status, 0, drained.stderr);
    assert.match(drained.stdout, /\[k8s-control01\] draining worker k8s-worker01 before its resize to 4 vCPU, 8192 MB \(PodDisruptionBudgets respected, timeout 600s\)/);
    assert.deepEqual(kubectlCalls(cluster), [
        "kubectl annotate node k8s-worker01 --overwrite k8s-vsphere-lab/resizing=boot-1",
        "kubectl drain k8s-worker01 --ignore-daemonsets --delete-emptydir-data --timeout=600s",
    ]);
    fs.writeFileSync(cluster.calls, "");
    // vSphere shuts the VM down (still Ready at first), resizes and starts it (boot-2).
    fs.writeFileSync(path.join(cluster.api, "reboot"), "k8s-worker01 4\n");
    const returned = resize(cluster, "return", "k8s-worker01");
    assert.equal(returned.status, 0, returned.stderr);
    assert.ok(!fs.existsSync(path.join(cluster.api, "reboot")), "return finished before the node came back");
    assert.deepEqual(kubectlCalls(cluster), [
        "kubectl uncordon k8s-worker01",
        "kubectl -n kube-system create configmap k8s-vsphere-lab-resizes",
        `kubectl -n kube-system patch configmap k8s-vsphere-lab-resizes --type merge -p {"data":{"k8s-worker01":"${resizeId}"}}`,
        "kubectl annotate node k8s-worker01 k8s-vsphere-lab/resizing-",
        "kubectl get node k8s-worker01 -o jsonpath={.status.capacity.cpu} vCPU, {.status.capacity.memory} memory",
    ]);
    assert.match(returned.stdout, /worker k8s-worker01 Ready after its resize \(4 vCPU, 8148812Ki memory\) and uncordoned/);
    assert.equal(nodeLine(cluster, "k8s-worker01"), "k8s-worker01 True boot-2");
});

test("return fails, naming the node and leaving it cordoned, when it does not come back within READY_WAIT_SECONDS", () => {
    const cluster = fakeCluster();
    assert.equal(resize(cluster, "drain", "k8s-worker01").status, 0);
    fs.writeFileSync(cluster.calls, "");
    const result = resize(cluster, "return", "k8s-worker01", { READY_WAIT_SECONDS: "0" });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /k8s-worker01 did not come back Ready from its resize within 0s .*it stays cordoned and no other node was touched/);
    assert.deepEqual(kubectlCalls(cluster), []);
});

test("drain refuses while another node is not Ready, before touching the target", () => {
    const cluster = fakeCluster();
    fs.writeFileSync(path.join(cluster.api, "nodes"), fs.readFileSync(path.join(cluster.api, "nodes"), "utf8").replace("k8s-control03 True", "k8s-control03 False"));
    const result = resize(cluster, "drain", "k8s-worker01");
    assert.equal(result.status, 1);
    assert.match(result.stderr, /nodes not Ready: k8s-control03; resizing k8s-worker01 takes it down.*k8s-worker01 was not touched/);
    assert.deepEqual(kubectlCalls(cluster), []);
});

test("a control plane is drained only with etcd healthy on all its members, and returns only once etcd is healthy again", () => {
    for (const broken of ["etcd-unhealthy", "etcd-members"]) {
        const cluster = fakeCluster();
        fs.writeFileSync(path.join(cluster.api, broken), "2\n");
        const refused = resize(cluster, "drain", "k8s-control02", { ETCD_WAIT_SECONDS: "0" });
        assert.equal(refused.status, 1, broken);
        assert.match(refused.stderr, /etcd is not healthy with 3 started members after 0s .*taking control plane k8s-control02 down now could lose etcd's quorum/);
        assert.deepEqual(kubectlCalls(cluster).filter((call) => !call.includes("etcdctl")), [], broken);
    }
    const cluster = fakeCluster();
    assert.equal(resize(cluster, "drain", "k8s-control02").status, 0);
    fs.writeFileSync(path.join(cluster.api, "reboot"), "k8s-control02 1\n");
    fs.writeFileSync(path.join(cluster.api, "etcd-unhealthy"), "");
    fs.writeFileSync(cluster.calls, "");
    const waiting = resize(cluster, "return", "k8s-control02", { READY_WAIT_SECONDS: "0" });
    assert.equal(waiting.status, 1);
    assert.match(waiting.stderr, /etcd is not healthy with 3 started members 0s after k8s-control02's resize/);
    assert.ok(!kubectlCalls(cluster).some((call) => call.startsWith("kubectl uncordon")));
    fs.rmSync(path.join(cluster.api, "etcd-unhealthy"));
    const returned = resize(cluster, "return", "k8s-control02");
    assert.equal(returned.status, 0, returned.stderr);
    assert.match(returned.stdout, /control-plane k8s-control02 Ready after its resize/);
});

test("a control plane's drain waits while etcd is unhealthy for a while (a member restarted by a certificate renewal), then drains", () => {
    const cluster = fakeCluster();
    // Unhealthy for the next two health checks, then healthy again.
    fs.writeFileSync(path.join(cluster.api, "etcd-unhealthy-checks"), "2\n");
    const drained = resize(cluster, "drain", "k8s-control02");
    assert.equal(drained.status, 0, drained.stderr);
    assert.match(drained.stdout, /waiting for etcd to be healthy with 3 started members \(up to 300s\) before draining k8s-control02/);
    assert.ok(kubectlCalls(cluster).includes("kubectl drain k8s-control02 --ignore-daemonsets --delete-emptydir-data --timeout=600s"));
});

test("a node that is not in the cluster is not drained, and return leaves alone a node no resize drained", () => {
    const cluster = fakeCluster();
    const drained = resize(cluster, "drain", "k8s-worker04");
    assert.equal(drained.status, 0, drained.stderr);
    assert.match(drained.stdout, /k8s-worker04 is not in the cluster \(not joined yet\): nothing to drain/);
    for (const node of ["k8s-worker04", "k8s-worker01"]) {
        const returned = resize(cluster, "return", node);
        assert.equal(returned.status, 0, returned.stderr);
        assert.match(returned.stdout, new RegExp(`${node} was not drained for a resize: left as it is`));
    }
    assert.deepEqual(kubectlCalls(cluster), []);
});

test("a drain that fails (a PodDisruptionBudget) says what to do; the re-run drains again and keeps the first boot id", () => {
    const cluster = fakeCluster();
    fs.writeFileSync(path.join(cluster.api, "drain-fails"), "");
    const failed = resize(cluster, "drain", "k8s-worker01", { DRAIN_TIMEOUT: "30s" });
    assert.equal(failed.status, 1);
    assert.match(failed.stderr, /k8s-worker01 did not drain within 30s: a PodDisruptionBudget allows no eviction now.*Its VM was not resized/);
    fs.rmSync(path.join(cluster.api, "drain-fails"));
    fs.writeFileSync(cluster.calls, "");
    const again = resize(cluster, "drain", "k8s-worker01");
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /was drained for a resize before and has not come back yet: draining it again/);
    assert.deepEqual(kubectlCalls(cluster), ["kubectl drain k8s-worker01 --ignore-daemonsets --delete-emptydir-data --timeout=600s"]);
    assert.equal(nodeLine(cluster, "k8s-worker01"), "k8s-worker01 True boot-1 boot-1");
});

test("steps run again for a new script text, not a new size, drain nothing: no size change recorded, or this one finished", () => {
    const cluster = fakeCluster();
    // A node never resized: the guard has no id for it.
    const never = resize(cluster, "drain", "k8s-worker01", { RESIZE_ID: "" });
    assert.equal(never.status, 0, never.stderr);
    assert.match(never.stdout, /k8s-worker01 was never resized \(it keeps the size it was created with\): nothing to drain/);
    assert.deepEqual(kubectlCalls(cluster), []);
    assert.equal(nodeLine(cluster, "k8s-worker01"), "k8s-worker01 True boot-1");
    // A resize runs in full and records its id ...
    assert.equal(resize(cluster, "drain", "k8s-worker01").status, 0);
    fs.writeFileSync(path.join(cluster.api, "reboot"), "k8s-worker01 2\n");
    assert.equal(resize(cluster, "return", "k8s-worker01").status, 0);
    assert.deepEqual(finishedResizes(cluster), { "k8s-worker01": resizeId });
    // ... so a later run with the same id (the script's text changed) drains nothing and returns nothing,
    // even for a node rebuilt since (a new Node object: boot-1, no annotation).
    fs.writeFileSync(cluster.calls, "");
    fs.writeFileSync(path.join(cluster.api, "nodes"), fs.readFileSync(path.join(cluster.api, "nodes"), "utf8").replace("k8s-worker01 True boot-2", "k8s-worker01 True boot-1"));
    const rerun = resize(cluster, "drain", "k8s-worker01");
    assert.equal(rerun.status, 0, rerun.stderr);
    assert.match(rerun.stdout, new RegExp(`k8s-worker01's resize to 4 vCPU, 8192 MB \\(${resizeId.replace(/\./g, "\\.")}\\) is done already: nothing to drain`));
    const rerunReturn = resize(cluster, "return", "k8s-worker01");
    assert.equal(rerunReturn.status, 0, rerunReturn.stderr);
    assert.match(rerunReturn.stdout, /k8s-worker01 was not drained for a resize: left as it is/);
    assert.deepEqual(kubectlCalls(cluster), []);
    // A new size change (a new id) drains again.
    const next = resize(cluster, "drain", "k8s-worker01", { RESIZE_ID: "2026-12-08T10:00:00.000Z", TARGET_CPUS: "8" });
    assert.equal(next.status, 0, next.stderr);
    assert.match(next.stdout, /draining worker k8s-worker01 before its resize to 8 vCPU/);
});

test("a return cut off after its record and before the annotation went records again on its re-run", () => {
    const cluster = fakeCluster();
    assert.equal(resize(cluster, "drain", "k8s-worker01").status, 0);
    fs.writeFileSync(path.join(cluster.api, "reboot"), "k8s-worker01 2\n");
    // The record cannot be written: the return fails with the node still marked.
    fs.writeFileSync(path.join(cluster.api, "resizes"), "not a folder\n");
    const cut = resize(cluster, "return", "k8s-worker01");
    assert.notEqual(cut.status, 0);
    assert.match(nodeLine(cluster, "k8s-worker01") ?? "", /^k8s-worker01 True boot-2 boot-1$/);
    fs.rmSync(path.join(cluster.api, "resizes"));
    const again = resize(cluster, "return", "k8s-worker01");
    assert.equal(again.status, 0, again.stderr);
    assert.deepEqual(finishedResizes(cluster), { "k8s-worker01": resizeId });
    assert.equal(nodeLine(cluster, "k8s-worker01"), "k8s-worker01 True boot-2");
});

test("bad input is refused naming the variable", () => {
    const cluster = fakeCluster();
    assert.match(resize(cluster, "drain", "k8s-worker01", { RESIZE_ID: "x'; rm -rf /" }).stderr, /RESIZE_ID must be an id from the resize guard/);
    assert.match(resize(cluster, "drain", "Bad_Node").stderr, /TARGET_NODE must be a node name \(a DNS label\), not Bad_Node/);
    assert.match(resize(cluster, "drain", "k8s-worker01", { TARGET_ROLE: "etcd" }).stderr, /TARGET_ROLE must be control-plane or worker, not etcd/);
    assert.match(resize(cluster, "drain", "k8s-worker01", { CONTROL_PLANE_COUNT: "x" }).stderr, /CONTROL_PLANE_COUNT must be a positive number, not x/);
    assert.match(resize(cluster, "uncordon" as "drain", "k8s-worker01").stderr, /RESIZE_STEP must be drain or return, not uncordon/);
});
