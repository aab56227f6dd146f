/**
 * Prints the HA failover test's result lines exactly as specified, from the last run's
 * build/results/ha.json (bench/results/ha.json is the recorded run, written only from a quiet one):
 * `HA <letter> <name> failed=<n> gap_s=<seconds>` per scenario, then `HA summary worst_gap_s=...`.
 * (Inside `node --test` the test's own output is prefixed with "# " by the TAP reporter.)
 */
import * as fs from "fs";
import * as path from "path";
import { projectRoot } from "../components/render/manifests";

interface HaResults {
    readonly scenarios: readonly { letter: string; name: string; failed: number; gap_s: number }[];
    readonly worst_gap_s: number;
}

/** The result lines of a failover run. */
export function haSummaryLines(results: HaResults): string[] {
    return [
        ...results.scenarios.map((s) => `HA ${s.letter} ${s.name} failed=${s.failed} gap_s=${s.gap_s}`),
        `HA summary worst_gap_s=${results.worst_gap_s}`,
    ];
}

if (require.main === module) {
    const file = path.join(projectRoot, "build", "results", "ha.json");
    const results = JSON.parse(fs.readFileSync(file, "utf8")) as HaResults;
    console.log(haSummaryLines(results).join("\n"));
}
