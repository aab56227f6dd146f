// Issue 15 item 4: the files the hardened apiserver reads, as rendered.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import {
    ApiServerHardening,
    apiServerFiles,
    applyApiServerHardening,
    renderAdmissionConfiguration,
    renderAuditPolicy,
    renderEncryptionConfiguration,
} from "../../components/render/apiServerHardening";
import { projectRoot } from "../../components/render/manifests";

const key = Buffer.alloc(32, 7).toString("base64");

test("the EncryptionConfiguration encrypts Secrets with secretbox and the given key, identity last for data written before", () => {
    const config = YAML.parse(renderEncryptionConfiguration(key));
    assert.equal(config.apiVersion, "apiserver.config.k8s.io/v1");
    assert.equal(config.kind, "EncryptionConfiguration");
    assert.deepEqual(config.resources, [
        { resources: ["secrets"], providers: [{ secretbox: { keys: [{ name: "k8s-lab-1", secret: key }] } }, { identity: {} }] },
    ]);
});

test("a key that is not 32 bytes of base64 is refused without showing it", () => {
    for (const bad of [Buffer.alloc(16).toString("base64"), "not base64 at all, but long enough to be 44 c", ""]) {
        assert.throws(() => renderEncryptionConfiguration(bad), (error: Error) => error.message === "encryption key must be 32 bytes, base64-encoded");
    }
});

test("the audit policy records metadata only (never a body), and skips health checks, events and lease renewals", () => {
    const policy = YAML.parse(renderAuditPolicy());
    assert.equal(policy.apiVersion, "audit.k8s.io/v1");
    assert.deepEqual(policy.omitStages, ["RequestReceived"]);
    const levels = policy.rules.map((rule: { level: string }) => rule.level);
    assert.deepEqual([...new Set(levels)].sort(), ["Metadata", "None"], "Request and RequestResponse would log Secret bodies");
    assert.deepEqual(policy.rules[policy.rules.length - 1], { level: "Metadata" }, "the catch-all rule comes last");
    assert.ok(policy.rules[0].nonResourceURLs.includes("/readyz*"), "haproxy's health checks every few hundred ms");
    assert.ok(policy.rules.some((rule: any) => rule.level === "None" && rule.resources?.some((r: any) => r.group === "coordination.k8s.io")));
});

test("the admission config enforces and warns at the level, audits restricted, and exempts kube-system only", () => {
    const config = YAML.parse(renderAdmissionConfiguration("baseline"));
    assert.equal(config.kind, "AdmissionConfiguration");
    const [plugin] = config.plugins;
    assert.equal(plugin.name, "PodSecurity");
    assert.equal(plugin.configuration.apiVersion, "pod-security.admission.config.k8s.io/v1");
    assert.deepEqual(plugin.configuration.defaults, {
        enforce: "baseline", "enforce-version": "latest", audit: "restricted", "audit-version": "latest", warn: "baseline", "warn-version": "latest",
    });
    assert.deepEqual(plugin.configuration.exemptions, { usernames: [], runtimeClasses: [], namespaces: ["kube-system"] });
});

test("each setting stages its file and adds its flags and mount; off, neither", () => {
    const all: ApiServerHardening = { encryptSecretsAtRest: true, auditLog: true, podSecurityStandard: "restricted" };
    assert.deepEqual(apiServerFiles(all).map((f) => [f.fileName, f.holdsEncryptionKey]), [
        ["encryption-config.yaml", true],
        ["audit-policy.yaml", false],
        ["admission-config.yaml", false],
    ]);
    const cases: [Partial<ApiServerHardening>, string[], string[]][] = [
        [{ encryptSecretsAtRest: false }, ["encryption-provider-config"], ["k8s-lab-encryption-config"]],
        [{ auditLog: false }, ["audit-policy-file", "audit-log-path", "audit-log-maxage", "audit-log-maxbackup", "audit-log-maxsize", "audit-log-compress"], ["k8s-lab-audit-policy", "k8s-lab-audit-log"]],
        [{ podSecurityStandard: "privileged" }, ["admission-control-config-file"], ["k8s-lab-admission-config"]],
    ];
    const render = (hardening: ApiServerHardening) => {
        const cluster: Record<string, any> = { apiServer: { certSANs: ["x"] } };
        applyApiServerHardening(cluster, hardening);
        return cluster;
    };
    const full = render(all);
    assert.deepEqual(full.apiServer.certSANs, ["x"], "existing apiServer settings are kept");
    for (const volume of full.apiServer.extraVolumes) {
        assert.equal(volume.readOnly, volume.name !== "k8s-lab-audit-log", `${volume.name}: only the log directory is writable`);
    }
    for (const [off, goneArgs, goneVolumes] of cases) {
        const cluster = render({ ...all, ...off });
        const names = cluster.apiServer.extraArgs.map((a: { name: string }) => a.name);
        const volumes = (cluster.apiServer.extraVolumes ?? []).map((v: { name: string }) => v.name);
        for (const arg of goneArgs) {
            assert.ok(full.apiServer.extraArgs.some((a: { name: string }) => a.name === arg), `${arg} set when on`);
            assert.ok(!names.includes(arg), `${arg} still set with ${JSON.stringify(off)}`);
        }
        for (const volume of goneVolumes) assert.ok(!volumes.includes(volume), `${volume} still mounted with ${JSON.stringify(off)}`);
        assert.equal(apiServerFiles({ ...all, ...off }).length, 2);
    }
});

// The upstream types of the four kinds (test/fixtures/apiserver-config-fields.json, read from
// kubernetes/apiserver and kubernetes/pod-security-admission at v0.34.0: test/fixtures/SOURCES.md).
// The apiserver reads these files strictly: an unknown field stops it from starting.
interface FieldType {
    readonly fields: readonly { json: string; goType: string }[];
    readonly allJsonFields?: readonly string[];
    readonly values?: readonly string[];
}
const upstream = JSON.parse(fs.readFileSync(path.join(projectRoot, "test", "fixtures", "apiserver-config-fields.json"), "utf8")) as {
    types: Record<string, FieldType>;
};

/** Problems of `value` as an instance of the upstream Go type `goType` ("" when it fits). */
function fieldProblems(value: unknown, goType: string, where: string): string[] {
    const element = goType.replace(/^\*/, "");
    if (element.startsWith("[]")) {
        if (!Array.isArray(value)) return [`${where}: expected a list (${goType})`];
        return value.flatMap((item, index) => fieldProblems(item, element.slice(2), `${where}[${index}]`));
    }
    if (element === "runtime.Unknown") {
        // An embedded object of its own kind: checked as that kind.
        const kind = (value as { kind?: string })?.kind ?? "";
        return upstream.types[kind] ? fieldProblems(value, kind, where) : [`${where}: embedded kind '${kind}' unknown`];
    }
    const type = upstream.types[element];
    if (!type) return typeof value === "object" && value !== null ? [`${where}: an object where ${goType} is expected`] : [];
    if (type.values) return type.values.includes(String(value)) ? [] : [`${where}: '${String(value)}' is not a ${element} (${type.values.join(", ")})`];
    if (typeof value !== "object" || value === null || Array.isArray(value)) return [`${where}: expected an object (${element})`];
    const known = new Set(type.allJsonFields ?? type.fields.map((field) => field.json));
    return Object.entries(value).flatMap(([key, child]) => {
        if (!known.has(key)) return [`${where}.${key}: not a field of ${element}`];
        const field = type.fields.find((f) => f.json === key);
        return field ? fieldProblems(child, field.goType, `${where}.${key}`) : [];
    });
}

test("every rendered file uses only fields of its upstream type (and audit levels and stages that exist)", () => {
    const rendered: [string, string][] = [
        ["EncryptionConfiguration", renderEncryptionConfiguration(key)],
        ["Policy", renderAuditPolicy()],
        ...(["baseline", "restricted"] as const).map((level): [string, string] => ["AdmissionConfiguration", renderAdmissionConfiguration(level)]),
    ];
    for (const [kind, text] of rendered) {
        const document = YAML.parse(text);
        assert.equal(document.kind, kind);
        assert.deepEqual(fieldProblems(document, kind, kind), []);
    }
});

test("the field check catches a misspelt field, a wrong level and an unknown embedded field", () => {
    const policy = YAML.parse(renderAuditPolicy());
    assert.deepEqual(fieldProblems({ ...policy, omitStage: [] }, "Policy", "Policy"), ["Policy.omitStage: not a field of Policy"]);
    assert.deepEqual(fieldProblems({ ...policy, rules: [{ level: "Everything" }] }, "Policy", "Policy"), [
        "Policy.rules[0].level: 'Everything' is not a Level (None, Metadata, Request, RequestResponse)",
    ]);
    const admission = YAML.parse(renderAdmissionConfiguration("baseline"));
    admission.plugins[0].configuration.defaults.enforceVersion = "latest";
    assert.deepEqual(fieldProblems(admission, "AdmissionConfiguration", "AdmissionConfiguration"), [
        "AdmissionConfiguration.plugins[0].configuration.defaults.enforceVersion: not a field of PodSecurityDefaults",
    ]);
});
