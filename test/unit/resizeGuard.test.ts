// Issue 11 item 4: a resize rolls over the nodes (components/nodeResizeRoll.ts); the guard refuses
// only a resize in the same `pulumi up` as a Kubernetes upgrade, whose roll is not in turn with it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { judgeResize, NodeSize, resizeGuardProvider, ResizeGuardInputs } from "../../providers/resizeGuard";
import { loadSerializedProvider } from "../helpers/dynamicProvider";
import { evaluateProgram } from "../helpers/program";
import { labConfigWith } from "../helpers/stackConfig";

const size = (role: string, cpus: number, memoryMb: number, keys = "k"): NodeSize => ({ role, cpus, memoryMb, reserveMemory: role === "worker", keys });
const nodes: Record<string, NodeSize> = {
    cp1: size("control-plane", 2, 2048, "controlPlanes[0].cpus/memoryMb or controlPlaneCpus/controlPlaneMemoryMb"),
    cp2: size("control-plane", 2, 2048, "controlPlanes[1].cpus/memoryMb or controlPlaneCpus/controlPlaneMemoryMb"),
    w1: size("worker", 2, 4096, "workers[0].cpus/memoryMb or workerCpus/workerMemoryMb"),
    w2: size("worker", 2, 4096),
};
const lab: ResizeGuardInputs = { nodes, kubernetesVersion: "1.34.2", nodesHaveResizeIds: true };
const everyControlPlaneGrown = { ...nodes, cp1: size("control-plane", 2, 4096, nodes.cp1.keys), cp2: size("control-plane", 2, 4096, nodes.cp2.keys) };

test("resizes alone pass, however many nodes: the roll takes them one at a time", async () => {
    assert.equal(judgeResize(lab, { ...lab, nodes: everyControlPlaneGrown }), undefined);
    assert.equal(judgeResize(lab, { ...lab, nodes: { ...nodes, w1: size("worker", 4, 8192), w2: size("worker", 4, 8192) } }), undefined);
    assert.deepEqual((await resizeGuardProvider.check!({} as ResizeGuardInputs, lab)).failures, []);
});

test("an upgrade alone, nodes added or removed with it, and a reservation change pass", () => {
    assert.equal(judgeResize(lab, { ...lab, kubernetesVersion: "1.35.0" }), undefined);
    assert.equal(judgeResize(lab, { nodes: { cp1: nodes.cp1, cp2: nodes.cp2, w3: size("worker", 8, 16384) }, kubernetesVersion: "1.35.0" }), undefined);
    const reserved = { ...nodes, cp1: { ...nodes.cp1, reserveMemory: true }, cp2: { ...nodes.cp2, reserveMemory: true } };
    assert.equal(judgeResize(lab, { nodes: reserved, kubernetesVersion: "1.35.0" }), undefined);
});

test("a resize with an upgrade in the same pulumi up is refused, naming the version, the nodes and their keys, and the order to do them in", () => {
    const reason = judgeResize(lab, { nodes: { ...nodes, w1: size("worker", 4, 4096, nodes.w1.keys) }, kubernetesVersion: "1.35.0" });
    assert.ok(reason);
    assert.match(reason, /^k8s-vsphere-lab:kubernetesVersion changes from 1\.34\.2 to 1\.35\.0 in the same pulumi up as the size of w1 \(workers\[0\]\.cpus\/memoryMb or workerCpus\/workerMemoryMb\)/);
    assert.match(reason, /two nodes \(two etcd members\) could be down at once\. Nothing was changed\./);
    assert.match(reason, /Put kubernetesVersion back to 1\.34\.2 and run pulumi up \(the resize\), then set it again/);
});

test("a state recorded before the guard knew the version is not compared on it", () => {
    assert.equal(judgeResize({ nodes, nodesHaveResizeIds: true }, { nodes: everyControlPlaneGrown, kubernetesVersion: "1.35.0", nodesHaveResizeIds: true }), undefined);
});

test("a resize in the first pulumi up that creates the nodes' ResizeIds is refused, naming the nodes, their keys and the two-step way", async () => {
    // A state from before the ResizeIds: their create gives an empty id, which the drain takes for "never resized".
    const before: ResizeGuardInputs = { nodes, kubernetesVersion: "1.34.2" };
    const after: ResizeGuardInputs = { nodes: { ...nodes, w1: size("worker", 4, 4096, nodes.w1.keys) }, kubernetesVersion: "1.34.2", nodesHaveResizeIds: true };
    const reason = judgeResize(before, after);
    assert.ok(reason);
    assert.match(reason, /^the size of w1 \(workers\[0\]\.cpus\/memoryMb or workerCpus\/workerMemoryMb\) changes in the first pulumi up of this version of the program/);
    assert.match(reason, /would power-cycle the VM without draining it\. Nothing was changed\. Put the sizes back and run pulumi up once .* then change the sizes again/);
    // Without a resize that first pulumi up passes and records the flag (a diff, so update runs); then resizes pass.
    assert.equal(judgeResize(before, { ...before, nodesHaveResizeIds: true }), undefined);
    assert.equal((await resizeGuardProvider.diff!("node-sizes", before, { ...before, nodesHaveResizeIds: true })).changes, true);
    assert.equal((await resizeGuardProvider.diff!("node-sizes", lab, lab)).changes, false);
    assert.equal(judgeResize(lab, after), undefined);
});

test("the program records every node's size and the version; every VM and the first resize drain wait for the guard; the serialized provider refuses", async () => {
    const { recorder } = await evaluateProgram(labConfigWith());
    const guard = recorder.named("lab-resize-guard");
    const recorded = guard.inputs as unknown as ResizeGuardInputs;
    assert.deepEqual(Object.keys(recorded.nodes).sort(), ["k8s-control01", "k8s-control02", "k8s-control03", "k8s-worker01", "k8s-worker02", "k8s-worker03"]);
    assert.deepEqual([recorded.nodes["k8s-worker02"].cpus, recorded.nodes["k8s-worker02"].memoryMb], [2, 4096]);
    assert.equal(recorded.kubernetesVersion, "1.37.1");
    for (const vm of recorder.resources.filter((r) => r.type === "vsphere:index/virtualMachine:VirtualMachine")) {
        assert.ok(recorder.dependsOn(vm, guard), `${vm.name} does not wait for the resize guard`);
    }
    assert.ok(recorder.dependsOn(recorder.named("k8s-control02-resize-drain"), guard));
    const provider = loadSerializedProvider(guard.inputs.__provider as string);
    const grown = Object.fromEntries(Object.entries(recorded.nodes).map(([name, node]) => [name, node.role === "control-plane" ? { ...node, memoryMb: 4096 } : node]));
    assert.deepEqual((await provider.check!(recorded, { nodes: grown, kubernetesVersion: "1.37.1" })).failures, []);
    const result = await provider.check!(recorded, { nodes: grown, kubernetesVersion: "1.37.2" });
    assert.equal(result.failures?.[0]?.property, "nodes");
    assert.match(result.failures![0].reason, /in the same pulumi up as the size of k8s-control01 .*, k8s-control02 .*, k8s-control03/);
});
