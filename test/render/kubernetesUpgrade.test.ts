// Issue 12 item 1: the upgrade scripts run as the nodes would run them, in the order the program
// chains them (components/kubernetesUpgrade.ts; that order is tested in
// test/unit/kubernetesUpgrade.test.ts), on a fake cluster: every node is a folder
// (K8S_LAB_TEST_ROOT) with stand-in hostname, id, kubeadm, kubectl, apt-get, apt-mark, apt-cache,
// dpkg-query, systemctl and curl first on PATH, all recording their calls in one shared log, and
// the "API" is a few files the stand-in kubectl reads and writes (the Nodes with their Ready status,
// kubelet version and annotation; the cluster's version). kubeadm upgrade rewrites a control plane's
// static pod manifests under its root, which the node's own script checks.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { renderScript } from "../../components/render/manifests";
import { containerdOnPath, curlServing, fakeContainerdRelease } from "../helpers/fakeContainerd";

const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "i12-upgrade-"));
after(() => fs.rmSync(workDir, { recursive: true, force: true }));
/** Issue 12 item 2: the containerd release curl serves (the only downloads that work in these tests). */
const containerdRelease = fakeContainerdRelease(workDir);

interface FakeNodeSpec {
    readonly name: string;
    readonly role: "control-plane" | "worker";
}

const nodeSpecs: readonly FakeNodeSpec[] = [
    { name: "k8s-control01", role: "control-plane" },
    { name: "k8s-control02", role: "control-plane" },
    { name: "k8s-worker01", role: "worker" },
    { name: "k8s-worker02", role: "worker" },
];

interface FakeCluster {
    /** The "API": nodes, cluster-version, static-<node>, flags. */
    readonly api: string;
    readonly calls: string;
    readonly roots: ReadonlyMap<string, string>;
}

/** A cluster whose every node runs `version` (kubelet, kubeadm, kubectl packages and static pods). */
function fakeCluster(version: string): FakeCluster {
    const dir = fs.mkdtempSync(path.join(workDir, "cluster-"));
    const api = path.join(dir, "api");
    fs.mkdirSync(api);
    const calls = path.join(dir, "calls.log");
    fs.writeFileSync(calls, "");
    fs.writeFileSync(path.join(api, "cluster-version"), `v${version}`);
    fs.writeFileSync(path.join(api, "nodes"), nodeSpecs.map((node) => `${node.name} True v${version}\n`).join(""));
    const roots = new Map<string, string>();
    for (const node of nodeSpecs) {
        const root = path.join(dir, node.name);
        roots.set(node.name, root);
        const bin = path.join(root, "bin");
        fs.mkdirSync(bin, { recursive: true });
        fs.mkdirSync(path.join(root, "pkg"));
        for (const pkg of ["kubelet", "kubeadm", "kubectl"]) fs.writeFileSync(path.join(root, "pkg", pkg), `${version}-1.1`);
        fs.mkdirSync(path.join(root, "etc", "kubernetes", "manifests"), { recursive: true });
        fs.writeFileSync(path.join(root, "etc", "kubernetes", "kubelet.conf"), "stand-in\n");
        fs.mkdirSync(path.join(root, "etc", "apt", "keyrings"), { recursive: true });
        fs.writeFileSync(path.join(root, "etc", "apt", "keyrings", "kubernetes-apt-keyring.gpg"), "stand-in keyring\n");
        if (node.role === "control-plane") {
            fs.writeFileSync(path.join(root, "etc", "kubernetes", "admin.conf"), "stand-in\n");
            writeStaticPods(root, `v${version}`);
            fs.writeFileSync(path.join(api, `static-${node.name}`), `v${version}`);
        }
        const standIn = (name: string, body: string) =>
            fs.writeFileSync(path.join(bin, name), `#!/usr/bin/env bash\necho "${node.name}: ${name} $*" >>"${calls}"\nAPI="${api}"\nROOT="${root}"\n${body}\n`, { mode: 0o755 });
        standIn("hostname", `echo "${node.name}"`);
        standIn("id", "echo 0");
        // No network in tests: only the fake containerd release downloads; the installed keyring is kept.
        standIn("curl", curlServing(containerdRelease.downloads));
        standIn("containerd", containerdOnPath(root));
        standIn("dpkg-query", 'cat "$ROOT/pkg/${*: -1}" 2>/dev/null');
        standIn("apt-cache", 'echo "   kubeadm | ${FAKE_AVAILABLE:-1.35.0}-1.1 | https://pkgs.k8s.io/core:/stable:/v1.35/deb  Packages"');
        standIn("apt-mark", "exit 0");
        standIn(
            "apt-get",
            [
                '[ -f "$API/apt-fails-$(hostname)" ] && { echo "E: stand-in apt failure" >&2; exit 100; }',
                'case " $* " in *" purge "*) for arg in "$@"; do rm -f "$ROOT/pkg/$arg"; done ;; esac',
                'for arg in "$@"; do case "$arg" in *=*-*) echo "${arg#*=}" >"$ROOT/pkg/${arg%%=*}" ;; esac; done',
            ].join("\n"),
        );
        // kubelet restart: the Node reports the installed kubelet's version.
        standIn(
            "systemctl",
            [
                'if [ "$1 $2" = "restart kubelet" ]; then',
                '  version="$(cat "$ROOT/pkg/kubelet")"',
                '  sed -i -E "s/^($(hostname)) (\\S+) \\S+/\\1 \\2 v${version%%-*}/" "$API/nodes"',
                "fi",
            ].join("\n"),
        );
        standIn(
            "kubeadm",
            [
                'case "$1 $2" in',
                '  "upgrade plan") echo "COMPONENT   NODE   CURRENT   TARGET"; [ ! -f "$API/plan-fails" ] ;;',
                '  "config images") echo registry.k8s.io/pause:3.10.1 ;;',
                '  "upgrade apply") target="$3"; echo "$target" >"$API/cluster-version" ;;',
                '  "upgrade node") target="$(cat "$API/cluster-version")" ;;',
                "esac",
                // kubeadm rewrites a control plane's static pods (the test's writeStaticPods, inlined).
                'if [ -n "${target:-}" ] && [ -f "$ROOT/etc/kubernetes/admin.conf" ]; then',
                '  for c in kube-apiserver kube-controller-manager kube-scheduler; do echo "    image: registry.k8s.io/$c:$target" >"$ROOT/etc/kubernetes/manifests/$c.yaml"; done',
                '  echo "$target" >"$API/static-$(hostname)"',
                "fi",
            ].join("\n"),
        );
        standIn(
            "kubectl",
            [
                'case "$*" in',
                "  *--raw=/readyz*) exit 0 ;;",
                // The node table as the jsonpath prints it: name, Ready, kubelet version, annotation.
                // Each node's container runtime (containerd 2 unless the test writes $API/runtimes).
                `  *containerRuntimeVersion*) if [ -f "$API/runtimes" ]; then cat "$API/runtimes"; else awk '{ print $1, "containerd://2.1.4" }' "$API/nodes"; fi ;;`,
                '  "get nodes -o jsonpath="*) cat "$API/nodes" ;;',
                '  *"get configmap kubeadm-config"*) echo "kubernetesVersion: $(cat "$API/cluster-version")" ;;',
                '  *"etcdctl"*"member list"*) for n in 1 2; do echo "8e9e05c52164694$n, started, k8s-control0$n, https://192.168.1.20$n:2380, https://192.168.1.20$n:2379, false"; done ;;',
                '  *"etcdctl"*"endpoint health"*) [ ! -f "$API/etcd-unhealthy" ] ;;',
                '  "drain "*) [ ! -f "$API/drain-fails-$2" ] ;;',
                '  "annotate node "*" --overwrite k8s-vsphere-lab/upgrading="*) sed -i -E "s/^($3 \\S+ \\S+).*/\\1 ${5#*=}/" "$API/nodes" ;;',
                '  "annotate node "*" k8s-vsphere-lab/upgrading-") sed -i -E "s/^($3 \\S+ \\S+).*/\\1/" "$API/nodes" ;;',
                '  "uncordon "*) exit 0 ;;',
                '  *) echo "unexpected kubectl $*" >&2; exit 1 ;;',
                "esac",
            ].join("\n"),
        );
    }
    return { api, calls, roots };
}

function writeStaticPods(root: string, version: string): void {
    for (const component of ["kube-apiserver", "kube-controller-manager", "kube-scheduler"]) {
        fs.writeFileSync(path.join(root, "etc", "kubernetes", "manifests", `${component}.yaml`), `    image: registry.k8s.io/${component}:${version}\n`);
    }
}

interface Ran {
    readonly step: string;
    readonly status: number | null;
    readonly stdout: string;
    readonly stderr: string;
}

/** Runs a manifests/ script on a fake node as root would (`bash -s` of the rendered text). */
function runOn(cluster: FakeCluster, host: string, script: string, env: Record<string, string>, step: string): Ran {
    const root = cluster.roots.get(host)!;
    const file = path.join(root, script);
    fs.writeFileSync(file, renderScript(script));
    const result = spawnSync("bash", [file], {
        encoding: "utf8",
        env: {
            PATH: `${path.join(root, "bin")}:/usr/bin:/bin`,
            K8S_LAB_TEST_ROOT: root,
            NODE_NAME: host,
            API_WAIT_SECONDS: "5",
            READY_WAIT_SECONDS: "0",
            APT_LOCK_WAIT_SECONDS: "5",
            APT_RETRY_SECONDS: "1",
            ...env,
        },
        timeout: 60_000,
    });
    return { step, status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/**
 * The roll as the program's graph orders it (preflight, then per node kubeadm -> drain -> kubelet
 * -> uncordon, control planes first, then workers), stopping at the first failed step as Pulumi
 * does (nothing that depends on it runs).
 */
function roll(cluster: FakeCluster, version: string, env: Record<string, string> = {}): Ran[] {
    const node0 = nodeSpecs[0].name;
    const ran: Ran[] = [];
    const steps: (() => Ran)[] = [
        () =>
            runOn(cluster, node0, "kubernetes-upgrade-cluster.sh", {
                UPGRADE_STEP: "preflight",
                KUBERNETES_VERSION: version,
                CONTROL_PLANES: "k8s-control01 k8s-control02",
                WORKERS: "k8s-worker01 k8s-worker02",
                ...env,
            }, "preflight"),
    ];
    for (const node of nodeSpecs) {
        const onNode = (step: string) => () =>
            runOn(cluster, node.name, "kubernetes-upgrade-node.sh", {
                UPGRADE_STEP: step,
                NODE_ROLE: node.role,
                FIRST_CONTROL_PLANE: String(node.name === node0),
                KUBERNETES_VERSION: version,
                ...env,
            }, `${node.name} ${step}`);
        const fromNode0 = (step: string) => () =>
            runOn(cluster, node0, "kubernetes-upgrade-cluster.sh", { UPGRADE_STEP: step, KUBERNETES_VERSION: version, TARGET_NODE: node.name, TARGET_ROLE: node.role }, `${node.name} ${step}`);
        steps.push(onNode("kubeadm"), fromNode0("drain"), onNode("kubelet"), fromNode0("uncordon"));
    }
    for (const step of steps) {
        const result = step();
        ran.push(result);
        if (result.status !== 0) break;
    }
    return ran;
}

/** The recorded calls that change something, as "<host>: <tool> <args>" lines. */
function changingCalls(cluster: FakeCluster): string[] {
    return fs
        .readFileSync(cluster.calls, "utf8")
        .split("\n")
        .filter((line) => /: (kubeadm upgrade (apply|node)|kubectl (drain|uncordon)|apt-get .*(install|purge)|systemctl (restart|stop)|apt-mark (hold|unhold)|curl .*github)/.test(line));
}

const failed = (ran: Ran[]) => ran.filter((r) => r.status !== 0);

test("a roll from 1.34.2 to 1.35.0: node 0 applies, the others upgrade node; each node drained -> upgraded -> Ready and uncordoned, one after another", () => {
    const cluster = fakeCluster("1.34.2");
    const ran = roll(cluster, "1.35.0");
    assert.deepEqual(failed(ran), []);
    assert.match(ran[0].stdout, /preflight passed: control plane v1\.34\.2 -> v1\.35\.0; every node Ready; etcd healthy \(2 members\)/);
    const calls = changingCalls(cluster).filter((line) => !/apt-mark/.test(line));
    const expected: string[] = [];
    for (const node of nodeSpecs) {
        expected.push(
            `${node.name}: apt-get -o DPkg::Lock::Timeout=60 -y -q install --no-install-recommends kubeadm=1.35.0-1.1`,
            node.name === "k8s-control01" ? "k8s-control01: kubeadm upgrade apply v1.35.0 --yes" : `${node.name}: kubeadm upgrade node`,
            `k8s-control01: kubectl drain ${node.name} --ignore-daemonsets --delete-emptydir-data --timeout=600s`,
            `${node.name}: apt-get -o DPkg::Lock::Timeout=60 -y -q install --no-install-recommends kubelet=1.35.0-1.1 kubectl=1.35.0-1.1`,
            `${node.name}: systemctl restart kubelet`,
            `k8s-control01: kubectl uncordon ${node.name}`,
        );
    }
    assert.deepEqual(calls, expected);
    // Never --disable-eviction: drains go through evictions, which PodDisruptionBudgets govern.
    assert.doesNotMatch(fs.readFileSync(cluster.calls, "utf8"), /disable-eviction|--force/);
    // kubeadm upgrade plan ran before apply and its output is in the log; the packages were unheld, then held again.
    const node0Step = ran.find((r) => r.step === "k8s-control01 kubeadm")!;
    assert.match(node0Step.stdout, /kubeadm upgrade plan v1\.35\.0:\n\[k8s-control01\]   COMPONENT   NODE   CURRENT   TARGET/);
    const node0Calls = fs.readFileSync(cluster.calls, "utf8").split("\n").filter((line) => line.startsWith("k8s-control01: kubeadm upgrade") || line.startsWith("k8s-control01: apt-mark"));
    assert.deepEqual(node0Calls.slice(0, 4), ["k8s-control01: apt-mark unhold kubeadm", "k8s-control01: apt-mark hold kubeadm", "k8s-control01: kubeadm upgrade plan v1.35.0", "k8s-control01: kubeadm upgrade apply v1.35.0 --yes"]);
    // The repository moved to the new minor on every node (pkgs.k8s.io is one repository per minor).
    for (const root of cluster.roots.values()) {
        assert.equal(
            fs.readFileSync(path.join(root, "etc", "apt", "sources.list.d", "kubernetes.list"), "utf8"),
            `deb [signed-by=${root}/etc/apt/keyrings/kubernetes-apt-keyring.gpg] https://pkgs.k8s.io/core:/stable:/v1.35/deb/ /\n`,
        );
    }
    // Every node reports the new kubelet and no upgrade annotation is left.
    assert.equal(fs.readFileSync(path.join(cluster.api, "nodes"), "utf8"), nodeSpecs.map((node) => `${node.name} True v1.35.0\n`).join(""));
});

test("a cluster already at the version (a new one, or a finished roll run again): every step skips with a log line and changes nothing", () => {
    const cluster = fakeCluster("1.35.0");
    // Before the CNI the nodes are not Ready: the preflight does not need them to be when nothing is to do.
    fs.writeFileSync(path.join(cluster.api, "nodes"), nodeSpecs.map((node) => `${node.name} False v1.35.0\n`).join(""));
    const ran = roll(cluster, "1.35.0");
    assert.deepEqual(failed(ran), []);
    assert.equal(ran.length, 1 + 4 * nodeSpecs.length);
    assert.deepEqual(changingCalls(cluster), []);
    assert.match(ran[0].stdout, /every node runs Kubernetes v1\.35\.0: nothing to upgrade/);
    for (const r of ran.slice(1)) assert.match(r.stdout, /already at Kubernetes v?1\.35\.0/, r.step);
});

test("a worker that does not drain (a PodDisruptionBudget) stops the roll there, names the node, touches nothing after it; a re-run continues from it", () => {
    const cluster = fakeCluster("1.34.2");
    fs.writeFileSync(path.join(cluster.api, "drain-fails-k8s-worker01"), "");
    const ran = roll(cluster, "1.35.0");
    assert.deepEqual(failed(ran).map((r) => r.step), ["k8s-worker01 drain"]);
    assert.match(failed(ran)[0].stderr, /k8s-worker01 did not drain within 600s: a PodDisruptionBudget allows no eviction now.*k8s-worker01 stays cordoned/);
    const calls = changingCalls(cluster);
    assert.deepEqual(calls.filter((line) => line.includes("k8s-worker02")), [], "the next worker was not touched");
    assert.ok(!calls.some((line) => line.startsWith("k8s-worker01: apt-get") && line.includes("kubelet=")), "the failed node's kubelet was not upgraded");
    assert.ok(calls.includes("k8s-control01: kubectl uncordon k8s-control02"), "the control planes were done");

    // The next `pulumi up` runs the failed step and what follows; the done nodes are skipped.
    fs.rmSync(path.join(cluster.api, "drain-fails-k8s-worker01"));
    fs.writeFileSync(cluster.calls, "");
    const again = roll(cluster, "1.35.0");
    assert.deepEqual(failed(again), []);
    for (const node of ["k8s-control01", "k8s-control02"]) {
        assert.match(again.find((r) => r.step === `${node} kubeadm`)!.stdout, /already at Kubernetes 1\.35\.0: skipping the kubeadm step/);
    }
    const resumed = changingCalls(cluster).filter((line) => !/apt-mark/.test(line));
    assert.ok(resumed.every((line) => /k8s-worker0[12]/.test(line)), resumed.join("\n"));
    assert.ok(resumed.includes("k8s-control01: kubectl uncordon k8s-worker01") && resumed.includes("k8s-control01: kubectl uncordon k8s-worker02"));
});

test("a failed package install on a control plane stops the roll on that node: no drain of it, no later node touched", () => {
    const cluster = fakeCluster("1.34.2");
    fs.writeFileSync(path.join(cluster.api, "apt-fails-k8s-control02"), "");
    const ran = roll(cluster, "1.35.0");
    assert.deepEqual(failed(ran).map((r) => r.step), ["k8s-control02 kubeadm"]);
    const calls = changingCalls(cluster);
    assert.ok(!calls.some((line) => line.includes("drain k8s-control02") || line.includes("k8s-control02: kubeadm upgrade")));
    assert.deepEqual(calls.filter((line) => line.includes("worker")), []);
});

for (const [row, running, target, message] of [
    ["a skipped minor", "1.33.5", "1.35.0", /lab:kubernetesVersion 1\.35\.0 skips a minor: the control plane runs v1\.33\.5, so the allowed targets are 1\.33\.x and 1\.34\.x/],
    ["a downgrade", "1.35.1", "1.35.0", /lab:kubernetesVersion 1\.35\.0 is below the control plane's v1\.35\.1: kubeadm cannot downgrade/],
] as const) {
    test(`the preflight refuses ${row} before any node changes, naming kubernetesVersion and the allowed versions`, () => {
        const cluster = fakeCluster(running);
        const ran = roll(cluster, target);
        assert.deepEqual(failed(ran).map((r) => r.step), ["preflight"]);
        assert.match(ran[0].stderr, message);
        assert.match(ran[0].stderr, /Nothing was changed/);
        assert.deepEqual(changingCalls(cluster), []);
    });
}

test("the preflight refuses when a node is not Ready or etcd is unhealthy, naming it; nothing changes", () => {
    const notReady = fakeCluster("1.34.2");
    fs.writeFileSync(path.join(notReady.api, "nodes"), fs.readFileSync(path.join(notReady.api, "nodes"), "utf8").replace("k8s-worker02 True", "k8s-worker02 False"));
    const ran = roll(notReady, "1.35.0");
    assert.deepEqual(failed(ran).map((r) => r.step), ["preflight"]);
    assert.match(ran[0].stderr, /nodes not Ready: k8s-worker02/);
    assert.deepEqual(changingCalls(notReady), []);

    const unhealthy = fakeCluster("1.34.2");
    fs.writeFileSync(path.join(unhealthy.api, "etcd-unhealthy"), "");
    const ranUnhealthy = roll(unhealthy, "1.35.0");
    assert.deepEqual(failed(ranUnhealthy).map((r) => r.step), ["preflight"]);
    assert.match(ranUnhealthy[0].stderr, /etcd is not healthy on every member/);
    assert.deepEqual(changingCalls(unhealthy), []);
});

test("the preflight refuses a kubelet more than three minors below the target (version skew policy), naming the node", () => {
    const cluster = fakeCluster("1.34.2");
    fs.writeFileSync(path.join(cluster.api, "nodes"), fs.readFileSync(path.join(cluster.api, "nodes"), "utf8").replace("k8s-worker01 True v1.34.2", "k8s-worker01 True v1.31.4"));
    const ran = roll(cluster, "1.35.0");
    assert.deepEqual(failed(ran).map((r) => r.step), ["preflight"]);
    assert.match(ran[0].stderr, /kubelets more than three minors below v1\.35\.0 \(the version skew policy\): k8s-worker01 \(v1\.31\.4\)/);
    assert.deepEqual(changingCalls(cluster), []);
});

/** Every node of the cluster on Ubuntu's containerd 1.7 package (and runc), as a 1.35 cluster made before issue 12 item 2. */
function onUbuntuContainerd(cluster: FakeCluster): void {
    fs.writeFileSync(path.join(cluster.api, "runtimes"), nodeSpecs.map((node) => `${node.name} containerd://1.7.28\n`).join(""));
    for (const root of cluster.roots.values()) {
        for (const pkg of ["containerd", "runc"]) fs.writeFileSync(path.join(root, "pkg", pkg), "install ok installed");
    }
}

test("the preflight refuses Kubernetes 1.36 on containerd 1.x when the run names no containerd to move to (a hand run), naming the nodes; with containerd 2 everywhere it passes", () => {
    const cluster = fakeCluster("1.35.4");
    const nodes = fs.readFileSync(path.join(cluster.api, "nodes"), "utf8").trim().split("\n").map((line) => line.split(" ")[0]);
    fs.writeFileSync(path.join(cluster.api, "runtimes"), nodes.map((node) => `${node} containerd://${node === "k8s-worker02" ? "1.7.28" : "2.1.4"}\n`).join(""));
    const ran = roll(cluster, "1.36.0");
    assert.deepEqual(failed(ran).map((r) => r.step), ["preflight"]);
    assert.match(ran[0].stderr, /lab:kubernetesVersion 1\.36\.0 needs containerd 2\.0 or later on every node .*: k8s-worker02 \(1\.7\.28\), and this run names no containerd to move them to \(CONTAINERD_VERSION\)\. Run the upgrade through pulumi up, which passes it, or stay on 1\.35\. Nothing was changed\./);
    assert.deepEqual(changingCalls(cluster), []);

    fs.rmSync(path.join(cluster.api, "runtimes"));
    const passed = roll(cluster, "1.36.0");
    assert.equal(passed[0].status, 0, passed[0].stderr);
    assert.match(passed[0].stdout, /preflight passed: control plane v1\.35\.4 -> v1\.36\.0/);
});

test("a roll from 1.35 on containerd 1.7 to 1.36 moves each node to containerd 2.3.4 while it is drained, before its new kubelet; a re-run changes nothing", () => {
    const cluster = fakeCluster("1.35.4");
    onUbuntuContainerd(cluster);
    const env = { ...containerdRelease.env, FAKE_AVAILABLE: "1.36.0" };
    const ran = roll(cluster, "1.36.0", env);
    assert.deepEqual(failed(ran).map((r) => `${r.step}: ${r.stderr}`), []);
    assert.match(ran[0].stdout, /nodes on containerd 1\.x, each moved to containerd 2\.3\.4 while drained, before its kubelet: k8s-control01 \(1\.7\.28\) k8s-control02 \(1\.7\.28\) k8s-worker01 \(1\.7\.28\) k8s-worker02 \(1\.7\.28\)/);
    const calls = changingCalls(cluster).filter((line) => !/apt-mark/.test(line));
    for (const node of nodeSpecs) {
        const own = calls.filter((line) => line.startsWith(`${node.name}: `) || line.endsWith(` ${node.name}`) || line.includes(` drain ${node.name} `));
        const at = (pattern: RegExp) => {
            const index = own.findIndex((line) => pattern.test(line));
            assert.ok(index >= 0, `${node.name}: no call matches ${pattern}:\n${own.join("\n")}`);
            return index;
        };
        const order = [
            at(/kubectl drain /),
            at(/: systemctl stop kubelet$/),
            at(/: curl .*containerd-2\.3\.4-linux-amd64\.tar\.gz$/),
            at(/: curl .*runc\.amd64$/),
            at(/: apt-get .* purge --allow-change-held-packages containerd runc$/),
            at(/: systemctl restart containerd$/),
            at(/: apt-get .* install --no-install-recommends kubelet=1\.36\.0-1\.1 kubectl=1\.36\.0-1\.1$/),
            at(/: systemctl restart kubelet$/),
            at(/kubectl uncordon /),
        ];
        assert.deepEqual(order, [...order].sort((a, b) => a - b), `${node.name}: the runtime did not move between the drain and the new kubelet:\n${own.join("\n")}`);
        const root = cluster.roots.get(node.name)!;
        assert.ok(fs.existsSync(path.join(root, "usr", "local", "bin", "containerd")), `${node.name} has no containerd 2.3.4`);
        assert.ok(!fs.existsSync(path.join(root, "pkg", "containerd")), `${node.name} still has Ubuntu's containerd`);
        assert.match(fs.readFileSync(path.join(root, "etc", "containerd", "config.toml"), "utf8"), /^version = 3$/m);
    }
    // The drained node's kubelet is stopped while its runtime moves, and only then.
    assert.deepEqual(calls.filter((line) => / systemctl stop /.test(line)), nodeSpecs.map((node) => `${node.name}: systemctl stop kubelet`));

    fs.writeFileSync(cluster.calls, "");
    const again = roll(cluster, "1.36.0", env);
    assert.deepEqual(failed(again), []);
    assert.deepEqual(changingCalls(cluster), []);
});

test("uncordon leaves a node someone cordoned by hand alone: only a node the upgrade drained (annotated) is uncordoned", () => {
    const cluster = fakeCluster("1.35.0");
    const result = runOn(cluster, "k8s-control01", "kubernetes-upgrade-cluster.sh", { UPGRADE_STEP: "uncordon", KUBERNETES_VERSION: "1.35.0", TARGET_NODE: "k8s-worker01", TARGET_ROLE: "worker" }, "uncordon");
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /not drained by an upgrade: left as it is/);
    assert.deepEqual(changingCalls(cluster), []);
});

test("node-prepare.sh on a node already in a cluster leaves a new version's packages to the upgrade steps, with a log line; a new node installs the configured version", () => {
    const cluster = fakeCluster("1.34.2");
    const root = cluster.roots.get("k8s-worker01")!;
    const prepare = (env: Record<string, string>) =>
        spawnSync("bash", ["-c", 'source "$0"; install_kubernetes_packages', path.join(root, "node-prepare.sh")], {
            encoding: "utf8",
            env: { PATH: `${path.join(root, "bin")}:/usr/bin:/bin`, K8S_LAB_TEST_ROOT: root, K8S_LAB_FUNCTIONS_ONLY: "1", NODE_NAME: "k8s-worker01", NODE_ROLE: "worker", KUBERNETES_VERSION: "1.35.0", APT_LOCK_WAIT_SECONDS: "5", ...env },
        });
    fs.writeFileSync(path.join(root, "node-prepare.sh"), renderScript("node-prepare.sh"));
    const joined = prepare({});
    assert.equal(joined.status, 0, joined.stderr);
    assert.match(joined.stdout, /kubeadm 1\.34\.2-1\.1 on a node in a cluster: the Kubernetes upgrade steps move it to 1\.35\.0; packages left as they are/);
    assert.deepEqual(changingCalls(cluster), []);

    // A new node (no kubelet.conf yet) gets the configured version.
    fs.rmSync(path.join(root, "etc", "kubernetes", "kubelet.conf"));
    const fresh = prepare({});
    assert.equal(fresh.status, 0, fresh.stderr);
    assert.ok(changingCalls(cluster).includes("k8s-worker01: apt-get -o DPkg::Lock::Timeout=60 -y -q install --no-install-recommends --allow-change-held-packages kubelet=1.35.0-1.1 kubeadm=1.35.0-1.1 kubectl=1.35.0-1.1"));
});
