import assert from "node:assert/strict";
import { before, test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { evaluateProgram } from "../helpers/program";
import { MockRecorder, promiseOf } from "../helpers/pulumiMocks";
import { labConfigWith } from "../helpers/stackConfig";

let recorder: MockRecorder;
let programExports: Record<string, unknown>;
before(async () => {
    ({ recorder, exports: programExports } = await evaluateProgram(labConfigWith()));
});

const addOnResources = () =>
    recorder.resources.filter((r) => r.custom && r.name.startsWith("lab-addons-") && !r.type.startsWith("pulumi:providers:"));

test("in the whole lab, every add-on waits for ApiServerReady; the CNI and the namespaces go first, the rest after node 0 and every worker, none after the other control planes (issue 14)", () => {
    const ready = recorder.named("lab-api-ready");
    const addOns = addOnResources();
    assert.ok(addOns.length >= 6, `expected the lab's add-ons, got ${addOns.map((r) => r.name).join(", ")}`);
    for (const addOn of addOns) {
        assert.ok(recorder.dependsOn(addOn, ready), `${addOn.name} does not wait for ApiServerReady`);
    }
    const workerJoins = ["k8s-worker01", "k8s-worker02", "k8s-worker03"].map((w) => recorder.named(`${w}-kubeadm-join`));
    const controlPlaneJoins = ["k8s-control02", "k8s-control03"].map((c) => recorder.named(`${c}-kubeadm-join`));
    const init = recorder.named("k8s-control01-kubeadm-init");
    const cni = addOns.filter((r) => /flannel/.test(r.name));
    assert.ok(cni.length > 0);
    for (const resource of cni) {
        for (const join of workerJoins) assert.ok(!recorder.dependsOn(resource, join), `${resource.name} waits for ${join.name}`);
    }
    const namespaces = addOns.filter((r) => r.type === "kubernetes:core/v1:Namespace");
    assert.ok(namespaces.length >= 4, `expected the lab's add-on namespaces, got ${namespaces.map((r) => r.name).join(", ")}`);
    for (const resource of namespaces) {
        assert.ok(recorder.dependsOn(resource, init), `${resource.name} does not wait for ${init.name}`);
        for (const join of workerJoins) assert.ok(!recorder.dependsOn(resource, join), `${resource.name} waits for ${join.name}`);
    }
    for (const resource of addOns.filter((r) => !/flannel/.test(r.name) && !namespaces.includes(r))) {
        for (const join of [init, ...workerJoins]) assert.ok(recorder.dependsOn(resource, join), `${resource.name} does not wait for ${join.name}`);
    }
    for (const resource of addOns) {
        for (const join of controlPlaneJoins) assert.ok(!recorder.dependsOn(resource, join), `${resource.name} waits for ${join.name}`);
    }
});

test("issue 14: the ingress controller and the NFS provisioner do not wait for each other, nor the ingress controller for MetalLB", () => {
    const ingress = recorder.named("lab-addons-ingress");
    const nfs = recorder.named("lab-addons-nfs");
    const nfsParts = [nfs, recorder.named("lab-addons-nfs-namespace")];
    const ingressParts = [ingress, recorder.named("lab-addons-ingress-nginx-namespace")];
    for (const a of ingressParts) for (const b of nfsParts) {
        assert.ok(!recorder.dependsOn(a, b), `${a.name} waits for ${b.name}`);
        assert.ok(!recorder.dependsOn(b, a), `${b.name} waits for ${a.name}`);
    }
    assert.ok(!recorder.dependsOn(ingress, recorder.named("lab-addons-metallb-pool")));
    assert.ok(!recorder.dependsOn(ingress, recorder.named("lab-addons-metallb-l2advertisement")));
});

test("the add-ons' Kubernetes provider gets node 0's kubeconfig as a secret", () => {
    const provider = recorder.ofType("pulumi:providers:kubernetes")[0];
    assert.ok(provider, "no kubernetes provider");
    assert.equal(typeof provider.wireInputs.kubeconfig, "object");
    assert.ok(recorder.dependsOn(provider, recorder.named("k8s-control01-read-kubeconfig")));
});

test("the stack exports the ingress address and the StorageClass", async () => {
    assert.equal(await promiseOf(programExports.ingressAddress as pulumi.Output<string>), "192.168.1.225");
    assert.equal(await promiseOf(programExports.storageClass as pulumi.Output<string>), "nfs-client");
});

test("every resource has a unique URN and every child names its parent component", () => {
    const urns = recorder.resources.map((r) => r.urn);
    assert.equal(new Set(urns).size, urns.length);
    const components = new Set(recorder.resources.filter((r) => !r.custom).map((r) => r.urn));
    for (const r of recorder.resources.filter((r) => r.type !== "lab:index:KubernetesLab")) {
        assert.ok(components.has(r.parent) || r.parent.includes("pulumi:pulumi:Stack"), `${r.name} has no parent component`);
    }
});

test("issue 13: with metricsServer on every node turns on CA-signed kubelet serving certificates after its join; metrics-server waits for node 0's and the workers' (issue 14: not the later control planes')", async () => {
    const nodes = ["k8s-control01", "k8s-control02", "k8s-control03", "k8s-worker01", "k8s-worker02", "k8s-worker03"];
    const metricsServer = recorder.named("lab-addons-metrics-server");
    for (const node of nodes) {
        const step = recorder.named(`${node}-kubelet-serving-certs`);
        const join = recorder.named(node === "k8s-control01" ? `${node}-kubeadm-init` : `${node}-kubeadm-join`);
        assert.ok(recorder.dependsOn(step, join), `${step.name} does not wait for ${join.name}`);
        const laterControlPlane = node === "k8s-control02" || node === "k8s-control03";
        assert.equal(recorder.dependsOn(metricsServer, step), !laterControlPlane, `metrics-server ${laterControlPlane ? "waits" : "does not wait"} for ${step.name}`);
        assert.ok(step.replaceWith.includes(recorder.named(`${node}-vm`).urn), `${step.name} is not replaced with its VM`);
    }
    const off = await evaluateProgram(labConfigWith({ metricsServer: false }));
    assert.deepEqual(off.recorder.resources.filter((r) => /kubelet-serving-certs|metrics-server|kubelet-csr-approver/.test(r.name)).map((r) => r.name), []);
});
