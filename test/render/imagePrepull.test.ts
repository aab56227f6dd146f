// Issue 14 item 1: node-prepare.sh pre-pulls the images kubeadm and the node's first pods need, and
// detects a prepared template. Run with stand-in kubeadm, crictl and dpkg-query first on PATH; each
// stand-in records its call, so a test shows what was pulled and what was left alone.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { renderScript } from "../../components/render/manifests";
import { standInNode } from "../helpers/standInNode";

const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "i14-prepull-"));
after(() => fs.rmSync(workDir, { recursive: true, force: true }));

const VERSION = "1.34.2";
/** What `kubeadm config images list --kubernetes-version v1.34.2` prints (kubeadm 1.34). */
const KUBEADM_IMAGES = [
    "registry.k8s.io/kube-apiserver:v1.34.2",
    "registry.k8s.io/kube-controller-manager:v1.34.2",
    "registry.k8s.io/kube-scheduler:v1.34.2",
    "registry.k8s.io/kube-proxy:v1.34.2",
    "registry.k8s.io/coredns/coredns:v1.12.1",
    "registry.k8s.io/pause:3.10.1",
    "registry.k8s.io/etcd:3.6.4-0",
];
const CONTAINERD_MARKER = "# Managed by k8s-vsphere-lab node-prepare.sh: containerd's default config, SystemdCgroup = true, kubeadm's sandbox image.";

interface FakeNode {
    readonly root: string;
    readonly calls: string;
    /** One image per line: what the fake containerd holds (crictl inspecti succeeds for these). */
    readonly images: string;
}

/**
 * A fake node: hostname, id -u = 0; kubeadm prints KUBEADM_IMAGES for `config images list`;
 * crictl `inspecti` succeeds for images in `images`, `pull` adds the image there unless it is in
 * FAKE_PULL_FAILS (space-separated), or sleeps when FAKE_PULL_SLEEP is set; dpkg-query reports
 * every package installed at FAKE_VERSION (nothing installed when unset); apt-get, apt-mark, curl
 * and systemctl only record.
 */
function fakeNode(host: string): FakeNode {
    const root = fs.mkdtempSync(path.join(workDir, "node-"));
    const { calls, standIn } = standInNode(root, host);
    const images = path.join(root, "images.txt");
    fs.writeFileSync(images, "");
    standIn("kubeadm", ['if [ "$1 $2 $3" = "config images list" ]; then', ...KUBEADM_IMAGES.map((i) => `  echo ${i}`), "fi"].join("\n"));
    standIn(
        "crictl",
        [
            'image="${*: -1}"',
            'case "$3" in',
            `  inspecti) grep -qxF "$image" "${images}" ;;`,
            '  pull)',
            '    [ -n "${FAKE_PULL_SLEEP:-}" ] && sleep "$FAKE_PULL_SLEEP"',
            '    case " ${FAKE_PULL_FAILS:-} " in *" $image "*) echo "rpc error: failed to pull" >&2; exit 1 ;; esac',
            `    echo "$image" >>"${images}" ;;`,
            "esac",
        ].join("\n"),
    );
    standIn(
        "dpkg-query",
        [
            '[ -n "${FAKE_VERSION:-}" ] || exit 1',
            'case "$2" in',
            "  *Status*) echo 'install ok installed' ;;",
            '  *) echo "${FAKE_VERSION}-1.1" ;;',
            "esac",
        ].join("\n"),
    );
    for (const tool of ["apt-get", "apt-mark", "curl", "systemctl"]) standIn(tool, "exit 0");
    return { root, calls, images };
}

/** Loads node-prepare.sh's functions and runs `body` (bash) on the fake node. */
function run(node: FakeNode, body: string, env: Record<string, string> = {}) {
    const script = path.join(node.root, "node-prepare.sh");
    fs.writeFileSync(script, renderScript("node-prepare.sh"));
    return spawnSync("bash", ["-c", `K8S_LAB_FUNCTIONS_ONLY=1; source "$0"; ${body}`, script], {
        encoding: "utf8",
        env: {
            PATH: `${path.join(node.root, "bin")}:/usr/bin:/bin`,
            K8S_LAB_TEST_ROOT: node.root,
            NODE_NAME: "k8s-node",
            KUBERNETES_VERSION: VERSION,
            ...env,
        },
        timeout: 30_000,
    });
}

const pulls = (node: FakeNode) =>
    fs
        .readFileSync(node.calls, "utf8")
        .split("\n")
        .filter((line) => / pull /.test(line) && line.startsWith("crictl"))
        .map((line) => line.split(" ").pop());

test("node-prepare.sh pre-pulls every kubeadm image on a control plane, through containerd's CRI socket", () => {
    const node = fakeNode("k8s-control01");
    const result = run(node, "prepull_images", { NODE_ROLE: "control-plane" });
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(pulls(node), KUBEADM_IMAGES);
    assert.match(fs.readFileSync(node.calls, "utf8"), /^crictl --runtime-endpoint unix:\/\/\/run\/containerd\/containerd\.sock pull registry\.k8s\.io\/etcd:3\.6\.4-0$/m);
    assert.match(fs.readFileSync(node.calls, "utf8"), /^kubeadm config images list --kubernetes-version v1\.34\.2$/m);
    assert.match(result.stdout, /images: 0 present, 7 pulled, 0 not pulled/);
});

test("node-prepare.sh pre-pulls only pause and kube-proxy on a worker, then the add-on images of PREPULL_IMAGES", () => {
    const node = fakeNode("k8s-worker01");
    const result = run(node, "prepull_images", { NODE_ROLE: "worker", PREPULL_IMAGES: "quay.io/metallb/speaker:v0.15.2 bad;image" });
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(pulls(node), ["registry.k8s.io/kube-proxy:v1.34.2", "registry.k8s.io/pause:3.10.1", "quay.io/metallb/speaker:v0.15.2"]);
    assert.match(result.stdout, /PREPULL_IMAGES entry 'bad;image' is not an image reference: skipped/);
});

test("node-prepare.sh's pre-pull skips images already present and never fails preparation on a pull error", () => {
    const node = fakeNode("k8s-control01");
    fs.writeFileSync(node.images, "registry.k8s.io/pause:3.10.1\n");
    const result = run(node, "prepull_images; echo prepare-went-on", { NODE_ROLE: "control-plane", FAKE_PULL_FAILS: "registry.k8s.io/etcd:3.6.4-0" });
    assert.equal(result.status, 0, result.stderr);
    assert.ok(!pulls(node).includes("registry.k8s.io/pause:3.10.1"), "a present image is pulled again");
    assert.match(result.stdout, /warning: could not pull registry\.k8s\.io\/etcd:3\.6\.4-0 now: left to the kubelet/);
    assert.match(result.stdout, /images: 1 present, 5 pulled, 1 not pulled/);
    assert.match(result.stdout, /prepare-went-on/);
});

test("node-prepare.sh's pre-pull is bounded by IMAGE_PULL_SECONDS in all: late images are left to the kubelet", () => {
    const node = fakeNode("k8s-worker01");
    const started = Date.now();
    const result = run(node, "prepull_images", { NODE_ROLE: "worker", IMAGE_PULL_SECONDS: "1", FAKE_PULL_SLEEP: "5" });
    assert.equal(result.status, 0, result.stderr);
    assert.ok(Date.now() - started < 4_000, "the pre-pull waited past its bound");
    assert.match(result.stdout, /images: 0 present, 0 pulled, 2 not pulled/);
});

/** A node cloned from a prepared template: packages at VERSION, containerd configured, images present. */
function preparedNode(host: string, images: readonly string[]): FakeNode {
    const node = fakeNode(host);
    fs.mkdirSync(path.join(node.root, "etc", "containerd"), { recursive: true });
    fs.writeFileSync(path.join(node.root, "etc", "containerd", "config.toml"), `${CONTAINERD_MARKER}\nversion = 3\n`);
    fs.writeFileSync(node.images, images.map((i) => `${i}\n`).join(""));
    return node;
}

// main with the steps that touch the host itself (swap, modules, sysctls, containerd's config,
// udev) replaced: what is left is what detection changes, the apt and download steps.
const mainWithHostStepsStubbed = [
    "wait_for_first_boot() { :; }",
    "disable_swap() { :; }",
    "load_kernel_modules() { :; }",
    "apply_sysctls() { :; }",
    "configure_containerd() { :; }",
    "install_flannel_offload_fix() { :; }",
    "main",
].join("; ");

test("node-prepare.sh detects a prepared template and only checks: no apt list, no key download, no pull", () => {
    const node = preparedNode("k8s-control01", KUBEADM_IMAGES);
    const result = run(node, mainWithHostStepsStubbed, { NODE_ROLE: "control-plane", FAKE_VERSION: VERSION });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /prepared template: containerd, kubelet\/kubeadm\/kubectl 1\.34\.2 and the 7 Kubernetes images are present; only checking/);
    const calls = fs.readFileSync(node.calls, "utf8");
    assert.doesNotMatch(calls, /^curl /m, "the pkgs.k8s.io key was downloaded");
    assert.doesNotMatch(calls, /^apt-get /m, "apt ran");
    assert.deepEqual(pulls(node), []);
    assert.match(result.stdout, /images: 7 present, 0 pulled, 0 not pulled/);
});

test("node-prepare.sh prepares a stock node in full: a template without the pinned packages or the images is not prepared", () => {
    for (const [label, node, version] of [
        ["another kubeadm version", preparedNode("k8s-control01", KUBEADM_IMAGES), "1.33.4"],
        ["an image missing", preparedNode("k8s-control01", KUBEADM_IMAGES.slice(1)), VERSION],
        ["no packages", fakeNode("k8s-control01"), ""],
    ] as const) {
        const result = run(node, "detect_prepared_template && echo detected || echo not-detected", { NODE_ROLE: "control-plane", FAKE_VERSION: version });
        assert.equal(result.status, 0, result.stderr);
        assert.match(result.stdout, /^not-detected$/m, label);
    }
    // And main, on the stock node, downloads the key and runs apt (the path detection skips).
    const stock = fakeNode("k8s-worker01");
    run(stock, mainWithHostStepsStubbed, { NODE_ROLE: "worker" });
    const calls = fs.readFileSync(stock.calls, "utf8");
    assert.match(calls, /^curl .*pkgs\.k8s\.io/m);
    assert.match(calls, /^apt-get .*update/m);
});
