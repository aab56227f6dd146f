// Issue 11: what a VM change does. The vSphere provider replaces a VM on any clone.* change and
// power-cycles it on an extraConfig change unless extraConfigRebootRequired is false
// (pulumi-vsphere v4.17.0 schema, ../shared/reference/vsphere-v4.17.0-schema-subset.json).
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { evaluateProgram } from "../helpers/program";
import { MockRecorder } from "../helpers/pulumiMocks";
import { labConfigWith } from "../helpers/stackConfig";

let recorder: MockRecorder;
before(async () => {
    ({ recorder } = await evaluateProgram(labConfigWith()));
});

const nodes = ["k8s-control01", "k8s-control02", "k8s-control03", "k8s-worker01", "k8s-worker02", "k8s-worker03"];
const vmType = "vsphere:index/virtualMachine:VirtualMachine";

test("every VM ignores clone changes (new template for new nodes only), frees its name before a rebuild and never reboots for extraConfig", () => {
    for (const node of nodes) {
        const vm = recorder.named(`${node}-vm`, vmType);
        // A disk's provisioning is fixed at clone time; the size stays managed (diskGb grows it).
        assert.deepEqual(vm.ignoreChanges, ["clone", "disks[0].thinProvisioned", "disks[0].eagerlyScrub"], node);
        assert.equal(vm.deleteBeforeReplace, true, node);
        assert.equal(vm.inputs.extraConfigRebootRequired, false, node);
    }
});

test("a rebuilt node's run-once steps are replaced with its VM: it is prepared, staged and joined again", () => {
    const commands = recorder.ofType("command:remote:Command");
    for (const node of nodes) {
        const vmUrn = recorder.named(`${node}-vm`, vmType).urn;
        const step = node === "k8s-control01" ? "kubeadm-init" : "kubeadm-join";
        for (const name of [`${node}-prepare`, `${node}-${step}`, `${node}-file-node-reset.sh`]) {
            assert.ok(recorder.named(name, "command:remote:Command").replaceWith.includes(vmUrn), `${name} is not replaced with ${node}-vm`);
        }
        if (node !== "k8s-control01") {
            assert.ok(recorder.named(`${node}-join-credentials`, "command:remote:Command").replaceWith.includes(vmUrn), `${node}-join-credentials`);
        }
        // Delete-time steps (drain, reset, forget) are not replaced: a replacement would run them.
        // (Steps that run only on a change, the upgrade's, do nothing when created or replaced.)
        for (const command of commands.filter((c) => c.name.startsWith(`${node}-`) && c.inputs.create === undefined && c.inputs.update === undefined)) {
            assert.deepEqual(command.replaceWith, [], command.name);
        }
    }
});
