/**
 * Issue 14: the README's benchmark and HA tables, generated from the recorded results in
 * bench/results/ (bench.json from `npm run bench`, ha.json and ha-before.json from the failover
 * test), with the date and the load each run was taken under, so they cannot go stale by hand.
 * `npm run docs` writes them; a test fails while the README differs.
 */
import * as fs from "fs";
import * as path from "path";
import { projectRoot } from "../components/render/manifests";
import { formatDuration } from "./plan/timeline";
import { quietLoadPerCpu } from "../bench/machineLoad";

/** The machine part of a results file (older files have no quiet/waitedSeconds, or none at all). */
interface RecordedMachine {
    readonly cpus?: number;
    readonly loadAverageAtStart?: number;
    readonly quiet?: boolean;
}

interface BenchResults {
    readonly date: string;
    readonly machine: RecordedMachine;
    readonly runsPerSize: number;
    readonly perNodeGrowth: { readonly fromNodes: number; readonly toNodes: number; readonly ratio: number };
    readonly linearFit: { readonly fixedMs: number; readonly perNodeMs: number };
    readonly sizes: readonly {
        readonly controlPlanes: number;
        readonly workers: number;
        readonly nodes: number;
        readonly resources: number;
        readonly medianMs: number;
        readonly msPerNode: number;
        readonly criticalPathSeconds: number;
        readonly serialSeconds: number;
    }[];
}

interface HaScenario {
    readonly letter: string;
    readonly name: string;
    readonly failed: number;
    readonly gap_s: number;
    readonly vipHolderBefore: string | null;
    readonly vipHolderAfter: string | null;
    readonly vipMoves: number;
    readonly vipMovedAfter_s: number | null;
}

interface HaResults {
    readonly measuredAt: string;
    readonly machine?: RecordedMachine;
    readonly scenarios: readonly HaScenario[];
}

/** bench/results/ha-loop.json: scripts/ha-loop.sh's record of the failover test run N times in a row. */
interface HaLoopResults {
    readonly runs: number;
    readonly passed: number;
    readonly cpus: number;
    readonly results: readonly { readonly started: string; readonly loadAverageAtStart: number; readonly outcome: string }[];
}

const readResults = <T>(file: string, root: string): T => JSON.parse(fs.readFileSync(path.join(root, "bench", "results", file), "utf8")) as T;

/** "2026-12-03 08:44 UTC, load average 0.31 on 2 cores (quiet)", or what is known of it. */
export function describeRun(isoDate: string, machine: RecordedMachine | undefined): string {
    const when = `${isoDate.slice(0, 10)} ${isoDate.slice(11, 16)} UTC`;
    if (machine?.loadAverageAtStart === undefined) return `${when}, load not recorded`;
    const cores = machine.cpus ?? 0;
    const quiet = machine.quiet ?? machine.loadAverageAtStart <= quietLoadPerCpu * cores;
    return `${when}, load average ${machine.loadAverageAtStart} on ${cores} cores (${quiet ? "quiet" : "UNDER LOAD: these figures overstate the times"})`;
}

const seconds = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`);

/** The README's evaluation benchmark section. */
export function renderBenchSection(results: BenchResults): string {
    const rows = results.sizes.map(
        (size) =>
            `| ${size.nodes} (${size.controlPlanes} + ${size.workers}) | ${size.resources} | ${seconds(size.medianMs)} | ${seconds(size.msPerNode)} | ` +
            `${formatDuration(size.criticalPathSeconds)} | ${formatDuration(size.serialSeconds)} |`,
    );
    const growth = results.perNodeGrowth;
    return [
        `Recorded run: ${describeRun(results.date, results.machine)}; median of ${results.runsPerSize} runs per size.`,
        "",
        "| nodes (cp + workers) | resources | evaluation (median) | per node | critical path | serial sum |",
        "|---|---|---|---|---|---|",
        ...rows,
        "",
        `Evaluation ~ ${seconds(results.linearFit.fixedMs)} fixed plus ${seconds(results.linearFit.perNodeMs)} per node ` +
            `(time per node at ${growth.toNodes} nodes is ${growth.ratio}x that at ${growth.fromNodes}). The critical path stays near the lab's ` +
            "because workers join in parallel; only the control-plane joins are serial.",
        "",
    ].join("\n");
}

/** "stays", or "cp0 -> cp1 after 0.29 s". */
function vipColumn(scenario: HaScenario): string {
    if (scenario.vipMoves === 0) return "stays";
    const after = scenario.vipMovedAfter_s === null ? "" : ` after ${scenario.vipMovedAfter_s} s`;
    const times = scenario.vipMoves > 1 ? ` (${scenario.vipMoves} moves)` : "";
    return `${scenario.vipHolderBefore} -> ${scenario.vipHolderAfter}${after}${times}`;
}

/** "10/10 runs in a row passed (...)": the loop's line under the HA table. */
function describeHaLoop(loop: HaLoopResults): string {
    const loads = loop.results.map((run) => run.loadAverageAtStart);
    const started = loop.results[0]?.started.replace("T", " ").replace(/:\d\dZ$/, " UTC") ?? "never";
    const failedRun = loop.results.find((run) => run.outcome !== "passed");
    const stop = failedRun ? `; stopped at the failed run ${loop.results.indexOf(failedRun) + 1}` : "";
    return (
        `Reliability (\`bash scripts/ha-loop.sh ${loop.runs}\`, started ${started}): ${loop.passed}/${loop.runs} runs in a row passed${stop}; ` +
        `load average at each run's start ${Math.min(...loads)}-${Math.max(...loads)} on ${loop.cpus} cores.`
    );
}

/** The README's HA results table: the recorded run beside the one before issue 14's tuning, and the loop's record. */
export function renderHaSection(results: HaResults, before: HaResults, loop?: HaLoopResults): string {
    const beforeByLetter = new Map(before.scenarios.map((scenario) => [scenario.letter, scenario]));
    const rows = results.scenarios.map((scenario) => {
        const old = beforeByLetter.get(scenario.letter);
        const oldCell = old ? `${old.failed} / ${old.gap_s}` : "(new)";
        return `| ${scenario.letter} | ${scenario.name} | ${oldCell} | ${scenario.failed} | ${scenario.gap_s} | ${vipColumn(scenario)} |`;
    });
    return [
        `Recorded run: ${describeRun(results.measuredAt, results.machine)}. Before: ${describeRun(before.measuredAt, before.machine)}.`,
        "",
        "| | scenario | before: failed / gap (s) | failed | gap (s) | VIP |",
        "|---|---|---|---|---|---|",
        ...rows,
        "",
        ...(loop ? [describeHaLoop(loop), ""] : []),
    ].join("\n");
}

/** Both sections, from the files in bench/results/. */
export function renderResultSections(root: string = projectRoot): { "bench-results": string; "ha-results": string } {
    return {
        "bench-results": renderBenchSection(readResults<BenchResults>("bench.json", root)),
        "ha-results": renderHaSection(readResults<HaResults>("ha.json", root), readResults<HaResults>("ha-before.json", root), readResults<HaLoopResults>("ha-loop.json", root)),
    };
}
