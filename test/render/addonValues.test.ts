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
    metallbAddressPool,
    metallbL2Advertisement,
    metallbPoolName,
    metallbValues,
    nfsProvisionerValues,
    traefikValues,
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

/** The v1beta1 openAPIV3Schema of a MetalLB CRD fixture. */
function crdSchema(file: string): Record<string, any> {
    const crd = YAML.parse(fixture(file));
    const version = crd.spec.versions.find((v: any) => v.name === "v1beta1" && v.served);
    assert.ok(version, `${file} serves v1beta1`);
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
    assert.deepEqual(external.controller.service.annotations, { [metallbAddressAnnotation]: "192.168.1.225" });
    assert.deepEqual(internal.controller.service.annotations, { [metallbAddressAnnotation]: "192.168.1.226" });
    assert.equal(external.controller.service.type, "LoadBalancer");
    assert.equal(external.controller.service.loadBalancerIP, undefined);
    assert.equal(metallbAddressAnnotation, "metallb.io/loadBalancerIPs");
    const traefik = traefikValues(cfg) as any;
    assert.deepEqual(traefik.service.annotations, { [metallbAddressAnnotation]: "192.168.1.225" });
});

test("without a fixed address the ingress Service carries no MetalLB annotation", () => {
    const cfg = addonsWith({ ingressAddress: undefined });
    assert.deepEqual((ingressNginxValues(cfg, { internal: false }) as any).controller.service.annotations, {});
    assert.deepEqual((traefikValues(cfg) as any).service.annotations, {});
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
