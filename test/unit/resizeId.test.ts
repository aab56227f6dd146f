// The id of a node's latest size change (providers/resizeId.ts): the resize steps run on any
// change of their inputs, node-resize.sh's text among them, and this id tells the script whether
// the node's VM really changes size. Run through the provider as the program serializes it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ResizeIdInputs, ResizeIdOutputs } from "../../providers/resizeId";
import { loadSerializedProvider } from "../helpers/dynamicProvider";
import { evaluateProgram } from "../helpers/program";
import { labConfigWith } from "../helpers/stackConfig";

test("a node's ResizeId: empty when created, the time of the pulumi up at a size change, kept while the size stays", async () => {
    const { recorder } = await evaluateProgram(labConfigWith());
    const record = recorder.named("k8s-worker01-resize-id");
    assert.equal(record.type, "pulumi-nodejs:dynamic/lab:ResizeId");
    const provider = loadSerializedProvider(record.inputs.__provider as string);
    const inputs = { cpus: record.inputs.cpus, memoryMb: record.inputs.memoryMb } as ResizeIdInputs;
    assert.deepEqual(inputs, { cpus: 2, memoryMb: 4096 });

    const created = (await provider.create(inputs)).outs as ResizeIdOutputs;
    assert.equal(created.resizeId, "", "a new node was never resized");
    // Nothing but a CPU or memory change is a change.
    assert.equal((await provider.diff!("resize-id", created, inputs)).changes, false);
    for (const grown of [{ ...inputs, cpus: 4 }, { ...inputs, memoryMb: 8192 }]) {
        const diff = await provider.diff!("resize-id", created, grown);
        assert.deepEqual([diff.changes, diff.replaces], [true, []]);
    }
    const before = Date.now();
    const updated = (await provider.update!("resize-id", created, { ...inputs, cpus: 4 })).outs as ResizeIdOutputs;
    assert.equal(updated.cpus, 4);
    const stamp = Date.parse(updated.resizeId);
    assert.ok(stamp >= before - 1000 && stamp <= Date.now() + 1000, updated.resizeId);
    assert.match(updated.resizeId, /^[0-9A-Za-z:.+-]+$/, "node-resize.sh accepts it as RESIZE_ID");
    // The next change gets a new id; between changes no update runs, so the id stays.
    assert.equal((await provider.diff!("resize-id", updated, { ...inputs, cpus: 4 })).changes, false);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const again = (await provider.update!("resize-id", updated, { ...inputs, cpus: 8 })).outs as ResizeIdOutputs;
    assert.notEqual(again.resizeId, updated.resizeId);
});
