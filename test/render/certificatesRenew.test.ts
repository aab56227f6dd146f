// Issue 12 item 3: certificates-renew.sh run as a control plane would run it, with real openssl
// certificates (made with `openssl ca`, which can date a certificate's start), stand-in kubeadm,
// crictl and kubectl first on PATH that record every call, and K8S_LAB_TEST_ROOT moving the node's
// /etc/kubernetes into a temporary folder. The crictl stand-in plays the kubelet: a static pod runs
// while its manifest is in /etc/kubernetes/manifests.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, test } from "node:test";
import { renderScript } from "../../components/render/manifests";
import { standInNode } from "../helpers/standInNode";
import { requireTool } from "../helpers/tools";

const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "i12-certificates-renew-"));
after(() => fs.rmSync(workDir, { recursive: true, force: true }));

const dayMs = 86_400_000;
const staticPods = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"];

/** `openssl ca` time: YYYYMMDDHHMMSSZ. */
const caTime = (at: Date) => at.toISOString().replace(/[-:T]/g, "").replace(/\.\d+Z$/, "Z");

/** A self-signed certificate valid from `start` to `end` (PEM file path). */
function certificate(name: string, start: Date, end: Date): string {
    requireTool("openssl");
    const dir = fs.mkdtempSync(path.join(workDir, `ca-${name}-`));
    fs.writeFileSync(path.join(dir, "index.txt"), "");
    fs.writeFileSync(path.join(dir, "serial"), "01\n");
    fs.writeFileSync(
        path.join(dir, "ca.cnf"),
        [`[ca]`, `default_ca = lab`, `[lab]`, `database = ${dir}/index.txt`, `new_certs_dir = ${dir}`, `serial = ${dir}/serial`, `default_md = sha256`, `policy = any`, `[any]`, `commonName = supplied`, ""].join("\n"),
    );
    const openssl = (args: string[]) => {
        const run = spawnSync("openssl", args, { encoding: "utf8", timeout: 60_000 });
        assert.equal(run.status, 0, run.stderr);
    };
    openssl(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", path.join(dir, "key.pem"), "-subj", "/CN=kube-apiserver", "-out", path.join(dir, "req.csr")]);
    const out = path.join(dir, "cert.pem");
    openssl(["ca", "-batch", "-selfsign", "-notext", "-config", path.join(dir, "ca.cnf"), "-keyfile", path.join(dir, "key.pem"), "-in", path.join(dir, "req.csr"), "-out", out, "-startdate", caTime(start), "-enddate", caTime(end)]);
    return out;
}

const now = new Date();
// etcd's own certificates once expired (issue 11/12 follow-up: the renewal cannot ask etcd then).
const expiredCertificate = certificate("expired", new Date(now.getTime() - 400 * dayMs), new Date(now.getTime() - dayMs));
// Made at init 340 days ago, valid a year: 25 days left.
const oldCertificate = certificate("old", new Date(now.getTime() - 340 * dayMs), new Date(now.getTime() + 25 * dayMs));
// What kubeadm certs renew all makes: backdated by minutes, valid a year.
const renewedCertificate = certificate("renewed", new Date(now.getTime() - 5 * 60_000), new Date(now.getTime() + 365 * dayMs));

interface FakeControlPlane {
    readonly root: string;
    readonly bin: string;
    readonly calls: string;
    readonly manifests: string;
}

/**
 * A control plane with its four static pod manifests, an apiserver certificate and etcd's server
 * and health-check client certificates. kubeadm `certs renew all` installs the renewed certificate
 * (fails with FAKE_RENEW_FAILS=1); crictl lists a pod as running while its manifest is in place
 * (FAKE_NEVER_STOPS=<pod>: that one keeps running), and its `exec` of etcdctl's cluster health check
 * fails the first FAKE_ETCD_UNHEALTHY_CHECKS times (test/etcd asks a real etcd the same way);
 * curl's /readyz answers; sleep returns at once.
 */
function fakeControlPlane(apiServerCertificate: string, etcdCertificate: string = renewedCertificate): FakeControlPlane {
    const root = fs.mkdtempSync(path.join(workDir, "node-"));
    const manifests = path.join(root, "etc", "kubernetes", "manifests");
    const pki = path.join(root, "etc", "kubernetes", "pki");
    for (const dir of [manifests, path.join(pki, "etcd")]) fs.mkdirSync(dir, { recursive: true });
    for (const pod of staticPods) fs.writeFileSync(path.join(manifests, `${pod}.yaml`), `# ${pod}\n`);
    fs.copyFileSync(apiServerCertificate, path.join(pki, "apiserver.crt"));
    for (const file of ["server.crt", "healthcheck-client.crt"]) fs.copyFileSync(etcdCertificate, path.join(pki, "etcd", file));
    const { bin, calls, standIn } = standInNode(root, "k8s-control02");
    // Tools whose calls the tests do not look at: written without the recording line.
    const silent = (name: string, body: string) => fs.writeFileSync(path.join(bin, name), `#!/usr/bin/env bash\n${body}\n`, { mode: 0o755 });
    silent("sleep", "exit 0");
    standIn("kubeadm", `[ "\${FAKE_RENEW_FAILS:-0}" = 1 ] && exit 1\n[ "$*" = "certs renew all" ] && cp "${renewedCertificate}" "${pki}/apiserver.crt"`);
    // Only what changes is recorded: the pod's state as the kubelet would see it, once per change.
    silent(
        "crictl",
        [
            'if [[ " $* " == *" exec "* ]]; then',
            `    echo "crictl exec $(sed 's/.*\\(etcdctl\\).*\\(endpoint .*\\)/\\1 \\2/' <<<"$*")" >>"${calls}"`,
            `    checks=$(($(cat "${root}/etcd-checks" 2>/dev/null || echo 0) + 1)); echo "$checks" >"${root}/etcd-checks"`,
            '    [ "$checks" -gt "${FAKE_ETCD_UNHEALTHY_CHECKS:-0}" ]; exit',
            "fi",
            'args="$*"; pod="${args##*--name ^}"; pod="${pod%%\\$*}"',
            `state="stopped"; { [ -f "${manifests}/$pod.yaml" ] || [ "\${FAKE_NEVER_STOPS:-}" = "$pod" ]; } && state="running"`,
            `last="$(grep "^crictl-state $pod " "${calls}" | tail -n 1 | cut -d' ' -f3)"`,
            `[ "$last" = "$state" ] || echo "crictl-state $pod $state" >>"${calls}"`,
            '[ "$state" = running ] && echo "container-of-$pod"',
            "exit 0",
        ].join("\n"),
    );
    standIn("curl", "exit 0");
    return { root, bin, calls, manifests };
}

function renew(node: FakeControlPlane, env: Record<string, string>) {
    const file = path.join(node.root, "certificates-renew.sh");
    fs.writeFileSync(file, renderScript("certificates-renew.sh"));
    return spawnSync("bash", ["-c", 'source "$0"', file], {
        encoding: "utf8",
        env: {
            PATH: `${node.bin}:/usr/bin:/bin`,
            K8S_LAB_TEST_ROOT: node.root,
            NODE_NAME: "k8s-control02",
            ADVERTISE_ADDRESS: "192.168.1.201",
            API_SERVER_BIND_PORT: "6443",
            ...env,
        },
        timeout: 60_000,
    });
}

// The calls the script makes, without lib/common.sh's own-node and root checks (hostname, id).
const callLines = (node: FakeControlPlane) =>
    fs.readFileSync(node.calls, "utf8").trim().split("\n").filter((line) => line !== "" && !/^(hostname|id)\b/.test(line));
const manifestsInPlace = (node: FakeControlPlane) => fs.readdirSync(node.manifests).sort();

test("round 'initial' (the first pulumi up): nothing is renewed or restarted", () => {
    const node = fakeControlPlane(oldCertificate);
    const result = renew(node, { RENEW_ROUND: "initial" });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /no renewal round yet/);
    assert.deepEqual(callLines(node), []);
});

test("in a round, the certificates are renewed, then each static pod is restarted in turn: etcd, the apiserver (its own /readyz), the controller-manager, the scheduler", () => {
    const node = fakeControlPlane(oldCertificate);
    const result = renew(node, { RENEW_ROUND: now.toISOString() });
    assert.equal(result.status, 0, result.stderr);
    const restarts = staticPods.flatMap((pod) => [`crictl-state ${pod} stopped`, `crictl-state ${pod} running`]);
    assert.deepEqual(callLines(node), [
        // etcd's health asked in its own running container first
        "crictl-state etcd running",
        "crictl exec etcdctl endpoint health --cluster",
        "kubeadm certs renew all",
        ...restarts.slice(0, 4),
        `curl -fsS --noproxy * --max-time 5 --cacert ${path.join(node.root, "etc/kubernetes/pki/ca.crt")} https://192.168.1.201:6443/readyz`,
        ...restarts.slice(4),
    ]);
    assert.deepEqual(manifestsInPlace(node), staticPods.map((pod) => `${pod}.yaml`).sort());
    assert.match(result.stdout, /certificates renewed: valid until/);
});

test("a re-run of the same round, or a node whose certificates were issued after the round began, renews nothing", () => {
    const node = fakeControlPlane(oldCertificate);
    const round = now.toISOString();
    assert.equal(renew(node, { RENEW_ROUND: round }).status, 0);
    fs.writeFileSync(node.calls, "");
    const again = renew(node, { RENEW_ROUND: round });
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /after the renewal round .*: nothing to renew/);
    assert.deepEqual(callLines(node), []);
    const joinedLater = fakeControlPlane(renewedCertificate);
    assert.equal(renew(joinedLater, { RENEW_ROUND: new Date(now.getTime() - 2 * 60_000).toISOString() }).status, 0);
    assert.deepEqual(callLines(joinedLater), []);
});

test("a pod that does not stop fails the run naming it, with its manifest put back and the later pods untouched", () => {
    const node = fakeControlPlane(oldCertificate);
    const result = renew(node, { RENEW_ROUND: now.toISOString(), FAKE_NEVER_STOPS: "etcd", POD_WAIT_SECONDS: "1" });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /\[k8s-control02\] error: etcd did not stop within 1s/);
    assert.deepEqual(manifestsInPlace(node), staticPods.map((pod) => `${pod}.yaml`).sort());
    assert.ok(!callLines(node).some((line) => line.includes("kube-apiserver")), "the apiserver was not touched");
});

test("a failed kubeadm certs renew stops before any pod is restarted", () => {
    const node = fakeControlPlane(oldCertificate);
    const result = renew(node, { RENEW_ROUND: now.toISOString(), FAKE_RENEW_FAILS: "1" });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /'kubeadm certs' failed/);
    assert.deepEqual(callLines(node), ["crictl-state etcd running", "crictl exec etcdctl endpoint health --cluster", "kubeadm certs renew all"]);
});

test("with an etcd member down, the renewal waits for it (a resize in the same pulumi up), then renews", () => {
    const node = fakeControlPlane(oldCertificate);
    const result = renew(node, { RENEW_ROUND: now.toISOString(), FAKE_ETCD_UNHEALTHY_CHECKS: "2" });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /waiting for every etcd member to be healthy \(up to 900s\) before this one restarts/);
    assert.match(result.stdout, /etcd: every member is healthy/);
    const calls = callLines(node);
    assert.deepEqual(calls.slice(0, 5), ["crictl-state etcd running", ...Array(3).fill("crictl exec etcdctl endpoint health --cluster"), "kubeadm certs renew all"]);
    assert.match(result.stdout, /certificates renewed/);
});

test("with an etcd member down past ETCD_WAIT_SECONDS, nothing is renewed or restarted, and the error says why and what to do", () => {
    const node = fakeControlPlane(oldCertificate);
    const result = renew(node, { RENEW_ROUND: now.toISOString(), FAKE_ETCD_UNHEALTHY_CHECKS: "1000", ETCD_WAIT_SECONDS: "0" });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /\[k8s-control02\] error: etcd is not healthy on every member \(etcdctl endpoint health --cluster\) after 0s: restarting this node's member now could lose etcd's quorum\. Nothing was renewed or restarted here/);
    assert.deepEqual(callLines(node), ["crictl-state etcd running", "crictl exec etcdctl endpoint health --cluster"]);
    assert.deepEqual(manifestsInPlace(node), staticPods.map((pod) => `${pod}.yaml`).sort());
    // The next pulumi up runs the whole round: the certificates are still the old ones.
    const again = renew(node, { RENEW_ROUND: now.toISOString() });
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /certificates renewed/);
});

test("with etcd's certificates already expired, the renewal goes on without asking etcd (it could not connect)", () => {
    const node = fakeControlPlane(oldCertificate, expiredCertificate);
    const result = renew(node, { RENEW_ROUND: now.toISOString(), FAKE_ETCD_UNHEALTHY_CHECKS: "1000" });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /etcd's certificates have expired \(or are missing\): its members' health cannot be asked; renewing without that check/);
    assert.ok(!callLines(node).some((line) => line.startsWith("crictl exec")), "etcd was asked");
    assert.equal(callLines(node)[0], "kubeadm certs renew all");
});

test("a manifest a cut-off run left out is put back first", () => {
    const node = fakeControlPlane(renewedCertificate);
    const paused = path.join(node.root, "etc", "kubernetes", "manifests-paused-for-renewal");
    fs.mkdirSync(paused);
    fs.renameSync(path.join(node.manifests, "kube-scheduler.yaml"), path.join(paused, "kube-scheduler.yaml"));
    const result = renew(node, { RENEW_ROUND: "initial" });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /put kube-scheduler.yaml back/);
    assert.deepEqual(manifestsInPlace(node), staticPods.map((pod) => `${pod}.yaml`).sort());
});
