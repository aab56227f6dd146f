// Issue 11: the change matrix. The program is evaluated under mocks for the lab config and for
// one changed key, and each resource's change is classified with the providers' own diff rules:
//
//  - ClusterIdentity (providers/clusterIdentity.ts) and ResizeGuard (providers/resizeGuard.ts):
//    their check(olds, news) runs at preview; a failure refuses the whole `pulumi up` before any
//    resource changes.
//  - pulumi-command remote.Command (pulumi-command docs, "Triggers"): only a `triggers` change
//    replaces; any other input change runs `update`, or `create` again when there is no update.
//  - replaceWith (@pulumi/pulumi resource.d.ts): a resource is replaced when one it lists is.
//  - vsphere VirtualMachine (pulumi-vsphere v4.17.0, terraform-provider-vsphere docs): a change
//    under `clone` replaces the VM (unless ignored with ignoreChanges); numCpus/memory changes
//    power-cycle it (no CPU/memory hot-add is enabled: vsphere/virtual_machine_config_structure.go,
//    expandCPUCountConfig and expandMemorySizeConfig set reboot_required); a memoryReservation
//    change does not (expandVirtualMachineResourceAllocation, no restart); an extraConfig change
//    power-cycles it unless extraConfigRebootRequired is false; other changes update it in place.
//  - replaceOnChanges (Pulumi resource option docs): a change of a listed input replaces the
//    resource, and with deleteBeforeReplace the old one is deleted before the new one is created.
//  - anything else: an input change is an update.
import { test } from "node:test";
import assert from "node:assert/strict";
import { clusterIdentityProvider, ClusterIdentityInputs } from "../../providers/clusterIdentity";
import { resizeGuardProvider, ResizeGuardInputs } from "../../providers/resizeGuard";
import { evaluateProgram } from "../helpers/program";
import { RecordedResource } from "../helpers/pulumiMocks";
import { labConfigWith } from "../helpers/stackConfig";

type Outcome = "same" | "create" | "delete" | "update" | "power-cycle" | "replace" | "refused";

/** Stable JSON of a value (sorted keys), for comparing inputs. */
function canonical(value: unknown): string {
    return JSON.stringify(value, (_key, v) =>
        v && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v,
    );
}

/** A copy of `inputs` without the ignoreChanges paths ("clone", "disks[0].size", ...). */
function withoutIgnored(inputs: Record<string, unknown>, ignored: readonly string[]): Record<string, unknown> {
    const copy = JSON.parse(JSON.stringify(inputs)) as Record<string, unknown>;
    for (const ignoredPath of ignored) {
        const steps = ignoredPath.split(/\.|\[(\d+)\]/).filter((step) => step !== undefined && step !== "");
        let parent: any = copy;
        for (const step of steps.slice(0, -1)) parent = parent?.[step];
        if (parent && typeof parent === "object") delete parent[steps[steps.length - 1]];
    }
    return copy;
}

function changedKeys(before: Record<string, unknown>, after: Record<string, unknown>, ignored: readonly string[]): string[] {
    const [olds, news] = [withoutIgnored(before, ignored), withoutIgnored(after, ignored)];
    return [...new Set([...Object.keys(olds), ...Object.keys(news)])].filter((key) => canonical(olds[key]) !== canonical(news[key]));
}

/** One resource's change under the rules at the top of this file (before replaceWith). */
async function classify(before: RecordedResource, after: RecordedResource): Promise<Outcome> {
    if (before.type === "pulumi-nodejs:dynamic/lab:ClusterIdentity") {
        const result = await clusterIdentityProvider.check!(before.inputs as ClusterIdentityInputs, after.inputs as ClusterIdentityInputs);
        if ((result.failures ?? []).length > 0) return "refused";
    }
    if (before.type === "pulumi-nodejs:dynamic/lab:ResizeGuard") {
        const result = await resizeGuardProvider.check!(before.inputs as ResizeGuardInputs, after.inputs as ResizeGuardInputs);
        if ((result.failures ?? []).length > 0) return "refused";
    }
    // The engine applies the new program's ignoreChanges (the goal state's options).
    const changed = changedKeys(before.inputs, after.inputs, after.ignoreChanges);
    if (changed.length === 0) return "same";
    if (changed.some((key) => after.replaceOnChanges.includes(key))) return "replace";
    if (before.type === "command:remote:Command") return changed.includes("triggers") ? "replace" : "update";
    if (before.type === "vsphere:index/virtualMachine:VirtualMachine") {
        if (changed.includes("clone")) return "replace";
        if (changed.some((key) => ["numCpus", "memory"].includes(key))) return "power-cycle";
        if (changed.includes("extraConfig") && after.inputs.extraConfigRebootRequired !== false) return "power-cycle";
    }
    return "update";
}

/** Every resource's outcome, by name, when the lab config (with `from`) gets `changes`. */
async function plan(changes: Record<string, unknown>, from: Record<string, unknown> = {}): Promise<Map<string, Outcome>> {
    const base = (await evaluateProgram(labConfigWith(from))).recorder.resources.slice();
    const next = (await evaluateProgram(labConfigWith({ ...from, ...changes }))).recorder.resources.slice();
    const byUrn = (list: RecordedResource[]) => new Map(list.map((r) => [r.urn, r]));
    const [olds, news] = [byUrn(base), byUrn(next)];
    const outcome = new Map<string, Outcome>();
    for (const [urn, after] of news) {
        const before = olds.get(urn);
        outcome.set(urn, before ? await classify(before, after) : "create");
    }
    for (const urn of olds.keys()) if (!news.has(urn)) outcome.set(urn, "delete");
    // replaceWith, to a fixed point.
    for (let again = true; again; ) {
        again = false;
        for (const [urn, after] of news) {
            if (outcome.get(urn) !== "replace" && after.replaceWith.some((dep) => outcome.get(dep) === "replace")) {
                outcome.set(urn, "replace");
                again = true;
            }
        }
    }
    return new Map([...outcome].map(([urn, o]) => [urn.split("::").pop()!, o]));
}

const withOutcome = (result: Map<string, Outcome>, ...wanted: Outcome[]) => [...result].filter(([, o]) => wanted.includes(o)).map(([n]) => n).sort();
const vms = ["k8s-control01-vm", "k8s-control02-vm", "k8s-control03-vm", "k8s-worker01-vm", "k8s-worker02-vm", "k8s-worker03-vm"];

test("the same config twice changes nothing (the program is deterministic)", async () => {
    const result = await plan({});
    assert.deepEqual(withOutcome(result, "create", "delete", "update", "power-cycle", "replace", "refused"), []);
});

const controlPlanes = [
    { name: "k8s-control01", address: "192.168.1.200" },
    { name: "k8s-control02", address: "192.168.1.201" },
    { name: "k8s-control03", address: "192.168.1.202" },
];

// Rows of issue 11's table whose wanted outcome is "refused at preview".
const refusedRows: [string, Record<string, unknown>, Record<string, unknown>?][] = [
    ["the first control plane re-ordered", { controlPlanes: [controlPlanes[1], controlPlanes[0], controlPlanes[2]] }],
    ["the first control plane removed (another added)", { controlPlanes: [controlPlanes[1], controlPlanes[2], { name: "k8s-control04", address: "192.168.1.203" }] }],
    ["apiVip", { apiVip: "192.168.1.221" }],
    ["apiPort", { apiPort: 8443 }],
    ["apiDnsName", { apiDnsName: "api.lab.example" }],
    ["podSubnet", { podSubnet: "10.32.0.0/16" }],
    ["serviceSubnet", { serviceSubnet: "10.100.0.0/16" }],
    ["clusterName", { clusterName: "other-lab" }],
    ["cni", { cni: "calico" }],
    ["kubernetesVersion downgraded", { kubernetesVersion: "1.36.4" }],
    // The lab's 1.37 is the newest minor the program takes, so the skip starts from a 1.35 cluster.
    ["kubernetesVersion skipping a minor", { kubernetesVersion: "1.37.1" }, { kubernetesVersion: "1.35.9" }],
    ["encryptSecretsAtRest off", { encryptSecretsAtRest: false }],
    ["auditLog off", { auditLog: false }],
    ["podSecurityStandard", { podSecurityStandard: "restricted" }],
];

// Issue 11 item 4: a resize rolls (components/nodeResizeRoll.ts): every resized VM is power-cycled,
// and exactly the resized nodes' drain and return steps run (their order is tested in
// test/unit/nodeResizeRoll.test.ts); nothing is refused, replaced, created or deleted.
const controlPlaneVms = vms.slice(0, 3);
const workerVms = vms.slice(3);
// Per resized node: its size-change id (providers/resizeId.ts), then its drain and return, which carry that id.
const resizeSteps = (vmNames: readonly string[]) =>
    vmNames.flatMap((vm) => [vm.replace(/-vm$/, "-resize-id"), vm.replace(/-vm$/, "-resize-drain"), vm.replace(/-vm$/, "-resize-return")]);
for (const [row, changes, resized] of [
    ["controlPlaneMemoryMb", { controlPlaneMemoryMb: 4096 }, controlPlaneVms],
    ["controlPlaneCpus", { controlPlaneCpus: 4 }, controlPlaneVms],
    ["workerCpus", { workerCpus: 4 }, workerVms],
    ["workerMemoryMb", { workerMemoryMb: 8192 }, workerVms],
] as const) {
    test(`change matrix: ${row} power-cycles every VM of the role, each drained before and returned after by its own resize steps`, async () => {
        const result = await plan(changes);
        assert.deepEqual(withOutcome(result, "power-cycle"), [...resized].sort());
        assert.deepEqual(withOutcome(result, "update"), [...resizeSteps(resized), "lab-resize-guard"].sort());
        assert.deepEqual(withOutcome(result, "replace", "refused", "create", "delete"), []);
    });
}

test("change matrix: one node's own memoryMb power-cycles that VM only and runs its resize steps; no kubeadm step runs again", async () => {
    const result = await plan({ workers: [{ name: "k8s-worker01", address: "192.168.1.210", memoryMb: 8192 }, { name: "k8s-worker02", address: "192.168.1.211" }, { name: "k8s-worker03", address: "192.168.1.212" }] });
    assert.deepEqual(withOutcome(result, "power-cycle"), ["k8s-worker01-vm"]);
    assert.deepEqual(withOutcome(result, "update"), ["k8s-worker01-resize-drain", "k8s-worker01-resize-id", "k8s-worker01-resize-return", "lab-resize-guard"]);
    assert.deepEqual(withOutcome(result, "replace", "refused", "create", "delete"), []);
});

test("change matrix: reserveControlPlaneMemory changes the control planes' reservations in place: no power cycle, no drain", async () => {
    const result = await plan({ reserveControlPlaneMemory: true });
    assert.deepEqual(withOutcome(result, "update"), [...controlPlaneVms, "lab-resize-guard"].sort());
    assert.deepEqual(withOutcome(result, "power-cycle", "replace", "refused", "create", "delete"), []);
});

test("change matrix: a resize together with a kubernetesVersion change is refused at preview by the resize guard", async () => {
    const result = await plan({ workerMemoryMb: 8192, kubernetesVersion: "1.37.2" });
    assert.equal(result.get("lab-resize-guard"), "refused");
});

for (const [row, changes, from] of refusedRows) {
    test(`change matrix: ${row} is refused at preview by the cluster-identity guard`, async () => {
        const result = await plan(changes, from);
        assert.equal(result.get("lab-identity"), "refused");
    });
}

// The mocks' template lookup answers the same uuid for any name, so only the linkedClones row
// changes clone.* here; ignoreChanges covers clone.templateUuid the same way.
for (const key of ["vsphereTemplate", "linkedClones"]) {
    test(`change matrix: ${key} applies to new nodes only: no VM is replaced or power-cycled, no step runs again`, async () => {
        // linkedClones refuses diskGb (a linked clone keeps the template's disk), so the row drops it.
        const result = await plan(key === "linkedClones" ? { linkedClones: true, diskGb: undefined } : { vsphereTemplate: "ubuntu-24.04-cloudimg-v2" });
        assert.deepEqual(withOutcome(result, "replace", "power-cycle", "refused"), []);
        // The existing VMs keep their disks (no shrink to the template's size is asked of vSphere).
        for (const vm of vms) assert.equal(result.get(vm), "same", vm);
    });
}

for (const [key, value] of [
    ["dnsServers", ["192.168.1.2"]],
    ["searchDomains", ["lab2.example"]],
    ["ntpServers", ["192.168.1.1"]],
    ["gateway", "192.168.1.254"],
    ["sshPublicKey", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBkQ2m0l7pv1mB3N8oKkq3Xc0pV8wq6Yg7r4d5ZbAAAA other@example"],
] as const) {
    test(`change matrix: ${key} updates the VMs' extraConfig without a power cycle and re-runs no kubeadm step`, async () => {
        const result = await plan({ [key]: value });
        for (const vm of vms) assert.equal(result.get(vm), "update", vm);
        assert.deepEqual(withOutcome(result, "replace", "power-cycle", "refused"), []);
    });
}

// Issue 11 item 4: control planes added change every running control plane's keepalived peers
// and haproxy backends: their reload steps run, chained one after another (test/unit/haEndpoint.test.ts);
// their installs do not run again; the new control planes are created and join.
test("change matrix: two control planes added roll the new HA config over the running control planes' reload steps; no install runs again there", async () => {
    const result = await plan({ controlPlanes: [...controlPlanes, { name: "k8s-control04", address: "192.168.1.203" }, { name: "k8s-control05", address: "192.168.1.204" }] });
    for (const node of ["k8s-control01", "k8s-control02", "k8s-control03"]) {
        assert.equal(result.get(`lab-ha-${node}-ha-reload`), "update", node);
        assert.equal(result.get(`lab-ha-${node}-ha-install`), "same", node);
        assert.equal(result.get(`lab-ha-${node}-file-haproxy.cfg`), "update", node);
        assert.equal(result.get(`lab-ha-${node}-file-keepalived.conf`), "update", node);
    }
    for (const node of ["k8s-control04", "k8s-control05"]) {
        assert.equal(result.get(`lab-ha-${node}-ha-install`), "create", node);
        assert.equal(result.get(`lab-ha-${node}-ha-reload`), "create", node);
        assert.equal(result.get(`${node}-vm`), "create", node);
    }
    assert.deepEqual(withOutcome(result, "power-cycle", "refused", "delete"), []);
    // Replaced: only node 0's revocation of join credentials, which runs again after new joins (issue 15).
    assert.deepEqual(withOutcome(result, "replace"), ["k8s-control01-join-credentials-revoke"]);
});

test("change matrix: loadBalancerAutoAssign off updates only MetalLB's address pool", async () => {
    const result = await plan({ loadBalancerAutoAssign: false });
    assert.deepEqual(withOutcome(result, "create", "delete", "update", "power-cycle", "replace", "refused"), ["lab-addons-metallb-pool"]);
});

test("change matrix: renewCertificatesBefore updates only the renewal schedule (its round, and so the renewal steps, change only when a renewal is due)", async () => {
    const result = await plan({ renewCertificatesBefore: 60 });
    assert.deepEqual(withOutcome(result, "create", "delete", "update", "power-cycle", "replace", "refused"), ["lab-certificate-renewal"]);
});

// Issue 13 item 1: an OIDC change rolls onto the control planes (components/apiServerReconfigure.ts):
// each one's apiserver-reconfigure step is replaced (runs again), chained node 0 -> 02 -> 03 (see
// test/unit/apiServerReconfigure.test.ts); the staged kubeadm configs and the CA file follow;
// no VM, preparation, init or join changes, and the identity guard lets it through.
const oidcOn = { oidcIssuerUrl: "https://id.lab.example/realms/lab", oidcClientId: "kubernetes" };
const caPem = (body: string) => `-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----`;
const rollSteps = ["k8s-control01-apiserver-reconfigure", "k8s-control02-apiserver-reconfigure", "k8s-control03-apiserver-reconfigure"];
for (const [row, from, changes, created, deleted] of [
    ["OIDC turned on (with a CA)", {}, { ...oidcOn, oidcCaCertificate: caPem("AA==") }, 3, 0],
    ["oidcIssuerUrl changed", oidcOn, { oidcIssuerUrl: "https://id2.lab.example/realms/lab" }, 0, 0],
    ["oidcGroupsClaim changed", oidcOn, { oidcGroupsClaim: "roles" }, 0, 0],
    ["oidcCaCertificate replaced", { ...oidcOn, oidcCaCertificate: caPem("AA==") }, { oidcCaCertificate: caPem("BB==") }, 3, 3],
    ["OIDC turned off", { ...oidcOn, oidcCaCertificate: caPem("AA==") }, { oidcIssuerUrl: undefined, oidcClientId: undefined, oidcCaCertificate: undefined }, 0, 3],
] as const) {
    test(`change matrix: ${row} rolls the apiserver flags onto the control planes, one at a time; nothing else runs again`, async () => {
        const result = await plan(changes, from);
        assert.notEqual(result.get("lab-identity"), "refused");
        assert.deepEqual(withOutcome(result, "replace"), rollSteps);
        assert.deepEqual(withOutcome(result, "power-cycle", "refused"), []);
        // A new CA is a new file (its hash in the name), so the manifest changes; the old one goes last.
        const caFiles = (...outcomes: Outcome[]) => withOutcome(result, ...outcomes).filter((name) => /-file-oidc-ca-[0-9a-f]{16}\.crt$/.test(name));
        assert.equal(caFiles("create").length, created);
        assert.equal(caFiles("delete").length, deleted);
        assert.deepEqual(withOutcome(result, "create", "delete").filter((name) => !caFiles("create", "delete").includes(name)), []);
        const updated = withOutcome(result, "update");
        assert.ok(updated.every((name) => /^k8s-control0\d-file-kubeadm-(init|apiserver)\.yaml$/.test(name)), `updated: ${updated.join(", ")}`);
        for (const name of [...vms, "k8s-control01-kubeadm-init", "k8s-control02-kubeadm-join", "k8s-control03-kubeadm-join", "k8s-control01-prepare"]) {
            assert.equal(result.get(name), "same", name);
        }
    });
}

// Issue 12 item 1: a new patch or the next minor upgrades in place. What runs again is node
// preparation (an update that leaves a joined node's packages to the upgrade), the etcd tools'
// install, the staged kubeadm configs (node 0's init config, unused after init, and each control
// plane's apiserver config an OIDC roll would use), and every node's upgrade steps;
// no VM, init, join or add-on input changes.
const nodeNames = ["k8s-control01", "k8s-control02", "k8s-control03", "k8s-worker01", "k8s-worker02", "k8s-worker03"];
const upgradeSteps = (node: string) => ["kubeadm", "drain", "kubelet", "uncordon"].map((step) => `${node}-upgrade-${step}`);
// Issue 12 item 2: 1.35 -> 1.36 is the same row although the nodes' containerd changes with it
// (node preparation and the kubelet steps get the containerd release's environment).
for (const [row, version, from] of [
    ["a kubernetesVersion patch", "1.37.2", "1.37.1"],
    ["the next kubernetesVersion minor", "1.37.1", "1.36.4"],
    ["the next kubernetesVersion minor, onto containerd 2 (1.35 -> 1.36)", "1.36.4", "1.35.9"],
] as const) {
    test(`change matrix: ${row} passes the guard and re-runs only the upgrade steps, node preparation and tools' installs (updates); no VM, join or add-on changes`, async () => {
        const result = await plan({ kubernetesVersion: version }, { kubernetesVersion: from });
        assert.equal(result.get("lab-identity"), "update");
        assert.deepEqual(withOutcome(result, "replace", "power-cycle", "refused", "create", "delete"), []);
        const updated = withOutcome(result, "update");
        for (const node of nodeNames) {
            for (const step of upgradeSteps(node)) assert.equal(result.get(step), "update", step);
            assert.equal(result.get(`${node}-vm`), "same", node);
        }
        assert.equal(result.get("lab-kubernetes-upgrade-preflight"), "update");
        const expected = /^(lab-identity|lab-resize-guard|lab-kubernetes-upgrade-preflight|k8s-\w+-(prepare|upgrade-(kubeadm|drain|kubelet|uncordon)|etcd-snapshots)|k8s-control0\d-file-kubeadm-(init|apiserver)\.yaml)$/;
        assert.deepEqual(updated.filter((name) => !expected.test(name)), []);
        for (const step of ["k8s-control01-kubeadm-init", "k8s-control02-kubeadm-join", "k8s-worker01-kubeadm-join", "k8s-worker01-join-credentials"]) assert.equal(result.get(step), "same", step);
        assert.deepEqual(updated.filter((name) => name.startsWith("lab-addons")), []);
    });
}

test("change matrix: upgradeWorkersAtOnce changes the order of a later upgrade only: no resource's inputs change", async () => {
    const result = await plan({ upgradeWorkersAtOnce: 2 });
    assert.deepEqual(withOutcome(result, "create", "delete", "update", "power-cycle", "replace", "refused"), []);
});

// Issue 13: the add-on switches on a running lab. The kubelet and metrics settings are part of
// the init's kubeadm config: the staged file on node 0 is updated, no init or join runs again
// (they apply to nodes kubeadm configures from then on; README "Metrics, monitoring and GitOps").
for (const [key, changes, created] of [
    ["metricsServer off", { metricsServer: false }, []],
    ["monitoring on", { monitoring: true }, ["lab-addons-monitoring", "lab-addons-grafana-admin", "lab-addons-grafana-admin-password"]],
    ["flux on", { flux: true, fluxGitUrl: "https://git.lab.example/lab/gitops.git" }, ["lab-addons-flux", "lab-addons-flux-source", "lab-addons-flux-kustomization"]],
] as const) {
    test(`change matrix: ${key} adds or removes only add-ons and updates node 0's staged kubeadm config; nothing is replaced`, async () => {
        const result = await plan(changes);
        assert.deepEqual(withOutcome(result, "replace", "power-cycle", "refused"), []);
        for (const name of created) assert.equal(result.get(name), "create", name);
        const updated = withOutcome(result, "update");
        assert.ok(updated.every((name) => /^k8s-control0\d-file-kubeadm-(init|apiserver)\.yaml$/.test(name)), `updated: ${updated.join(", ")}`);
        for (const vm of vms) assert.equal(result.get(vm), "same", vm);
        // The staged apiserver configs follow, but the OIDC roll does not run (its trigger is OIDC's).
        for (const node of ["k8s-control01", "k8s-control02", "k8s-control03"]) assert.equal(result.get(`${node}-apiserver-reconfigure`), "same", node);
    });
}

// Issue 11: switching the ingress controller with a fixed ingressAddress. MetalLB gives an address
// to one Service at a time, so the new controller's Service gets it only after the old one is gone.
for (const [from, to] of [["ingress-nginx", "traefik"], ["traefik", "ingress-nginx"]] as const) {
    test(`change matrix: ingressController ${from} -> ${to} replaces the ingress release, the old one deleted first`, async () => {
        const base = { ingressController: from, ingressAddress: "192.168.1.225", internalIngress: true, internalIngressAddress: "192.168.1.226" };
        const base0 = (await evaluateProgram(labConfigWith(base))).recorder.resources.slice();
        const next0 = (await evaluateProgram(labConfigWith({ ...base, ingressController: to }))).recorder.resources.slice();
        for (const role of ["lab-addons-ingress", "lab-addons-ingress-internal"]) {
            const [before, after] = [base0, next0].map((list) => list.find((r) => r.name === role)!);
            assert.equal(before.urn, after.urn, `${role}: one resource whichever controller fills it`);
            assert.equal(await classify(before, after), "replace", role);
            assert.equal(after.deleteBeforeReplace, true, `${role}: the old controller must go first`);
            assert.equal(after.inputs.chart, to);
        }
    });
}

// Issue 11: removing a node whose host is dead. Step 1 marks it unreachable: nothing runs (no SSH to
// the dead host), only the drain and reset are set to be dropped without running on removal.
test("change matrix: marking a worker unreachable changes no input of any resource (nothing runs on the dead host)", async () => {
    const workers = [
        { name: "k8s-worker01", address: "192.168.1.210" },
        { name: "k8s-worker02", address: "192.168.1.211", unreachable: true },
        { name: "k8s-worker03", address: "192.168.1.212" },
    ];
    const result = await plan({ workers });
    assert.deepEqual(withOutcome(result, "create", "delete", "update", "power-cycle", "replace", "refused"), []);
    const { recorder } = await evaluateProgram(labConfigWith({ workers }));
    const retained = recorder.resources.filter((r) => r.retainOnDelete).map((r) => r.name).sort();
    assert.deepEqual(retained, ["k8s-worker02-drain", "k8s-worker02-reset"], "only the dead node's own clean-ups are skipped; forget still runs on node 0");
});

test("change matrix: controlPlaneSchedulable on a running lab re-applies the taint through node 0 and re-runs no kubeadm step", async () => {
    const result = await plan({ controlPlaneSchedulable: true });
    assert.equal(result.get("k8s-control01-control-plane-taint"), "update");
    assert.deepEqual(withOutcome(result, "replace", "power-cycle", "refused", "create", "delete"), []);
    for (const step of ["k8s-control01-kubeadm-init", "k8s-control02-kubeadm-join", "k8s-control03-kubeadm-join"]) assert.equal(result.get(step), "same", step);
});

// Issue 13 item 7: a proxy added to a running lab reaches every node through node-prepare.sh.
test("change matrix: httpProxy on a running lab re-runs node preparation (updates) and updates the VMs' guestinfo; nothing is replaced or power-cycled", async () => {
    const result = await plan({ httpProxy: "http://proxy.lab.example:3128" });
    assert.deepEqual(withOutcome(result, "replace", "power-cycle", "refused", "create", "delete"), []);
    for (const node of ["k8s-control01", "k8s-control02", "k8s-control03", "k8s-worker01", "k8s-worker02", "k8s-worker03"]) {
        assert.equal(result.get(`${node}-prepare`), "update", node);
        assert.equal(result.get(`${node}-vm`), "update", node);
    }
    for (const step of ["k8s-control01-kubeadm-init", "k8s-worker01-kubeadm-join"]) assert.equal(result.get(step), "same", step);
});

test("change matrix: controlPlaneAntiAffinity off deletes only the DRS rule; no VM changes", async () => {
    const result = await plan({ controlPlaneAntiAffinity: false });
    assert.deepEqual(withOutcome(result, "create", "delete", "update", "power-cycle", "replace", "refused"), ["lab-control-plane-anti-affinity"]);
    assert.equal(result.get("lab-control-plane-anti-affinity"), "delete");
});

test("change matrix: noProxy behind a proxy re-runs node preparation only (updates), like httpProxy", async () => {
    const proxied = { httpProxy: "http://proxy.lab.example:3128" };
    const base = (await evaluateProgram(labConfigWith(proxied))).recorder.resources.slice();
    const next = (await evaluateProgram(labConfigWith({ ...proxied, noProxy: [".lab.example"] }))).recorder.resources.slice();
    const changed: string[] = [];
    for (const after of next) {
        const before = base.find((r) => r.urn === after.urn);
        assert.ok(before, `${after.name} created`);
        const outcome = await classify(before, after);
        if (outcome !== "same") changed.push(`${after.name} ${outcome}`);
    }
    // The upgrade's package steps download through the proxy too (they skip a node at the version).
    assert.deepEqual(changed.filter((line) => !/-(prepare|etcd-snapshots|upgrade-kubeadm|upgrade-kubelet) update$/.test(line)), []);
    assert.ok(changed.includes("k8s-worker01-prepare update"));
});
