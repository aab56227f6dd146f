// Issue 11 item 4: the resize roll's graph (components/nodeResizeRoll.ts) under mocks: per node a
// drain and a return step on node 0 (node 0's own on the second control plane), run only on a
// change; the VM waits for its drain; the chain drain -> return -> next drain goes through the
// control planes, then the workers, in config order, and never through a VM, so a first
// `pulumi up` still clones every VM at once. The script's behaviour is
// tested in test/render/nodeResize.test.ts; what a size change runs is the change matrix's row.
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { evaluateProgram } from "../helpers/program";
import { MockRecorder, RecordedResource } from "../helpers/pulumiMocks";
import { labConfigWith } from "../helpers/stackConfig";

const command = "command:remote:Command";
const vmType = "vsphere:index/virtualMachine:VirtualMachine";
const rollOrder = ["k8s-control01", "k8s-control02", "k8s-control03", "k8s-worker01", "k8s-worker02", "k8s-worker03"];

describe("the resize roll in the lab", () => {
    let recorder: MockRecorder;
    before(async () => {
        ({ recorder } = await evaluateProgram(labConfigWith({ workers: [
            { name: "k8s-worker01", address: "192.168.1.210", memoryMb: 8192 },
            { name: "k8s-worker02", address: "192.168.1.211" },
            { name: "k8s-worker03", address: "192.168.1.212" },
        ] })));
    });
    const step = (node: string, which: "drain" | "return") => recorder.named(`${node}-resize-${which}`, command);
    const vm = (node: string) => recorder.named(`${node}-vm`, vmType);
    const waits = (dependent: RecordedResource, dependency: RecordedResource) => recorder.dependsOn(dependent, dependency);

    test("every node has a drain and a return step that run only on a change, with the node's new size, on node 0 at its configured address (node 0's own on control02)", () => {
        for (const node of rollOrder) {
            for (const which of ["drain", "return"] as const) {
                const s = step(node, which);
                const [runsOn, address] = node === "k8s-control01" ? ["k8s-control02", "192.168.1.201"] : ["k8s-control01", "192.168.1.200"];
                assert.equal(s.inputs.create, undefined, `${s.name} must not run when created`);
                assert.equal(s.inputs.connection.host, address, s.name);
                assert.match(s.inputs.update, new RegExp(`NODE_NAME='${runsOn}' RESIZE_STEP='${which}' TARGET_NODE='${node}' TARGET_ROLE='(control-plane|worker)'`), s.name);
                // No size change recorded by the resize guard (a new lab): the script drains nothing.
                assert.match(s.inputs.update, /CONTROL_PLANE_COUNT='3' RESIZE_ID='' bash -s$/, s.name);
                assert.match(s.inputs.stdin, /^#!\/usr\/bin\/env bash\n# Issue 11 item 4: the cluster's part of a node resize/, s.name);
            }
        }
        assert.match(step("k8s-worker01", "drain").inputs.update, /TARGET_ROLE='worker' TARGET_CPUS='2' TARGET_MEMORY_MB='8192'/);
        assert.match(step("k8s-control02", "return").inputs.update, /TARGET_ROLE='control-plane' TARGET_CPUS='2' TARGET_MEMORY_MB='2048'/);
    });

    test("each VM waits for its own drain; no step waits for a VM, so the chain never passes through one", () => {
        for (const node of rollOrder) {
            assert.ok(waits(vm(node), step(node, "drain")), `${node}'s VM is resized only after its drain`);
            assert.ok(waits(step(node, "return"), step(node, "drain")), node);
            for (const other of rollOrder) assert.ok(!waits(step(node, "return"), vm(other)), `${node}'s return must not wait for ${other}'s VM`);
        }
    });

    test("one node at a time: the control planes, then the workers, in config order, each drained only after the one before returned", () => {
        for (let index = 1; index < rollOrder.length; index++) {
            assert.ok(waits(step(rollOrder[index], "drain"), step(rollOrder[index - 1], "return")), `${rollOrder[index]} after ${rollOrder[index - 1]}`);
            assert.ok(!waits(step(rollOrder[index - 1], "drain"), step(rollOrder[index], "return")));
        }
    });

    test("a first pulumi up still clones every VM at once: no VM waits for another", () => {
        const vms = recorder.resources.filter((r) => r.type === vmType);
        assert.equal(vms.length, 6);
        for (const a of vms) for (const b of vms) if (a !== b) assert.ok(!waits(a, b), `${a.name} waits for ${b.name}`);
    });

    test("the steps are not replaced with node 0's VM (that would make every VM wait for it)", () => {
        for (const node of rollOrder) for (const which of ["drain", "return"] as const) assert.deepEqual(step(node, which).replaceWith, [], `${node} ${which}`);
    });
});

test("a lab with one control plane: node 0 runs its own steps, last, its return after its VM; still no VM waits for another", async () => {
    const { recorder } = await evaluateProgram(labConfigWith({ controlPlanes: [{ name: "k8s-control01", address: "192.168.1.200" }] }));
    const step = (node: string, which: "drain" | "return") => recorder.named(`${node}-resize-${which}`, command);
    assert.ok(recorder.dependsOn(step("k8s-worker01", "drain"), recorder.named("lab-resize-guard")));
    assert.ok(recorder.dependsOn(step("k8s-worker02", "drain"), step("k8s-worker01", "return")));
    assert.ok(recorder.dependsOn(step("k8s-control01", "drain"), step("k8s-worker03", "return")));
    assert.ok(recorder.dependsOn(step("k8s-control01", "return"), recorder.named("k8s-control01-vm", vmType)));
    assert.equal(step("k8s-control01", "drain").inputs.connection.host, "192.168.1.200");
    assert.match(step("k8s-control01", "drain").inputs.update, /NODE_NAME='k8s-control01' RESIZE_STEP='drain' TARGET_NODE='k8s-control01'.*CONTROL_PLANE_COUNT='1'/);
    const vms = recorder.resources.filter((r) => r.type === vmType);
    for (const a of vms) for (const b of vms) if (a !== b) assert.ok(!recorder.dependsOn(a, b), `${a.name} waits for ${b.name}`);
});

// The roll as an engine would run it: every resource a resize of every node changes (each VM and
// its two steps) starts once all it depends on is done, as `pulumi up` schedules them. A VM's power
// cycle takes 10 time units, a step 1; a return step polls until its node is back, so it ends one
// unit after its VM's update at the earliest. Each node is down from the end of its drain to the
// end of its return: no two of those spans may overlap, and each VM's update lies inside its own.
test("simulated: resizing every node keeps at most one node down at any time, each VM resized inside its drained span", async () => {
    const { recorder } = await evaluateProgram(labConfigWith({ controlPlaneMemoryMb: 4096, workerMemoryMb: 8192 }));
    const nodes = rollOrder;
    const vm = (node: string) => recorder.named(`${node}-vm`, vmType);
    const step = (node: string, which: "drain" | "return") => recorder.named(`${node}-resize-${which}`, command);
    const changed = nodes.flatMap((node) => [step(node, "drain"), vm(node), step(node, "return")]);
    const finish = new Map<RecordedResource, number>();
    const vmOf = new Map(nodes.map((node) => [step(node, "return"), vm(node)]));
    const finishOf = (r: RecordedResource): number => {
        const known = finish.get(r);
        if (known !== undefined) return known;
        const start = Math.max(0, ...changed.filter((other) => other !== r && recorder.dependsOn(r, other)).map(finishOf));
        const polled = vmOf.has(r) ? finishOf(vmOf.get(r)!) + 1 : 0;
        const end = Math.max(start + (r.type === vmType ? 10 : 1), polled);
        finish.set(r, end);
        return end;
    };
    const spans = nodes.map((node) => ({ node, down: finishOf(step(node, "drain")), up: finishOf(step(node, "return")), vmStart: finishOf(vm(node)) - 10, vmEnd: finishOf(vm(node)) }));
    for (const span of spans) {
        assert.ok(span.down <= span.vmStart && span.vmEnd < span.up, `${span.node}'s VM is resized outside its drained span: ${JSON.stringify(span)}`);
    }
    for (const a of spans) {
        for (const b of spans) {
            if (a !== b) assert.ok(a.up <= b.down || b.up <= a.down, `${a.node} and ${b.node} are down at the same time: ${JSON.stringify([a, b])}`);
        }
    }
});

// The steps run on any change of their inputs, their script text among them: each node's ResizeId
// (providers/resizeId.ts) tells node-resize.sh whether the VM really changes size.
describe("the resize steps carry their node's ResizeId", () => {
    let recorder: MockRecorder;
    before(async () => {
        ({ recorder } = await evaluateProgram(labConfigWith(), {
            resourceState: (_type, name) => (name === "k8s-worker02-resize-id" ? { resizeId: "2026-12-07T09:00:00.000Z" } : undefined),
        }));
    });

    test("one ResizeId per node with its size; the resized node's drain and return get its id, every other node's none", () => {
        for (const node of rollOrder) {
            const id = recorder.named(`${node}-resize-id`, "pulumi-nodejs:dynamic/lab:ResizeId");
            assert.deepEqual([id.inputs.cpus, id.inputs.memoryMb], node.includes("control") ? [2, 2048] : [2, 4096], node);
            for (const which of ["drain", "return"] as const) {
                const s = recorder.named(`${node}-resize-${which}`, command);
                const expected = node === "k8s-worker02" ? "2026-12-07T09:00:00\\.000Z" : "";
                assert.match(s.inputs.update as string, new RegExp(` RESIZE_ID='${expected}' bash -s$`), `${node} ${which}`);
                assert.ok(recorder.dependsOn(s, id), `${node} ${which} waits for its ResizeId`);
            }
        }
    });
});
