import { test } from "node:test";
import assert from "node:assert/strict";
import { ClusterIdentityInputs, clusterIdentityKeys, clusterIdentityProvider, clusterIdentityRules } from "../../providers/clusterIdentity";
import { loadSerializedProvider } from "../helpers/dynamicProvider";
import { evaluateProgram } from "../helpers/program";
import { labConfigWith } from "../helpers/stackConfig";

/** The identity of the lab config (Pulumi.lab.yaml.example). */
function deployed(overrides: Partial<ClusterIdentityInputs> = {}): ClusterIdentityInputs {
    return {
        firstControlPlaneName: "k8s-control01",
        firstControlPlaneAddress: "192.168.1.200",
        apiVip: "192.168.1.210",
        apiPort: 6443,
        apiDnsName: "k8s-api.lab.example",
        podSubnet: "10.244.0.0/16",
        serviceSubnet: "10.96.0.0/12",
        clusterName: "k8s-lab",
        cni: "flannel",
        kubernetesVersion: "1.33.4",
        encryptSecretsAtRest: true,
        auditLog: true,
        podSecurityStandard: "baseline",
        ...overrides,
    };
}

const check = (olds: Partial<ClusterIdentityInputs>, news: ClusterIdentityInputs) =>
    clusterIdentityProvider.check!(olds as ClusterIdentityInputs, news);

test("the first deployment (no previous inputs) is accepted whatever the values", async () => {
    const result = await check({}, deployed({ clusterName: "anything" }));
    assert.deepEqual(result.failures, []);
    assert.equal(result.inputs?.clusterName, "anything");
});

test("unchanged inputs pass the check and diff reports no change", async () => {
    assert.deepEqual((await check(deployed(), deployed())).failures, []);
    const diff = await clusterIdentityProvider.diff!("k8s-lab", deployed(), deployed());
    assert.equal(diff.changes, false);
});

const immutableChanges: [keyof ClusterIdentityInputs, string | number | boolean, string][] = [
    ["firstControlPlaneName", "k8s-control02", "controlPlanes[0].name"],
    ["firstControlPlaneAddress", "192.168.1.201", "controlPlanes[0].address"],
    ["apiVip", "192.168.1.211", "apiVip"],
    ["apiPort", 8443, "apiPort"],
    ["apiDnsName", "", "apiDnsName"],
    ["podSubnet", "10.32.0.0/16", "podSubnet"],
    ["serviceSubnet", "10.100.0.0/16", "serviceSubnet"],
    ["clusterName", "other", "clusterName"],
    ["cni", "calico", "cni"],
    ["encryptSecretsAtRest", false, "encryptSecretsAtRest"],
    ["auditLog", false, "auditLog"],
    ["podSecurityStandard", "restricted", "podSecurityStandard"],
];

for (const [key, value, configKey] of immutableChanges) {
    test(`a change of ${configKey} is refused naming the key, the old value and a new stack`, async () => {
        const result = await check(deployed(), deployed({ [key]: value }));
        assert.equal(result.failures?.length, 1);
        const [failure] = result.failures!;
        assert.equal(failure.property, key);
        assert.match(failure.reason, new RegExp(`^${configKey.replace(/[[\].]/g, "\\$&")} cannot change on a running cluster`));
        assert.match(failure.reason, new RegExp(`it was ${String(deployed()[key]).replace(/\./g, "\\.")}`));
        assert.match(failure.reason, /new stack/);
    });
}

test("every identity key has a rule naming its config key", () => {
    assert.deepEqual(Object.keys(clusterIdentityRules).sort(), [...clusterIdentityKeys].sort());
});

test("several changes are each reported", async () => {
    const result = await check(deployed(), deployed({ apiVip: "192.168.1.211", cni: "calico" }));
    assert.deepEqual(result.failures?.map((f) => f.property), ["apiVip", "cni"]);
});

test("a key the previous deployment did not record yet is not compared", async () => {
    const { cni: _cni, ...olderState } = deployed();
    assert.deepEqual((await check(olderState, deployed({ cni: "calico" }))).failures, []);
});

for (const next of ["1.33.4", "1.33.7", "1.34.0", "1.34.2"]) {
    test(`kubernetesVersion 1.33.4 -> ${next} is allowed (a patch or one minor up)`, async () => {
        assert.deepEqual((await check(deployed(), deployed({ kubernetesVersion: next }))).failures, []);
    });
}

for (const [next, kind] of [["1.35.0", "skips a minor"], ["1.33.3", "is a downgrade"], ["1.32.9", "is a downgrade"]] as const) {
    test(`kubernetesVersion 1.33.4 -> ${next} is refused: it ${kind}, naming the allowed versions`, async () => {
        const result = await check(deployed(), deployed({ kubernetesVersion: next }));
        assert.equal(result.failures?.length, 1);
        assert.equal(result.failures![0].property, "kubernetesVersion");
        assert.match(result.failures![0].reason, new RegExp(`^kubernetesVersion ${next.replace(/\./g, "\\.")} ${kind}`));
        assert.match(result.failures![0].reason, /Allowed: 1\.33\.4 or a later 1\.33 patch, or 1\.34\.x/);
    });
}

test("an allowed change is an in-place update (never a replace), recording the new values", async () => {
    const diff = await clusterIdentityProvider.diff!("k8s-lab", deployed(), deployed({ kubernetesVersion: "1.34.0" }));
    assert.equal(diff.changes, true);
    assert.deepEqual(diff.replaces, []);
    const updated = await clusterIdentityProvider.update!("k8s-lab", deployed(), deployed({ kubernetesVersion: "1.34.0" }));
    assert.equal(updated.outs?.kubernetesVersion, "1.34.0");
});

test("the program records the lab's identity and node 0's init depends on the guard", async () => {
    const { recorder } = await evaluateProgram(labConfigWith());
    const guard = recorder.named("lab-identity");
    const inputs = guard.inputs as Record<string, unknown>;
    assert.equal(inputs.firstControlPlaneName, "k8s-control01");
    assert.equal(inputs.firstControlPlaneAddress, "192.168.1.200");
    for (const key of clusterIdentityKeys) assert.ok(key in inputs, `${key} not recorded`);
    assert.ok(recorder.dependsOn(recorder.named("k8s-control01-kubeadm-init", "command:remote:Command"), guard));
});

test("the serialized provider (what the engine runs) refuses a changed apiVip like the module's", async () => {
    const { recorder } = await evaluateProgram(labConfigWith());
    const provider = loadSerializedProvider(recorder.named("lab-identity").inputs.__provider as string);
    const result = await provider.check!(deployed(), deployed({ apiVip: "192.168.1.211" }));
    assert.equal(result.failures?.[0]?.property, "apiVip");
    assert.match(result.failures![0].reason, /^apiVip cannot change on a running cluster/);
    const allowed = await provider.check!(deployed(), deployed({ kubernetesVersion: "1.34.0" }));
    assert.deepEqual(allowed.failures, []);
});

// Issue 13 item 1: an OIDC change rolls onto the control planes (components/apiServerReconfigure.ts).
test("the oidc* keys are no part of the identity; a state recorded with an oidc input passes the check and diffs as unchanged", async () => {
    assert.equal((clusterIdentityKeys as readonly string[]).includes("oidc"), false);
    const recordedEarlier = { ...deployed(), oidc: "https://id.lab.example/realms/lab kubernetes email groups oidc: oidc: " };
    assert.deepEqual((await check(recordedEarlier, deployed())).failures, []);
    const diff = await clusterIdentityProvider.diff!("k8s-lab", recordedEarlier as ClusterIdentityInputs, deployed());
    assert.equal(diff.changes, false);
});
