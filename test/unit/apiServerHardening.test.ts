// Issue 15 item 4: the hardened control plane, as the program registers it.
import assert from "node:assert/strict";
import { before, test } from "node:test";
import * as YAML from "yaml";
import { apiServerFileNames, oidcCaFileName } from "../../components/render/apiServerHardening";
import { evaluateProgram } from "../helpers/program";
import { MockRecorder, resourceDependsOn, secretValues } from "../helpers/pulumiMocks";
import { labConfigWith } from "../helpers/stackConfig";

const command = "command:remote:Command";
const controlPlanes = ["k8s-control01", "k8s-control02", "k8s-control03"];
const workers = ["k8s-worker01", "k8s-worker02", "k8s-worker03"];
// The three the lab's defaults stage (the OIDC CA only with oidcCaCertificate, below).
const stagedFiles = [apiServerFileNames.encryptionConfig, apiServerFileNames.auditPolicy, apiServerFileNames.admissionConfig];

let recorder: MockRecorder;
before(async () => {
    ({ recorder } = await evaluateProgram(labConfigWith()));
});

const initConfig = (r: MockRecorder) =>
    YAML.parseAllDocuments(r.named("k8s-control01-file-kubeadm-init.yaml", command).inputs.stdin).map((d) => d.toJS());

test("every control plane stages the encryption config, audit policy and admission config before its init or join; workers none", () => {
    for (const node of controlPlanes) {
        const step = recorder.named(node === "k8s-control01" ? `${node}-kubeadm-init` : `${node}-kubeadm-join`, command);
        for (const file of stagedFiles) {
            const staged = recorder.named(`${node}-file-${file}`, command);
            assert.match(staged.inputs.create, new RegExp(`install -D -m 0600 -o root -g root /dev/stdin /etc/k8s-lab/${file}$`), `${node} ${file}`);
            assert.ok(resourceDependsOn(recorder.resources, step, staged), `${step.name} does not wait for ${file}`);
        }
    }
    for (const node of workers) {
        for (const file of stagedFiles) {
            assert.equal(recorder.resources.filter((r) => r.name === `${node}-file-${file}`).length, 0, `${node} got ${file}`);
        }
    }
});

test("the encryption config carries the generated key as a secret, the same on every control plane", () => {
    const key = recorder.named("lab-secrets-encryption-key").outputs.base64 as string;
    assert.equal(Buffer.from(key, "base64").length, 32);
    for (const node of controlPlanes) {
        const staged = recorder.named(`${node}-file-${apiServerFileNames.encryptionConfig}`, command);
        const config = YAML.parse(staged.inputs.stdin);
        assert.deepEqual(config.resources[0].providers[0].secretbox.keys[0].secret, key);
        assert.ok(secretValues(staged.wireInputs.stdin).some((text) => text.includes(key)), `${node}: the encryption config is not sent as a secret`);
    }
    // The audit policy holds nothing secret: its changes show in a preview.
    const policy = recorder.named(`k8s-control01-file-${apiServerFileNames.auditPolicy}`, command);
    assert.deepEqual(secretValues(policy.wireInputs.stdin), []);
});

test("node 0's ClusterConfiguration points the apiserver at the staged files and turns profiling off everywhere", () => {
    const cluster = initConfig(recorder).find((d) => d.kind === "ClusterConfiguration");
    const args = Object.fromEntries(cluster.apiServer.extraArgs.map((a: { name: string; value: string }) => [a.name, a.value]));
    assert.equal(args["encryption-provider-config"], "/etc/kubernetes/k8s-lab/encryption-config.yaml");
    assert.equal(args["audit-policy-file"], "/etc/kubernetes/k8s-lab/audit-policy.yaml");
    assert.equal(args["admission-control-config-file"], "/etc/kubernetes/k8s-lab/admission-config.yaml");
    assert.equal(args.profiling, "false");
    const mounts = new Map(cluster.apiServer.extraVolumes.map((v: { hostPath: string; mountPath: string }) => [v.mountPath, v.hostPath]));
    for (const file of stagedFiles) assert.equal(mounts.get(`/etc/kubernetes/k8s-lab/${file}`), `/etc/k8s-lab/${file}`);
    for (const component of ["controllerManager", "scheduler"]) {
        assert.deepEqual(cluster[component].extraArgs.filter((a: { name: string }) => a.name === "profiling"), [{ name: "profiling", value: "false" }], component);
    }
});

test("with encryptSecretsAtRest and auditLog off and podSecurityStandard privileged nothing is staged and no flag points at a file", async () => {
    const { recorder: plain } = await evaluateProgram(labConfigWith({ encryptSecretsAtRest: false, auditLog: false, podSecurityStandard: "privileged" }));
    assert.deepEqual(plain.resources.filter((r) => stagedFiles.some((file) => r.name.endsWith(`-file-${file}`))).map((r) => r.name), []);
    const cluster = initConfig(plain).find((d) => d.kind === "ClusterConfiguration");
    assert.deepEqual(cluster.apiServer.extraArgs, [{ name: "profiling", value: "false" }]);
    assert.equal(cluster.apiServer.extraVolumes, undefined);
});

test("the admission config enforces the configured podSecurityStandard", async () => {
    const { recorder: strict } = await evaluateProgram(labConfigWith({ podSecurityStandard: "restricted" }));
    const config = YAML.parse(strict.named(`k8s-control02-file-${apiServerFileNames.admissionConfig}`, command).inputs.stdin);
    assert.equal(config.plugins[0].configuration.defaults.enforce, "restricted");
});

test("every add-on namespace carries its Pod Security level: privileged where pods need the host, baseline elsewhere", async () => {
    const { recorder: all } = await evaluateProgram(
        labConfigWith({ monitoring: true, flux: true, fluxGitUrl: "https://git.lab.example/lab/gitops.git" }),
    );
    const levels = Object.fromEntries(
        all.resources
            .filter((r) => r.type === "kubernetes:core/v1:Namespace")
            .map((r) => [r.inputs.metadata.name, r.inputs.metadata.labels?.["pod-security.kubernetes.io/enforce"]]),
    );
    assert.deepEqual(levels, {
        "kube-flannel": "privileged",
        "metallb-system": "privileged",
        monitoring: "privileged",
        "ingress-nginx": "baseline",
        "nfs-provisioner": "baseline",
        "flux-system": "baseline",
    });
    const { recorder: calico } = await evaluateProgram(labConfigWith({ cni: "calico" }));
    const operator = calico.resources.find((r) => r.type === "kubernetes:core/v1:Namespace" && r.inputs.metadata.name === "tigera-operator")!;
    assert.equal(operator.inputs.metadata.labels["pod-security.kubernetes.io/enforce"], "privileged");
});

test("with OIDC and its CA, every control plane stages the CA under a name with its hash before its init or join", async () => {
    const ca = "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----";
    const { recorder: oidc } = await evaluateProgram(labConfigWith({ oidcIssuerUrl: "https://id.lab.example/realms/lab", oidcClientId: "kubernetes", oidcCaCertificate: ca }));
    const caFiles = oidc.resources.filter((r) => /-file-oidc-ca-[0-9a-f]{16}\.crt$/.test(r.name));
    assert.equal(caFiles.length, 3, "control planes only");
    for (const node of controlPlanes) {
        const staged = oidc.named(`${node}-file-${oidcCaFileName(`${ca}\n`)}`, command);
        assert.equal(staged.inputs.stdin, `${ca}\n`);
        const step = oidc.named(node === "k8s-control01" ? `${node}-kubeadm-init` : `${node}-kubeadm-join`, command);
        assert.ok(resourceDependsOn(oidc.resources, step, staged), node);
    }
    // Another CA is another file (and flag): the apiserver's manifest changes, so the roll restarts it.
    assert.notEqual(oidcCaFileName("-----BEGIN CERTIFICATE-----\nBB==\n-----END CERTIFICATE-----\n"), oidcCaFileName(`${ca}\n`));
});
