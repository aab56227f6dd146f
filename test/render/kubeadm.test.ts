import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { projectRoot } from "../../components/render/manifests";
import { evaluateProgram } from "../helpers/program";
import { labConfigWith } from "../helpers/stackConfig";
import {
    KubeadmInitArgs,
    KubeadmJoinArgs,
    renderKubeadmInitConfig,
    renderKubeadmJoinConfig,
} from "../../components/render/kubeadm";

// ---------------------------------------------------------------------------------------------
// The v1beta4 type graph (test/fixtures/kubeadm-v1beta4-fields.json, copied from
// shared/reference, generated from kubeadm's types.go) and a checker that walks it.
// ---------------------------------------------------------------------------------------------

interface FieldSpec {
    readonly json: string;
    readonly goType: string;
}
interface TypeSpec {
    readonly fields: readonly FieldSpec[];
    readonly inline?: readonly string[];
}
interface FieldsReference {
    readonly _meta: { readonly apiVersion: string; readonly kinds: readonly string[] };
    readonly types: Readonly<Record<string, TypeSpec>>;
    readonly externalTypes: Readonly<Record<string, TypeSpec>>;
    readonly typeAliases: Readonly<Record<string, string>>;
    readonly enums: Readonly<Record<string, readonly string[] | string>>;
}

const reference: FieldsReference = JSON.parse(
    fs.readFileSync(path.join(projectRoot, "test", "fixtures", "kubeadm-v1beta4-fields.json"), "utf8"),
);

/** Types serialized as a plain string: Go durations, times, and the token's custom marshaller. */
const STRING_LIKE_TYPES = new Set(["string", "metav1.Duration", "metav1.Time", "BootstrapTokenString"]);

function lookupStruct(goType: string): TypeSpec | undefined {
    const local = goType.replace(/^bootstraptokenv1\./, "");
    return reference.types[local] ?? reference.externalTypes[goType];
}

/** json key -> Go type of a struct, its inlined (embedded) structs included. */
function fieldsOf(typeName: string): Map<string, string> {
    const spec = lookupStruct(typeName);
    if (!spec) {
        throw new Error(`type ${typeName} is not in the reference`);
    }
    const fields = new Map(spec.fields.map((field) => [field.json, field.goType] as [string, string]));
    for (const inlined of spec.inline ?? []) {
        for (const [json, goType] of fieldsOf(inlined)) {
            fields.set(json, goType);
        }
    }
    return fields;
}

/** Every key or value in `value` that its v1beta4 Go type does not allow, as readable paths. */
function schemaProblems(value: unknown, goType: string, at: string): string[] {
    const type = goType.replace(/^\*/, "");
    if (type.startsWith("[]")) {
        if (!Array.isArray(value)) {
            return [`${at}: expected a list (${goType})`];
        }
        return value.flatMap((item, index) => schemaProblems(item, type.slice(2), `${at}[${index}]`));
    }
    const mapMatch = /^map\[string\](.+)$/.exec(type);
    if (mapMatch) {
        if (typeof value !== "object" || value === null || Array.isArray(value)) {
            return [`${at}: expected a map (${goType})`];
        }
        return Object.entries(value).flatMap(([key, item]) => schemaProblems(item, mapMatch[1], `${at}.${key}`));
    }
    const alias = reference.typeAliases[type];
    const enumValues = reference.enums[type];
    if (STRING_LIKE_TYPES.has(type) || alias === "string" || Array.isArray(enumValues)) {
        if (typeof value !== "string") {
            return [`${at}: expected a string (${goType})`];
        }
        if (Array.isArray(enumValues) && !enumValues.includes(value)) {
            return [`${at}: ${value} is not one of ${enumValues.join(", ")}`];
        }
        return [];
    }
    if (type === "bool") {
        return typeof value === "boolean" ? [] : [`${at}: expected a boolean`];
    }
    if (/^u?int(8|16|32|64)?$/.test(type)) {
        return Number.isInteger(value) ? [] : [`${at}: expected an integer`];
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
        return [`${at}: expected an object (${goType})`];
    }
    const fields = fieldsOf(type);
    return Object.entries(value).flatMap(([key, item]) => {
        const fieldType = fields.get(key);
        return fieldType === undefined
            ? [`${at}.${key}: not a field of ${type}`]
            : schemaProblems(item, fieldType, `${at}.${key}`);
    });
}

/** KubeletConfiguration is not in the kubeadm reference: these are the only keys we emit. */
/**
 * Component configs are not in the kubeadm reference: their apiVersion and the only keys we emit
 * (KubeProxyConfiguration: issue 13, monitoring).
 */
const COMPONENT_CONFIGS: Readonly<Record<string, { apiVersion: string; fields: ReadonlySet<string> }>> = {
    KubeletConfiguration: { apiVersion: "kubelet.config.k8s.io/v1beta1", fields: new Set(["apiVersion", "kind", "cgroupDriver", "serverTLSBootstrap"]) },
    KubeProxyConfiguration: { apiVersion: "kubeproxy.config.k8s.io/v1alpha1", fields: new Set(["apiVersion", "kind", "metricsBindAddress"]) },
};

/** Problems of one rendered document: its apiVersion, its kind, and every key under it. */
function documentProblems(document: Record<string, unknown>): string[] {
    const kind = String(document.kind);
    const component = COMPONENT_CONFIGS[kind];
    if (component) {
        return [
            ...(document.apiVersion === component.apiVersion ? [] : [`${kind}: wrong apiVersion`]),
            ...Object.keys(document)
                .filter((key) => !component.fields.has(key))
                .map((key) => `${kind}.${key}: not an expected ${kind} field`),
        ];
    }
    if (!reference._meta.kinds.includes(kind)) {
        return [`${kind}: not a kubeadm v1beta4 kind`];
    }
    return [
        ...(document.apiVersion === reference._meta.apiVersion ? [] : [`${kind}: apiVersion ${String(document.apiVersion)}`]),
        ...schemaProblems(document, kind, kind),
    ];
}

function parseDocuments(text: string): Record<string, unknown>[] {
    return YAML.parseAllDocuments(text).map((document) => {
        assert.deepEqual(document.errors, [], "rendered YAML must parse");
        return document.toJS() as Record<string, unknown>;
    });
}

function byKind(documents: Record<string, unknown>[], kind: string): any {
    const found = documents.filter((document) => document.kind === kind);
    assert.equal(found.length, 1, `exactly one ${kind} document`);
    return found[0];
}

// ---------------------------------------------------------------------------------------------
// Sample arguments: the lab's node 0, a control plane and a worker.
// ---------------------------------------------------------------------------------------------

const TOKEN = "abcdef.0123456789abcdef";
const CERTIFICATE_KEY = "0f".repeat(32);
const CA_CERT_HASH = `sha256:${"ab".repeat(32)}`;
const ENDPOINT = "k8s.lab.example:443";

const initArgs: KubeadmInitArgs = {
    nodeName: "k8s-control01",
    advertiseAddress: "192.168.1.200",
    controlPlaneEndpoint: ENDPOINT,
    certSANs: ["192.168.1.220", "k8s.lab.example"],
    kubernetesVersion: "1.33.4",
    podSubnet: "10.244.0.0/16",
    serviceSubnet: "10.96.0.0/12",
    controlPlaneTaint: true,
    hardening: { encryptSecretsAtRest: true, auditLog: true, podSecurityStandard: "baseline" },
};

const workerJoinArgs: KubeadmJoinArgs = {
    nodeName: "k8s-worker01",
    advertiseAddress: "192.168.1.210",
    apiServerEndpoint: ENDPOINT,
    bootstrapToken: TOKEN,
    caCertHash: CA_CERT_HASH,
};

const controlPlaneJoinArgs: KubeadmJoinArgs = {
    ...workerJoinArgs,
    nodeName: "k8s-control02",
    advertiseAddress: "192.168.1.201",
    controlPlane: { certificateKey: CERTIFICATE_KEY, taint: true },
};

const allRenderings: ReadonlyArray<[string, string]> = [
    ["init, tainted", renderKubeadmInitConfig(initArgs)],
    ["init, untainted", renderKubeadmInitConfig({ ...initArgs, controlPlaneTaint: false, clusterName: "lab" })],
    ["init, with the add-ons' settings", renderKubeadmInitConfig({ ...initArgs, addonSettings: { kubeletServingCertificates: true, metricsEndpoints: true } })],
    ["init, with OIDC and its CA", renderKubeadmInitConfig({ ...initArgs, hardening: { ...initArgs.hardening, oidc: { issuerUrl: "https://id.lab.example/realms/lab", clientId: "kubernetes", usernameClaim: "email", groupsClaim: "groups", usernamePrefix: "oidc:", groupsPrefix: "oidc:", caCertificate: "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n" } } })],
    ["init, no hardening but profiling off", renderKubeadmInitConfig({ ...initArgs, hardening: { encryptSecretsAtRest: false, auditLog: false, podSecurityStandard: "privileged" } })],
    ["join, worker", renderKubeadmJoinConfig(workerJoinArgs)],
    ["join, control plane, tainted", renderKubeadmJoinConfig(controlPlaneJoinArgs)],
    ["join, control plane, untainted", renderKubeadmJoinConfig({ ...controlPlaneJoinArgs, controlPlane: { certificateKey: CERTIFICATE_KEY, taint: false } })],
];

// ---------------------------------------------------------------------------------------------

test("every key of every rendered document is a field of its v1beta4 type", () => {
    for (const [name, text] of allRenderings) {
        const problems = parseDocuments(text).flatMap(documentProblems);
        assert.deepEqual(problems, [], `${name} has fields kubeadm v1beta4 does not know`);
    }
});

test("the field checker rejects a misspelt field, a wrong nesting and a v1beta3-style extraArgs map", () => {
    const cluster = byKind(parseDocuments(renderKubeadmInitConfig(initArgs)), "ClusterConfiguration");
    assert.deepEqual(documentProblems({ ...cluster, apiServer: { certSans: ["x"] } }), [
        "ClusterConfiguration.apiServer.certSans: not a field of APIServer",
    ]);
    assert.deepEqual(documentProblems({ ...cluster, podSubnet: "10.244.0.0/16" }), [
        "ClusterConfiguration.podSubnet: not a field of ClusterConfiguration",
    ]);
    assert.deepEqual(documentProblems({ ...cluster, apiServer: { extraArgs: { "audit-log-path": "-" } } }), [
        "ClusterConfiguration.apiServer.extraArgs: expected a list ([]Arg)",
    ]);
});

test("init config holds InitConfiguration, ClusterConfiguration and KubeletConfiguration with their apiVersions", () => {
    const documents = parseDocuments(renderKubeadmInitConfig(initArgs));
    assert.deepEqual(
        documents.map((document) => [document.apiVersion, document.kind]),
        [
            ["kubeadm.k8s.io/v1beta4", "InitConfiguration"],
            ["kubeadm.k8s.io/v1beta4", "ClusterConfiguration"],
            ["kubelet.config.k8s.io/v1beta1", "KubeletConfiguration"],
        ],
    );
    assert.equal(byKind(documents, "KubeletConfiguration").cgroupDriver, "systemd");
});

// Issue 15: the init config holds no credential, so it can stay on node 0 and show in a preview.
test("init config has a bootstrap token entry without a value (kubeadm generates it), a short ttl, the lab's description, and no certificate key", () => {
    const text = renderKubeadmInitConfig(initArgs);
    const init = byKind(parseDocuments(text), "InitConfiguration");
    assert.equal(init.bootstrapTokens.length, 1);
    assert.equal("token" in init.bootstrapTokens[0], false);
    assert.equal(init.bootstrapTokens[0].ttl, "1h0m0s");
    assert.match(init.bootstrapTokens[0].description, /^k8s-vsphere-lab/, "join-credentials-revoke.sh deletes tokens with this prefix");
    assert.deepEqual(init.bootstrapTokens[0].usages, ["signing", "authentication"]);
    assert.equal("certificateKey" in init, false);
    assert.doesNotMatch(text, /[a-z0-9]{6}\.[a-z0-9]{16}|[0-9a-f]{64}/, "no token or key anywhere in it");
    const custom = byKind(parseDocuments(renderKubeadmInitConfig({ ...initArgs, bootstrapTokenTtl: "2h0m0s" })), "InitConfiguration");
    assert.equal(custom.bootstrapTokens[0].ttl, "2h0m0s");
});

test("init config puts endpoint, SANs, subnets and the v-prefixed version on ClusterConfiguration", () => {
    const cluster = byKind(parseDocuments(renderKubeadmInitConfig(initArgs)), "ClusterConfiguration");
    assert.equal(cluster.controlPlaneEndpoint, ENDPOINT);
    assert.deepEqual(cluster.apiServer.certSANs, ["192.168.1.220", "k8s.lab.example"]);
    assert.deepEqual(cluster.networking, { podSubnet: "10.244.0.0/16", serviceSubnet: "10.96.0.0/12" });
    assert.equal(cluster.kubernetesVersion, "v1.33.4");
    assert.equal(cluster.clusterName, "kubernetes");
    const prefixed = byKind(parseDocuments(renderKubeadmInitConfig({ ...initArgs, kubernetesVersion: "v1.33.4" })), "ClusterConfiguration");
    assert.equal(prefixed.kubernetesVersion, "v1.33.4");
});

test("init config binds node 0's apiserver to its own address on 6443 and registers it by name", () => {
    const init = byKind(parseDocuments(renderKubeadmInitConfig(initArgs)), "InitConfiguration");
    assert.deepEqual(init.localAPIEndpoint, { advertiseAddress: "192.168.1.200", bindPort: 6443 });
    assert.equal(init.nodeRegistration.name, "k8s-control01");
    assert.equal(init.nodeRegistration.criSocket, "unix:///var/run/containerd/containerd.sock");
    assert.deepEqual(init.nodeRegistration.kubeletExtraArgs, [{ name: "node-ip", value: "192.168.1.200" }]);
});

test("init taint switch: true writes the control-plane NoSchedule taint, false writes an explicit empty list", () => {
    const tainted = byKind(parseDocuments(renderKubeadmInitConfig(initArgs)), "InitConfiguration");
    assert.deepEqual(tainted.nodeRegistration.taints, [{ key: "node-role.kubernetes.io/control-plane", effect: "NoSchedule" }]);
    const untainted = byKind(parseDocuments(renderKubeadmInitConfig({ ...initArgs, controlPlaneTaint: false })), "InitConfiguration");
    assert.deepEqual(untainted.nodeRegistration.taints, []);
});

test("worker join discovers the cluster by token, endpoint and CA hash, with no control plane and no taints key", () => {
    const join = byKind(parseDocuments(renderKubeadmJoinConfig(workerJoinArgs)), "JoinConfiguration");
    assert.deepEqual(join.discovery, {
        bootstrapToken: { token: TOKEN, apiServerEndpoint: ENDPOINT, caCertHashes: [CA_CERT_HASH] },
    });
    assert.equal("controlPlane" in join, false);
    assert.equal("taints" in join.nodeRegistration, false);
    assert.equal(join.nodeRegistration.name, "k8s-worker01");
    assert.deepEqual(join.nodeRegistration.kubeletExtraArgs, [{ name: "node-ip", value: "192.168.1.210" }]);
});

test("control-plane join adds the certificate key and its own apiserver endpoint", () => {
    const join = byKind(parseDocuments(renderKubeadmJoinConfig(controlPlaneJoinArgs)), "JoinConfiguration");
    assert.deepEqual(join.controlPlane, {
        localAPIEndpoint: { advertiseAddress: "192.168.1.201", bindPort: 6443 },
        certificateKey: CERTIFICATE_KEY,
    });
});

test("control-plane and worker joins differ only in controlPlane and taints", () => {
    const sameNode = { nodeName: "k8s-node", advertiseAddress: "192.168.1.205" };
    const worker = byKind(parseDocuments(renderKubeadmJoinConfig({ ...workerJoinArgs, ...sameNode })), "JoinConfiguration");
    const controlPlane = byKind(parseDocuments(renderKubeadmJoinConfig({ ...controlPlaneJoinArgs, ...sameNode })), "JoinConfiguration");
    delete controlPlane.controlPlane;
    delete controlPlane.nodeRegistration.taints;
    assert.deepEqual(controlPlane, worker);
});

test("control-plane join taint switch: true writes the NoSchedule taint, false an explicit empty list", () => {
    const tainted = byKind(parseDocuments(renderKubeadmJoinConfig(controlPlaneJoinArgs)), "JoinConfiguration");
    assert.deepEqual(tainted.nodeRegistration.taints, [{ key: "node-role.kubernetes.io/control-plane", effect: "NoSchedule" }]);
    const untainted = byKind(
        parseDocuments(renderKubeadmJoinConfig({ ...controlPlaneJoinArgs, controlPlane: { certificateKey: CERTIFICATE_KEY, taint: false } })),
        "JoinConfiguration",
    );
    assert.deepEqual(untainted.nodeRegistration.taints, []);
});

test("secrets made only of digits stay strings after a YAML round trip", () => {
    const digitsToken = "123456.1234567890123456";
    const digitsKey = "1".repeat(64);
    const join = byKind(
        parseDocuments(renderKubeadmJoinConfig({ ...controlPlaneJoinArgs, bootstrapToken: digitsToken, controlPlane: { certificateKey: digitsKey, taint: true } })),
        "JoinConfiguration",
    );
    assert.equal(join.discovery.bootstrapToken.token, digitsToken);
    assert.equal(join.controlPlane.certificateKey, digitsKey);
});

test("bad arguments are refused with the field named and without echoing secret values", () => {
    const badToken = "NOT-A-TOKEN-secretpart";
    assert.throws(
        () => renderKubeadmJoinConfig({ ...controlPlaneJoinArgs, bootstrapToken: badToken, controlPlane: { certificateKey: "xyz-secret", taint: true } }),
        (error: Error) => {
            assert.match(error.message, /bootstrapToken must match/);
            assert.match(error.message, /certificateKey must be 64/);
            assert.doesNotMatch(error.message, /secret/);
            return true;
        },
    );
    assert.throws(() => renderKubeadmInitConfig({ ...initArgs, kubernetesVersion: "1.33" }), /kubernetesVersion must look like/);
    assert.throws(() => renderKubeadmJoinConfig({ ...workerJoinArgs, caCertHash: "ab".repeat(32) }), /caCertHash must be sha256:/);
    assert.throws(() => renderKubeadmJoinConfig({ ...workerJoinArgs, apiServerEndpoint: "k8s.lab.example" }), /apiServerEndpoint must be host:port/);
    assert.throws(() => renderKubeadmJoinConfig({ ...workerJoinArgs, advertiseAddress: "k8s-worker01" }), /advertiseAddress must be an IPv4/);
});

// Issue 13: kubelet serving certificates (metrics-server) and metrics endpoints (monitoring).
test("the add-ons' settings: serverTLSBootstrap on the KubeletConfiguration, metrics endpoints on every address in v1beta4 list form", () => {
    const plain = parseDocuments(renderKubeadmInitConfig(initArgs));
    assert.equal(byKind(plain, "KubeletConfiguration").serverTLSBootstrap, undefined);
    const plainCluster = byKind(plain, "ClusterConfiguration");
    const profilingOff = [{ name: "profiling", value: "false" }];
    assert.deepEqual([plainCluster.controllerManager, plainCluster.scheduler, plainCluster.etcd], [{ extraArgs: profilingOff }, { extraArgs: profilingOff }, undefined]);
    assert.equal(plain.filter((document) => document.kind === "KubeProxyConfiguration").length, 0);

    const servingOnly = parseDocuments(renderKubeadmInitConfig({ ...initArgs, addonSettings: { kubeletServingCertificates: true, metricsEndpoints: false } }));
    assert.equal(byKind(servingOnly, "KubeletConfiguration").serverTLSBootstrap, true);
    assert.deepEqual(byKind(servingOnly, "ClusterConfiguration").controllerManager, { extraArgs: profilingOff });

    const text = renderKubeadmInitConfig({ ...initArgs, addonSettings: { kubeletServingCertificates: false, metricsEndpoints: true } });
    assert.doesNotMatch(text, /[&*]a\d/, "no YAML anchors or aliases");
    const documents = parseDocuments(text);
    assert.equal(byKind(documents, "KubeletConfiguration").serverTLSBootstrap, undefined);
    const cluster = byKind(documents, "ClusterConfiguration");
    assert.deepEqual(cluster.controllerManager.extraArgs, [{ name: "bind-address", value: "0.0.0.0" }, ...profilingOff]);
    assert.deepEqual(cluster.scheduler.extraArgs, [{ name: "bind-address", value: "0.0.0.0" }, ...profilingOff]);
    assert.deepEqual(cluster.etcd.local.extraArgs, [{ name: "listen-metrics-urls", value: "http://0.0.0.0:2381" }]);
    assert.deepEqual(byKind(documents, "KubeProxyConfiguration"), {
        apiVersion: "kubeproxy.config.k8s.io/v1alpha1",
        kind: "KubeProxyConfiguration",
        metricsBindAddress: "0.0.0.0:10249",
    });
});

// Issue 13 item 1: OIDC sign-in as kube-apiserver flags in v1beta4 list form.
test("OIDC becomes the apiserver's --oidc-* flags in v1beta4 list form, the CA as a staged, mounted file", () => {
    const oidc = { issuerUrl: "https://id.lab.example/realms/lab", clientId: "kubernetes", usernameClaim: "email", groupsClaim: "groups", usernamePrefix: "oidc:", groupsPrefix: "oidc:" };
    const args = (hardening: KubeadmInitArgs["hardening"]) =>
        Object.fromEntries(byKind(parseDocuments(renderKubeadmInitConfig({ ...initArgs, hardening })), "ClusterConfiguration").apiServer.extraArgs.map((a: { name: string; value: string }) => [a.name, a.value]));
    const plain = args({ ...initArgs.hardening, oidc });
    assert.equal(plain["oidc-issuer-url"], "https://id.lab.example/realms/lab");
    assert.equal(plain["oidc-client-id"], "kubernetes");
    assert.equal(plain["oidc-username-claim"], "email");
    assert.equal(plain["oidc-groups-claim"], "groups");
    assert.equal(plain["oidc-username-prefix"], "oidc:");
    assert.equal(plain["oidc-groups-prefix"], "oidc:");
    assert.equal(plain["oidc-ca-file"], undefined, "no CA given: the system's CAs");
    const withCa = args({ ...initArgs.hardening, oidc: { ...oidc, caCertificate: "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n" } });
    assert.match(withCa["oidc-ca-file"], /^\/etc\/kubernetes\/k8s-lab\/oidc-ca-[0-9a-f]{16}\.crt$/, "the CA's hash in its name: a new CA changes the manifest");
    assert.equal(Object.keys(args(initArgs.hardening)).some((name) => name.startsWith("oidc-")), false, "off: no flag");
});

// Issue 13 item 1: the file each control plane's apiserver is rewritten from when OIDC changes
// (components/apiServerReconfigure.ts), as the program stages it, is kubeadm v1beta4 too.
test("each control plane's staged apiserver-roll config passes the v1beta4 field check", async () => {
    const ca = "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----";
    const { recorder } = await evaluateProgram(labConfigWith({ oidcIssuerUrl: "https://id.lab.example/realms/lab", oidcClientId: "kubernetes", oidcCaCertificate: ca }));
    const staged = recorder.resources.filter((r) => r.name.endsWith("-file-kubeadm-apiserver.yaml"));
    assert.deepEqual(staged.map((r) => r.name).sort(), ["k8s-control01", "k8s-control02", "k8s-control03"].map((node) => `${node}-file-kubeadm-apiserver.yaml`));
    for (const file of staged) {
        const documents = parseDocuments(file.inputs.stdin);
        assert.deepEqual(documents.flatMap(documentProblems), [], `${file.name} has fields kubeadm v1beta4 does not know`);
        assert.ok(byKind(documents, "ClusterConfiguration").apiServer.extraArgs.some((a: { name: string }) => a.name === "oidc-ca-file"), file.name);
    }
});
