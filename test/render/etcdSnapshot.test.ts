/**
 * etcd-snapshot-install.sh and etcd-snapshot.sh's NFS copy, as the program renders them, with
 * stand-ins on PATH where a test machine has no systemd, no NFS server and no internet: curl
 * (serves a tarball made here), systemctl, systemd-analyze, mount, umount and etcdctl record
 * their calls. sha256sum, tar and install are the real ones. The real-etcd test is test/etcd/.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { etcdToolsFor, renderEtcdSnapshotTimer } from "../../components/render/etcdSnapshots";
import { readManifest, renderScript } from "../../components/render/manifests";

function tempDir(): string {
    return fs.mkdtempSync(path.join(os.tmpdir(), "i12-etcd-install-"));
}

/** Writes executable stand-ins that append "<name> <args>" to calls.log, then run `body`. */
function standIns(dir: string, tools: Record<string, string>): { bin: string; calls: () => string[] } {
    const bin = path.join(dir, "bin");
    fs.mkdirSync(bin, { recursive: true });
    const log = path.join(dir, "calls.log");
    for (const [name, body] of Object.entries(tools)) {
        fs.writeFileSync(path.join(bin, name), `#!/usr/bin/env bash\necho "${name} $*" >>'${log}'\n${body}\n`, { mode: 0o755 });
    }
    return { bin, calls: () => (fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n") : []) };
}

function makeToolsTarball(dir: string, version: string): { tarball: string; sha256: string } {
    const top = path.join(dir, "tar", `etcd-v${version}-linux-amd64`);
    fs.mkdirSync(top, { recursive: true });
    for (const tool of ["etcd", "etcdctl", "etcdutl"]) fs.writeFileSync(path.join(top, tool), `#!/bin/sh\necho ${tool} ${version}\n`, { mode: 0o755 });
    const tarball = path.join(dir, "etcd.tar.gz");
    assert.equal(spawnSync("tar", ["-czf", tarball, "-C", path.join(dir, "tar"), `etcd-v${version}-linux-amd64`]).status, 0);
    return { tarball, sha256: crypto.createHash("sha256").update(fs.readFileSync(tarball)).digest("hex") };
}

function installSetup() {
    const dir = tempDir();
    const root = path.join(dir, "root");
    const staged = path.join(root, "etc", "k8s-lab");
    fs.mkdirSync(staged, { recursive: true });
    fs.writeFileSync(path.join(staged, "etcd-snapshot.sh"), renderScript("etcd-snapshot.sh"));
    fs.writeFileSync(path.join(staged, "etcd-snapshot.service"), readManifest("etcd-snapshot.service"));
    fs.writeFileSync(path.join(staged, "etcd-snapshot.timer"), renderEtcdSnapshotTimer("*-*-* 00/6:00:00"));
    const version = etcdToolsFor("1.34.2").version;
    const { tarball, sha256 } = makeToolsTarball(dir, version);
    const tools = standIns(dir, {
        curl: `out=""; while [ $# -gt 0 ]; do [ "$1" = -o ] && out="$2"; shift; done; cp '${tarball}' "$out"`,
        systemctl: "exit 0",
        "systemd-analyze": "exit 0",
        "mount.nfs": "exit 0",
        // The node scripts check they run on their own node (lib/common.sh check_own_node).
        hostname: "echo k8s-control01",
    });
    const run = (env: Record<string, string> = {}) =>
        spawnSync("bash", ["-s"], {
            input: renderScript("etcd-snapshot-install.sh"),
            encoding: "utf8",
            timeout: 30_000,
            env: {
                PATH: `${tools.bin}:${process.env.PATH}`,
                K8S_LAB_ROOT: root,
                NODE_NAME: "k8s-control01",
                ETCD_TOOLS_VERSION: version,
                ETCD_TOOLS_SHA256: sha256,
                SNAPSHOT_KEEP: "8",
                NFS_SERVER: "192.168.1.50",
                NFS_PATH: "/srv/nfs/k8s",
                NFS_MOUNT_OPTIONS: "nfsvers=4.1,soft",
                ...env,
            },
        });
    return { root, version, run, calls: tools.calls };
}

test("etcd-snapshot-install.sh installs the pinned tools, the environment file and the units, then enables the timer and takes a first snapshot", () => {
    const { root, version, run, calls } = installSetup();
    const result = run();
    assert.equal(result.status, 0, result.stderr);
    const tools = path.join(root, "usr", "local", "lib", "k8s-lab", `etcd-v${version}`);
    for (const tool of ["etcdctl", "etcdutl"]) {
        assert.ok(fs.statSync(path.join(tools, tool)).mode & 0o100, `${tool} installed executable`);
        assert.equal(fs.readlinkSync(path.join(root, "usr", "local", "bin", tool)), `/usr/local/lib/k8s-lab/etcd-v${version}/${tool}`);
    }
    assert.equal(fs.existsSync(path.join(tools, "etcd")), false, "only the client tools, not the server");
    const envFile = path.join(root, "etc", "k8s-lab", "etcd-snapshot.env");
    assert.equal(fs.statSync(envFile).mode & 0o777, 0o600);
    const env = fs.readFileSync(envFile, "utf8");
    assert.match(env, /^NODE_NAME="k8s-control01"$/m);
    assert.match(env, /^SNAPSHOT_KEEP="8"$/m);
    assert.match(env, new RegExp(`^ETCDUTL="/usr/local/lib/k8s-lab/etcd-v${version}/etcdutl"$`, "m"));
    assert.match(env, /^NFS_SERVER="192.168.1.50"$/m);
    assert.match(env, /^NFS_MOUNT_OPTIONS="nfsvers=4.1,soft"$/m);
    for (const unit of ["etcd-snapshot.service", "etcd-snapshot.timer"]) {
        assert.ok(fs.existsSync(path.join(root, "etc", "systemd", "system", unit)), unit);
    }
    assert.deepEqual(
        calls().filter((call) => call.startsWith("systemctl")),
        ["systemctl daemon-reload", "systemctl enable etcd-snapshot.timer", "systemctl restart etcd-snapshot.timer", "systemctl start etcd-snapshot.service"],
    );
    assert.match(calls().find((call) => call.startsWith("curl"))!, new RegExp(`releases/download/v${version}/etcd-v${version}-linux-amd64\\.tar\\.gz`));

    // A second run finds the tools and downloads nothing.
    const again = run();
    assert.equal(again.status, 0, again.stderr);
    assert.equal(calls().filter((call) => call.startsWith("curl")).length, 1);
    assert.match(again.stdout, /already installed/);
});

test("etcd-snapshot-install.sh refuses a tarball whose sha256 is not the pinned one and installs nothing", () => {
    const { root, version, run, calls } = installSetup();
    const result = run({ ETCD_TOOLS_SHA256: "0".repeat(64) });
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /does not have the pinned sha256/);
    assert.equal(fs.existsSync(path.join(root, "usr", "local", "lib", "k8s-lab", `etcd-v${version}`)), false);
    assert.deepEqual(calls().filter((call) => call.startsWith("systemctl")), []);
});

test("etcd-snapshot.sh copies a verified snapshot to the NFS share under the node's name and prunes it there", () => {
    const dir = tempDir();
    const share = path.join(dir, "share");
    const target = path.join(share, "etcd-snapshots", "k8s-control02");
    fs.mkdirSync(target, { recursive: true });
    const old = ["20200101T000000Z", "20210101T000000Z"].map((time) => `etcd-snapshot-k8s-control02-${time}.db`);
    for (const file of old) fs.writeFileSync(path.join(target, file), "old");
    const tools = standIns(dir, {
        // snapshot save FILE writes a file; snapshot status prints etcd's JSON.
        etcdctl: `for a in "$@"; do last="$a"; done; case "$*" in *"snapshot save"*) echo db >"$last" ;; *) echo '{"hash":1,"revision":42,"totalKey":7,"totalSize":20480}' ;; esac`,
        etcdutl: `echo '{"hash":1,"revision":42,"totalKey":7,"totalSize":20480}'`,
        mount: "exit 0",
        umount: "exit 0",
        hostname: "echo k8s-control02.lab.local",
    });
    const result = spawnSync("bash", ["-s"], {
        input: renderScript("etcd-snapshot.sh"),
        encoding: "utf8",
        timeout: 30_000,
        env: {
            PATH: `${tools.bin}:${process.env.PATH}`,
            NODE_NAME: "k8s-control02",
            SNAPSHOT_DIR: path.join(dir, "local"),
            SNAPSHOT_KEEP: "2",
            NFS_SERVER: "192.168.1.50",
            NFS_PATH: "/srv/nfs/k8s",
            NFS_MOUNT_OPTIONS: "nfsvers=4.1,soft",
            NFS_MOUNT_POINT: share,
        },
    });
    assert.equal(result.status, 0, result.stderr);
    const taken = path.basename(/etcd snapshot done: (\S+)/.exec(result.stdout)![1]);
    assert.deepEqual(fs.readdirSync(target).sort(), [old[1], taken].sort(), "the new snapshot and the newest old one");
    const calls = tools.calls();
    assert.ok(calls.includes(`mount -t nfs -o nfsvers=4.1,soft 192.168.1.50:/srv/nfs/k8s ${share}`), calls.join("\n"));
    assert.ok(calls.includes(`umount ${share}`));
    // etcdutl is preferred for the verification where it exists (etcd 3.6 has no etcdctl snapshot status).
    assert.ok(calls.some((call) => call.startsWith("etcdutl snapshot status")));
    assert.ok(!calls.some((call) => call.startsWith("etcdctl snapshot status")));
});
