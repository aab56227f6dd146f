// Issue 12 item 1: the upgrade graph (components/kubernetesUpgrade.ts) under mocks: preflight on
// node 0 -> node 0 -> the other control planes in a chain -> the workers in batches of
// upgradeWorkersAtOnce; per node kubeadm -> drain -> kubelet -> uncordon. The scripts' behaviour
// is tested in test/render/kubernetesUpgrade.test.ts; what a version change re-runs is the change
// matrix's row (test/unit/changeMatrix.test.ts).
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { LabConfigError } from "../../components/config";
import { evaluateProgram, evaluateProgramError } from "../helpers/program";
import { MockRecorder, RecordedResource } from "../helpers/pulumiMocks";
import { labConfigWith } from "../helpers/stackConfig";

const command = "command:remote:Command";
const controlPlanes = ["k8s-control01", "k8s-control02", "k8s-control03"];
const workers = ["k8s-worker01", "k8s-worker02", "k8s-worker03"];
const steps = ["kubeadm", "drain", "kubelet", "uncordon"] as const;
const hostOf = (r: RecordedResource) => r.inputs.connection.host as string;
const envOf = (r: RecordedResource) => r.inputs.update as string;

describe("the upgrade graph with upgradeWorkersAtOnce 2", () => {
    let recorder: MockRecorder;
    before(async () => {
        ({ recorder } = await evaluateProgram(labConfigWith({ upgradeWorkersAtOnce: 2 })));
    });
    const cmd = (name: string) => recorder.named(name, command);
    const step = (node: string, which: (typeof steps)[number]) => cmd(`${node}-upgrade-${which}`);
    const waits = (dependent: RecordedResource, dependency: RecordedResource) => recorder.dependsOn(dependent, dependency);

    test("the preflight runs on node 0 after every node's join, with every node's name, before any node's first step", () => {
        const preflight = cmd("lab-kubernetes-upgrade-preflight");
        assert.equal(hostOf(preflight), "192.168.1.200");
        assert.match(envOf(preflight), /UPGRADE_STEP='preflight'.*KUBERNETES_VERSION='1\.37\.1'.*CONTROL_PLANES='k8s-control01 k8s-control02 k8s-control03' WORKERS='k8s-worker01 k8s-worker02 k8s-worker03'/);
        assert.ok(waits(preflight, cmd("k8s-control01-kubeadm-init")));
        for (const node of [...controlPlanes.slice(1), ...workers]) assert.ok(waits(preflight, cmd(`${node}-kubeadm-join`)), node);
        for (const node of [...controlPlanes, ...workers]) assert.ok(waits(step(node, "kubeadm"), preflight), node);
    });

    test("each node: kubeadm (on the node) -> drain (node 0) -> kubelet (on the node) -> uncordon (node 0)", () => {
        for (const node of [...controlPlanes, ...workers]) {
            assert.ok(waits(step(node, "drain"), step(node, "kubeadm")), node);
            assert.ok(waits(step(node, "kubelet"), step(node, "drain")), node);
            assert.ok(waits(step(node, "uncordon"), step(node, "kubelet")), node);
            assert.equal(hostOf(step(node, "drain")), "192.168.1.200", `${node}'s drain runs on node 0 (admin.conf)`);
            assert.equal(hostOf(step(node, "uncordon")), "192.168.1.200");
            assert.equal(hostOf(step(node, "kubeadm")), hostOf(cmd(`${node}-prepare`)), `${node}'s package steps run on the node`);
            assert.equal(hostOf(step(node, "kubelet")), hostOf(cmd(`${node}-prepare`)));
            assert.match(envOf(step(node, "drain")), new RegExp(`TARGET_NODE='${node}'`));
        }
        assert.match(envOf(step("k8s-control01", "kubeadm")), /FIRST_CONTROL_PLANE='true'/);
        for (const node of [...controlPlanes.slice(1), ...workers]) assert.match(envOf(step(node, "kubeadm")), /FIRST_CONTROL_PLANE='false'/, node);
    });

    test("control planes one after another in config order, node 0 first; the workers only after the last control plane", () => {
        assert.ok(waits(step("k8s-control02", "kubeadm"), step("k8s-control01", "uncordon")));
        assert.ok(waits(step("k8s-control03", "kubeadm"), step("k8s-control02", "uncordon")));
        assert.ok(!waits(step("k8s-control02", "kubeadm"), step("k8s-control03", "uncordon")));
        for (const worker of workers) assert.ok(waits(step(worker, "kubeadm"), step("k8s-control03", "uncordon")), worker);
    });

    test("workers in batches of upgradeWorkersAtOnce: [worker01, worker02] together, then worker03 once both are Ready", () => {
        assert.ok(!waits(step("k8s-worker02", "kubeadm"), step("k8s-worker01", "uncordon")), "same batch: in parallel");
        assert.ok(!waits(step("k8s-worker01", "kubeadm"), step("k8s-worker02", "uncordon")));
        assert.ok(waits(step("k8s-worker03", "kubeadm"), step("k8s-worker01", "uncordon")));
        assert.ok(waits(step("k8s-worker03", "kubeadm"), step("k8s-worker02", "uncordon")));
    });

    test("no VM, init, join or add-on waits for an upgrade step (a new cluster is not slowed by them)", () => {
        const upgradeSteps = recorder.resources.filter((r) => /-upgrade-(kubeadm|drain|kubelet|uncordon)$|-kubernetes-upgrade-preflight$/.test(r.name));
        assert.equal(upgradeSteps.length, 1 + 4 * 6);
        const others = recorder.resources.filter((r) => /-(vm|kubeadm-init|kubeadm-join)$/.test(r.name) || r.name.startsWith("lab-addons-"));
        for (const other of others) {
            for (const upgrade of upgradeSteps) assert.ok(!waits(other, upgrade), `${other.name} waits for ${upgrade.name}`);
        }
    });
});

test("the upgrade steps run only on a change: no create command (a first pulumi up opens no SSH session for them), the step on update", async () => {
    const { recorder } = await evaluateProgram(labConfigWith());
    const steps = recorder.ofType("command:remote:Command").filter((r) => /-upgrade-(kubeadm|drain|kubelet|uncordon)$|-kubernetes-upgrade-preflight$/.test(r.name));
    assert.equal(steps.length, 6 * 4 + 1);
    for (const step of steps) {
        assert.equal(step.inputs.create, undefined, step.name);
        assert.match(step.inputs.update, /KUBERNETES_VERSION='1\.37\.1'/, step.name);
    }
});

test("the default upgradeWorkersAtOnce is 1: every worker waits for the one before", async () => {
    const { recorder } = await evaluateProgram(labConfigWith());
    const step = (node: string, which: string) => recorder.named(`${node}-upgrade-${which}`, command);
    assert.ok(recorder.dependsOn(step("k8s-worker02", "kubeadm"), step("k8s-worker01", "uncordon")));
    assert.ok(recorder.dependsOn(step("k8s-worker03", "kubeadm"), step("k8s-worker02", "uncordon")));
});

for (const [value, message] of [
    [0, /k8s-vsphere-lab:upgradeWorkersAtOnce 0 is below 1/],
    [4, /k8s-vsphere-lab:upgradeWorkersAtOnce 4 is more than the 3 workers/],
] as const) {
    test(`upgradeWorkersAtOnce ${value} is refused naming the key, before any resource`, async () => {
        const { error, recorder } = await evaluateProgramError(labConfigWith({ upgradeWorkersAtOnce: value }));
        assert.ok(error instanceof LabConfigError, String(error));
        assert.match(error.message, message);
        assert.equal(recorder.resources.length, 0);
    });
}
