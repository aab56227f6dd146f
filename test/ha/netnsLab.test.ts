// Issue 14 item 4: a failover run killed before its cleanup (SIGKILL, a CI timeout) must not
// break the next one: the next NetnsLab removes the dead run's namespaces and the processes in
// them, and leaves a live run's alone. Root: creates network namespaces.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "child_process";
import { NetnsLab } from "./netnsLab";

const namespaces = () => (spawnSync("ip", ["netns", "list"], { encoding: "utf8" }).stdout ?? "").split("\n").map((line) => line.split(" ")[0]);

test("NetnsLab removes the namespaces (and their processes) of a dead run, never a live run's", async () => {
    assert.equal(process.getuid?.(), 0, "run as root (CI runs as root): this test creates network namespaces");
    // A pid that is certainly dead: a process that has exited.
    const gone = spawnSync("true");
    const deadPid = gone.pid!;
    const orphan = `k8sha${deadPid}-orphan`;
    const live = `k8sha${process.pid}-live`;
    for (const name of [orphan, live]) assert.equal(spawnSync("ip", ["netns", "add", name]).status, 0, name);
    const squatter = spawn("ip", ["netns", "exec", orphan, "sleep", "300"], { stdio: "ignore" });
    await new Promise((resolve) => setTimeout(resolve, 200));
    try {
        NetnsLab.removeOrphans();
        assert.ok(!namespaces().includes(orphan), "the dead run's namespace is still there");
        assert.ok(namespaces().includes(live), "a live run's namespace was removed");
        const exited = await new Promise<boolean>((resolve) => {
            if (squatter.exitCode !== null || squatter.signalCode !== null) return resolve(true);
            squatter.once("exit", () => resolve(true));
            setTimeout(() => resolve(false), 5_000);
        });
        assert.ok(exited, "the process inside the dead run's namespace still runs");
    } finally {
        squatter.kill("SIGKILL");
        for (const name of [orphan, live]) spawnSync("ip", ["netns", "del", name]);
    }
});
