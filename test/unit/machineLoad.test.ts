// Issue 14: benchmarks a reader can trust. The waiting and the recording rule, with a stand-in
// load source (no real waiting), and the README tables generated from the recorded results.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { currentLoad, LoadSource, loadRefusal, waitForQuietMachine, writeResults } from "../../bench/machineLoad";
import { describeRun } from "../../scripts/resultTables";

/** A machine whose load follows `loads`, one value per reading; sleeps are recorded, not slept. */
function fakeMachine(loads: number[], cpus = 2): LoadSource & { slept: number[] } {
    const slept: number[] = [];
    let reading = 0;
    return {
        slept,
        cpus: () => cpus,
        loadAverage: () => loads[Math.min(reading++, loads.length - 1)],
        sleep: async (seconds) => {
            slept.push(seconds);
        },
    };
}

test("a quiet machine is measured at once: no waiting", async () => {
    const machine = fakeMachine([0.4]);
    const load = await waitForQuietMachine(180, 5, machine);
    assert.deepEqual(load, { cpus: 2, loadAverageAtStart: 0.4, quiet: true, waitedSeconds: 0 });
    assert.deepEqual(machine.slept, []);
});

test("a busy machine is waited for until its load falls to 0.5 per core", async () => {
    const machine = fakeMachine([3.2, 2.1, 1.4, 0.93]);
    const load = await waitForQuietMachine(180, 5, machine);
    assert.equal(load.quiet, true);
    assert.equal(load.loadAverageAtStart, 0.93);
    assert.equal(load.waitedSeconds, 15);
    assert.deepEqual(machine.slept, [5, 5, 5]);
});

test("the wait is bounded: a machine that stays busy is measured and marked as under load", async () => {
    const machine = fakeMachine([4.09]);
    const load = await waitForQuietMachine(12, 5, machine);
    assert.equal(load.quiet, false);
    assert.equal(load.waitedSeconds, 12);
    assert.deepEqual(machine.slept, [5, 5, 2]);
    assert.match(loadRefusal(load)!, /under load \(load average 4\.09 on 2 cores, quiet is <= 1\)/);
    assert.equal(loadRefusal(currentLoad(fakeMachine([1.0]))), undefined, "exactly 0.5 per core is quiet");
});

test("a loaded run never overwrites the recorded results; a quiet one replaces them", () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "k8s-lab-bench-"));
    const recorded = path.join(root, "bench", "results", "bench.json");
    fs.mkdirSync(path.dirname(recorded), { recursive: true });
    fs.writeFileSync(recorded, "quiet run\n");

    const loaded = writeResults("bench.json", "loaded run\n", loadRefusal(currentLoad(fakeMachine([4.09]))), root);
    assert.equal(fs.readFileSync(recorded, "utf8"), "quiet run\n");
    assert.equal(fs.readFileSync(path.join(root, "build", "results", "bench.json"), "utf8"), "loaded run\n");
    assert.match(loaded, /under load.*bench\/results\/bench\.json keeps the last recorded run/);

    writeResults("bench.json", "new quiet run\n", loadRefusal(currentLoad(fakeMachine([0.2]))), root);
    assert.equal(fs.readFileSync(recorded, "utf8"), "new quiet run\n");
    fs.rmSync(root, { recursive: true, force: true });
});

test("the README's tables say when and under which load their run was taken", () => {
    assert.equal(describeRun("2026-12-03T08:44:05.416Z", { cpus: 2, loadAverageAtStart: 0.31, quiet: true }), "2026-12-03 08:44 UTC, load average 0.31 on 2 cores (quiet)");
    assert.match(describeRun("2026-11-22T21:12:51.925Z", { cpus: 2, loadAverageAtStart: 4.09 }), /load average 4\.09 on 2 cores \(UNDER LOAD/);
    assert.equal(describeRun("2026-12-03T07:01:58.575Z", undefined), "2026-12-03 07:01 UTC, load not recorded");
});
