// Issue 12 item 3: the certificate renewal schedule (a dynamic provider) and the renewal steps'
// place in the graph.
import assert from "node:assert/strict";
import { test } from "node:test";
import { CertificateRenewalInputs, CertificateRenewalOutputs, certificateRenewalProvider } from "../../providers/certificateRenewal";
import { loadSerializedProvider } from "../helpers/dynamicProvider";
import { resourceDependsOn } from "../helpers/pulumiMocks";
import { evaluateProgram } from "../helpers/program";
import { labConfigWith } from "../helpers/stackConfig";

const dayMs = 86_400_000;
const inDays = (days: number) => new Date(Date.now() + days * dayMs).toISOString();
// Read once from node 0 after its init: the same at every later run.
const initialExpiry = inDays(200);
const inputs = (overrides: Partial<CertificateRenewalInputs> = {}): CertificateRenewalInputs => ({
    initialExpiry,
    renewBeforeDays: 30,
    ...overrides,
});

async function created(news: CertificateRenewalInputs, provider = certificateRenewalProvider): Promise<CertificateRenewalOutputs> {
    return (await provider.create!(news)).outs as CertificateRenewalOutputs;
}

test("created with the init's expiry and round 'initial'", async () => {
    const state = await created(inputs());
    assert.equal(state.round, "initial");
    assert.equal(state.expires, inputs().initialExpiry);
});

test("no change until within renewCertificatesBefore days of the expiry; then a round starts and the expiry moves a year on", async () => {
    const far = { ...(await created(inputs())), expires: inDays(31) };
    assert.equal((await certificateRenewalProvider.diff!("certificates", far, inputs())).changes, false);
    const near = { ...far, expires: inDays(29) };
    assert.equal((await certificateRenewalProvider.diff!("certificates", near, inputs())).changes, true);
    const before = Date.now();
    const renewed = (await certificateRenewalProvider.update!("certificates", near, inputs())).outs as CertificateRenewalOutputs;
    assert.ok(Date.parse(renewed.round) >= before, "the round is the time it started");
    assert.ok(Date.parse(renewed.expires) - Date.now() > 364 * dayMs);
    // The next pulumi up: nothing due, the round stays (the renewal steps do not run again).
    assert.equal((await certificateRenewalProvider.diff!("certificates", renewed, inputs())).changes, false);
});

test("past the expiry (a lab left off for a year) a round is due too: renewal works over SSH without the API", async () => {
    const expired = { ...(await created(inputs())), expires: inDays(-3) };
    assert.equal((await certificateRenewalProvider.diff!("certificates", expired, inputs())).changes, true);
    assert.notEqual(((await certificateRenewalProvider.update!("certificates", expired, inputs())).outs as CertificateRenewalOutputs).round, "initial");
});

test("the serialized provider (what the engine runs) decides like the module's", async () => {
    const { recorder } = await evaluateProgram(labConfigWith());
    const provider = loadSerializedProvider(recorder.named("lab-certificate-renewal").inputs.__provider as string);
    const state = { ...(await created(inputs(), provider)), expires: inDays(10) };
    assert.equal((await provider.diff!("certificates", state, inputs())).changes, true);
    assert.equal((await provider.diff!("certificates", { ...state, expires: inDays(60) }, inputs())).changes, false);
});

test("the renewal runs on the control planes one after another, node 0 first, each after its own join; the stack's kubeconfig is read after node 0's", async () => {
    const { recorder } = await evaluateProgram(labConfigWith());
    const resources = recorder.resources;
    const schedule = recorder.named("lab-certificate-renewal");
    const renewals = ["k8s-control01", "k8s-control02", "k8s-control03"].map((node) => recorder.named(`${node}-certificates-renew`));
    const joins = [recorder.named("k8s-control01-kubeadm-init"), recorder.named("k8s-control02-kubeadm-join"), recorder.named("k8s-control03-kubeadm-join")];
    renewals.forEach((renewal, index) => {
        assert.ok(resourceDependsOn(resources, renewal, schedule), `${renewal.name} waits for the schedule`);
        assert.ok(resourceDependsOn(resources, renewal, joins[index]), `${renewal.name} waits for its node's init or join`);
        assert.match(renewal.inputs.create, /RENEW_ROUND='initial'/);
        const reconfigure = recorder.named(`k8s-control0${index + 1}-apiserver-reconfigure`);
        assert.ok(resourceDependsOn(resources, renewal, reconfigure), `${renewal.name} never restarts the apiserver while an OIDC roll does`);
        if (index > 0) assert.ok(resourceDependsOn(resources, renewal, renewals[index - 1]), `${renewal.name} waits for the previous control plane's`);
    });
    assert.ok(!resourceDependsOn(resources, renewals[0], joins[1]), "node 0's renewal does not wait for the other control planes");
    const reread = recorder.named("k8s-control01-read-renewed-kubeconfig");
    assert.ok(resourceDependsOn(resources, reread, renewals[0]));
    assert.deepEqual(reread.inputs.triggers, ["initial"], "read again whenever a round starts");
    const provider = resources.find((r) => r.type === "pulumi:providers:kubernetes")!;
    assert.ok(resourceDependsOn(resources, provider, reread), "the add-ons use the kubeconfig read after the renewal");
    assert.ok(!resourceDependsOn(resources, provider, renewals[1]), "the add-ons do not wait for the other control planes' renewals");
});
