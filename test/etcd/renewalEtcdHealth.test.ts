/**
 * certificates-renew.sh's etcd health wait (wait_for_healthy_etcd), as the program stages it
 * (rendered), against a real 3-member etcd with TLS on loopback (Debian's etcd-server and
 * etcd-client): the renewal restarts this node's etcd member only while every member is healthy,
 * so a control plane that is down at the same time (a resize in the same `pulumi up`) cannot
 * cost etcd its quorum. On a node etcdctl runs inside the etcd container (`crictl exec`); here a
 * crictl stand-in runs the same command line on this machine, where the test's certificates sit
 * under K8S_LAB_TEST_ROOT at the paths kubeadm's etcd pod mounts. A frozen member (SIGSTOP) plays
 * the control plane that is down.
 * Run under the shared lock: flock /tmp/k8s-lab-root-tests.lock npm run test:etcd
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { renderScript } from "../../components/render/manifests";
import { requireTool } from "../helpers/tools";
import { createEtcdPki, EtcdCluster, EtcdPki } from "./etcdCluster";

const nodeName = "k8s-control02";
const memberNames = ["renew-m1", "renew-m2", "renew-m3"];

interface Run {
    readonly status: number | null;
    readonly stdout: string;
    readonly stderr: string;
}

describe("certificates-renew.sh waits for a healthy etcd before restarting a member (real 3-member etcd with TLS)", { timeout: 180_000 }, () => {
    let dir = "";
    let root = "";
    let bin = "";
    let script = "";
    let pki: EtcdPki;
    let cluster: EtcdCluster;

    before(async () => {
        for (const tool of ["etcd", "etcdctl", "openssl"]) requireTool(tool);
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "renew-etcd-health-"));
        pki = createEtcdPki(path.join(dir, "pki"));
        cluster = await EtcdCluster.start(dir, pki, { names: memberNames, token: "renew-etcd-health-test" });
        // The node's /etc/kubernetes/pki/etcd, as kubeadm lays it out.
        root = path.join(dir, "node");
        const etcdPki = path.join(root, "etc", "kubernetes", "pki", "etcd");
        fs.mkdirSync(etcdPki, { recursive: true });
        fs.copyFileSync(pki.ca.caCertPath, path.join(etcdPki, "ca.crt"));
        fs.copyFileSync(pki.clientCert, path.join(etcdPki, "healthcheck-client.crt"));
        fs.copyFileSync(pki.clientKey, path.join(etcdPki, "healthcheck-client.key"));
        fs.copyFileSync(pki.memberCert(memberNames[1]).cert, path.join(etcdPki, "server.crt"));
        bin = path.join(dir, "bin");
        fs.mkdirSync(bin);
        // crictl: `ps` finds this node's etcd container, `exec [flags] <id> <command...>` runs the command.
        fs.writeFileSync(
            path.join(bin, "crictl"),
            [
                "#!/usr/bin/env bash",
                'while [ "${1:-}" = --runtime-endpoint ]; do shift 2; done',
                'case "$1" in',
                "    ps) echo etcd-container-id ;;",
                "    exec)",
                "        shift",
                '        while [ "${1#--}" != "$1" ]; do if [ "$1" = --timeout ]; then shift 2; else shift; fi; done',
                '        shift # the container id',
                '        ETCDCTL_API=3 exec "$@" ;;',
                '    *) echo "crictl stand-in: $*" >&2; exit 2 ;;',
                "esac",
                "",
            ].join("\n"),
            { mode: 0o755 },
        );
        fs.writeFileSync(path.join(bin, "hostname"), `#!/bin/sh\necho ${nodeName}\n`, { mode: 0o755 });
        script = path.join(dir, "certificates-renew.sh");
        fs.writeFileSync(script, renderScript("certificates-renew.sh"));
    });

    after(async () => {
        await cluster?.stop();
        if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    /** Runs wait_for_healthy_etcd as the script's main does, asking member 2 (this node's); onOutput sees stdout as it comes. */
    function waitForHealthyEtcd(waitSeconds: number, onOutput?: (stdout: string) => void): Promise<Run> {
        return new Promise((resolve) => {
            const child = spawn("bash", ["-c", 'source "$0" && wait_for_healthy_etcd', script], {
                env: {
                    PATH: `${bin}:${process.env.PATH ?? "/usr/bin:/bin"}`,
                    K8S_LAB_FUNCTIONS_ONLY: "1",
                    K8S_LAB_TEST_ROOT: root,
                    NODE_NAME: nodeName,
                    CRI_ENDPOINT: "unix:///run/containerd/containerd.sock",
                    ETCD_ENDPOINT: cluster.members[1].clientUrl,
                    ETCD_WAIT_SECONDS: String(waitSeconds),
                },
            });
            let stdout = "";
            let stderr = "";
            child.stdout.on("data", (chunk) => {
                stdout += chunk;
                onOutput?.(stdout);
            });
            child.stderr.on("data", (chunk) => (stderr += chunk));
            child.on("close", (status) => resolve({ status, stdout, stderr }));
        });
    }

    it("goes on at once while every member is healthy", async () => {
        const run = await waitForHealthyEtcd(30);
        assert.equal(run.status, 0, run.stderr);
        assert.equal(run.stdout, `[${nodeName}] etcd: every member is healthy\n`);
    });

    it("with another member down, waits; once it is back, goes on", async () => {
        cluster.signalMember(memberNames[2], "SIGSTOP");
        let resumed = false;
        try {
            const run = await waitForHealthyEtcd(120, (stdout) => {
                if (!resumed && stdout.includes("waiting for every etcd member to be healthy")) {
                    resumed = true;
                    cluster.signalMember(memberNames[2], "SIGCONT");
                }
            });
            assert.equal(run.status, 0, run.stderr);
            assert.ok(resumed, "it never waited");
            assert.match(run.stdout, /waiting for every etcd member to be healthy \(up to 120s\) before this one restarts \.\.\.\n.*etcd: every member is healthy\n$/);
        } finally {
            if (!resumed) cluster.signalMember(memberNames[2], "SIGCONT");
        }
    });

    it("with another member down past ETCD_WAIT_SECONDS, fails naming etcd's quorum and what to do", async () => {
        cluster.signalMember(memberNames[0], "SIGSTOP");
        try {
            const run = await waitForHealthyEtcd(3);
            assert.equal(run.status, 1);
            assert.match(run.stderr, new RegExp(`^\\[${nodeName}\\] error: etcd is not healthy on every member \\(etcdctl endpoint health --cluster\\) after 3s: restarting this node's member now could lose etcd's quorum\\. Nothing was renewed or restarted here; bring the other members back`, "m"));
        } finally {
            cluster.signalMember(memberNames[0], "SIGCONT");
        }
        // Healthy again once the member is back: the next pulumi up goes on.
        const again = await waitForHealthyEtcd(60);
        assert.equal(again.status, 0, again.stderr);
    });
});
