// Issue 13 item 1: apiserver-reconfigure.sh, the step of the OIDC roll that runs on each control
// plane, run as a node would run it: stand-in kubeadm, kubectl and curl first on PATH record every
// call, and K8S_LAB_TEST_ROOT moves the node's /etc and /var into a temporary folder. The stand-in
// kubeadm writes the manifest the way `kubeadm init phase control-plane apiserver` does (in place);
// the stand-in kubectl answers for the mirror pod the way the kubelet would once it restarted the
// static pod (a new kubernetes.io/config.hash) unless told the new apiserver never gets Ready.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { renderScript } from "../../components/render/manifests";
import { standInNode } from "../helpers/standInNode";

const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "i13-apiserver-reconfigure-"));
after(() => fs.rmSync(workDir, { recursive: true, force: true }));

const oldManifest = "spec:\n  containers:\n  - command:\n    - kube-apiserver\n    - --advertise-address=192.168.1.201\n    image: registry.k8s.io/kube-apiserver:v1.34.2\n";
const newManifest = oldManifest.replace("--advertise-address=192.168.1.201\n", "--advertise-address=192.168.1.201\n    - --oidc-issuer-url=https://id.lab.example/realms/lab\n");
const stagedConfig = "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nkubernetesVersion: v1.34.2\n";

interface FakeControlPlane {
    readonly root: string;
    readonly calls: string;
    readonly manifest: string;
}

/**
 * A control plane named `host` with kube-apiserver running `manifest`. kubeadm's control-plane phase
 * writes FAKE_NEW_MANIFEST's content (default: the manifest unchanged). kubectl: /readyz answers;
 * the mirror pod reports hash "old" while the manifest is the running one, then "new" and Ready
 * (False with FAKE_NEVER_READY=1). curl: /readyz answers.
 */
function fakeControlPlane(host: string, manifest = oldManifest): FakeControlPlane {
    const root = fs.mkdtempSync(path.join(workDir, "node-"));
    const { calls, standIn } = standInNode(root, host);
    const manifestPath = path.join(root, "etc", "kubernetes", "manifests", "kube-apiserver.yaml");
    fs.mkdirSync(path.dirname(manifestPath), { recursive: true });
    fs.writeFileSync(manifestPath, manifest);
    const running = path.join(root, "running-manifest.yaml");
    fs.writeFileSync(running, manifest);
    fs.mkdirSync(path.join(root, "etc", "kubernetes", "pki"));
    fs.writeFileSync(path.join(root, "etc", "kubernetes", "pki", "ca.crt"), "stand-in\n");
    fs.writeFileSync(path.join(root, "etc", "kubernetes", "admin.conf"), "stand-in\n");
    fs.mkdirSync(path.join(root, "etc", "k8s-lab"));
    fs.writeFileSync(path.join(root, "etc", "k8s-lab", "kubeadm-apiserver.yaml"), stagedConfig);
    standIn(
        "kubeadm",
        [
            'case "$*" in',
            `  "init phase control-plane apiserver --config "*) if [ -n "\${FAKE_NEW_MANIFEST:-}" ]; then cp "$FAKE_NEW_MANIFEST" "${manifestPath}"; else cp "${manifestPath}" "${manifestPath}.tmp" && mv "${manifestPath}.tmp" "${manifestPath}"; fi ;;`,
            '  "init phase upload-config kubeadm --config "*) echo "[upload-config] Storing the configuration" ;;',
            "  *) exit 2 ;;",
            "esac",
        ].join("\n"),
    );
    standIn(
        "kubectl",
        [
            'case "$*" in',
            "  *--raw=/readyz*) exit 0 ;;",
            `  *"get pod kube-apiserver-${host}"*)`,
            `    if cmp -s "${manifestPath}" "${running}"; then printf 'old|True'`,
            '    elif [ "${FAKE_NEVER_READY:-0}" = 1 ]; then printf "new|False"',
            "    else printf 'new|True'; fi ;;",
            "  *) exit 2 ;;",
            "esac",
        ].join("\n"),
    );
    standIn("curl", "exit 0");
    return { root, calls, manifest: manifestPath };
}

function run(node: FakeControlPlane, env: Record<string, string>) {
    const file = path.join(node.root, "apiserver-reconfigure.sh");
    fs.writeFileSync(file, renderScript("apiserver-reconfigure.sh"));
    return spawnSync("bash", ["-c", 'source "$0"', file], {
        encoding: "utf8",
        env: { PATH: `${path.join(node.root, "bin")}:/usr/bin:/bin`, K8S_LAB_TEST_ROOT: node.root, APISERVER_POLL_SECONDS: "0.1", ...env },
        timeout: 30_000,
    });
}

/** A file with the manifest kubeadm writes from the new config. */
function newManifestFile(): string {
    const file = path.join(fs.mkdtempSync(path.join(workDir, "new-")), "kube-apiserver.yaml");
    fs.writeFileSync(file, newManifest);
    return file;
}

const env = { NODE_NAME: "k8s-control02", ADVERTISE_ADDRESS: "192.168.1.201" };
const callsOf = (node: FakeControlPlane) => fs.readFileSync(node.calls, "utf8").split("\n").filter((line) => line !== "");

test("apiserver-reconfigure.sh writes the new manifest with kubeadm's control-plane phase, keeps the old one, and returns once the restarted apiserver answers /readyz", () => {
    const node = fakeControlPlane("k8s-control02");
    const result = run(node, { ...env, FAKE_NEW_MANIFEST: newManifestFile() });
    assert.equal(result.status, 0, result.stderr);
    const calls = callsOf(node);
    const phase = calls.indexOf(`kubeadm init phase control-plane apiserver --config ${node.root}/etc/k8s-lab/kubeadm-apiserver.yaml`);
    assert.ok(phase >= 0, calls.join("\n"));
    // The hash before the write, then the new pod's state and this node's own /readyz (not the VIP's).
    const mirrorPod = (line: string) => line.startsWith("kubectl -n kube-system get pod kube-apiserver-k8s-control02 -o jsonpath=");
    assert.ok(calls.slice(0, phase).some(mirrorPod), "the old hash is read before the manifest changes");
    const readyz = calls.findIndex((line) => /^curl .*--cacert .*\/etc\/kubernetes\/pki\/ca\.crt https:\/\/192\.168\.1\.201:6443\/readyz$/.test(line));
    assert.ok(readyz > phase, "waits for this node's /readyz after the write");
    assert.ok(calls.slice(phase, readyz).some(mirrorPod), "and for the kubelet's new static pod");
    assert.equal(fs.readFileSync(node.manifest, "utf8"), newManifest);
    assert.equal(fs.readFileSync(path.join(node.root, "var", "lib", "k8s-lab", "kube-apiserver.yaml.before"), "utf8"), oldManifest);
    assert.ok(!fs.readdirSync(path.dirname(node.manifest)).some((name) => name !== "kube-apiserver.yaml"), "no backup in the manifests folder (the kubelet would run it)");
    assert.doesNotMatch(calls.join("\n"), /upload-config/, "only node 0 uploads the ClusterConfiguration");
    assert.match(result.stdout, /\[k8s-control02\] kube-apiserver's flags changed: waiting/);
    assert.match(result.stdout, /\[k8s-control02\] kube-apiserver answers \/readyz with its new flags/);
});

test("apiserver-reconfigure.sh on node 0 uploads the ClusterConfiguration to kubeadm-config after its own apiserver is back", () => {
    const node = fakeControlPlane("k8s-control01");
    const result = run(node, { NODE_NAME: "k8s-control01", ADVERTISE_ADDRESS: "192.168.1.200", UPLOAD_CONFIG: "true", FAKE_NEW_MANIFEST: newManifestFile() });
    assert.equal(result.status, 0, result.stderr);
    const calls = callsOf(node);
    const upload = calls.indexOf(`kubeadm init phase upload-config kubeadm --config ${node.root}/etc/k8s-lab/kubeadm-apiserver.yaml`);
    const readyz = calls.findIndex((line) => line.startsWith("curl ") && line.endsWith("https://192.168.1.200:6443/readyz"));
    assert.ok(readyz >= 0 && upload > readyz, calls.join("\n"));
    assert.match(result.stdout, /kubeadm-config ConfigMap updated/);
});

test("apiserver-reconfigure.sh changes nothing and restarts nothing when the manifest would stay the same (right after init or join)", () => {
    const node = fakeControlPlane("k8s-control02");
    const result = run(node, env);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /\[k8s-control02\] kube-apiserver's manifest is unchanged: nothing to restart/);
    assert.equal(fs.readFileSync(node.manifest, "utf8"), oldManifest);
    assert.doesNotMatch(callsOf(node).join("\n"), /^curl /m, "no wait for a restart that does not happen");
});

test("apiserver-reconfigure.sh puts the old manifest back and fails naming the node when the new apiserver does not get Ready in time", () => {
    const node = fakeControlPlane("k8s-control02");
    const started = Date.now();
    const result = run(node, { ...env, UPLOAD_CONFIG: "true", FAKE_NEW_MANIFEST: newManifestFile(), FAKE_NEVER_READY: "1", APISERVER_WAIT_SECONDS: "1" });
    assert.equal(result.status, 1);
    assert.ok(Date.now() - started < 15_000, "the wait is bounded");
    assert.match(result.stderr, /\[k8s-control02\] error: kube-apiserver on k8s-control02 did not answer \/readyz with its new flags within 1s/);
    assert.match(result.stderr, /The roll stopped at k8s-control02/);
    assert.equal(fs.readFileSync(node.manifest, "utf8"), oldManifest, "the previous manifest is back");
    assert.equal(fs.readFileSync(path.join(node.root, "var", "lib", "k8s-lab", "kube-apiserver.yaml.failed"), "utf8"), newManifest);
    assert.doesNotMatch(callsOf(node).join("\n"), /upload-config/, "the ConfigMap keeps the flags that run");
});

test("apiserver-reconfigure.sh refuses, changing nothing, when the running apiserver is another version than the staged config", () => {
    const node = fakeControlPlane("k8s-control02", oldManifest.replace("v1.34.2", "v1.34.1"));
    const result = run(node, { ...env, FAKE_NEW_MANIFEST: newManifestFile() });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /kube-apiserver on k8s-control02 runs v1\.34\.1, the staged config is for v1\.34\.2: nothing was changed/);
    assert.doesNotMatch(callsOf(node).join("\n"), /^kubeadm /m);
});

test("apiserver-reconfigure.sh fails naming the node, before any change, when the node has no apiserver manifest", () => {
    const node = fakeControlPlane("k8s-control02");
    fs.rmSync(node.manifest);
    const result = run(node, env);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /kube-apiserver\.yaml is missing: k8s-control02 is not a control plane yet/);
    assert.deepEqual(callsOf(node).filter((line) => !/^(hostname|id)/.test(line)), []);
});
