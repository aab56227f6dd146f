// Issue 12 item 2: node preparation installs the containerd the configured Kubernetes version runs
// on: Ubuntu's package up to 1.35, containerd's release (pinned, sha256-checked) from 1.36; and it
// refuses a version the node's containerd cannot run before any Kubernetes package is installed.
// node-prepare.sh runs as rendered, with stand-ins first on PATH (test/helpers/standInNode.ts,
// test/helpers/fakeContainerd.ts) and the real tar, sha256sum and install(1) under K8S_LAB_TEST_ROOT.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, test } from "node:test";
import { renderScript } from "../../components/render/manifests";
import { containerdOnPath, curlServing, fakeContainerdRelease, FakeContainerdRelease } from "../helpers/fakeContainerd";
import { standInNode, StandInTools } from "../helpers/standInNode";

const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "i12-containerd-"));
after(() => fs.rmSync(workDir, { recursive: true, force: true }));

const release: FakeContainerdRelease = fakeContainerdRelease(workDir);
const MARKER = "# Managed by k8s-vsphere-lab node-prepare.sh: containerd's default config, SystemdCgroup = true, kubeadm's sandbox image.";

interface FakeNode {
    readonly root: string;
    readonly tools: StandInTools;
    /** Marks a package installed for dpkg (a file under root/pkg). */
    installPackage(name: string): void;
    /** The recorded calls, "<tool> <arguments>", oldest first. */
    calls(): string[];
    /** Forgets the calls so far. */
    clearCalls(): void;
}

/**
 * A fake node: curl serves the fake release (any other URL fails), dpkg-query reports root/pkg,
 * apt-get records and removes packages on `purge`, systemctl and apt-mark record, `containerd` is
 * the installed release or else Ubuntu's 1.7, kubeadm names a pause image.
 */
function fakeNode(host = "k8s-worker01"): FakeNode {
    const root = fs.mkdtempSync(path.join(workDir, "node-"));
    const tools = standInNode(root, host);
    fs.mkdirSync(path.join(root, "pkg"));
    tools.standIn("curl", curlServing(release.downloads));
    tools.standIn("dpkg-query", [`f="${root}/pkg/\${*: -1}"`, '[ -f "$f" ] || exit 1', 'case "$*" in *Status*) echo "install ok installed" ;; *) cat "$f" ;; esac'].join("\n"));
    tools.standIn("apt-get", `case " $* " in *" purge "*) for p in "$@"; do rm -f "${root}/pkg/$p"; done ;; esac`);
    tools.standIn("containerd", containerdOnPath(root));
    tools.standIn("kubeadm", '[ "$1 $2 $3" = "config images list" ] && echo registry.k8s.io/pause:3.10.1');
    for (const tool of ["systemctl", "apt-mark"]) tools.standIn(tool, "exit 0");
    return {
        root,
        tools,
        installPackage: (name) => fs.writeFileSync(path.join(root, "pkg", name), "installed"),
        calls: () => fs.readFileSync(tools.calls, "utf8").split("\n").filter(Boolean),
        clearCalls: () => fs.writeFileSync(tools.calls, ""),
    };
}

/** Loads node-prepare.sh's functions on the node and runs `body` (bash). */
function run(node: FakeNode, body: string, env: Record<string, string>) {
    const script = path.join(node.root, "node-prepare.sh");
    fs.writeFileSync(script, renderScript("node-prepare.sh"));
    return spawnSync("bash", ["-c", `K8S_LAB_FUNCTIONS_ONLY=1; source "$0"; ${body}`, script], {
        encoding: "utf8",
        env: { PATH: `${node.tools.bin}:/usr/bin:/bin`, K8S_LAB_TEST_ROOT: node.root, NODE_NAME: "k8s-worker01", NODE_ROLE: "worker", APT_LOCK_WAIT_SECONDS: "5", ...env },
        timeout: 30_000,
    });
}

const v137 = { KUBERNETES_VERSION: "1.37.1", ...release.env };
const installed = (node: FakeNode, file: string) => path.join(node.root, file);

test("Kubernetes 1.37: node preparation installs containerd's release 2.3.4 and runc 1.4.3 after checking each download's pinned sha256, with one log line per step", () => {
    const node = fakeNode();
    const result = run(node, "install_container_runtime", { ...v137, HTTPS_PROXY: "http://proxy.lab.example:3128" });
    assert.equal(result.status, 0, result.stderr);
    const curls = node.calls().filter((call) => call.startsWith("curl"));
    assert.deepEqual(
        curls.map((call) => call.split(" ").pop()),
        ["https://github.com/containerd/containerd/releases/download/v2.3.4/containerd-2.3.4-linux-amd64.tar.gz", "https://github.com/opencontainers/runc/releases/download/v1.4.3/runc.amd64"],
    );
    for (const file of ["usr/local/bin/containerd", "usr/local/bin/ctr", "usr/local/bin/containerd-shim-runc-v2", "usr/local/sbin/runc"]) {
        assert.ok(fs.statSync(installed(node, file)).mode & 0o100, `${file} is not an installed executable`);
    }
    const unit = fs.readFileSync(installed(node, "usr/local/lib/systemd/system/containerd.service"), "utf8");
    assert.match(unit, /^ExecStart=\/usr\/local\/bin\/containerd$/m);
    assert.match(unit, /^KillMode=process$/m);
    assert.match(unit, /^Delegate=yes$/m);
    assert.ok(node.calls().includes("systemctl daemon-reload"));
    assert.match(result.stdout, /downloading https:\/\/github\.com\/containerd\/.*containerd-2\.3\.4-linux-amd64\.tar\.gz through http:\/\/proxy\.lab\.example:3128/);
    assert.match(result.stdout, /containerd-2\.3\.4-linux-amd64\.tar\.gz: sha256 verified/);
    assert.match(result.stdout, /runc\.amd64: sha256 verified/);
    assert.match(result.stdout, /containerd 2\.3\.4 and runc 1\.4\.3 installed from their releases/);
    assert.ok(!node.calls().some((call) => call.startsWith("apt-get")), "apt ran on a node without Ubuntu's containerd");

    // A re-run finds both in place: nothing downloaded or written again.
    node.clearCalls();
    const again = run(node, "install_container_runtime", v137);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /containerd 2\.3\.4 and runc 1\.4\.3 present \(release downloads, not apt/);
    assert.deepEqual(node.calls().filter((call) => /^(curl|systemctl|apt-get)/.test(call)), []);
});

test("a download whose sha256 is not the pinned one is refused: nothing installed, Ubuntu's containerd left in place", () => {
    const node = fakeNode();
    node.installPackage("containerd");
    const result = run(node, "install_container_runtime", { ...v137, RUNC_SHA256: "0".repeat(64) });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /runc\.amd64 does not have the pinned sha256 0{64}: nothing was installed or changed/);
    assert.ok(!fs.existsSync(installed(node, "usr/local/bin/containerd")));
    assert.ok(!fs.existsSync(installed(node, "usr/local/sbin/runc")));
    assert.ok(!node.calls().some((call) => call.startsWith("apt-get")), "Ubuntu's containerd was removed before the downloads were verified");
    // And an unreachable download stops preparation the same way.
    const unreachable = run(node, "install_container_runtime", { ...v137, CONTAINERD_VERSION: "2.3.9" });
    assert.equal(unreachable.status, 1);
    assert.match(unreachable.stderr, /could not download https:\/\/github\.com\/containerd\/containerd\/releases\/download\/v2\.3\.9\/containerd-2\.3\.9-linux-amd64\.tar\.gz: nothing was changed/);
});

test("a node with Ubuntu's containerd and runc (a template prepared for 1.35) gets them purged for the release, held or not, and the unit unmasked", () => {
    const node = fakeNode();
    node.installPackage("containerd");
    node.installPackage("runc");
    const result = run(node, "install_container_runtime", v137);
    assert.equal(result.status, 0, result.stderr);
    // Purged, not removed: a removed package's postrm masks containerd.service, the release's unit name too.
    assert.ok(node.calls().includes("apt-get -o DPkg::Lock::Timeout=60 -y -q purge --allow-change-held-packages containerd runc"));
    assert.match(result.stdout, /purging Ubuntu's containerd runc \(containerd 2\.3\.4 replaces them; running containers keep running\)/);
    const calls = node.calls();
    assert.ok(calls.indexOf("systemctl unmask -q containerd.service") > calls.findIndex((call) => call.startsWith("apt-get")), "the unit was not unmasked after the purge");
    assert.ok(fs.existsSync(installed(node, "usr/local/bin/containerd")));
});

test("up to Kubernetes 1.35 the node keeps Ubuntu's containerd package, held; from 1.36 the package is neither installed nor held", () => {
    const aptInstalls = (node: FakeNode) => node.calls().filter((call) => call.startsWith("apt-get") && call.includes(" install "));
    const ubuntu = fakeNode();
    const old = run(ubuntu, "install_base_packages; install_container_runtime; hold_runtime_packages", { KUBERNETES_VERSION: "1.35.9" });
    assert.equal(old.status, 0, old.stderr);
    assert.match(aptInstalls(ubuntu)[0], / install --no-install-recommends ca-certificates curl gpg conntrack socat ethtool containerd nfs-common$/);
    assert.ok(ubuntu.calls().includes("apt-mark hold containerd runc"));
    assert.ok(!ubuntu.calls().some((call) => call.startsWith("curl")), "a release was downloaded for 1.35");

    const upstream = fakeNode();
    const current = run(upstream, "install_base_packages; install_container_runtime; hold_runtime_packages", v137);
    assert.equal(current.status, 0, current.stderr);
    assert.match(aptInstalls(upstream)[0], / install --no-install-recommends ca-certificates curl gpg conntrack socat ethtool nfs-common$/);
    assert.ok(!upstream.calls().some((call) => call.startsWith("apt-mark hold")), "something was held for the release");
    assert.ok(fs.existsSync(installed(upstream, "usr/local/bin/containerd")));
});

test("on a node already in a cluster a preparation re-run leaves containerd 1.7 to the upgrade (which moves it while drained), with a log line", () => {
    const node = fakeNode();
    node.installPackage("containerd");
    fs.mkdirSync(installed(node, "etc/kubernetes"), { recursive: true });
    fs.writeFileSync(installed(node, "etc/kubernetes/kubelet.conf"), "stand-in\n");
    const result = run(node, "install_container_runtime; require_containerd_for_kubernetes", v137);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /containerd 1\.7\.28 on a node in a cluster: the Kubernetes upgrade moves it to 2\.3\.4 while the node is drained; left as it is/);
    assert.match(result.stdout, /containerd 1\.7\.28 cannot run Kubernetes 1\.37\.1: the upgrade moves this node to containerd 2 before its kubelet/);
    assert.deepEqual(node.calls().filter((call) => /^(curl|apt-get|systemctl)/.test(call)), []);
});

test("Kubernetes 1.36 on a new node whose containerd is 1.7 (the script run without CONTAINERD_VERSION) is refused before any Kubernetes package, naming kubernetesVersion and the fix", () => {
    const node = fakeNode();
    const refused = run(node, "require_containerd_for_kubernetes", { KUBERNETES_VERSION: "1.36.1" });
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /kubernetesVersion 1\.36\.1 needs containerd 2\.0 or later, and this node's containerd is 1\.7\.28: .*Run this script with CONTAINERD_VERSION, CONTAINERD_SHA256, RUNC_VERSION and RUNC_SHA256 .*or set kubernetesVersion to a 1\.35 release\. Nothing Kubernetes was installed/);
    // With the release installed it passes; 1.35 passes on 1.7 without a word.
    assert.equal(run(node, "install_container_runtime", v137).status, 0);
    const on2 = run(node, "require_containerd_for_kubernetes", { KUBERNETES_VERSION: "1.36.1" });
    assert.equal(on2.status, 0, on2.stderr);
    assert.match(on2.stdout, /containerd 2\.3\.4 runs Kubernetes 1\.36\.1/);
    const older = run(fakeNode(), "require_containerd_for_kubernetes", { KUBERNETES_VERSION: "1.35.9" });
    assert.equal(older.status, 0, older.stderr);
    assert.equal(older.stdout, "");
});

test("after a move from containerd 1.x its managed config (version 2) is written anew as containerd 2's default (version 3), SystemdCgroup and the pause image set", () => {
    const node = fakeNode();
    fs.mkdirSync(installed(node, "etc/containerd"), { recursive: true });
    const v2Config = `${MARKER}\nversion = 2\n\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]\n  SystemdCgroup = true\n`;
    fs.writeFileSync(installed(node, "etc/containerd/config.toml"), v2Config);
    // Still on 1.7: the managed file is kept (same config version).
    const kept = run(node, "configure_containerd", { KUBERNETES_VERSION: "1.35.9" });
    assert.equal(kept.status, 0, kept.stderr);
    assert.doesNotMatch(kept.stdout, /writing containerd's default config/);
    assert.match(fs.readFileSync(installed(node, "etc/containerd/config.toml"), "utf8"), /^version = 2$/m);

    assert.equal(run(node, "install_container_runtime", v137).status, 0);
    node.clearCalls();
    const moved = run(node, "configure_containerd", v137);
    assert.equal(moved.status, 0, moved.stderr);
    assert.match(moved.stdout, /writing containerd's default config \(config version 3\)/);
    const config = fs.readFileSync(installed(node, "etc/containerd/config.toml"), "utf8");
    assert.equal(config.split("\n")[0], MARKER);
    assert.match(config, /^version = 3$/m);
    assert.match(config, /\[plugins\.'io\.containerd\.cri\.v1\.runtime'\.containerd\.runtimes\.runc\.options\][^[]*SystemdCgroup = true/);
    assert.match(config, /sandbox = "registry\.k8s\.io\/pause:3\.10\.1"/);
    assert.ok(node.calls().includes("systemctl restart containerd"));
    assert.match(moved.stdout, /containerd verified: runc uses the systemd cgroup driver/);
});

test("a template prepared with the release for the configured version is still detected; one with only Ubuntu's containerd is not", () => {
    const images = ["registry.k8s.io/pause:3.10.1"];
    const prepared = (withRelease: boolean) => {
        const node = fakeNode();
        node.tools.standIn("crictl", `[ "$3" = inspecti ] && [ "\${*: -1}" = ${images[0]} ]`);
        node.tools.standIn("kubeadm", `[ "$1 $2 $3" = "config images list" ] && echo ${images[0]}`);
        for (const pkg of ["kubelet", "kubeadm", "kubectl"]) fs.writeFileSync(path.join(node.root, "pkg", pkg), "1.37.1-1.1");
        node.installPackage("containerd");
        fs.mkdirSync(installed(node, "etc/containerd"), { recursive: true });
        fs.writeFileSync(installed(node, "etc/containerd/config.toml"), `${MARKER}\nversion = 3\n`);
        if (withRelease) assert.equal(run(node, "install_container_runtime", v137).status, 0);
        return node;
    };
    const detect = "detect_prepared_template && echo detected || echo not-detected";
    const withRelease = run(prepared(true), detect, v137);
    assert.equal(withRelease.status, 0, withRelease.stderr);
    assert.match(withRelease.stdout, /prepared template: containerd, kubelet\/kubeadm\/kubectl 1\.37\.1 and the 1 Kubernetes images are present; only checking\ndetected\n$/);
    assert.match(run(prepared(false), detect, v137).stdout, /^not-detected$/m);
});
