import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";

/**
 * A throwaway L2 network of Linux network namespaces for the failover test: a "switch" namespace
 * holding a bridge, and one namespace per host, each joined to the bridge by a veth pair. Every
 * address lives only inside these namespaces; nothing is added to the host's own network.
 * Names carry the test's pid so parallel runs never collide. Everything it made (namespaces,
 * processes, folders) is removed by `destroy()`, which is safe to call more than once and is
 * also run on process exit and on SIGINT/SIGTERM.
 */
export class NetnsLab {
    /** Prefix of every namespace of this run, e.g. `k8sha12345`. */
    public readonly prefix: string;
    private readonly switchNamespace: string;
    private readonly namespaces: string[] = [];
    private readonly processes = new Set<ChildProcess>();
    private readonly folders: string[] = [];
    private destroyed = false;
    private readonly onExit = () => this.destroy();
    private readonly onSignal = (signal: NodeJS.Signals) => {
        this.destroy();
        process.exit(signal === "SIGINT" ? 130 : 143);
    };

    constructor() {
        NetnsLab.removeOrphans();
        this.prefix = `k8sha${process.pid}`;
        this.switchNamespace = `${this.prefix}-switch`;
        process.once("exit", this.onExit);
        process.once("SIGINT", this.onSignal);
        process.once("SIGTERM", this.onSignal);
        this.addNamespace(this.switchNamespace);
        this.ip(this.switchNamespace, ["link", "add", "br0", "type", "bridge"]);
        this.ip(this.switchNamespace, ["link", "set", "br0", "up"]);
    }

    /** Name of the namespace of host `host` (e.g. `cp0`, `client`). */
    namespaceOf(host: string): string {
        return `${this.prefix}-${host}`;
    }

    /**
     * Adds a host: a namespace with loopback up and interface `interfaceName` holding
     * `address/prefixLength`, plugged into the bridge. Returns the interface's MAC address.
     */
    addHost(host: string, interfaceName: string, address: string, prefixLength: number): string {
        const namespace = this.namespaceOf(host);
        this.addNamespace(namespace);
        const switchPort = `p${this.namespaces.length}-${process.pid}`.slice(0, 15);
        this.ip(this.switchNamespace, ["link", "add", switchPort, "type", "veth", "peer", "name", interfaceName, "netns", namespace]);
        this.ip(this.switchNamespace, ["link", "set", switchPort, "master", "br0", "up"]);
        this.ip(namespace, ["link", "set", "lo", "up"]);
        this.ip(namespace, ["addr", "add", `${address}/${prefixLength}`, "dev", interfaceName]);
        this.ip(namespace, ["link", "set", interfaceName, "up"]);
        const link = JSON.parse(this.ip(namespace, ["-j", "link", "show", interfaceName])) as { address: string }[];
        return link[0].address;
    }

    /** Runs `ip -n <namespace> <args>` and returns its stdout; throws with stderr on failure. */
    ip(namespace: string, args: string[]): string {
        const result = spawnSync("ip", ["-n", namespace, ...args], { encoding: "utf8", timeout: 10_000 });
        if (result.status !== 0) {
            throw new Error(`ip -n ${namespace} ${args.join(" ")} failed: ${result.stderr || result.error?.message}`);
        }
        return result.stdout;
    }

    /** Same as `ip`, asynchronous (for sampling while requests run); resolves "" on failure. */
    ipAsync(namespace: string, args: string[]): Promise<string> {
        return new Promise((resolve) => {
            const child = spawn("ip", ["-n", namespace, ...args], { stdio: ["ignore", "pipe", "ignore"] });
            let output = "";
            const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
            child.stdout.on("data", (chunk) => (output += chunk));
            child.on("close", (code) => {
                clearTimeout(timer);
                resolve(code === 0 ? output : "");
            });
        });
    }

    /**
     * Starts `command args` inside host's namespace (`ip netns exec`, which execs, so the child's
     * pid is the command's), with stdout and stderr appended to `logPath`. Tracked: destroy() kills it.
     */
    start(host: string, command: string, args: string[], logPath: string): ChildProcess {
        const log = fs.openSync(logPath, "a");
        const child = spawn("ip", ["netns", "exec", this.namespaceOf(host), command, ...args], {
            stdio: ["ignore", log, log],
        });
        fs.closeSync(log);
        this.processes.add(child);
        child.on("exit", () => this.processes.delete(child));
        return child;
    }

    /** Like `start`, but hands stdout to the caller (for programs that report on it). */
    startPiped(host: string, command: string, args: string[], logPath: string): ChildProcess {
        const log = fs.openSync(logPath, "a");
        const child = spawn("ip", ["netns", "exec", this.namespaceOf(host), command, ...args], {
            stdio: ["ignore", "pipe", log],
        });
        fs.closeSync(log);
        this.processes.add(child);
        child.on("exit", () => this.processes.delete(child));
        return child;
    }

    /** Remembers a folder for destroy() to remove. */
    trackFolder(folder: string): void {
        this.folders.push(folder);
    }

    /**
     * Removes what an earlier run left behind when it was killed before destroy() ran (SIGKILL, a
     * CI timeout): its namespaces (`k8sha<pid>-...` of a pid no longer alive) and the processes in
     * them (a keepalived still sending adverts, a haproxy holding the port). Runs of a live
     * process, such as one started beside this one, are left alone.
     */
    static removeOrphans(): void {
        const listing = spawnSync("ip", ["netns", "list"], { encoding: "utf8", timeout: 10_000 }).stdout ?? "";
        for (const name of listing.split("\n").map((line) => line.split(" ")[0])) {
            const owner = /^k8sha(\d+)-/.exec(name)?.[1];
            if (owner === undefined || NetnsLab.alive(Number(owner))) continue;
            NetnsLab.deleteNamespace(name);
        }
    }

    private static alive(pid: number): boolean {
        try {
            process.kill(pid, 0);
            return true;
        } catch (error) {
            return (error as NodeJS.ErrnoException).code === "EPERM";
        }
    }

    /** Kills every process inside `namespace` (a keepalived child, a check script), then deletes it. */
    private static deleteNamespace(namespace: string): void {
        const pids = spawnSync("ip", ["netns", "pids", namespace], { encoding: "utf8", timeout: 10_000 }).stdout ?? "";
        for (const pid of pids.split("\n").map(Number).filter((pid) => pid > 1)) {
            try {
                process.kill(pid, "SIGKILL");
            } catch {
                // already gone
            }
        }
        spawnSync("ip", ["netns", "del", namespace], { timeout: 10_000 });
    }

    /** Kills every process it started, deletes every namespace and folder. Idempotent, synchronous. */
    destroy(): void {
        if (this.destroyed) return;
        this.destroyed = true;
        for (const child of this.processes) {
            if (child.pid !== undefined && child.exitCode === null) {
                try {
                    process.kill(child.pid, "SIGKILL");
                } catch {
                    // already gone
                }
            }
        }
        this.processes.clear();
        // Deleting a namespace removes its interfaces (and the veth peers in the switch). Any process
        // still inside one (a keepalived child, a check script) is ours too: it is killed first.
        for (const namespace of [...this.namespaces].reverse()) NetnsLab.deleteNamespace(namespace);
        for (const folder of this.folders) {
            fs.rmSync(folder, { recursive: true, force: true });
        }
        process.off("exit", this.onExit);
        process.off("SIGINT", this.onSignal);
        process.off("SIGTERM", this.onSignal);
    }

    private addNamespace(namespace: string): void {
        const result = spawnSync("ip", ["netns", "add", namespace], { encoding: "utf8", timeout: 10_000 });
        if (result.status !== 0) {
            throw new Error(`ip netns add ${namespace} failed: ${result.stderr || result.error?.message}`);
        }
        this.namespaces.push(namespace);
    }
}
