// Issue 11 item 4: a resize never power-cycles two nodes at once.
import { test } from "node:test";
import assert from "node:assert/strict";
import { judgeResize, NodeSize, resizeGuardProvider, ResizeGuardInputs } from "../../providers/resizeGuard";
import { loadSerializedProvider } from "../helpers/dynamicProvider";
import { evaluateProgram } from "../helpers/program";
import { labConfigWith } from "../helpers/stackConfig";

const size = (role: string, cpus: number, memoryMb: number, keys = "k"): NodeSize => ({ role, cpus, memoryMb, reserveMemory: role === "worker", keys });
const lab: Record<string, NodeSize> = {
    cp1: size("control-plane", 2, 2048, "controlPlanes[0].cpus/memoryMb or controlPlaneCpus/controlPlaneMemoryMb"),
    cp2: size("control-plane", 2, 2048, "controlPlanes[1].cpus/memoryMb or controlPlaneCpus/controlPlaneMemoryMb"),
    w1: size("worker", 2, 4096),
    w2: size("worker", 2, 4096),
};

test("one node resized, nodes added or removed, and the first deployment pass", async () => {
    assert.equal(judgeResize(lab, { ...lab, w1: size("worker", 4, 4096) }), undefined);
    assert.equal(judgeResize(lab, { cp1: lab.cp1, cp2: lab.cp2, w3: size("worker", 8, 16384) }), undefined);
    assert.deepEqual((await resizeGuardProvider.check!({} as ResizeGuardInputs, { nodes: lab })).failures, []);
});

test("two control planes resized at once are refused, naming the keys and the one-node-per-up way", () => {
    const reason = judgeResize(lab, { ...lab, cp1: size("control-plane", 2, 4096, lab.cp1.keys), cp2: size("control-plane", 2, 4096, lab.cp2.keys) });
    assert.ok(reason);
    assert.match(reason, /resizes 2 nodes at once \(cp1: controlPlanes\[0\]\.cpus\/memoryMb or controlPlaneCpus\/controlPlaneMemoryMb; cp2: /);
    assert.match(reason, /2 control planes down at the same time lose etcd's quorum/);
    assert.match(reason, /Resize one node per pulumi up/);
});

test("two workers resized at once are refused too (their workloads stop together); a reservation change counts", () => {
    assert.match(judgeResize(lab, { ...lab, w1: size("worker", 4, 4096), w2: size("worker", 4, 4096) })!, /their workloads stop at the same time/);
    const reserved = { ...lab, cp1: { ...lab.cp1, reserveMemory: true }, cp2: { ...lab.cp2, reserveMemory: true } };
    assert.ok(judgeResize(lab, reserved));
});

test("the program records every node's size and every VM waits for the guard; the serialized provider refuses", async () => {
    const { recorder } = await evaluateProgram(labConfigWith());
    const guard = recorder.named("lab-resize-guard");
    const nodes = guard.inputs.nodes as Record<string, NodeSize>;
    assert.deepEqual(Object.keys(nodes).sort(), ["k8s-control01", "k8s-control02", "k8s-control03", "k8s-worker01", "k8s-worker02", "k8s-worker03"]);
    assert.deepEqual([nodes["k8s-worker02"].cpus, nodes["k8s-worker02"].memoryMb], [2, 4096]);
    for (const vm of recorder.resources.filter((r) => r.type === "vsphere:index/virtualMachine:VirtualMachine")) {
        assert.ok(recorder.dependsOn(vm, guard), `${vm.name} does not wait for the resize guard`);
    }
    const provider = loadSerializedProvider(guard.inputs.__provider as string);
    const grown = Object.fromEntries(Object.entries(nodes).map(([name, node]) => [name, node.role === "control-plane" ? { ...node, memoryMb: 4096 } : node]));
    const result = await provider.check!({ nodes }, { nodes: grown });
    assert.equal(result.failures?.[0]?.property, "nodes");
    assert.match(result.failures![0].reason, /resizes 3 nodes at once/);
});
