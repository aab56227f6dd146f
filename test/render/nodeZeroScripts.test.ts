// The scripts node 0 runs for the others, and the join, run as a node would run them, with
// stand-in kubeadm/kubectl first on PATH that record every call, and K8S_LAB_TEST_ROOT moving the
// node's /var, /run and /etc/k8s-lab into a temporary folder:
// - issue 15 item 2, join credentials that expire for real: join-credentials-mint.sh,
//   join-credentials-revoke.sh, kubeadm-join.sh;
// - issue 11: control-plane-taint.sh (controlPlaneSchedulable on a running cluster).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { renderScript } from "../../components/render/manifests";
import { standInNode } from "../helpers/standInNode";

const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "i15-join-credentials-"));
after(() => fs.rmSync(workDir, { recursive: true, force: true }));

const TOKEN = "abc123.0123456789abcdef";
const KEY = "0f".repeat(32);

interface FakeNode {
    readonly root: string;
    readonly calls: string;
    readonly kept: string;
}

/**
 * A fake node 0 or joining node: hostname = `host`, id -u = 0, and kubeadm/kubectl stand-ins.
 * kubeadm: `token create` prints TOKEN (or `FAKE_TOKEN_OUTPUT`), `certs certificate-key` prints KEY,
 * `init phase upload-certs --config F` keeps a copy of F, `join` fails when FAKE_JOIN_FAILS=1.
 * kubectl: /readyz answers; the token Secrets are listed from FAKE_TOKEN_SECRETS; kubeadm-certs exists.
 */
function fakeNode(host: string): FakeNode {
    const root = fs.mkdtempSync(path.join(workDir, "node-"));
    const kept = path.join(root, "kept");
    fs.mkdirSync(kept);
    fs.mkdirSync(path.join(root, "run"));
    const { calls, standIn } = standInNode(root, host);
    standIn(
        "kubeadm",
        [
            'case "$1 $2" in',
            `  "token create") echo "\${FAKE_TOKEN_OUTPUT:-${TOKEN}}"; echo "a warning on stderr" >&2 ;;`,
            `  "certs certificate-key") echo "${KEY}" ;;`,
            '  "init phase")',
            '    while [ $# -gt 0 ]; do [ "$1" = --config ] && cp "$2" "' + kept + '/upload-certs-config.yaml"; shift; done',
            '    echo "[upload-certs] Storing the certificates in Secret kubeadm-certs" ;;',
            '  "join --config") [ "${FAKE_JOIN_FAILS:-0}" = 1 ] && exit 1; echo "This node has joined the cluster" ;;',
            "esac",
        ].join("\n"),
    );
    standIn(
        "kubectl",
        [
            'case "$*" in',
            '  *--raw=/readyz*) exit 0 ;;',
            '  *"get secrets --field-selector type=bootstrap.kubernetes.io/token"*) printf "%s" "${FAKE_TOKEN_SECRETS:-}" ;;',
            '  *"get secret kubeadm-certs"*) echo "secret/kubeadm-certs" ;;',
            "esac",
        ].join("\n"),
    );
    // The admin kubeconfig node 0's scripts check for (the stand-ins never read it).
    fs.mkdirSync(path.join(root, "etc", "kubernetes"), { recursive: true });
    fs.writeFileSync(path.join(root, "etc", "kubernetes", "admin.conf"), "stand-in\n");
    return { root, calls, kept };
}

function run(script: string, node: FakeNode, env: Record<string, string>) {
    const file = path.join(node.root, script);
    fs.writeFileSync(file, renderScript(script));
    return spawnSync("bash", ["-c", 'source "$0"', file], {
        encoding: "utf8",
        env: { PATH: `${path.join(node.root, "bin")}:/usr/bin:/bin`, K8S_LAB_TEST_ROOT: node.root, ...env },
        timeout: 30_000,
    });
}

/** Every file under `dir` with its content. */
function filesUnder(dir: string): Map<string, string> {
    const found = new Map<string, string>();
    const walk = (at: string) => {
        if (!fs.existsSync(at)) return;
        for (const entry of fs.readdirSync(at, { withFileTypes: true })) {
            const full = path.join(at, entry.name);
            if (entry.isDirectory()) walk(full);
            else found.set(full, fs.readFileSync(full, "utf8"));
        }
    };
    walk(dir);
    return found;
}

const mintEnv = (role: string) => ({ NODE_NAME: "k8s-control01", JOINING_NODE: role === "worker" ? "k8s-worker01" : "k8s-control02", JOIN_ROLE: role, KUBERNETES_VERSION: "1.34.2" });

test("join-credentials-mint.sh prints a control plane's new token and certificate key as one JSON line, and nothing else", () => {
    const node = fakeNode("k8s-control01");
    const result = run("join-credentials-mint.sh", node, mintEnv("control-plane"));
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, `{"token":"${TOKEN}","certificateKey":"${KEY}"}\n`);
    assert.match(result.stderr, /minting join credentials for control-plane k8s-control02/);
    const calls = fs.readFileSync(node.calls, "utf8");
    assert.match(calls, /^kubeadm token create --ttl 2h0m0s --description k8s-vsphere-lab: join of k8s-control02 --groups system:bootstrappers:kubeadm:default-node-token --usages signing,authentication$/m);
    assert.match(calls, /^kubeadm certs certificate-key$/m);
    // The key reaches kubeadm in a file, with the cluster's version (no dl.k8s.io lookup).
    assert.match(calls, /^kubeadm init phase upload-certs --upload-certs --skip-certificate-key-print --config .*\/run\/k8s-lab-upload-certs\.\w+$/m);
    const uploadConfig = fs.readFileSync(path.join(node.kept, "upload-certs-config.yaml"), "utf8");
    assert.match(uploadConfig, new RegExp(`certificateKey: "${KEY}"`));
    assert.match(uploadConfig, /kubernetesVersion: "v1\.34\.2"/);
    // kubeadm reads it as its own config: a v1beta4 InitConfiguration and ClusterConfiguration.
    const documents = YAML.parseAllDocuments(uploadConfig).map((document) => document.toJS());
    assert.deepEqual(documents.map((d) => `${d.apiVersion} ${d.kind}`), ["kubeadm.k8s.io/v1beta4 InitConfiguration", "kubeadm.k8s.io/v1beta4 ClusterConfiguration"]);
    assert.equal(documents[0].certificateKey, KEY);
    assert.equal(documents[0].nodeRegistration.criSocket, "unix:///var/run/containerd/containerd.sock");
    // ...and that file is gone; neither secret is on a command line, in a log, or left in a file.
    assert.deepEqual(fs.readdirSync(path.join(node.root, "run")).filter((name) => name.startsWith("k8s-lab-upload-certs")), []);
    assert.doesNotMatch(calls, new RegExp(`${TOKEN.replace(".", "\\.")}|${KEY}`), "a secret on a command line");
    assert.doesNotMatch(result.stderr, new RegExp(`${TOKEN.replace(".", "\\.")}|${KEY}`));
    const logs = filesUnder(path.join(node.root, "var"));
    assert.ok([...logs.keys()].some((file) => file.endsWith("join-credentials.log")), "kubeadm's stderr went to the log");
    for (const [file, content] of logs) {
        assert.doesNotMatch(content, new RegExp(`${TOKEN.replace(".", "\\.")}|${KEY}`), `${file} holds a secret`);
    }
});

test("join-credentials-mint.sh gives a worker a token and no certificate key, uploading nothing", () => {
    const node = fakeNode("k8s-control01");
    const result = run("join-credentials-mint.sh", node, mintEnv("worker"));
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, `{"token":"${TOKEN}","certificateKey":""}\n`);
    assert.doesNotMatch(fs.readFileSync(node.calls, "utf8"), /upload-certs|certificate-key/);
});

test("join-credentials-mint.sh fails, printing no credentials, when kubeadm prints no token", () => {
    const node = fakeNode("k8s-control01");
    const result = run("join-credentials-mint.sh", node, { ...mintEnv("worker"), FAKE_TOKEN_OUTPUT: "error: something" });
    assert.equal(result.status, 1);
    assert.equal(result.stdout, "");
    assert.match(result.stderr, /kubeadm token create did not print a bootstrap token/);
});

test("join-credentials-revoke.sh deletes this program's tokens (init's and the joins') and kubeadm-certs, and keeps a token made by hand", () => {
    const node = fakeNode("k8s-control01");
    const b64 = (text: string) => Buffer.from(text).toString("base64");
    const secrets = [
        `bootstrap-token-abc123 ${b64("k8s-vsphere-lab: join of k8s-worker01")}`,
        `bootstrap-token-init00 ${b64("k8s-vsphere-lab: kubeadm init (deleted once the joins are done)")}`,
        `bootstrap-token-hand00 ${b64("made by hand for a test VM")}`,
        "bootstrap-token-nodesc <no value>",
        "",
    ].join("\n");
    const result = run("join-credentials-revoke.sh", node, { NODE_NAME: "k8s-control01", FAKE_TOKEN_SECRETS: secrets });
    assert.equal(result.status, 0, result.stderr);
    const calls = fs.readFileSync(node.calls, "utf8");
    const deleted = [...calls.matchAll(/^kubeadm token delete (\S+)$/gm)].map((match) => match[1]);
    assert.deepEqual(deleted, ["abc123", "init00"]);
    assert.match(calls, /^kubectl -n kube-system delete secret kubeadm-certs$/m);
    assert.match(result.stdout, /deleted 2 bootstrap token\(s\) this program created/);
    assert.match(result.stdout, /deleted the kubeadm-certs Secret/);
});

test("kubeadm-join.sh removes the staged join config once joined, and keeps it when the join fails (a re-run needs it)", () => {
    for (const fails of [false, true]) {
        const node = fakeNode("k8s-worker01");
        const joinConfig = path.join(node.root, "etc", "k8s-lab", "kubeadm-join.yaml");
        fs.mkdirSync(path.dirname(joinConfig), { recursive: true });
        fs.writeFileSync(joinConfig, `kind: JoinConfiguration\ndiscovery:\n  bootstrapToken:\n    token: ${TOKEN}\n`);
        const result = run("kubeadm-join.sh", node, { NODE_NAME: "k8s-worker01", JOIN_ROLE: "worker", FAKE_JOIN_FAILS: fails ? "1" : "0" });
        assert.equal(result.status, fails ? 1 : 0, result.stderr);
        assert.equal(fs.existsSync(joinConfig), fails, fails ? "the config of a failed join is kept" : "the used join config is left on the node");
        assert.match(fs.readFileSync(node.calls, "utf8"), new RegExp(`^kubeadm join --config ${joinConfig.replace(/[.]/g, "\\.")}$`, "m"));
    }
});

// Issue 11: controlPlaneSchedulable reaches running control planes through the API.
test("control-plane-taint.sh removes or sets the NoSchedule taint on every control plane, idempotently", () => {
    for (const schedulable of ["true", "false"]) {
        const node = fakeNode("k8s-control01");
        const result = run("control-plane-taint.sh", node, { NODE_NAME: "k8s-control01", SCHEDULABLE: schedulable, CONTROL_PLANES: "k8s-control01 k8s-control02" });
        assert.equal(result.status, 0, result.stderr);
        const taints = fs.readFileSync(node.calls, "utf8").split("\n").filter((line) => line.startsWith("kubectl taint"));
        const wanted = schedulable === "true" ? "node-role.kubernetes.io/control-plane:NoSchedule-" : "node-role.kubernetes.io/control-plane=:NoSchedule --overwrite";
        assert.deepEqual(taints, [`kubectl taint nodes k8s-control01 ${wanted}`, `kubectl taint nodes k8s-control02 ${wanted}`]);
    }
    const bad = run("control-plane-taint.sh", fakeNode("k8s-control01"), { NODE_NAME: "k8s-control01", SCHEDULABLE: "yes", CONTROL_PLANES: "k8s-control01" });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /SCHEDULABLE must be true or false/);
});

// Issue 13 item 7: node-prepare.sh's proxy settings for apt and containerd.
test("node-prepare.sh writes apt's and containerd's proxy files from HTTPS_PROXY/NO_PROXY, and removes them without", () => {
    const node = fakeNode("k8s-worker01");
    fs.writeFileSync(path.join(node.root, "bin", "systemctl"), `#!/usr/bin/env bash\necho "systemctl $*" >>"${node.calls}"\n[ "$1" != is-active ]\n`, { mode: 0o755 });
    const script = path.join(node.root, "node-prepare.sh");
    fs.writeFileSync(script, renderScript("node-prepare.sh"));
    const configure = (env: Record<string, string>) =>
        spawnSync("bash", ["-c", 'K8S_LAB_FUNCTIONS_ONLY=1; source "$0"; configure_proxy', script], {
            encoding: "utf8",
            env: { PATH: `${path.join(node.root, "bin")}:/usr/bin:/bin`, K8S_LAB_TEST_ROOT: node.root, NODE_NAME: "k8s-worker01", ...env },
        });
    const apt = path.join(node.root, "etc", "apt", "apt.conf.d", "90k8s-lab-proxy");
    const dropin = path.join(node.root, "etc", "systemd", "system", "containerd.service.d", "10-k8s-lab-proxy.conf");
    const on = configure({ HTTPS_PROXY: "http://proxy.lab.example:3128", NO_PROXY: "localhost,10.96.0.0/12,.svc" });
    assert.equal(on.status, 0, on.stderr);
    assert.match(fs.readFileSync(apt, "utf8"), /^Acquire::https::Proxy "http:\/\/proxy\.lab\.example:3128";$/m);
    assert.match(fs.readFileSync(dropin, "utf8"), /^Environment="HTTP_PROXY=http:\/\/proxy\.lab\.example:3128" "HTTPS_PROXY=http:\/\/proxy\.lab\.example:3128" "NO_PROXY=localhost,10\.96\.0\.0\/12,\.svc"$/m);
    assert.match(fs.readFileSync(node.calls, "utf8"), /^systemctl daemon-reload$/m);
    const off = configure({});
    assert.equal(off.status, 0, off.stderr);
    assert.equal(fs.existsSync(apt) || fs.existsSync(dropin), false, "the proxy files stay without a proxy");
    const bad = configure({ HTTPS_PROXY: 'http://proxy" "X=1' });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /HTTPS_PROXY must look like http:\/\/proxy\.lab\.example:3128/);
});
