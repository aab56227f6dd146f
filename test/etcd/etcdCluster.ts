/**
 * A real etcd cluster for tests: Debian's etcd (etcd-server) members with TLS on loopback, each
 * on ports the kernel picked as free, in a temp folder of its own. Stops only the processes it
 * started and removes its folder.
 */
import { ChildProcess, spawn, spawnSync, SpawnSyncReturns } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { createServerCertificate, createTestCa, TestCa } from "../helpers/testPki";
import { requireTool } from "../helpers/tools";

/** One member: its name, URLs and data folder. */
export interface EtcdMember {
    readonly name: string;
    readonly clientUrl: string;
    readonly peerUrl: string;
    readonly dataDir: string;
}

/** TLS files of the test etcd: its CA, one server/peer certificate per member, one client certificate. */
export interface EtcdPki {
    readonly ca: TestCa;
    readonly clientCert: string;
    readonly clientKey: string;
    /** Certificate and key of a member by name. */
    memberCert(name: string): { cert: string; key: string };
}

/** A port on 127.0.0.1 that nothing listens on right now (the kernel's pick). */
export async function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => {
            const port = (server.address() as net.AddressInfo).port;
            server.close(() => resolve(port));
        });
    });
}

/** Makes the CA, a client certificate and, on demand, member certificates (SAN 127.0.0.1). */
export function createEtcdPki(dir: string): EtcdPki {
    const ca = createTestCa(dir, { commonName: "i12-etcd-test-ca", fileName: "etcd-ca" });
    const client = createServerCertificate(dir, ca, { commonName: "i12-etcd-client", fileName: "client", extendedKeyUsage: ["clientAuth"] });
    const members = new Map<string, { cert: string; key: string }>();
    return {
        ca,
        clientCert: client.serverCertPath,
        clientKey: client.serverKeyPath,
        memberCert(name) {
            let files = members.get(name);
            if (!files) {
                const made = createServerCertificate(dir, ca, {
                    commonName: name,
                    fileName: `member-${name}`,
                    dnsNames: ["localhost"],
                    ipAddresses: ["127.0.0.1"],
                    extendedKeyUsage: ["serverAuth", "clientAuth"],
                });
                files = { cert: made.serverCertPath, key: made.serverKeyPath };
                members.set(name, files);
            }
            return files;
        },
    };
}

/** Options of {@link EtcdCluster.start}. */
export interface EtcdClusterOptions {
    /** Member names, e.g. ["i12-m1", "i12-m2", "i12-m3"]. */
    readonly names: readonly string[];
    readonly token: string;
    /** Data folders already restored from a snapshot (name -> folder); others start empty. */
    readonly restoredDataDirs?: ReadonlyMap<string, string>;
    /** Peer URLs to reuse (name -> URL), e.g. the ones a restore was made for. */
    readonly peerUrls?: ReadonlyMap<string, string>;
}

/** A running etcd cluster. */
export class EtcdCluster {
    private readonly processes: ChildProcess[] = [];

    private constructor(
        readonly dir: string,
        readonly pki: EtcdPki,
        readonly members: readonly EtcdMember[],
    ) {}

    /** Starts every member and waits until all report healthy. */
    static async start(dir: string, pki: EtcdPki, opts: EtcdClusterOptions): Promise<EtcdCluster> {
        const etcd = requireTool("etcd");
        const members: EtcdMember[] = [];
        for (const name of opts.names) {
            members.push({
                name,
                clientUrl: `https://127.0.0.1:${await freePort()}`,
                peerUrl: opts.peerUrls?.get(name) ?? `https://127.0.0.1:${await freePort()}`,
                dataDir: opts.restoredDataDirs?.get(name) ?? path.join(dir, `data-${name}`),
            });
        }
        const cluster = new EtcdCluster(dir, pki, members);
        const initialCluster = members.map((m) => `${m.name}=${m.peerUrl}`).join(",");
        for (const member of members) {
            const { cert, key } = pki.memberCert(member.name);
            const logFile = fs.openSync(path.join(dir, `${member.name}.log`), "a");
            const child = spawn(
                etcd,
                [
                    `--name=${member.name}`,
                    `--data-dir=${member.dataDir}`,
                    `--listen-client-urls=${member.clientUrl}`,
                    `--advertise-client-urls=${member.clientUrl}`,
                    `--listen-peer-urls=${member.peerUrl}`,
                    `--initial-advertise-peer-urls=${member.peerUrl}`,
                    `--initial-cluster=${initialCluster}`,
                    `--initial-cluster-token=${opts.token}`,
                    "--initial-cluster-state=new",
                    "--client-cert-auth",
                    `--trusted-ca-file=${pki.ca.caCertPath}`,
                    `--cert-file=${cert}`,
                    `--key-file=${key}`,
                    "--peer-client-cert-auth",
                    `--peer-trusted-ca-file=${pki.ca.caCertPath}`,
                    `--peer-cert-file=${cert}`,
                    `--peer-key-file=${key}`,
                    "--logger=zap",
                    "--log-outputs=stderr",
                ],
                { stdio: ["ignore", logFile, logFile] },
            );
            fs.closeSync(logFile);
            cluster.processes.push(child);
        }
        await cluster.waitHealthy();
        return cluster;
    }

    /** Every member's client URL, comma separated (etcdctl --endpoints). */
    get endpoints(): string {
        return this.members.map((m) => m.clientUrl).join(",");
    }

    /** Runs etcdctl (API v3) against `endpoints` (default: all members) with the client certificate. */
    etcdctl(args: string[], endpoints: string = this.endpoints): SpawnSyncReturns<string> {
        return spawnSync(
            requireTool("etcdctl"),
            [`--endpoints=${endpoints}`, `--cacert=${this.pki.ca.caCertPath}`, `--cert=${this.pki.clientCert}`, `--key=${this.pki.clientKey}`, ...args],
            { encoding: "utf8", env: { ...process.env, ETCDCTL_API: "3" }, timeout: 30_000 },
        );
    }

    /** Resolves once `etcdctl endpoint health` succeeds on every member; rejects after about a minute. */
    private async waitHealthy(): Promise<void> {
        let last = "";
        for (let attempt = 0; attempt < 120; attempt++) {
            const exited = this.processes.find((child) => child.exitCode !== null);
            if (exited) {
                throw new Error(`etcd exited with ${exited.exitCode}: see the member logs in ${this.dir}`);
            }
            const health = this.etcdctl(["endpoint", "health", "--command-timeout=2s"]);
            if (health.status === 0) return;
            last = health.stderr + health.stdout;
            await new Promise((resolve) => setTimeout(resolve, 500));
        }
        throw new Error(`etcd members did not become healthy: ${last}`);
    }

    /**
     * Freezes one member (SIGSTOP: it holds its ports but answers nothing, as a control plane
     * powered off for a resize) or lets it go on (SIGCONT).
     */
    signalMember(name: string, signal: "SIGSTOP" | "SIGCONT"): void {
        const index = this.members.findIndex((m) => m.name === name);
        if (index < 0) throw new Error(`no etcd member ${name}`);
        this.processes[index].kill(signal);
    }

    /** Stops the members this object started (SIGCONT for a frozen one, SIGTERM, then waits for each to exit). */
    async stop(): Promise<void> {
        await Promise.all(
            this.processes.map(
                (child) =>
                    new Promise<void>((resolve) => {
                        if (child.exitCode !== null || child.signalCode !== null) return resolve();
                        child.once("exit", () => resolve());
                        child.kill("SIGCONT");
                        child.kill("SIGTERM");
                    }),
            ),
        );
    }
}
