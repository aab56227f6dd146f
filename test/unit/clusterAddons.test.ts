import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { chartKeyringPath, ClusterAddons, clusterIdentifierOf } from "../../components/clusterAddons";
import { projectRoot } from "../../components/render/manifests";
import { parseLabConfig } from "../../components/config";
import { addonCharts } from "../../components/render/addonValues";
import { installMocks, mockKubeconfig, plainValues, promiseOf, RecordedResource, resourceDependsOn, secretValues, settled } from "../helpers/pulumiMocks";
import { labConfigWith, mapConfigSource } from "../helpers/stackConfig";

const recorder = installMocks();

const chartType = "kubernetes:helm.sh/v4:Chart";
const releaseType = "kubernetes:helm.sh/v3:Release";
const providerType = "pulumi:providers:kubernetes";
const workerNames = ["join-k8s-worker01", "join-k8s-worker02", "join-k8s-worker03"];
const clientKey = "TU9DSy1DTElFTlQtS0VZ"; // client-key-data of mockKubeconfig

interface Evaluation {
    readonly addons: ClusterAddons;
    readonly resources: RecordedResource[];
    readonly apiReady: RecordedResource;
    readonly workerJoins: RecordedResource[];
    /** The add-ons' own resources (children of the component), by name. */
    readonly named: (name: string) => RecordedResource;
    /** Names of the component's own resources. */
    readonly names: Set<string>;
}

/** Builds ClusterAddons for the lab config with changes, with stand-ins for ApiServerReady and the worker joins. */
async function evaluate(changes: Record<string, unknown> = {}): Promise<Evaluation> {
    recorder.clear();
    const config = parseLabConfig(mapConfigSource(labConfigWith(changes)));
    const apiReady = new random.RandomId("api-server-ready", { byteLength: 4 });
    const workersJoined = workerNames.map((name) => new random.RandomId(name, { byteLength: 4 }));
    const addons = new ClusterAddons("addons", {
        config: config.addons,
        kubeconfig: pulumi.secret(mockKubeconfig),
        apiReady,
        workersJoined,
    });
    await settled();
    const resources = [...recorder.resources];
    const component = resources.find((r) => r.type === "lab:index:ClusterAddons")!;
    const own = resources.filter((r) => r.parent === component.urn);
    const named = (name: string) => {
        const found = own.find((r) => r.name === name);
        assert.ok(found, `no add-on resource ${name}; have ${own.map((r) => r.name).join(", ")}`);
        return found;
    };
    return {
        addons,
        resources,
        apiReady: resources.find((r) => r.name === "api-server-ready")!,
        workerJoins: workerNames.map((name) => resources.find((r) => r.name === name)!),
        named,
        names: new Set(own.map((r) => r.name)),
    };
}

/** True when `dependent` waits for `dependency` (never through the shared ClusterAddons parent). */
function waitsFor(evaluation: Evaluation, dependent: RecordedResource, dependency: RecordedResource): boolean {
    return resourceDependsOn(evaluation.resources, dependent, dependency);
}

const cniNames = (cni: "flannel" | "calico") => [`addons-${cni}-namespace`, `addons-${cni}`];
const without = (names: Set<string>, removed: string[]) => new Set([...names].filter((n) => !removed.includes(n)));

test("the lab config installs flannel, MetalLB with its pool and advertisement, ingress-nginx and NFS through one provider", async () => {
    const e = await evaluate();
    assert.deepEqual(
        [...e.names].sort(),
        [
            "addons-flannel",
            "addons-flannel-namespace",
            "addons-ingress",
            "addons-ingress-nginx-namespace",
            "addons-kubelet-csr-approver",
            "addons-metallb",
            "addons-metallb-l2advertisement",
            "addons-metallb-namespace",
            "addons-metallb-pool",
            "addons-metrics-server",
            "addons-nfs",
            "addons-nfs-namespace",
            "addons-provider",
        ],
    );
    const provider = e.named("addons-provider");
    for (const name of e.names) {
        if (name === "addons-provider") continue;
        assert.ok(e.named(name).provider.startsWith(`${provider.urn}::`), `${name} uses provider ${e.named(name).provider}`);
    }
});

test("every add-on and the provider wait for ApiServerReady", async () => {
    const e = await evaluate({ internalIngress: true });
    for (const name of e.names) {
        assert.ok(e.named(name).dependencies.includes(e.apiReady.urn), `${name} does not depend on ApiServerReady`);
    }
});

const isNamespace = (e: Evaluation, name: string) => e.named(name).type === "kubernetes:core/v1:Namespace";

test("everything but the CNI and the namespaces waits for every worker join; those do not", async () => {
    for (const cni of ["flannel", "calico"] as const) {
        const e = await evaluate({ cni, internalIngress: true, monitoring: true, flux: true, fluxGitUrl: "https://git.lab.example/lab/gitops.git" });
        for (const name of e.names) {
            // The provider and generated secrets (Grafana's password) touch no node.
            if (name === "addons-provider" || e.named(name).type.startsWith("random:")) continue;
            for (const join of e.workerJoins) {
                const waits = waitsFor(e, e.named(name), join);
                if (cniNames(cni).includes(name) || isNamespace(e, name)) {
                    assert.equal(waits, false, `${name} (the CNI or a namespace) waits for ${join.name}`);
                } else {
                    assert.equal(waits, true, `${name} does not wait for ${join.name}`);
                }
            }
        }
    }
});

test("issue 14: every namespace goes in once the API answers, waiting for nothing else; the chart in it waits for it", async () => {
    const e = await evaluate({ internalIngress: true, monitoring: true, flux: true, fluxGitUrl: "https://git.lab.example/lab/gitops.git" });
    const namespaces = [...e.names].filter((name) => isNamespace(e, name));
    assert.equal(namespaces.length, 6, `expected the CNI's, MetalLB's, the ingresses' (one for both), NFS's, monitoring's and flux's namespaces; have ${namespaces.join(", ")}`);
    for (const name of namespaces) {
        const others = e.named(name).dependencies.filter((urn) => urn !== e.apiReady.urn);
        assert.deepEqual(others, [], `${name} waits for more than the API`);
    }
    for (const [chart, namespace] of [["addons-metallb", "addons-metallb-namespace"], ["addons-nfs", "addons-nfs-namespace"], ["addons-ingress", "addons-ingress-nginx-namespace"]]) {
        assert.ok(waitsFor(e, e.named(chart), e.named(namespace)), `${chart} does not wait for ${namespace}`);
    }
});

test("everything but the CNI and the namespaces waits for the CNI", async () => {
    const e = await evaluate();
    for (const name of without(e.names, [...cniNames("flannel"), "addons-provider"])) {
        if (isNamespace(e, name)) continue;
        assert.ok(waitsFor(e, e.named(name), e.named("addons-flannel")), `${name} does not wait for flannel`);
    }
});

test("charts and releases are pinned to the versions and repositories of VERSIONS.md", async () => {
    const pinned = (r: RecordedResource) => ({ chart: r.inputs.chart, version: r.inputs.version, repo: r.inputs.repositoryOpts?.repo });
    const e = await evaluate({ internalIngress: true });
    assert.deepEqual(pinned(e.named("addons-flannel")), { chart: "flannel", version: "v0.28.9", repo: "https://flannel-io.github.io/flannel/" });
    assert.deepEqual(pinned(e.named("addons-metallb")), { chart: "metallb", version: "0.16.1", repo: "https://metallb.github.io/metallb" });
    for (const name of ["addons-ingress", "addons-ingress-internal"]) {
        assert.deepEqual(pinned(e.named(name)), { chart: "ingress-nginx", version: "4.15.1", repo: "https://kubernetes.github.io/ingress-nginx" });
    }
    assert.deepEqual(pinned(e.named("addons-nfs")), {
        chart: "nfs-subdir-external-provisioner",
        version: "4.0.18",
        repo: "https://kubernetes-sigs.github.io/nfs-subdir-external-provisioner/",
    });
    const calico = await evaluate({ cni: "calico" });
    assert.deepEqual(pinned(calico.named("addons-calico")), { chart: "tigera-operator", version: "v3.32.1", repo: "https://docs.tigera.io/calico/charts" });
    const traefik = await evaluate({ ingressController: "traefik" });
    assert.deepEqual(pinned(traefik.named("addons-ingress")), { chart: "traefik", version: "41.3.0", repo: "https://traefik.github.io/charts" });
    assert.deepEqual(pinned(e.named("addons-kubelet-csr-approver")), {
        chart: "kubelet-csr-approver",
        version: "1.2.14",
        repo: "https://postfinance.github.io/kubelet-csr-approver",
    });
    assert.deepEqual(pinned(e.named("addons-metrics-server")), { chart: "metrics-server", version: "3.13.1", repo: "https://kubernetes-sigs.github.io/metrics-server/" });
    const more = await evaluate({ monitoring: true, flux: true, fluxGitUrl: "https://git.lab.example/lab/gitops.git", ingressController: "traefik", internalIngress: true });
    assert.deepEqual(pinned(more.named("addons-monitoring")), {
        chart: "kube-prometheus-stack",
        version: "88.5.3",
        repo: "https://prometheus-community.github.io/helm-charts",
    });
    assert.deepEqual(pinned(more.named("addons-flux")), { chart: "flux2", version: "2.18.3", repo: "https://fluxcd-community.github.io/helm-charts" });
    for (const name of ["addons-ingress", "addons-ingress-internal"]) {
        assert.deepEqual(pinned(more.named(name)), { chart: "traefik", version: "41.3.0", repo: "https://traefik.github.io/charts" });
    }
    assert.equal(Object.keys(addonCharts).length, 10, "every pinned chart is checked above");
});

test("MetalLB deploys as a Chart (awaits every object) in a privileged namespace; ingress-nginx, traefik and calico as Releases", async () => {
    const e = await evaluate();
    assert.equal(e.named("addons-metallb").type, chartType);
    assert.equal(e.named("addons-metallb").inputs.namespace, "metallb-system");
    assert.equal(e.named("addons-ingress").type, releaseType);
    const namespace = e.named("addons-metallb-namespace").inputs.metadata;
    assert.equal(namespace.name, "metallb-system");
    assert.equal(namespace.labels["pod-security.kubernetes.io/enforce"], "privileged");
    assert.equal(e.named("addons-flannel-namespace").inputs.metadata.labels["pod-security.kubernetes.io/enforce"], "privileged");
    assert.equal((await evaluate({ cni: "calico" })).named("addons-calico").type, releaseType);
    assert.equal((await evaluate({ ingressController: "traefik" })).named("addons-ingress").type, releaseType);
});

test("the MetalLB pool and L2Advertisement wait for the MetalLB chart, and the advertisement names the pool", async () => {
    const e = await evaluate();
    const chart = e.named("addons-metallb");
    const pool = e.named("addons-metallb-pool");
    const advertisement = e.named("addons-metallb-l2advertisement");
    assert.ok(pool.dependencies.includes(chart.urn));
    assert.ok(advertisement.dependencies.includes(chart.urn));
    // Issue 14: side by side; MetalLB v0.16.1 accepts an advertisement naming a pool not there yet.
    assert.ok(!waitsFor(e, advertisement, pool), "the L2Advertisement waits for the pool");
    assert.equal(pool.type, "kubernetes:metallb.io/v1beta1:IPAddressPool");
    assert.deepEqual(pool.inputs.spec.addresses, ["192.168.1.225-192.168.1.234"]);
    assert.equal(advertisement.type, "kubernetes:metallb.io/v1beta1:L2Advertisement");
    assert.deepEqual(advertisement.inputs.spec.ipAddressPools, [pool.inputs.metadata.name]);
});

// Issue 14: Helm's wait covers the Service's address, so the controller installs beside MetalLB.
test("the ingress controller does not wait for MetalLB; Helm's wait, with a longer timeout, covers its address", async () => {
    for (const changes of [{}, { ingressController: "traefik" }, { internalIngress: true }] as const) {
        const e = await evaluate(changes);
        for (const release of [...e.names].filter((n) => /^addons-ingress(-internal)?$/.test(n))) {
            for (const metallb of ["addons-metallb", "addons-metallb-pool", "addons-metallb-l2advertisement", "addons-metallb-namespace"]) {
                assert.ok(!waitsFor(e, e.named(release), e.named(metallb)), `${release} waits for ${metallb}`);
            }
            assert.equal(e.named(release).inputs.timeout, 600, `${release}'s timeout`);
            assert.notEqual(e.named(release).inputs.skipAwait, true, `${release} must await its objects (Helm's wait)`);
        }
    }
});

test("turning each add-on off removes it and nothing else", async () => {
    const all = (await evaluate({ internalIngress: true })).names;
    const internal = ["addons-ingress-internal"];
    const ingress = ["addons-ingress-nginx-namespace", "addons-ingress", ...internal];
    const metallb = ["addons-metallb-namespace", "addons-metallb", "addons-metallb-pool", "addons-metallb-l2advertisement"];
    const nfs = ["addons-nfs-namespace", "addons-nfs"];
    assert.deepEqual((await evaluate({ internalIngress: false })).names, without(all, internal));
    assert.deepEqual((await evaluate({ internalIngress: true, nfs: false })).names, without(all, nfs));
    assert.deepEqual((await evaluate({ ingressController: "none" })).names, without(all, ingress));
    // MetalLB off needs the ingress off too (config refuses an ingress without a LoadBalancer).
    assert.deepEqual((await evaluate({ ingressController: "none", metallb: false })).names, without(all, [...ingress, ...metallb]));
});

test("cni calico replaces flannel with the tigera-operator and the pod CIDR, and nothing else changes", async () => {
    const flannel = await evaluate();
    const calico = await evaluate({ cni: "calico" });
    assert.deepEqual(without(calico.names, cniNames("calico")), without(flannel.names, cniNames("flannel")));
    const release = calico.named("addons-calico");
    assert.equal(release.inputs.namespace, "tigera-operator");
    assert.equal(release.inputs.values.installation.calicoNetwork.ipPools[0].cidr, "10.244.0.0/16");
    assert.equal(flannel.named("addons-flannel").inputs.values.podCidr, "10.244.0.0/16");
    assert.equal(flannel.named("addons-flannel").inputs.values.flannel.backend, "vxlan");
});

test("ingressController traefik replaces ingress-nginx with Traefik as the default class at the fixed address", async () => {
    const nginx = await evaluate();
    const traefik = await evaluate({ ingressController: "traefik" });
    const nginxNames = ["addons-ingress-nginx-namespace", "addons-ingress"];
    const traefikNames = ["addons-traefik-namespace", "addons-ingress"];
    assert.deepEqual(without(traefik.names, traefikNames), without(nginx.names, nginxNames));
    const values = traefik.named("addons-ingress").inputs.values;
    assert.equal(values.ingressClass.isDefaultClass, true);
    assert.equal(values.service.annotations["metallb.io/loadBalancerIPs"], "192.168.1.225");
});

test("the internal ingress-nginx has its own class, controllerValue, electionID and address", async () => {
    const e = await evaluate({ internalIngress: true, internalIngressAddress: "192.168.1.226" });
    const external = e.named("addons-ingress").inputs;
    const internal = e.named("addons-ingress-internal").inputs;
    assert.notEqual(internal.name, external.name, "Helm release names");
    const ext = external.values.controller;
    const int = internal.values.controller;
    assert.notEqual(int.ingressClassResource.name, ext.ingressClassResource.name);
    assert.notEqual(int.ingressClassResource.controllerValue, ext.ingressClassResource.controllerValue);
    assert.notEqual(int.electionID, ext.electionID);
    assert.equal(ext.ingressClassResource.default, true);
    assert.equal(int.ingressClassResource.default, false);
    assert.equal(ext.service.annotations["metallb.io/loadBalancerIPs"], "192.168.1.225");
    assert.equal(int.service.annotations["metallb.io/loadBalancerIPs"], "192.168.1.226");
});

test("the NFS chart makes the default StorageClass from the config's server, path, policy and mount options", async () => {
    const e = await evaluate({ nfsReclaimPolicy: "Delete", nfsArchiveOnDelete: false });
    const values = e.named("addons-nfs").inputs.values;
    assert.equal(values.nfs.server, "192.168.1.50");
    assert.equal(values.nfs.path, "/srv/nfs/k8s");
    assert.deepEqual(values.nfs.mountOptions, ["nfsvers=4.1", "soft", "timeo=100", "retrans=3"]);
    assert.equal(values.storageClass.defaultClass, true);
    assert.equal(values.storageClass.reclaimPolicy, "Delete");
    assert.equal(values.storageClass.archiveOnDelete, false);
});

test("the kubeconfig reaches the provider only as a secret, and nowhere else in plain text", async () => {
    const e = await evaluate();
    const provider = e.named("addons-provider");
    assert.equal(provider.type, providerType);
    assert.ok(secretValues(provider.wireInputs.kubeconfig).includes(mockKubeconfig), "kubeconfig must be wrapped as a secret on the wire");
    for (const r of e.resources) {
        for (const { path, value } of plainValues(r.wireInputs)) {
            assert.ok(!value.includes(clientKey), `${r.name}.${path} carries the admin client key in plain text`);
        }
    }
});

test("the provider has a clusterIdentifier from the cluster CA and deleteUnreachable", async () => {
    const e = await evaluate();
    const provider = e.named("addons-provider");
    assert.equal(provider.inputs.clusterIdentifier, clusterIdentifierOf(mockKubeconfig));
    assert.match(provider.inputs.clusterIdentifier, /^cluster-ca-sha256-[0-9a-f]{32}$/);
    assert.equal(String(provider.inputs.deleteUnreachable), "true");
});

test("the cluster identifier survives new client credentials and a new server name, and changes with the CA", () => {
    const rotated = mockKubeconfig.replace(clientKey, "TkVXLUtFWQ==").replace("k8s.lab.example:443", "192.168.1.220:443");
    assert.equal(clusterIdentifierOf(rotated), clusterIdentifierOf(mockKubeconfig));
    const rebuilt = mockKubeconfig.replace("TU9DSy1DQS1DRVJU", "TkVXLUNB");
    assert.notEqual(clusterIdentifierOf(rebuilt), clusterIdentifierOf(mockKubeconfig));
    assert.throws(() => clusterIdentifierOf("apiVersion: v1\nkind: Config\n"), /certificate-authority-data/);
});

test("outputs: the fixed ingress address and the StorageClass, undefined when off", async () => {
    const on = await evaluate();
    assert.equal(await promiseOf(on.addons.ingressAddress), "192.168.1.225");
    assert.equal(await promiseOf(on.addons.storageClass), "nfs-client");
    const off = await evaluate({ ingressController: "none", nfs: false, ingressAddress: undefined });
    assert.equal(await promiseOf(off.addons.ingressAddress), undefined);
    assert.equal(await promiseOf(off.addons.storageClass), undefined);
    const floating = await evaluate({ ingressAddress: undefined });
    assert.equal(await promiseOf(floating.addons.ingressAddress), undefined);
});

// --- Issue 13 items 2-5

const fluxOn = { flux: true, fluxGitUrl: "https://git.lab.example/lab/gitops.git", fluxGitBranch: "lab", fluxGitPath: "./clusters/lab" };
const metricsNames = ["addons-kubelet-csr-approver", "addons-metrics-server"];
test("issue 15: a signed chart is installed only after Helm verifies it with its publisher's pinned keyring; the others are not asked to", async () => {
    const e = await evaluate({ monitoring: true, flux: true, fluxGitUrl: "https://git.lab.example/lab/gitops.git", ingressController: "traefik", internalIngress: true });
    const signed = new Map(Object.values(addonCharts).flatMap((source) => ("signingKey" in source ? [[source.chart, source.signingKey] as const] : [])));
    assert.deepEqual([...signed.keys()], ["kube-prometheus-stack"]);
    const installs = e.resources.filter((r) => r.type === chartType || r.type === releaseType);
    assert.ok(installs.length >= 8, "every chart of this config is looked at");
    for (const install of installs) {
        const key = signed.get(install.inputs.chart);
        if (key) {
            // helm.v4.Chart has no path keyring: a signed chart must go through a Release.
            assert.equal(install.type, releaseType, `${install.name} is signed`);
            assert.equal(install.inputs.verify, true, install.name);
            assert.equal(install.inputs.keyring, chartKeyringPath(key), install.name);
            assert.ok(fs.existsSync(path.join(projectRoot, install.inputs.keyring)), `${install.inputs.keyring} is shipped`);
        } else {
            assert.equal(install.inputs.verify, undefined, `${install.name}: its publisher signs nothing, a verify would fail the install`);
        }
    }
});

const monitoringNames = ["addons-grafana-admin-password", "addons-monitoring-namespace", "addons-grafana-admin", "addons-monitoring"];
const fluxNames = ["addons-flux-namespace", "addons-flux", "addons-flux-source", "addons-flux-kustomization"];

test("issue 13: each option off registers nothing of it; on adds exactly its resources", async () => {
    const base = await evaluate();
    assert.deepEqual((await evaluate({ metricsServer: false })).names, without(base.names, metricsNames));
    for (const name of [...monitoringNames, ...fluxNames, "addons-flux-git-credentials"]) assert.ok(!base.names.has(name), name);
    const monitoring = await evaluate({ monitoring: true });
    assert.deepEqual(without(monitoring.names, monitoringNames), base.names);
    for (const name of monitoringNames) assert.ok(monitoring.names.has(name), name);
    const flux = await evaluate(fluxOn);
    assert.deepEqual(without(flux.names, fluxNames), base.names);
    for (const name of fluxNames) assert.ok(flux.names.has(name), name);
    const privateFlux = await evaluate({ ...fluxOn, fluxGitUsername: "flux" });
    assert.deepEqual(without(privateFlux.names, ["addons-flux-git-credentials"]), flux.names);
});

test("issue 13: the kubelet-serving CSR approver is restricted to the nodes' names and addresses; metrics-server goes in beside it (issue 14: its readiness waits for the approval)", async () => {
    const e = await evaluate();
    const approver = e.named("addons-kubelet-csr-approver");
    const metrics = e.named("addons-metrics-server");
    assert.equal(approver.type, chartType);
    assert.equal(approver.inputs.namespace, "kube-system");
    assert.ok(!waitsFor(e, metrics, approver), "metrics-server and the approver install in parallel");
    assert.equal(approver.inputs.values.providerRegex, "^(k8s-control01|k8s-control02|k8s-control03|k8s-worker01|k8s-worker02|k8s-worker03)$");
    assert.deepEqual(approver.inputs.values.providerIpPrefixes, [
        "192.168.1.200/32",
        "192.168.1.201/32",
        "192.168.1.202/32",
        "192.168.1.210/32",
        "192.168.1.211/32",
        "192.168.1.212/32",
    ]);
    assert.ok(!JSON.stringify(metrics.inputs.values).includes("insecure"), "no --kubelet-insecure-tls");
});

test("issue 13: two Traefik instances have distinct classes, Helm releases and addresses; only the external class is the default", async () => {
    const e = await evaluate({ ingressController: "traefik", internalIngress: true, internalIngressAddress: "192.168.1.226" });
    const external = e.named("addons-ingress").inputs;
    const internal = e.named("addons-ingress-internal").inputs;
    assert.notEqual(internal.name, external.name, "Helm release names");
    assert.notEqual(internal.values.ingressClass.name, external.values.ingressClass.name);
    assert.equal(external.values.ingressClass.isDefaultClass, true);
    assert.equal(internal.values.ingressClass.isDefaultClass, false);
    assert.equal(external.values.providers.kubernetesIngress.ingressClass, external.values.ingressClass.name);
    assert.equal(internal.values.providers.kubernetesIngress.ingressClass, internal.values.ingressClass.name);
    assert.equal(internal.values.providers.kubernetesCRD.ingressClass, internal.values.ingressClass.name);
    assert.equal(external.values.service.annotations["metallb.io/loadBalancerIPs"], "192.168.1.225");
    assert.equal(internal.values.service.annotations["metallb.io/loadBalancerIPs"], "192.168.1.226");
    // Issue 14: it installs beside MetalLB too (Helm's wait covers its address).
    assert.ok(!waitsFor(e, e.named("addons-ingress-internal"), e.named("addons-metallb-l2advertisement")));
});

test("issue 13: monitoring waits for NFS and the ingress; Grafana's password is generated, sent only as secrets and exported as a secret", async () => {
    const e = await evaluate({ monitoring: true, internalIngress: true, grafanaHost: "grafana.lab.example" });
    const release = e.named("addons-monitoring");
    assert.equal(release.type, releaseType);
    assert.equal(release.inputs.namespace, "monitoring");
    assert.equal(release.inputs.timeout, 900, "longer than Helm's 300 s default");
    assert.equal(release.inputs.atomic, true);
    for (const dependency of ["addons-nfs", "addons-ingress", "addons-ingress-internal", "addons-grafana-admin"]) {
        assert.ok(waitsFor(e, release, e.named(dependency)), `monitoring does not wait for ${dependency}`);
    }
    assert.equal(release.inputs.values.grafana.ingress.ingressClassName, "nginx-internal");
    assert.deepEqual(release.inputs.values.grafana.ingress.hosts, ["grafana.lab.example"]);
    const password = await promiseOf(e.addons.grafanaAdminPassword);
    assert.ok(password && password.length > 0);
    assert.ok(pulumi.Output.isInstance(e.addons.grafanaAdminPassword));
    assert.equal(await (e.addons.grafanaAdminPassword as any).isSecret, true, "the output is a secret");
    const secret = e.named("addons-grafana-admin");
    assert.ok(secretValues(secret.wireInputs.stringData).includes(password!), "the Secret carries the password as a secret");
    for (const r of e.resources) {
        if (r.type.startsWith("random:")) continue;
        for (const { path, value } of plainValues(r.wireInputs)) {
            assert.ok(!value.includes(password!), `${r.name}.${path} carries Grafana's password in plain text`);
        }
    }
    assert.ok(!JSON.stringify(release.inputs.values).includes("adminPassword"), "the password is not a Helm value");
    const off = await evaluate();
    assert.equal(await promiseOf(off.addons.grafanaAdminPassword), undefined);
});

test("issue 13: Flux's GitRepository and Kustomization follow the config and wait for Flux; Git credentials only as secrets", async () => {
    const e = await evaluate({ ...fluxOn, fluxGitUsername: "flux" });
    const flux = e.named("addons-flux");
    const source = e.named("addons-flux-source");
    const kustomization = e.named("addons-flux-kustomization");
    const credentials = e.named("addons-flux-git-credentials");
    assert.equal(flux.type, releaseType);
    assert.equal(source.type, "kubernetes:source.toolkit.fluxcd.io/v1:GitRepository");
    assert.equal(kustomization.type, "kubernetes:kustomize.toolkit.fluxcd.io/v1:Kustomization");
    for (const [dependent, dependency] of [
        [source, flux],
        [kustomization, flux],
        [kustomization, source],
        [source, credentials],
    ] as const) {
        assert.ok(waitsFor(e, dependent, dependency), `${dependent.name} does not wait for ${dependency.name}`);
    }
    assert.deepEqual(source.inputs.spec, {
        interval: "1m0s",
        url: "https://git.lab.example/lab/gitops.git",
        ref: { branch: "lab" },
        secretRef: { name: credentials.inputs.metadata.name },
    });
    assert.equal(kustomization.inputs.spec.path, "./clusters/lab");
    assert.deepEqual(kustomization.inputs.spec.sourceRef, { kind: "GitRepository", name: source.inputs.metadata.name });
    const password = "<secret k8s-vsphere-lab:fluxGitPassword from the stack's encrypted config>";
    assert.ok(secretValues(credentials.wireInputs.stringData).includes(password));
    for (const r of e.resources) {
        for (const { path, value } of plainValues(r.wireInputs)) {
            assert.ok(!value.includes(password), `${r.name}.${path} carries the Git password in plain text`);
        }
    }
    const public_ = await evaluate(fluxOn);
    assert.equal(public_.named("addons-flux-source").inputs.spec.secretRef, undefined);
});
