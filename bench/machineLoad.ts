/**
 * Issue 14: figures a reader can trust. A benchmark (or the HA failover test) taken while another
 * job runs on the same 2 cores measures that job as much as ours: the README's old evaluation table
 * was taken at load average 4.09 and said 2.1 s where an idle machine gives 0.7 s. So a run first
 * waits, bounded, for a quiet machine; a run taken under load is still printed and kept in
 * build/results/ (the last run, per checkout) but never replaces the recorded results in
 * bench/results/, which the README's tables are generated from.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { projectRoot } from "../components/render/manifests";

/** Quiet: the 1-minute load average is at most this per core (1.0 on the 2-core machines here). */
export const quietLoadPerCpu = 0.5;

/** The machine's load when a run started, as recorded beside its results. */
export interface MachineLoad {
    readonly cpus: number;
    readonly loadAverageAtStart: number;
    /** loadAverageAtStart <= quietLoadPerCpu x cpus. */
    readonly quiet: boolean;
    /** How long the run waited for the machine to become quiet. */
    readonly waitedSeconds: number;
}

/** What the waiting reads and how it sleeps: the real machine, or a test's stand-ins. */
export interface LoadSource {
    readonly cpus: () => number;
    readonly loadAverage: () => number;
    readonly sleep: (seconds: number) => Promise<void>;
}

export const machineLoadSource: LoadSource = {
    cpus: () => os.cpus().length,
    loadAverage: () => os.loadavg()[0],
    sleep: (seconds) => new Promise((resolve) => setTimeout(resolve, seconds * 1000)),
};

const rounded = (value: number) => Math.round(value * 100) / 100;

/** The load now, without waiting. */
export function currentLoad(source: LoadSource = machineLoadSource): MachineLoad {
    const cpus = source.cpus();
    const load = source.loadAverage();
    return { cpus, loadAverageAtStart: rounded(load), quiet: load <= quietLoadPerCpu * cpus, waitedSeconds: 0 };
}

/**
 * Waits up to maxWaitSeconds (polling every pollSeconds) for a quiet machine. The 1-minute load
 * average decays over about a minute after a job ends, so a short bounded wait is often enough.
 */
export async function waitForQuietMachine(maxWaitSeconds: number, pollSeconds = 5, source: LoadSource = machineLoadSource): Promise<MachineLoad> {
    let waited = 0;
    for (;;) {
        const load = currentLoad(source);
        if (load.quiet || waited >= maxWaitSeconds) return { ...load, waitedSeconds: waited };
        const step = Math.min(pollSeconds, maxWaitSeconds - waited);
        await source.sleep(step);
        waited += step;
    }
}

/** Why a run's figures must not be recorded: taken under load; undefined when they may. */
export function loadRefusal(load: MachineLoad): string | undefined {
    return load.quiet ? undefined : `taken under load (load average ${load.loadAverageAtStart} on ${load.cpus} cores, quiet is <= ${quietLoadPerCpu * load.cpus})`;
}

/** Where a run's results go: always build/results/<file>; bench/results/<file> only with no refusal. */
export function resultFiles(file: string, refusal: string | undefined, root: string = projectRoot): { lastRun: string; recorded?: string } {
    const lastRun = path.join(root, "build", "results", file);
    return refusal === undefined ? { lastRun, recorded: path.join(root, "bench", "results", file) } : { lastRun };
}

/** Writes a run's results where resultFiles says; returns a line telling where they went and why. */
export function writeResults(file: string, text: string, refusal: string | undefined, root: string = projectRoot): string {
    const targets = resultFiles(file, refusal, root);
    for (const target of [targets.lastRun, targets.recorded]) {
        if (!target) continue;
        fs.mkdirSync(path.dirname(target), { recursive: true });
        fs.writeFileSync(target, text);
    }
    const where = path.relative(process.cwd(), targets.lastRun) || targets.lastRun;
    return targets.recorded
        ? `written to ${path.relative(process.cwd(), targets.recorded)} (and ${where})`
        : `${refusal}: written to ${where} only; bench/results/${file} keeps the last recorded run`;
}
