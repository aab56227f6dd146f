import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { LabConfigError, parseLabConfig } from "../../components/config";
import { evaluateProgramError } from "../helpers/program";
import { installMocks, promiseOf } from "../helpers/pulumiMocks";
import { labConfigWith, mapConfigSource } from "../helpers/stackConfig";

installMocks();

const lab = (changes: Record<string, unknown> = {}) => parseLabConfig(mapConfigSource(labConfigWith(changes)));

const controlPlanes = [
    { name: "k8s-control01", address: "192.168.1.200" },
    { name: "k8s-control02", address: "192.168.1.201" },
    { name: "k8s-control03", address: "192.168.1.202" },
];
const workers = [
    { name: "k8s-worker01", address: "192.168.1.210" },
    { name: "k8s-worker02", address: "192.168.1.211" },
    { name: "k8s-worker03", address: "192.168.1.212" },
];

/**
 * Each rule: a config change, the key the error must name, and a phrase of its fix. The program
 * (index.ts) is evaluated for real: it must refuse the config before registering any resource.
 */
const fluxOn = { flux: true, fluxGitUrl: "https://git.lab.example/lab/gitops.git" };
const rules: { rule: string; changes: Record<string, unknown>; key: string; fix: RegExp }[] = [
    // Issue 11: a dead node's removal
    {
        rule: "the first control plane marked unreachable",
        changes: { controlPlanes: [{ ...controlPlanes[0], unreachable: true }, controlPlanes[1], controlPlanes[2]] },
        key: "k8s-vsphere-lab:controlPlanes[0].unreachable",
        fix: /runs every removal and cannot be removed; .*etcd snapshot/,
    },
    {
        rule: "a majority of control planes unreachable",
        changes: { controlPlanes: [controlPlanes[0], { ...controlPlanes[1], unreachable: true }, { ...controlPlanes[2], unreachable: true }] },
        key: "k8s-vsphere-lab:controlPlanes",
        fix: /2 of 3 are unreachable: etcd has lost its majority/,
    },
    {
        rule: "unreachable that is not a boolean",
        changes: { workers: [{ ...workers[0], unreachable: "yes" }] },
        key: "k8s-vsphere-lab:workers[0].unreachable",
        fix: /is not true or false/,
    },
    // Issue 13 item 1
    {
        rule: "an OIDC issuer that is not https",
        changes: { oidcIssuerUrl: "http://id.lab.example", oidcClientId: "kubernetes" },
        key: "k8s-vsphere-lab:oidcIssuerUrl",
        fix: /is not an https URL/,
    },
    {
        rule: "an OIDC issuer without a client id",
        changes: { oidcIssuerUrl: "https://id.lab.example" },
        key: "k8s-vsphere-lab:oidcClientId",
        fix: /is empty while .*oidcIssuerUrl is set/,
    },
    {
        rule: "an OIDC client id without an issuer",
        changes: { oidcClientId: "kubernetes" },
        key: "k8s-vsphere-lab:oidcClientId",
        fix: /is set without .*oidcIssuerUrl/,
    },
    {
        rule: "an OIDC CA that is not PEM",
        changes: { oidcIssuerUrl: "https://id.lab.example", oidcClientId: "kubernetes", oidcCaCertificate: "not a certificate" },
        key: "k8s-vsphere-lab:oidcCaCertificate",
        fix: /is not a PEM certificate/,
    },
    // Issue 13 item 7
    {
        rule: "an NTP server that is not a name or an address",
        changes: { ntpServers: ["ntp lab"] },
        key: "k8s-vsphere-lab:ntpServers[0]",
        fix: /is not a host name or IPv4 address/,
    },
    {
        rule: "a proxy with a password in it",
        changes: { httpProxy: "http://lab:secret@proxy.lab.example:3128" },
        key: "k8s-vsphere-lab:httpProxy",
        fix: /without a user or password/,
    },
    {
        rule: "a noProxy entry with a blank",
        changes: { httpProxy: "http://proxy.lab.example:3128", noProxy: [".lab example"] },
        key: "k8s-vsphere-lab:noProxy[0]",
        fix: /is not a name, domain or CIDR/,
    },
    // Issue 13 item 6
    {
        rule: "the control planes' anti-affinity rule on a standalone host",
        changes: { vsphereCluster: "", vsphereResourcePool: "esxi01.lab/Resources" },
        key: "k8s-vsphere-lab:controlPlaneAntiAffinity",
        fix: /needs a compute cluster .*set controlPlaneAntiAffinity: false/,
    },
    // Issue 15 item 4
    {
        rule: "a Pod Security level that does not exist",
        changes: { podSecurityStandard: "strict" },
        key: "k8s-vsphere-lab:podSecurityStandard",
        fix: /is not one of privileged, baseline, restricted/,
    },
    {
        rule: "encryptSecretsAtRest that is not a boolean",
        changes: { encryptSecretsAtRest: "yes" },
        key: "k8s-vsphere-lab:encryptSecretsAtRest",
        fix: /true or false|boolean/,
    },
    // Issue 13 items 2-5
    {
        rule: "an internal ingress without an ingress controller",
        changes: { ingressController: "none", internalIngress: true },
        key: "k8s-vsphere-lab:internalIngress",
        fix: /needs an .*ingressController \(ingress-nginx or traefik\)/,
    },
    {
        rule: "the internal Traefik at the external one's address",
        changes: { ingressController: "traefik", internalIngress: true, internalIngressAddress: "192.168.1.225" },
        key: "k8s-vsphere-lab:internalIngressAddress",
        fix: /give each controller its own address/,
    },
    {
        rule: "a Grafana host that is not a DNS name",
        changes: { monitoring: true, grafanaHost: "Grafana Lab" },
        key: "k8s-vsphere-lab:grafanaHost",
        fix: /not a DNS name/,
    },
    {
        rule: "a Grafana host without monitoring",
        changes: { grafanaHost: "grafana.lab.example" },
        key: "k8s-vsphere-lab:grafanaHost",
        fix: /turn monitoring on or clear grafanaHost/,
    },
    {
        rule: "a Grafana host without an ingress controller",
        changes: { monitoring: true, grafanaHost: "grafana.lab.example", ingressController: "none" },
        key: "k8s-vsphere-lab:grafanaHost",
        fix: /needs an ingress controller/,
    },
    {
        rule: "a Prometheus volume of 0 GB",
        changes: { monitoring: true, prometheusStorageGb: 0 },
        key: "k8s-vsphere-lab:prometheusStorageGb",
        fix: /outside 1-10000/,
    },
    {
        rule: "flux without a Git URL",
        changes: { flux: true },
        key: "k8s-vsphere-lab:fluxGitUrl",
        fix: /set it like https:\/\//,
    },
    {
        rule: "a Flux branch with a space",
        changes: { ...fluxOn, fluxGitBranch: "my branch" },
        key: "k8s-vsphere-lab:fluxGitBranch",
        fix: /not a branch name/,
    },
    {
        rule: "a Flux path leaving the repository",
        changes: { ...fluxOn, fluxGitPath: "../other" },
        key: "k8s-vsphere-lab:fluxGitPath",
        fix: /no '\.\.'/,
    },
    {
        rule: "a Git user name without its password",
        changes: { ...fluxOn, fluxGitUsername: "flux", fluxGitPassword: undefined },
        key: "k8s-vsphere-lab:fluxGitPassword",
        fix: /pulumi config set --secret fluxGitPassword/,
    },
    {
        rule: "Git user/password credentials over SSH",
        changes: { flux: true, fluxGitUrl: "ssh://git@git.lab.example/lab/gitops.git", fluxGitUsername: "flux" },
        key: "k8s-vsphere-lab:fluxGitUsername",
        fix: /over HTTPS only/,
    },
    {
        rule: "an etcd snapshot schedule that is not one OnCalendar line",
        changes: { etcdSnapshotSchedule: "daily\nExecStart=/bin/sh" },
        key: "k8s-vsphere-lab:etcdSnapshotSchedule",
        fix: /systemd OnCalendar expression/,
    },
    {
        rule: "keeping no etcd snapshot",
        changes: { etcdSnapshotKeep: 0 },
        key: "k8s-vsphere-lab:etcdSnapshotKeep",
        fix: /keep at least one snapshot/,
    },
    {
        rule: "a certificate renewal window so wide that every round would be due again at once",
        changes: { renewCertificatesBefore: 365 },
        key: "k8s-vsphere-lab:renewCertificatesBefore",
        fix: /outside 0-300: give the days before the certificates' one-year expiry/,
    },
    {
        rule: "duplicate node names",
        changes: { workers: [...workers.slice(0, 2), { name: "k8s-worker01", address: "192.168.1.212" }] },
        key: "k8s-vsphere-lab:workers[2].name",
        fix: /also used by k8s-vsphere-lab:workers\[0\]/,
    },
    {
        rule: "duplicate node addresses",
        changes: { workers: [...workers.slice(0, 2), { name: "k8s-worker03", address: "192.168.1.200" }] },
        key: "k8s-vsphere-lab:workers[2].address",
        fix: /also used by k8s-vsphere-lab:controlPlanes\[0\]/,
    },
    {
        rule: "node address outside the node subnet (the seed's 192.168.2.212 typo)",
        changes: { workers: [...workers.slice(0, 2), { name: "k8s-worker03", address: "192.168.2.212" }] },
        key: "k8s-vsphere-lab:workers[2].address",
        fix: /outside nodeSubnet 192\.168\.1\.0\/24: use an address in it or widen nodeSubnet/,
    },
    {
        rule: "the subnet's prefix length is config: a /25 excludes .200",
        changes: { nodeSubnet: "192.168.1.0/25", loadBalancerPool: "192.168.1.100-192.168.1.110", ingressAddress: "192.168.1.100", apiVip: "192.168.1.90", gateway: "192.168.1.1" },
        key: "k8s-vsphere-lab:controlPlanes[0].address",
        fix: /outside nodeSubnet 192\.168\.1\.0\/25/,
    },
    {
        rule: "VIP equal to a node address",
        changes: { apiVip: "192.168.1.201" },
        key: "k8s-vsphere-lab:apiVip",
        fix: /address of k8s-vsphere-lab:controlPlanes\[1\]/,
    },
    {
        rule: "VIP equal to the gateway",
        changes: { apiVip: "192.168.1.1" },
        key: "k8s-vsphere-lab:apiVip",
        fix: /is the gateway's address: the VIP must be a free address/,
    },
    {
        rule: "linked clones with a disk size (a linked clone keeps the template's disk)",
        changes: { linkedClones: true, diskGb: 60 },
        key: "k8s-vsphere-lab:diskGb",
        fix: /set while k8s-vsphere-lab:linkedClones is on: a linked clone keeps the template's disk size/,
    },
    {
        rule: "linked clones with a node's own disk size",
        changes: { linkedClones: true, diskGb: undefined, workers: [...workers.slice(0, 2), { ...workers[2], diskGb: 80 }] },
        key: "k8s-vsphere-lab:workers[2].diskGb",
        fix: /remove the disk size \(grow the template's disk instead\) or turn linkedClones off/,
    },
    {
        rule: "an interface name Linux cannot have",
        changes: { nodeInterface: "ens192:0" },
        key: "k8s-vsphere-lab:nodeInterface",
        fix: /not a Linux interface name/,
    },
    {
        rule: "a node subnet wider than the static MACs can tell apart",
        changes: { nodeSubnet: "192.0.0.0/8" },
        key: "k8s-vsphere-lab:nodeSubnet",
        fix: /wider than \/10: each node's static MAC carries the low 22 bits/,
    },
    {
        rule: "VIP outside the subnet",
        changes: { apiVip: "10.0.0.220" },
        key: "k8s-vsphere-lab:apiVip",
        fix: /outside nodeSubnet/,
    },
    {
        rule: "LoadBalancer pool outside the subnet",
        changes: { loadBalancerPool: "192.168.2.225-192.168.2.234", ingressAddress: "" },
        key: "k8s-vsphere-lab:loadBalancerPool",
        fix: /not inside nodeSubnet/,
    },
    {
        rule: "LoadBalancer pool overlapping node addresses",
        changes: { loadBalancerPool: "192.168.1.205-192.168.1.234" },
        key: "k8s-vsphere-lab:loadBalancerPool",
        fix: /contains node addresses 192\.168\.1\.210, 192\.168\.1\.211, 192\.168\.1\.212/,
    },
    {
        rule: "LoadBalancer pool containing the VIP",
        changes: { loadBalancerPool: "192.168.1.215-192.168.1.234" },
        key: "k8s-vsphere-lab:loadBalancerPool",
        fix: /contains apiVip 192\.168\.1\.220/,
    },
    {
        rule: "pod and service CIDRs overlapping each other",
        changes: { podSubnet: "10.96.0.0/16" },
        key: "k8s-vsphere-lab:podSubnet",
        fix: /overlaps k8s-vsphere-lab:serviceSubnet/,
    },
    {
        rule: "pod CIDR overlapping the node subnet",
        changes: { podSubnet: "192.168.0.0/16" },
        key: "k8s-vsphere-lab:podSubnet",
        fix: /overlaps nodeSubnet/,
    },
    {
        rule: "service CIDR overlapping the node subnet",
        changes: { serviceSubnet: "192.168.0.0/20" },
        key: "k8s-vsphere-lab:serviceSubnet",
        fix: /overlaps nodeSubnet/,
    },
    {
        rule: "an even number of control planes",
        changes: { controlPlanes: controlPlanes.slice(0, 2) },
        key: "k8s-vsphere-lab:controlPlanes",
        fix: /odd number \(1, 3 or 5\)/,
    },
    {
        rule: "zero control planes",
        changes: { controlPlanes: [] },
        key: "k8s-vsphere-lab:controlPlanes",
        fix: /has 0 nodes/,
    },
    {
        rule: "memory under 2048 MB",
        changes: { workerMemoryMb: 1024 },
        key: "k8s-vsphere-lab:workers[0]",
        fix: /1024 MB of memory: kubeadm's preflight needs at least 2048/,
    },
    {
        rule: "memory under 2048 MB on one node's override",
        changes: { controlPlanes: [{ ...controlPlanes[0], memoryMb: 1536 }, ...controlPlanes.slice(1)] },
        key: "k8s-vsphere-lab:controlPlanes[0]",
        fix: /1536 MB of memory/,
    },
    {
        rule: "fewer than 2 vCPUs",
        changes: { controlPlaneCpus: 1 },
        key: "k8s-vsphere-lab:controlPlanes[0]",
        fix: /1 vCPU: kubeadm's preflight needs at least 2/,
    },
    {
        rule: "a Kubernetes version that is not 1.<minor>.<patch>",
        changes: { kubernetesVersion: "v1.34" },
        key: "k8s-vsphere-lab:kubernetesVersion",
        fix: /is not 1\.<minor>\.<patch>/,
    },
    // Issue 12 item 2: from 1.36 the nodes run the pinned containerd release, chosen up to 1.37.
    {
        rule: "a Kubernetes minor newer than the one the pinned containerd is chosen for",
        changes: { kubernetesVersion: "1.38.0" },
        key: "k8s-vsphere-lab:kubernetesVersion",
        fix: /1\.38\.0 is newer than the Kubernetes minors the nodes' containerd 2\.3\.4 is pinned for \(1\.36-1\.37, .*Set a 1\.37 release, or first pin the containerd that containerd's RELEASES\.md "Kubernetes Support" table lists for 1\.38/,
    },
    {
        rule: "a hostname that is not an RFC 1123 label",
        changes: { workers: [{ name: "K8s_Worker01", address: "192.168.1.210" }] },
        key: "k8s-vsphere-lab:workers[0].name",
        fix: /RFC 1123/,
    },
    {
        rule: "a VRRP router id outside 1-255",
        changes: { vrrpRouterId: 256 },
        key: "k8s-vsphere-lab:vrrpRouterId",
        fix: /outside 1-255/,
    },
    {
        rule: "missing vCenter server",
        changes: { "vsphere:vsphereServer": undefined },
        key: "vsphere:vsphereServer",
        fix: /pulumi config set vsphere:vsphereServer/,
    },
    {
        rule: "missing vCenter password",
        changes: { "vsphere:password": undefined },
        key: "vsphere:password",
        fix: /pulumi config set --secret vsphere:password/,
    },
    {
        rule: "missing SSH private key",
        changes: { sshPrivateKey: undefined },
        key: "k8s-vsphere-lab:sshPrivateKey",
        fix: /pulumi config set --secret sshPrivateKey/,
    },
    {
        rule: "missing SSH public key",
        changes: { sshPublicKey: undefined },
        key: "k8s-vsphere-lab:sshPublicKey",
        fix: /is not set/,
    },
    {
        rule: "a misspelt key",
        changes: { workerMemoryMB: 4096 },
        key: "k8s-vsphere-lab:workerMemoryMB",
        fix: /not a key of this program/,
    },
];

describe("bad config is refused before any resource exists", () => {
    for (const { rule, changes, key, fix } of rules) {
        test(`refuses ${rule}, naming ${key}`, async () => {
            const { error, recorder } = await evaluateProgramError(labConfigWith(changes));
            assert.ok(error instanceof LabConfigError, `expected LabConfigError, got ${error}`);
            const problem = error.problems.find((p) => p.startsWith(key));
            assert.ok(problem, `no problem names ${key}; got:\n${error.message}`);
            assert.match(problem, fix);
            assert.equal(recorder.resources.length, 0, "no resource may be registered for a bad config");
        });
    }
});

test("every problem is reported at once, not just the first", () => {
    assert.throws(
        () => lab({ vrrpRouterId: 0, kubernetesVersion: "latest", podSubnet: "10.96.0.0/16" }),
        (error: LabConfigError) => error.problems.length === 3,
    );
});

test("the lab stack file is valid and matches seed 000", () => {
    const cfg = lab();
    assert.deepEqual(
        cfg.controlPlanes.map((n) => [n.name, n.address, n.cpus, n.memoryMb]),
        controlPlanes.map((n) => [n.name, n.address, 2, 2048]),
    );
    assert.deepEqual(
        cfg.workers.map((n) => [n.name, n.address, n.cpus, n.memoryMb]),
        workers.map((n) => [n.name, n.address, 2, 4096]),
    );
    assert.equal(cfg.apiEndpoint.vip, "192.168.1.220");
    assert.equal(cfg.apiEndpoint.host, "k8s.lab.example");
    assert.equal(cfg.apiEndpoint.port, 443);
    assert.deepEqual(cfg.addons.metallb.addressPool, { first: "192.168.1.225", last: "192.168.1.234" });
    assert.equal(cfg.kubernetes.podSubnet, "10.244.0.0/16");
    assert.equal(cfg.kubernetes.serviceSubnet, "10.96.0.0/12");
    assert.equal(cfg.kubernetes.minorVersion, "1.37");
});

test("issue 15: Secrets encrypted, the audit log on, Pod Security baseline and MetalLB autoAssign on by default", () => {
    const cfg = lab();
    assert.deepEqual(cfg.kubernetes.hardening, { encryptSecretsAtRest: true, auditLog: true, podSecurityStandard: "baseline", oidc: undefined });
    assert.equal(cfg.addons.metallb.autoAssign, true);
    assert.equal(lab({ loadBalancerAutoAssign: false }).addons.metallb.autoAssign, false);
});

test("the parsed config is immutable", () => {
    const cfg = lab();
    assert.throws(() => ((cfg.workers as any[]).push({})));
    assert.throws(() => {
        (cfg.apiEndpoint as any).port = 6443;
    });
});

test("vCenter password and SSH private key are read as secrets", async () => {
    const cfg = lab();
    assert.equal(await pulumi.isSecret(cfg.vsphere.password), true);
    assert.equal(await pulumi.isSecret(cfg.ssh.privateKey), true);
    assert.match(await promiseOf(cfg.ssh.privateKey), /^<secret /);
});

test("control planes reserve memory only when reserveControlPlaneMemory is on", () => {
    assert.ok(lab().controlPlanes.every((n) => !n.reserveMemory));
    assert.ok(lab().workers.every((n) => n.reserveMemory));
    assert.ok(lab({ reserveControlPlaneMemory: true }).controlPlanes.every((n) => n.reserveMemory));
});

test("one control plane and no workers is a valid lab", () => {
    const cfg = lab({ controlPlanes: controlPlanes.slice(0, 1), workers: [] });
    assert.equal(cfg.controlPlanes.length, 1);
    assert.equal(cfg.workers.length, 0);
});

test("issue 13: metricsServer is on by default, monitoring and flux off; the Git password is read as a secret only with a user name", async () => {
    const defaults = lab();
    assert.equal(defaults.addons.metricsServer, true);
    assert.equal(defaults.addons.monitoring.enabled, false);
    assert.equal(defaults.addons.flux.enabled, false);
    assert.equal(defaults.addons.flux.credentials, undefined);
    assert.deepEqual(defaults.addons.nodes, [...controlPlanes, ...workers]);
    assert.equal(lab({ ...fluxOn }).addons.flux.credentials, undefined);
    const withUser = lab({ ...fluxOn, fluxGitUsername: "flux" }).addons.flux.credentials!;
    assert.equal(withUser.username, "flux");
    assert.ok(pulumi.Output.isInstance(withUser.password));
    assert.equal(await (withUser.password as any).isSecret, true);
    // A stack without fluxGitPassword is fine while no user name asks for it.
    assert.equal(lab({ ...fluxOn, fluxGitPassword: undefined }).addons.flux.enabled, true);
    // Traefik may have an internal instance now.
    assert.equal(lab({ ingressController: "traefik", internalIngress: true }).addons.ingress.internal.enabled, true);
});

test("a refused proxy URL is never echoed with its password", async () => {
    const { error } = await evaluateProgramError(labConfigWith({ httpProxy: "http://lab:secret@proxy.lab.example:3128" }));
    assert.doesNotMatch(error.message, /secret/);
});
