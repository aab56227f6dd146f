/**
 * `npm run bench`: how program evaluation under mocks grows with the lab's size, and how much the
 * dependency graph's parallelism saves. For 3+3, 3+20 and 5+100 nodes (control planes + workers)
 * it runs bench/evaluate.ts several times, each in its own process, takes the median, and reports
 * the time per node (linear growth keeps it flat or falling), plus the planned critical path of
 * `pulumi up` vs the serial sum of its steps. Prints a table; first waits (bounded, --wait seconds)
 * for a quiet machine, and writes bench/results/bench.json only from a quiet run
 * (bench/machineLoad.ts; a loaded run goes to build/results/bench.json).
 *
 *   npm run bench [-- --runs 3] [-- --wait 180]
 */
import { spawnSync } from "child_process";
import * as path from "path";
import { formatDuration } from "../scripts/plan/timeline";
import { EvaluationSample } from "./evaluate";
import { loadRefusal, waitForQuietMachine, writeResults } from "./machineLoad";

/** Lab sizes measured: [control planes, workers]. */
export const benchSizes: readonly (readonly [number, number])[] = [
    [3, 3],
    [3, 20],
    [5, 100],
];

/** Time per node at the largest size may be at most this multiple of that at the smallest. */
export const linearityLimit = 2;

/** The result of one size. */
export interface SizeResult {
    readonly controlPlanes: number;
    readonly workers: number;
    readonly nodes: number;
    readonly resources: number;
    readonly runsMs: readonly number[];
    readonly medianMs: number;
    readonly msPerNode: number;
    readonly criticalPathSeconds: number;
    readonly serialSeconds: number;
}

const median = (values: readonly number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    const middle = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

/** Runs bench/evaluate.js in a fresh process and returns its sample. */
function runOnce(controlPlanes: number, workers: number): EvaluationSample {
    const script = path.join(__dirname, "evaluate.js");
    const result = spawnSync(process.execPath, [script, "--control-planes", String(controlPlanes), "--workers", String(workers)], {
        encoding: "utf8",
        timeout: 60_000,
    });
    if (result.status !== 0) {
        throw new Error(`evaluation of ${controlPlanes}+${workers} failed (exit ${result.status}): ${result.stderr.trim() || result.error?.message}`);
    }
    return JSON.parse(result.stdout.trim().split("\n").pop()!) as EvaluationSample;
}

/** Measures every size; runs alternate between sizes so a burst of load elsewhere does not hit one size only. */
export function runBench(runs: number): SizeResult[] {
    const samples = benchSizes.map(() => [] as EvaluationSample[]);
    for (let run = 0; run < runs; run++) {
        benchSizes.forEach(([controlPlanes, workers], i) => samples[i].push(runOnce(controlPlanes, workers)));
    }
    return benchSizes.map(([controlPlanes, workers], i) => {
        const nodes = controlPlanes + workers;
        const runsMs = samples[i].map((s) => Math.round(s.evaluationMs));
        const medianMs = median(runsMs);
        const { resources, criticalPathSeconds, serialSeconds } = samples[i][0];
        return { controlPlanes, workers, nodes, resources, runsMs, medianMs, msPerNode: Math.round((medianMs / nodes) * 10) / 10, criticalPathSeconds, serialSeconds };
    });
}

/** The printed table. */
export function renderTable(results: readonly SizeResult[]): string {
    const header = ["nodes", "cp+w", "resources", "eval median", "per node", "runs (ms)", "critical path", "serial sum", "saved"];
    const rows = results.map((r) => [
        String(r.nodes),
        `${r.controlPlanes}+${r.workers}`,
        String(r.resources),
        `${r.medianMs} ms`,
        `${r.msPerNode} ms`,
        r.runsMs.join(" "),
        formatDuration(r.criticalPathSeconds),
        formatDuration(r.serialSeconds),
        `${Math.round((1 - r.criticalPathSeconds / r.serialSeconds) * 100)}%`,
    ]);
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
    const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i])).join("  ").trimEnd();
    return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

/** The value of `--name <n>` as a positive whole number, or the default. */
function wholeNumberFlag(name: string, fallback: number, minimum: number): number {
    const at = process.argv.indexOf(`--${name}`);
    const value = at >= 0 ? Number(process.argv[at + 1]) : fallback;
    if (!Number.isInteger(value) || value < minimum) {
        console.error(`--${name} <n>: a whole number, at least ${minimum}`);
        process.exit(1);
    }
    return value;
}

async function main(): Promise<void> {
    const runs = wholeNumberFlag("runs", 3, 1);
    const maxWaitSeconds = wholeNumberFlag("wait", 180, 0);
    const load = await waitForQuietMachine(maxWaitSeconds);
    if (load.waitedSeconds > 0) console.log(`waited ${load.waitedSeconds} s for a quiet machine`);
    const started = Date.now();
    const results = runBench(runs);
    const elapsedSeconds = Math.round((Date.now() - started) / 100) / 10;
    const smallest = results[0];
    const largest = results[results.length - 1];
    const growth = Math.round((largest.msPerNode / smallest.msPerNode) * 100) / 100;
    // A straight line through the smallest and largest size: the fixed cost and the cost per node.
    const perNodeMs = Math.round(((largest.medianMs - smallest.medianMs) / (largest.nodes - smallest.nodes)) * 10) / 10;
    const fixedMs = Math.round(smallest.medianMs - perNodeMs * smallest.nodes);
    const report = {
        description:
            "Program evaluation under Pulumi mocks, from requiring index.ts to the last registration settled (the program's modules pre-loaded; SDK submodules loaded lazily and JIT warm-up count, as in pulumi up), median of runs each in its own process; critical path vs serial sum from the plan's duration table.",
        date: new Date().toISOString(),
        machine: { node: process.version, ...load },
        runsPerSize: runs,
        elapsedSeconds,
        perNodeGrowth: { fromNodes: smallest.nodes, toNodes: largest.nodes, ratio: growth, limit: linearityLimit },
        linearFit: { fixedMs, perNodeMs },
        sizes: results,
    };
    const written = writeResults("bench.json", `${JSON.stringify(report, null, 2)}\n`, loadRefusal(load));
    console.log(renderTable(results));
    console.log(`\nevaluation ~ ${fixedMs} ms + ${perNodeMs} ms per node (line through ${smallest.nodes} and ${largest.nodes} nodes)`);
    console.log(`${runs} runs per size in ${elapsedSeconds} s (load average ${load.loadAverageAtStart} on ${load.cpus} cores at the start); ${written}`);
    if (growth > linearityLimit) {
        console.log(
            `WARNING: evaluation time per node at ${largest.nodes} nodes is ${growth}x that at ${smallest.nodes} nodes (limit ${linearityLimit}x): evaluation grows faster than linearly.`,
        );
    } else {
        console.log(`time per node at ${largest.nodes} nodes is ${growth}x that at ${smallest.nodes} nodes: linear growth (limit ${linearityLimit}x)`);
    }
    if (load.quiet) console.log("README tables: run `npm run docs` to regenerate them from bench/results/");
}

if (require.main === module) {
    main().catch((error: Error) => {
        console.error(`bench failed: ${error.message}`);
        process.exit(1);
    });
}
