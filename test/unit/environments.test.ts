// Issue 13 item 8: one stack file per environment, shown. Every Pulumi.<stack>.yaml evaluates
// cleanly under the mocks, and the second environment is what its file says.
import assert from "node:assert/strict";
import * as fs from "fs";
import { test } from "node:test";
import { projectRoot } from "../../components/render/manifests";
import { evaluateProgram } from "../helpers/program";
import { readStackConfig } from "../helpers/stackConfig";

const stacks = fs.readdirSync(projectRoot).flatMap((file) => /^Pulumi\.(.+)\.yaml$/.exec(file)?.[1] ?? []).sort();

test("the repository holds the lab and a second environment", () => {
    assert.deepEqual(stacks, ["esxi", "lab"]);
});

test("the standalone-host environment: 1 control plane and 2 workers in the host's resource pool, no NFS, its own cluster name", async () => {
    const { recorder } = await evaluateProgram(readStackConfig("esxi"));
    const vms = recorder.resources.filter((r) => r.type === "vsphere:index/virtualMachine:VirtualMachine").map((r) => r.inputs.name).sort();
    assert.deepEqual(vms, ["home-cp1", "home-w1", "home-w2"]);
    const lookups = recorder.invokes.map((invoke) => invoke.token);
    assert.ok(lookups.includes("vsphere:index/getResourcePool:getResourcePool"));
    assert.ok(!lookups.includes("vsphere:index/getComputeCluster:getComputeCluster"), "a standalone host has no compute cluster");
    assert.ok(!recorder.resources.some((r) => r.name.includes("-nfs")), "nfs is off");
    assert.equal(recorder.resources.filter((r) => r.name.endsWith("-kubeadm-join")).length, 2, "two worker joins, no control-plane join");
    const identity = recorder.named("lab-identity");
    assert.equal(identity.inputs.clusterName, "home");
    assert.equal(identity.inputs.apiVip, "10.20.0.20");
});
