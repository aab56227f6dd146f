// Issue 13 item 1: the OIDC roll as the program registers it (components/apiServerReconfigure.ts):
// one apiserver-reconfigure.sh step per control plane, chained node 0 -> control02 -> control03,
// each from its own kubeadm config that differs from node 0's init file only by the node.
import assert from "node:assert/strict";
import { before, test } from "node:test";
import * as YAML from "yaml";
import { renderScript } from "../../components/render/manifests";
import { evaluateProgram } from "../helpers/program";
import { MockRecorder, resourceDependsOn } from "../helpers/pulumiMocks";
import { labConfigWith } from "../helpers/stackConfig";

const command = "command:remote:Command";
const controlPlanes = ["k8s-control01", "k8s-control02", "k8s-control03"];
const addressOf: Record<string, string> = { "k8s-control01": "192.168.1.200", "k8s-control02": "192.168.1.201", "k8s-control03": "192.168.1.202" };
const ca = "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----";
const oidc = { oidcIssuerUrl: "https://id.lab.example/realms/lab", oidcClientId: "kubernetes", oidcCaCertificate: ca };

let recorder: MockRecorder;
before(async () => {
    ({ recorder } = await evaluateProgram(labConfigWith(oidc)));
});

const step = (node: string) => recorder.named(`${node}-apiserver-reconfigure`, command);
const documentsOf = (name: string) => YAML.parseAllDocuments(recorder.named(name, command).inputs.stdin).map((d) => d.toJS());

test("one apiserver-reconfigure.sh step per control plane, none on a worker", () => {
    const steps = recorder.resources.filter((r) => r.name.endsWith("-apiserver-reconfigure")).map((r) => r.name).sort();
    assert.deepEqual(steps, controlPlanes.map((node) => `${node}-apiserver-reconfigure`));
    for (const node of controlPlanes) {
        assert.equal(step(node).inputs.stdin, renderScript("apiserver-reconfigure.sh"));
        assert.equal(step(node).inputs.connection.host, addressOf[node]);
    }
});

test("the roll is a chain: node 0 after its init, each next control plane after its own join and the previous one's step", () => {
    const urn = (name: string) => recorder.named(name, command).urn;
    const direct = (node: string) => step(node).dependencies;
    assert.ok(direct("k8s-control01").includes(urn("k8s-control01-kubeadm-init")));
    assert.ok(direct("k8s-control02").includes(urn("k8s-control01-apiserver-reconfigure")));
    assert.ok(direct("k8s-control02").includes(urn("k8s-control02-kubeadm-join")));
    assert.ok(direct("k8s-control03").includes(urn("k8s-control02-apiserver-reconfigure")));
    assert.ok(direct("k8s-control03").includes(urn("k8s-control03-kubeadm-join")));
    // ...and never the other way round: node 0 restarts first, alone.
    assert.ok(!resourceDependsOn(recorder.resources, step("k8s-control01"), step("k8s-control02")));
    assert.ok(!resourceDependsOn(recorder.resources, step("k8s-control02"), step("k8s-control03")));
});

test("each step waits for its own staged config and OIDC CA; only node 0 uploads the ClusterConfiguration", () => {
    for (const node of controlPlanes) {
        for (const file of recorder.resources.filter((r) => r.name.startsWith(`${node}-file-`) && /kubeadm-apiserver\.yaml$|oidc-ca-[0-9a-f]+\.crt$/.test(r.name))) {
            assert.ok(resourceDependsOn(recorder.resources, step(node), file), `${node} waits for ${file.name}`);
        }
        assert.equal(recorder.resources.filter((r) => r.name.startsWith(`${node}-file-oidc-ca-`)).length, 1, node);
        assert.match(step(node).inputs.create, new RegExp(`ADVERTISE_ADDRESS='${addressOf[node].replace(/\./g, "\\.")}'`));
        assert.match(step(node).inputs.create, new RegExp(`UPLOAD_CONFIG='${node === "k8s-control01"}'`));
    }
});

test("each control plane's config is node 0's init file with that node's name and address: the same ClusterConfiguration", () => {
    const [, initCluster] = documentsOf("k8s-control01-file-kubeadm-init.yaml");
    for (const node of controlPlanes) {
        const [init, cluster] = documentsOf(`${node}-file-kubeadm-apiserver.yaml`);
        assert.deepEqual(cluster, initCluster, node);
        assert.equal(init.localAPIEndpoint.advertiseAddress, addressOf[node]);
        assert.equal(init.nodeRegistration.name, node);
        assert.ok(cluster.apiServer.extraArgs.some((a: { name: string; value: string }) => a.name === "oidc-issuer-url" && a.value === oidc.oidcIssuerUrl), node);
    }
    assert.equal(recorder.named("k8s-control01-file-kubeadm-apiserver.yaml", command).inputs.stdin, recorder.named("k8s-control01-file-kubeadm-init.yaml", command).inputs.stdin);
});

test("the steps' trigger is a hash of the OIDC settings: another issuer, claim or CA changes it, OIDC off too; other keys do not", async () => {
    const triggerWith = async (changes: Record<string, unknown>) => (await evaluateProgram(labConfigWith(changes))).recorder.named("k8s-control02-apiserver-reconfigure", command).inputs.triggers;
    const base = await triggerWith(oidc);
    for (const changes of [{ oidcIssuerUrl: "https://id2.lab.example/realms/lab" }, { oidcGroupsClaim: "roles" }, { oidcCaCertificate: "-----BEGIN CERTIFICATE-----\nBB==\n-----END CERTIFICATE-----" }]) {
        assert.notDeepEqual(await triggerWith({ ...oidc, ...changes }), base, JSON.stringify(changes));
    }
    assert.notDeepEqual(await triggerWith({}), base, "OIDC off");
    assert.deepEqual(await triggerWith({ ...oidc, monitoring: true, metricsServer: false, kubernetesVersion: "1.34.3" }), base);
});
