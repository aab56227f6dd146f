// Issue 11: in-cluster objects go with the cluster, and a failed Helm install is rolled back.
import { test } from "node:test";
import assert from "node:assert/strict";
import { evaluateProgram } from "../helpers/program";
import { labConfigWith } from "../helpers/stackConfig";

test("every in-cluster resource is deletedWith node 0's init, so pulumi destroy skips it once the cluster goes", async () => {
    const { recorder } = await evaluateProgram(labConfigWith());
    const init = recorder.named("k8s-control01-kubeadm-init", "command:remote:Command");
    const inCluster = recorder.resources.filter((r) => r.type.startsWith("kubernetes:"));
    assert.ok(inCluster.length >= 8, `only ${inCluster.length} in-cluster resources`);
    for (const resource of inCluster) assert.equal(resource.deletedWith, init.urn, resource.name);
});

test("the Helm release is atomic (rolled back on failure) rather than cleanupOnFail", async () => {
    const { recorder } = await evaluateProgram(labConfigWith());
    const [ingress] = recorder.ofType("kubernetes:helm.sh/v3:Release");
    assert.equal(ingress.inputs.atomic, true);
    assert.equal(ingress.inputs.cleanupOnFail, undefined);
});
