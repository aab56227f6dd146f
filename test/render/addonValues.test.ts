import assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { test } from "node:test";
import * as YAML from "yaml";
import { AddonsConfig, parseLabConfig } from "../../components/config";
import {
    calicoValues,
    flannelValues,
    ingressNginxIdentity,
    ingressNginxValues,
    metallbAddressAnnotation,
    metallbPoolAnnotation,
    metallbAddressPool,
    metallbL2Advertisement,
    metallbPoolName,
    metallbValues,
    nfsProvisionerValues,
    traefikIdentity,
    traefikValues,
    flux2Values,
    fluxGitRepository,
    fluxKustomization,
    kubeletCsrApproverValues,
    kubePrometheusStackValues,
    metricsServerValues,
} from "../../components/render/addonValues";
import { projectRoot } from "../../components/render/manifests";
import { labConfigWith, mapConfigSource } from "../helpers/stackConfig";
import { checkValuesAgainstChart, mergeHelmValues, validateSchema, ValuesAllowances } from "../helpers/schemaCheck";

const fixture = (name: string) => fs.readFileSync(path.join(projectRoot, "test", "fixtures", name), "utf8");
const addonsWith = (changes: Record<string, unknown> = {}): AddonsConfig => parseLabConfig(mapConfigSource(labConfigWith(changes))).addons;

/** Asserts every key path of `values` exists in the chart's values file (copied from ../shared/reference). */
function assertKeysInChart(values: unknown, valuesFile: string, allowances: ValuesAllowances = {}) {
    const text = fixture(valuesFile);
    const problems = checkValuesAgainstChart(values, YAML.parse(text), text, allowances);
    assert.deepEqual(problems, [], `${valuesFile}:\n${problems.join("\n")}`);
}

/** Asserts the chart's defaults merged with `values` (what Helm validates) pass the chart's values.schema.json. */
function assertMergedValuesMatchSchema(values: unknown, valuesFile: string, schemaFile: string) {
    const merged = mergeHelmValues(YAML.parse(fixture(valuesFile)), values);
    const problems = validateSchema(merged, JSON.parse(fixture(schemaFile)));
    assert.deepEqual(problems, [], `${schemaFile}:\n${problems.join("\n")}`);
}

/** The openAPIV3Schema of a CRD fixture at a served version (MetalLB's v1beta1 unless named). */
function crdSchema(file: string, versionName = "v1beta1"): Record<string, any> {
    const crd = YAML.parse(fixture(file));
    const version = crd.spec.versions.find((v: any) => v.name === versionName && v.served);
    assert.ok(version, `${file} serves ${versionName}`);
    return version.schema.openAPIV3Schema;
}

// Service annotations are a free-form map in both ingress charts (values.yaml: `annotations: {}`).
const ingressNginxOpenMaps = ["controller.service.annotations"];
const traefikOpenMaps = ["service.annotations"];

test("flannel values set only keys of the flannel chart", () => {
    assertKeysInChart(flannelValues(addonsWith()), "flannel-values.yaml");
    assertKeysInChart(flannelValues(addonsWith({ flannelBackend: "host-gw" })), "flannel-values.yaml");
});

test("flannel gets the config's pod CIDR and backend", () => {
    assert.deepEqual(flannelValues(addonsWith({ podSubnet: "10.32.0.0/16", flannelBackend: "host-gw" })), {
        podCidr: "10.32.0.0/16",
        flannel: { backend: "host-gw" },
    });
});

test("calico values set only keys of the tigera-operator chart; calicoNetwork is documented there in comments", () => {
    // The chart renders `installation` into the operator's Installation spec; values.yaml shows
    // calicoNetwork and its ipPools only as a commented-out example, so those keys are checked
    // against the comments instead.
    assertKeysInChart(calicoValues(addonsWith()), "tigera-operator-values.yaml", { commentedOut: ["installation.calicoNetwork"] });
});

test("calico's IP pool is the config's pod CIDR", () => {
    const values = calicoValues(addonsWith({ podSubnet: "10.32.0.0/16" })) as any;
    assert.equal(values.installation.calicoNetwork.ipPools[0].cidr, "10.32.0.0/16");
});

test("metallb values set only keys of the metallb chart and pass its schema", () => {
    assertKeysInChart(metallbValues(), "metallb-values.yaml");
    assertMergedValuesMatchSchema(metallbValues(), "metallb-values.yaml", "metallb-values.schema.json");
});

test("ingress-nginx values (external and internal, with and without fixed addresses) set only keys of the chart", () => {
    const fixed = addonsWith({ ingressAddress: "192.168.1.225", internalIngress: true, internalIngressAddress: "192.168.1.226" });
    const floating = addonsWith({ ingressAddress: undefined });
    for (const cfg of [fixed, floating]) {
        for (const internal of [false, true]) {
            assertKeysInChart(ingressNginxValues(cfg, { internal }), "ingress-nginx-values.yaml", { openMaps: ingressNginxOpenMaps });
        }
    }
});

test("the ingress controller asks MetalLB for its fixed address by annotation, not the deprecated spec.loadBalancerIP", () => {
    const cfg = addonsWith({ ingressAddress: "192.168.1.225", internalIngress: true, internalIngressAddress: "192.168.1.226" });
    const external = ingressNginxValues(cfg, { internal: false }) as any;
    const internal = ingressNginxValues(cfg, { internal: true }) as any;
    const pool = { [metallbPoolAnnotation]: metallbPoolName };
    assert.deepEqual(external.controller.service.annotations, { ...pool, [metallbAddressAnnotation]: "192.168.1.225" });
    assert.deepEqual(internal.controller.service.annotations, { ...pool, [metallbAddressAnnotation]: "192.168.1.226" });
    assert.equal(external.controller.service.type, "LoadBalancer");
    assert.equal(external.controller.service.loadBalancerIP, undefined);
    assert.equal(metallbAddressAnnotation, "metallb.io/loadBalancerIPs");
    const traefik = traefikValues(cfg) as any;
    assert.deepEqual(traefik.service.annotations, { ...pool, [metallbAddressAnnotation]: "192.168.1.225" });
});

// Issue 15: with loadBalancerAutoAssign off, MetalLB gives an address only to a Service that asks
// for the pool (or an address of it); the lab's own controllers always ask for the pool.
test("without a fixed address the ingress Service still asks for the lab's pool (so it gets one with autoAssign off)", () => {
    const cfg = addonsWith({ ingressAddress: undefined });
    assert.deepEqual((ingressNginxValues(cfg, { internal: false }) as any).controller.service.annotations, { "metallb.io/address-pool": "lab-pool" });
    assert.deepEqual((traefikValues(cfg) as any).service.annotations, { "metallb.io/address-pool": "lab-pool" });
});

test("loadBalancerAutoAssign sets the address pool's autoAssign", () => {
    assert.equal(metallbAddressPool(addonsWith({})).spec.autoAssign, true);
    const off = metallbAddressPool(addonsWith({ loadBalancerAutoAssign: false }));
    assert.equal(off.spec.autoAssign, false);
    assert.equal(off.metadata.name, metallbPoolName);
});

test("the external ingress-nginx class is the default; the internal one has its own class, controllerValue and electionID", () => {
    const cfg = addonsWith({ internalIngress: true });
    const external = (ingressNginxValues(cfg, { internal: false }) as any).controller;
    const internal = (ingressNginxValues(cfg, { internal: true }) as any).controller;
    assert.equal(external.ingressClassResource.default, true);
    assert.equal(internal.ingressClassResource.default, false);
    assert.notEqual(internal.ingressClassResource.name, external.ingressClassResource.name);
    assert.notEqual(internal.ingressClassResource.controllerValue, external.ingressClassResource.controllerValue);
    assert.notEqual(internal.electionID, external.electionID);
    assert.equal(internal.ingressClass, internal.ingressClassResource.name);
    assert.deepEqual(
        { name: internal.ingressClassResource.name, controllerValue: internal.ingressClassResource.controllerValue, electionID: internal.electionID },
        { name: ingressNginxIdentity.internal.className, controllerValue: ingressNginxIdentity.internal.controllerValue, electionID: ingressNginxIdentity.internal.electionID },
    );
});

test("traefik values set only keys of the traefik chart and pass its values.schema.json", () => {
    for (const cfg of [addonsWith({ ingressController: "traefik" }), addonsWith({ ingressController: "traefik", ingressAddress: undefined })]) {
        assertKeysInChart(traefikValues(cfg), "traefik-values.yaml", { openMaps: traefikOpenMaps });
        assertMergedValuesMatchSchema(traefikValues(cfg), "traefik-values.yaml", "traefik-values.schema.json");
    }
    assert.equal((traefikValues(addonsWith()) as any).ingressClass.isDefaultClass, true);
});

test("nfs provisioner values set only keys of its chart", () => {
    assertKeysInChart(nfsProvisionerValues(addonsWith()), "nfs-subdir-external-provisioner-values.yaml");
    assertKeysInChart(nfsProvisionerValues(addonsWith({ nfsMountOptions: [] })), "nfs-subdir-external-provisioner-values.yaml");
});

test("the NFS StorageClass is the default, keeps volumes by default and mounts with the configured options", () => {
    const values = nfsProvisionerValues(addonsWith()) as any;
    assert.deepEqual(values.nfs, { server: "192.168.1.50", path: "/srv/nfs/k8s", mountOptions: ["nfsvers=4.1", "soft", "timeo=100", "retrans=3"] });
    assert.equal(values.storageClass.defaultClass, true);
    assert.equal(values.storageClass.reclaimPolicy, "Retain");
    assert.equal(values.storageClass.archiveOnDelete, true);
    const deleting = nfsProvisionerValues(addonsWith({ nfsReclaimPolicy: "Delete", nfsArchiveOnDelete: false })) as any;
    assert.equal(deleting.storageClass.reclaimPolicy, "Delete");
    assert.equal(deleting.storageClass.archiveOnDelete, false);
});

test("the key check fails for a key the chart does not have, and for keys under a map that is not allow-listed", () => {
    const text = fixture("ingress-nginx-values.yaml");
    const defaults = YAML.parse(text);
    assert.notDeepEqual(checkValuesAgainstChart({ controller: { electionId: "x" } }, defaults, text), []);
    assert.notDeepEqual(checkValuesAgainstChart({ controller: { service: { annotations: { a: "b" } } } }, defaults, text), []);
    assert.notDeepEqual(checkValuesAgainstChart({ controller: { ingressClassResource: { default: "yes" } } }, defaults, text), []);
    const tigera = fixture("tigera-operator-values.yaml");
    assert.notDeepEqual(
        checkValuesAgainstChart({ installation: { calicoNetwork: { ipPool: [] } } }, YAML.parse(tigera), tigera, { commentedOut: ["installation.calicoNetwork"] }),
        [],
    );
});

test("the MetalLB IPAddressPool from manifests/ validates against its CRD schema and carries the config's pool", () => {
    const pool = metallbAddressPool(addonsWith());
    assert.deepEqual(validateSchema(pool, crdSchema("metallb-crd-ipaddresspools.yaml"), { rejectUnknownProperties: true }), []);
    assert.equal(pool.apiVersion, "metallb.io/v1beta1");
    assert.equal(pool.kind, "IPAddressPool");
    assert.deepEqual(pool.metadata, { name: metallbPoolName, namespace: "metallb-system" });
    assert.deepEqual(pool.spec.addresses, ["192.168.1.225-192.168.1.234"]);
});

test("a CIDR pool is written as MetalLB's first-last range", () => {
    const pool = metallbAddressPool(addonsWith({ loadBalancerPool: "192.168.1.224/28", ingressAddress: "192.168.1.225" }));
    assert.deepEqual(pool.spec.addresses, ["192.168.1.224-192.168.1.239"]);
});

test("the MetalLB L2Advertisement from manifests/ validates against its CRD schema and announces the pool", () => {
    const advertisement = metallbL2Advertisement();
    assert.deepEqual(validateSchema(advertisement, crdSchema("metallb-crd-l2advertisements.yaml"), { rejectUnknownProperties: true }), []);
    assert.equal(advertisement.kind, "L2Advertisement");
    assert.equal(advertisement.metadata.namespace, "metallb-system");
    assert.deepEqual(advertisement.spec.ipAddressPools, [metallbAddressPool(addonsWith()).metadata.name]);
});

test("the CRD check rejects a wrong type, a missing required field and a misspelled field", () => {
    const schema = crdSchema("metallb-crd-ipaddresspools.yaml");
    const pool = metallbAddressPool(addonsWith());
    const check = (spec: Record<string, unknown>) => validateSchema({ ...pool, spec }, schema, { rejectUnknownProperties: true });
    assert.notDeepEqual(check({ addresses: "192.168.1.225-192.168.1.234" }), []);
    assert.notDeepEqual(check({ autoAssign: true }), []);
    assert.notDeepEqual(check({ addresses: ["192.168.1.225-192.168.1.234"], autoassign: true }), []);
});

// --- Issue 13: metrics-server, the CSR approver, a second Traefik, kube-prometheus-stack, Flux
// (chart values from test/fixtures/, sources in test/fixtures/SOURCES.md).

test("kubelet-csr-approver values set only keys of its chart; the regex matches exactly the node names", () => {
    const values = kubeletCsrApproverValues(addonsWith()) as any;
    assertKeysInChart(values, "kubelet-csr-approver-values.yaml");
    const regex = new RegExp(values.providerRegex);
    for (const name of ["k8s-control01", "k8s-control03", "k8s-worker02"]) assert.ok(regex.test(name), name);
    for (const name of ["k8s-control04", "xk8s-worker01", "k8s-worker01.evil.example", "k8s-control01x", ""]) assert.ok(!regex.test(name), name);
    assert.deepEqual(values.providerIpPrefixes.slice(0, 2), ["192.168.1.200/32", "192.168.1.201/32"]);
    assert.equal(values.providerIpPrefixes.length, 6);
    // A dot in a node name is a literal dot, not "any character".
    const dotted = kubeletCsrApproverValues({ ...addonsWith(), nodes: [{ name: "node1.lab", address: "192.168.1.200" }] }) as any;
    assert.ok(new RegExp(dotted.providerRegex).test("node1.lab"));
    assert.ok(!new RegExp(dotted.providerRegex).test("node1xlab"));
});

test("metrics-server values set only keys of its chart and keep kubelet TLS verification on", () => {
    const values = metricsServerValues() as any;
    assertKeysInChart(values, "metrics-server-values.yaml");
    const defaults = YAML.parse(fixture("metrics-server-values.yaml"));
    assert.deepEqual(values.defaultArgs, defaults.defaultArgs, "the chart's own defaultArgs, written out");
    assert.ok(![...values.defaultArgs, ...values.args].some((arg: string) => arg.includes("kubelet-insecure-tls")));
    assert.ok(values.defaultArgs[1].startsWith("--kubelet-preferred-address-types=InternalIP"), "the node address, which the serving certificate carries");
});

test("two Traefik instances: values of both pass the chart's keys and values.schema.json, with distinct classes and addresses", () => {
    const cfg = addonsWith({ ingressController: "traefik", internalIngress: true, internalIngressAddress: "192.168.1.226" });
    const external = traefikValues(cfg) as any;
    const internal = traefikValues(cfg, { internal: true }) as any;
    for (const values of [external, internal]) {
        assertKeysInChart(values, "traefik-values.yaml", { openMaps: traefikOpenMaps });
        assertMergedValuesMatchSchema(values, "traefik-values.yaml", "traefik-values.schema.json");
    }
    assert.deepEqual([external.ingressClass.name, internal.ingressClass.name], [traefikIdentity.external.className, traefikIdentity.internal.className]);
    assert.notEqual(external.ingressClass.name, internal.ingressClass.name);
    assert.deepEqual([external.ingressClass.isDefaultClass, internal.ingressClass.isDefaultClass], [true, false]);
    assert.notDeepEqual(external.service.annotations, internal.service.annotations);
    assert.equal(internal.service.annotations[metallbAddressAnnotation], "192.168.1.226");
});

/** kube-prometheus-stack's values without its grafana subchart's part, and that part. */
function splitGrafana(values: any): { stack: any; grafana: any } {
    const { grafana, ...stack } = values;
    return { stack, grafana };
}

// The PVC templates go under maps the chart leaves empty ({}) and documents in comments.
const storageMaps = ["prometheus.prometheusSpec.storageSpec", "alertmanager.alertmanagerSpec.storage"];

test("kube-prometheus-stack values set only keys of the chart, and of its grafana subchart for grafana.*", () => {
    const stackText = fixture("kube-prometheus-stack-values.yaml");
    for (const cfg of [
        addonsWith({ monitoring: true }),
        addonsWith({ monitoring: true, nfs: false, grafanaHost: "grafana.lab.example" }),
        addonsWith({ monitoring: true, internalIngress: true, grafanaHost: "grafana.lab.example" }),
    ]) {
        const { stack, grafana } = splitGrafana(kubePrometheusStackValues(cfg));
        assertKeysInChart(stack, "kube-prometheus-stack-values.yaml", { openMaps: storageMaps });
        // What goes into the open maps is the volumeClaimTemplate the chart documents in comments.
        for (const map of [stack.prometheus.prometheusSpec.storageSpec, stack.alertmanager.alertmanagerSpec.storage]) {
            assert.deepEqual(checkValuesAgainstChart(map, {}, stackText, { commentedOut: ["volumeClaimTemplate"] }), []);
        }
        // grafana.* is the grafana subchart's (12.11.1, a dependency in the chart's Chart.yaml).
        assertKeysInChart(grafana, "grafana-values.yaml", { commentedOut: ["persistence.storageClassName", "ingress.ingressClassName"] });
        assert.ok(!("adminPassword" in grafana), "the password comes from the Secret, never from the values");
    }
});

test("kube-prometheus-stack keeps data on the NFS StorageClass when nfs is on, and serves Grafana on the host through the right class", () => {
    const withNfs = kubePrometheusStackValues(addonsWith({ monitoring: true, prometheusStorageGb: 30 })) as any;
    const claim = withNfs.prometheus.prometheusSpec.storageSpec.volumeClaimTemplate.spec;
    assert.deepEqual(claim, { storageClassName: "nfs-client", accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "30Gi" } } });
    assert.equal(withNfs.alertmanager.alertmanagerSpec.storage.volumeClaimTemplate.spec.storageClassName, "nfs-client");
    assert.equal(withNfs.grafana.persistence.enabled, true);
    assert.equal(withNfs.grafana.persistence.storageClassName, "nfs-client");
    assert.deepEqual(withNfs.grafana.ingress, { enabled: false });
    assert.deepEqual(withNfs.grafana.admin, { existingSecret: "grafana-admin", userKey: "admin-user", passwordKey: "admin-password" });
    const withoutNfs = kubePrometheusStackValues(addonsWith({ monitoring: true, nfs: false })) as any;
    assert.deepEqual(withoutNfs.prometheus.prometheusSpec.storageSpec, {});
    assert.deepEqual(withoutNfs.alertmanager.alertmanagerSpec.storage, {});
    assert.deepEqual(withoutNfs.grafana.persistence, { enabled: false });
    const external = kubePrometheusStackValues(addonsWith({ monitoring: true, grafanaHost: "grafana.lab.example" })) as any;
    assert.deepEqual(external.grafana.ingress, { enabled: true, ingressClassName: "nginx", hosts: ["grafana.lab.example"], path: "/" });
    const traefikInternal = kubePrometheusStackValues(addonsWith({ monitoring: true, ingressController: "traefik", internalIngress: true, grafanaHost: "grafana.lab.example" })) as any;
    assert.equal(traefikInternal.grafana.ingress.ingressClassName, "traefik-internal");
    // etcd's metrics port is the one kubeadm.ts opens (listen-metrics-urls http://0.0.0.0:2381).
    assert.deepEqual(withNfs.kubeEtcd.service, { port: 2381, targetPort: 2381 });
});

test("flux2 values set only keys of its chart; the GitRepository and Kustomization carry the config's URL, branch and path", () => {
    assertKeysInChart(flux2Values(), "flux2-values.yaml");
    const cfg = addonsWith({ flux: true, fluxGitUrl: "https://git.lab.example/lab/gitops.git", fluxGitBranch: "lab", fluxGitPath: "./clusters/lab" });
    const source = fluxGitRepository(cfg);
    assert.equal(source.metadata.namespace, "flux-system");
    assert.deepEqual(source.spec, { interval: "1m0s", url: "https://git.lab.example/lab/gitops.git", ref: { branch: "lab" } });
    const kustomization = fluxKustomization(cfg);
    assert.deepEqual(kustomization.spec.sourceRef, { kind: "GitRepository", name: source.metadata.name });
    assert.equal(kustomization.spec.path, "./clusters/lab");
    const privateRepo = fluxGitRepository(addonsWith({ flux: true, fluxGitUrl: "https://git.lab.example/lab/gitops.git", fluxGitUsername: "flux" }));
    assert.deepEqual(privateRepo.spec.secretRef, { name: "lab-git-credentials" });
});

test("Flux's GitRepository and Kustomization validate against their v1 CRD schemas (public and private repository)", () => {
    const gitRepositories = crdSchema("flux-crd-gitrepositories.yaml", "v1");
    const kustomizations = crdSchema("flux-crd-kustomizations.yaml", "v1");
    for (const changes of [{}, { fluxGitUsername: "flux" }, { fluxGitPath: "./", fluxGitBranch: "release/1.x" }]) {
        const cfg = addonsWith({ flux: true, fluxGitUrl: "https://git.lab.example/lab/gitops.git", ...changes });
        for (const [object, schema] of [
            [fluxGitRepository(cfg), gitRepositories],
            [fluxKustomization(cfg), kustomizations],
        ] as const) {
            assert.equal(object.apiVersion.split("/")[1], "v1");
            assert.deepEqual(validateSchema(object, schema, { rejectUnknownProperties: true }), [], `${object.kind}`);
        }
    }
    // The check bites: a duration in the wrong form, a misspelt field, a missing sourceRef.
    const source = fluxGitRepository(addonsWith({ flux: true, fluxGitUrl: "https://git.lab.example/lab/gitops.git" }));
    assert.notDeepEqual(validateSchema({ ...source, spec: { ...source.spec, interval: "1 minute" } }, gitRepositories, { rejectUnknownProperties: true }), []);
    assert.notDeepEqual(validateSchema({ ...source, spec: { ...source.spec, branch: "main" } }, gitRepositories, { rejectUnknownProperties: true }), []);
    const kustomization = fluxKustomization(addonsWith({ flux: true, fluxGitUrl: "https://git.lab.example/lab/gitops.git" }));
    const { sourceRef: _dropped, ...withoutSource } = kustomization.spec;
    assert.notDeepEqual(validateSchema({ ...kustomization, spec: withoutSource }, kustomizations, { rejectUnknownProperties: true }), []);
});
