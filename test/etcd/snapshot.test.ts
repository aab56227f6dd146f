/**
 * etcd-snapshot.sh, as the program stages it (rendered), against a real 3-member etcd with TLS on
 * loopback (Debian's etcd-server and etcd-client, 3.4): a snapshot is taken and verified, old ones
 * are pruned to SNAPSHOT_KEEP, a failed snapshot leaves nothing behind, and the snapshot restores
 * into a fresh 3-member cluster (the README's restore procedure) that serves the data.
 * Run under the shared lock: flock /tmp/k8s-lab-root-tests.lock npm run test:etcd
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync, SpawnSyncReturns } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { renderScript } from "../../components/render/manifests";
import { requireTool } from "../helpers/tools";
import { createEtcdPki, EtcdCluster, EtcdPki, freePort } from "./etcdCluster";

const node = "i12-m1";
const memberNames = ["i12-m1", "i12-m2", "i12-m3"];
const keyCount = 25;

describe("etcd-snapshot.sh against a real 3-member etcd with TLS", { timeout: 180_000 }, () => {
    let dir = "";
    let pki: EtcdPki;
    let cluster: EtcdCluster;
    let restored: EtcdCluster | undefined;
    let script = "";
    let hostnameBin = "";

    before(async () => {
        for (const tool of ["etcd", "etcdctl", "openssl", "flock"]) requireTool(tool);
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "i12-etcd-snapshot-"));
        pki = createEtcdPki(path.join(dir, "pki"));
        cluster = await EtcdCluster.start(dir, pki, { names: memberNames, token: "i12-snapshot-test" });
        for (let i = 0; i < keyCount; i++) {
            const put = cluster.etcdctl(["put", `/registry/i12/key-${i}`, `value-${i}`]);
            assert.equal(put.status, 0, put.stderr);
        }
        // The node scripts check they run on their own node (lib/common.sh check_own_node):
        // a stand-in hostname answers with the member's node name.
        const bin = path.join(dir, "bin");
        fs.mkdirSync(bin);
        fs.writeFileSync(path.join(bin, "hostname"), `#!/bin/sh\necho ${node}\n`, { mode: 0o755 });
        hostnameBin = bin;
        script = path.join(dir, "etcd-snapshot.sh");
        fs.writeFileSync(script, renderScript("etcd-snapshot.sh"));
    });

    after(async () => {
        await restored?.stop();
        await cluster?.stop();
        if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    /** Runs the snapshot script as the service would, pointed at member 1 of the test cluster. */
    function runSnapshot(snapshotDir: string, env: Record<string, string> = {}): SpawnSyncReturns<string> {
        return spawnSync("bash", [script], {
            encoding: "utf8",
            timeout: 60_000,
            env: {
                PATH: `${hostnameBin}:${process.env.PATH ?? "/usr/bin:/bin"}`,
                NODE_NAME: node,
                SNAPSHOT_DIR: snapshotDir,
                SNAPSHOT_KEEP: "3",
                ETCD_ENDPOINT: cluster.members[0].clientUrl,
                ETCD_CACERT: pki.ca.caCertPath,
                ETCD_CERT: pki.clientCert,
                ETCD_KEY: pki.clientKey,
                // Debian's etcd 3.4 has no etcdutl: the script verifies with `etcdctl snapshot status`.
                ETCDUTL: path.join(dir, "no-etcdutl-here"),
                ...env,
            },
        });
    }

    const snapshotsIn = (snapshotDir: string) => fs.readdirSync(snapshotDir).filter((f) => !f.startsWith(".")).sort();

    it("takes a snapshot, verifies it and keeps only the newest SNAPSHOT_KEEP of this node", () => {
        const snapshotDir = path.join(dir, "snapshots");
        fs.mkdirSync(snapshotDir);
        // Older snapshots of this node, one of another node, and a file that is not a snapshot.
        const older = ["20200101T000000Z", "20210101T000000Z", "20220101T000000Z", "20230101T000000Z"].map(
            (time) => `etcd-snapshot-${node}-${time}.db`,
        );
        for (const file of [...older, `etcd-snapshot-i12-m2-20200101T000000Z.db`, "notes.txt"]) {
            fs.writeFileSync(path.join(snapshotDir, file), "old");
        }

        const run = runSnapshot(snapshotDir);
        assert.equal(run.status, 0, run.stderr);
        const taken = /etcd snapshot done: (\S+)/.exec(run.stdout)?.[1];
        assert.ok(taken, run.stdout);
        assert.match(path.basename(taken), new RegExp(`^etcd-snapshot-${node}-\\d{8}T\\d{6}Z\\.db$`));
        assert.equal(fs.statSync(taken).mode & 0o777, 0o600, "a snapshot holds every Secret: root-only");

        // Verified with the real tool, independently of the script: all keys are in it.
        const status = spawnSync(requireTool("etcdctl"), ["snapshot", "status", taken, "--write-out=json"], {
            encoding: "utf8",
            env: { ...process.env, ETCDCTL_API: "3" },
        });
        assert.equal(status.status, 0, status.stderr);
        assert.ok(JSON.parse(status.stdout).totalKey >= keyCount, status.stdout);

        // Keep 3: the new one and the two newest old ones; the other node's file and notes.txt stay.
        assert.deepEqual(snapshotsIn(snapshotDir), [
            older[2],
            older[3],
            "etcd-snapshot-i12-m2-20200101T000000Z.db",
            path.basename(taken),
            "notes.txt",
        ].sort());
        assert.match(run.stdout, new RegExp(`deleted old snapshot .*${older[0]}`));
    });

    it("fails with the reason and leaves no file when etcd does not answer", async () => {
        const snapshotDir = path.join(dir, "snapshots-unreachable");
        const run = runSnapshot(snapshotDir, { ETCD_ENDPOINT: `https://127.0.0.1:${await freePort()}`, SNAPSHOT_TIMEOUT: "5" });
        assert.notEqual(run.status, 0);
        assert.match(run.stderr, /etcdctl snapshot save from https:\/\/127\.0\.0\.1:\d+ failed/);
        assert.deepEqual(fs.readdirSync(snapshotDir).filter((f) => f !== ".lock"), []);
    });

    it("restores the snapshot into a fresh 3-member cluster that serves the data", async () => {
        const snapshotDir = path.join(dir, "snapshots-restore");
        const run = runSnapshot(snapshotDir, { SNAPSHOT_KEEP: "1" });
        assert.equal(run.status, 0, run.stderr);
        const snapshot = /etcd snapshot done: (\S+)/.exec(run.stdout)![1];
        // A key written after the snapshot must not come back.
        assert.equal(cluster.etcdctl(["put", "/registry/i12/after-snapshot", "late"]).status, 0);

        // The README's procedure: the one snapshot restored on every member with the same new
        // --initial-cluster and token (etcd 3.4's etcdctl; etcdutl from 3.5 on).
        const names = ["i12-r1", "i12-r2", "i12-r3"];
        const peerUrls = new Map<string, string>();
        for (const name of names) peerUrls.set(name, `https://127.0.0.1:${await freePort()}`);
        const initialCluster = names.map((name) => `${name}=${peerUrls.get(name)}`).join(",");
        const dataDirs = new Map<string, string>();
        for (const name of names) {
            const dataDir = path.join(dir, `restored-${name}`);
            const restore = spawnSync(
                requireTool("etcdctl"),
                [
                    "snapshot", "restore", snapshot, `--name=${name}`, `--data-dir=${dataDir}`,
                    `--initial-cluster=${initialCluster}`, "--initial-cluster-token=i12-restored",
                    `--initial-advertise-peer-urls=${peerUrls.get(name)}`,
                ],
                { encoding: "utf8", env: { ...process.env, ETCDCTL_API: "3" }, timeout: 60_000 },
            );
            assert.equal(restore.status, 0, restore.stderr);
            dataDirs.set(name, dataDir);
        }
        restored = await EtcdCluster.start(dir, pki, { names, token: "i12-restored", restoredDataDirs: dataDirs, peerUrls });

        for (const member of restored.members) {
            const value = restored.etcdctl(["get", "/registry/i12/key-7", "--print-value-only"], member.clientUrl);
            assert.equal(value.status, 0, value.stderr);
            assert.equal(value.stdout.trim(), "value-7", `${member.name} serves the restored data`);
        }
        const keys = restored.etcdctl(["get", "/registry/i12/", "--prefix", "--keys-only"]);
        assert.equal(keys.stdout.split("\n").filter((line) => line.startsWith("/registry/i12/")).length, keyCount);
        const late = restored.etcdctl(["get", "/registry/i12/after-snapshot", "--print-value-only"]);
        assert.equal(late.stdout.trim(), "");
        const members = restored.etcdctl(["member", "list"]);
        assert.deepEqual(members.stdout.trim().split("\n").map((line) => line.split(", ")[2]).sort(), names);
        // The restored cluster takes writes: it has quorum.
        assert.equal(restored.etcdctl(["put", "/registry/i12/after-restore", "ok"]).status, 0);
    });
});
