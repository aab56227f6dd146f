/**
 * The offline plan's view of a program evaluation: every registered resource classified by a
 * table of type and name rules (so resources added to the program later show up on their own),
 * placed in its parent/child tree, assigned to the lab node it acts on, and linked to the steps it
 * waits for.
 */
import { RecordedResource } from "../../test/helpers/pulumiMocks";

/** What the plan needs to know about one lab node. */
export interface PlanNode {
    readonly name: string;
    readonly role: string;
    readonly address: string;
}

/** One class of resource: how to recognise it, how to draw it, how long `pulumi up` spends on it. */
export interface StepKind {
    readonly kind: string;
    /** Human label, used in the timeline and the README graph. */
    readonly label: string;
    /** Keys of the duration table whose sum is this step's estimated duration (empty: instant). */
    readonly durations: readonly string[];
    /** Shown in the README's compact graph; minor steps are contracted away there. */
    readonly major: boolean;
    /** Mermaid node shape: rect, stadium, hexagon, parallelogram, cylinder, circle. */
    readonly shape: "rect" | "stadium" | "hexagon" | "parallelogram" | "cylinder" | "circle";
    /** Does this rule describe the resource? */
    matches(resource: Pick<RecordedResource, "type" | "name" | "custom" | "inputs">): boolean;
}

const remoteCommand = "command:remote:Command";
/** A remote or local pulumi-command Command. */
export const isCommand = (type: string) => type === remoteCommand || type === "command:local:Command";
const commandNamed = (pattern: RegExp) => (r: Pick<RecordedResource, "type" | "name">) => isCommand(r.type) && pattern.test(r.name);
/** A VirtualMachine cloned as a linked clone (linkedClones). */
const isLinkedClone = (r: Pick<RecordedResource, "inputs">) => r.inputs?.clone?.linkedClone === true;

/**
 * The classification table, first match wins. Name patterns follow the program's naming
 * conventions (`<node>-prepare`, `<node>-kubeadm-join`, ...); anything unmatched still appears as
 * a generic command, custom resource or component.
 */
export const stepKinds: readonly StepKind[] = [
    { kind: "vsphere-provider", label: "vSphere provider", durations: ["provider"], major: true, shape: "hexagon", matches: (r) => r.type === "pulumi:providers:vsphere" },
    { kind: "provider", label: "provider", durations: ["provider"], major: false, shape: "hexagon", matches: (r) => r.type.startsWith("pulumi:providers:") },
    { kind: "vm", label: "VM clone + boot", durations: ["clone", "boot"], major: true, shape: "cylinder", matches: (r) => r.type === "vsphere:index/virtualMachine:VirtualMachine" && !isLinkedClone(r) },
    // Issue 14: linkedClones makes the clone a delta disk on the template's snapshot.
    { kind: "vm-linked", label: "VM linked clone + boot", durations: ["linked-clone", "boot"], major: true, shape: "cylinder", matches: (r) => r.type === "vsphere:index/virtualMachine:VirtualMachine" },
    // Commands that run only on a change (the upgrade steps): nothing runs on a first `pulumi up`.
    { kind: "on-change", label: "runs on a change", durations: [], major: false, shape: "rect", matches: (r) => isCommand(r.type) && !r.inputs?.create && Boolean(r.inputs?.update) },
    // Commands without a create (drain, kubeadm reset, forget) do their work at destroy: instant on `pulumi up`.
    { kind: "on-destroy", label: "runs on destroy", durations: [], major: false, shape: "rect", matches: (r) => isCommand(r.type) && !r.inputs?.create },
    { kind: "file", label: "stage file", durations: ["file"], major: false, shape: "parallelogram", matches: commandNamed(/-file-/) },
    { kind: "prepare", label: "prepare (containerd, kubelet, kubeadm)", durations: ["prepare"], major: true, shape: "rect", matches: commandNamed(/-prepare$/) },
    { kind: "ha-install", label: "keepalived + haproxy", durations: ["ha-install"], major: true, shape: "rect", matches: commandNamed(/-ha-install$/) },
    // Issue 14: node-prepare.sh pre-pulls the images init and a control-plane join would pull.
    { kind: "init", label: "kubeadm init", durations: ["init-prepulled"], major: true, shape: "rect", matches: commandNamed(/-kubeadm-init$/) },
    { kind: "join-credentials", label: "mint join credentials", durations: ["join-credentials"], major: false, shape: "rect", matches: commandNamed(/-join-credentials$/) },
    { kind: "control-plane-join", label: "kubeadm join --control-plane", durations: ["join-prepulled"], major: true, shape: "rect", matches: (r) => commandNamed(/-kubeadm-join$/)(r) && /\bJOIN_ROLE='control-plane'/.test(String(r.inputs?.create ?? "")) },
    { kind: "join", label: "kubeadm join", durations: ["join"], major: true, shape: "rect", matches: commandNamed(/-kubeadm-join$/) },
    { kind: "read", label: "read cluster credentials", durations: ["read"], major: false, shape: "rect", matches: commandNamed(/-read-/) },
    { kind: "command", label: "command", durations: ["command"], major: false, shape: "rect", matches: (r) => isCommand(r.type) },
    { kind: "api-ready", label: "API ready through the VIP", durations: ["api-ready"], major: true, shape: "circle", matches: (r) => r.type.startsWith("pulumi-nodejs:dynamic") && /api-ready$/.test(r.name) },
    { kind: "chart", label: "Helm chart", durations: ["chart"], major: true, shape: "stadium", matches: (r) => /^kubernetes:helm\.sh\/v\d+:(Release|Chart)$/.test(r.type) },
    { kind: "manifest", label: "Kubernetes object", durations: ["manifest"], major: false, shape: "stadium", matches: (r) => r.type.startsWith("kubernetes:") },
    { kind: "secret", label: "generated secret", durations: [], major: false, shape: "rect", matches: (r) => r.type.startsWith("random:") },
    { kind: "component", label: "component", durations: [], major: false, shape: "rect", matches: (r) => !r.custom },
    { kind: "other", label: "resource", durations: ["other"], major: false, shape: "rect", matches: () => true },
];

/** A resource of the plan. Steps (custom or remote resources) take time; components only group. */
export interface PlanResource {
    readonly index: number;
    readonly record: RecordedResource;
    readonly urn: string;
    readonly type: string;
    readonly name: string;
    readonly kind: StepKind;
    readonly isStep: boolean;
    /** Parent resource, undefined for the stack's direct children. */
    readonly parent?: PlanResource;
    readonly children: PlanResource[];
    /** The lab node it acts on: its SSH host, else its name's `<node>-` prefix, else its parent's. */
    readonly node?: PlanNode;
    /** Steps this one waits for: its dependencies and its provider, expanded to steps. */
    readonly waitsFor: PlanResource[];
}

/** The classified graph of one evaluation. */
export interface PlanModel {
    readonly stack: string;
    readonly project: string;
    readonly nodes: readonly PlanNode[];
    /** Every resource in the order the program declares it. */
    readonly resources: readonly PlanResource[];
    readonly roots: readonly PlanResource[];
    readonly byUrn: ReadonlyMap<string, PlanResource>;
}

/** The URN inside a provider reference (`<urn>::<id>`). */
export function providerUrn(reference: string): string {
    const cut = reference.lastIndexOf("::");
    return cut < 0 ? reference : reference.slice(0, cut);
}

/** The rule of the table that describes a resource. */
export function classify(resource: Pick<RecordedResource, "type" | "name" | "custom" | "inputs">): StepKind {
    return stepKinds.find((rule) => rule.matches(resource))!;
}

/** Builds the plan model from what the mocks recorded. */
export function buildPlanModel(records: readonly RecordedResource[], nodes: readonly PlanNode[], stack: string, project = "k8s-vsphere-lab"): PlanModel {
    const byAddress = new Map(nodes.map((n) => [n.address, n]));
    // Longest names first, so `k8s-worker10-x` is not taken for k8s-worker1's.
    const byNamePrefix = [...nodes].sort((a, b) => b.name.length - a.name.length);
    const nodeByName = (name: string) => byNamePrefix.find((n) => name === n.name || name.startsWith(`${n.name}-`));

    const byUrn = new Map<string, PlanResource>();
    const resources: PlanResource[] = records.map((record, index) => {
        const kind = classify(record);
        const resource: PlanResource = {
            index,
            record,
            urn: record.urn,
            type: record.type,
            name: record.name,
            kind,
            isStep: kind.kind !== "component",
            children: [],
            waitsFor: [],
        };
        byUrn.set(record.urn, resource);
        return resource;
    });
    const roots: PlanResource[] = [];
    for (const resource of resources) {
        const parent = byUrn.get(resource.record.parent);
        (resource as { parent?: PlanResource }).parent = parent;
        (parent ? parent.children : roots).push(resource);
    }
    // Nodes: resolved top-down so a component's node passes to children that name none.
    const assignNode = (resource: PlanResource) => {
        const host = resource.record.inputs?.connection?.host;
        const node = (typeof host === "string" ? byAddress.get(host) : undefined) ?? nodeByName(resource.name) ?? resource.parent?.node;
        (resource as { node?: PlanNode }).node = node;
        resource.children.forEach(assignNode);
    };
    roots.forEach(assignNode);

    // Dependencies arrive expanded to custom resources; expand any component left over too.
    const stepsOf = (resource: PlanResource): PlanResource[] =>
        resource.isStep ? [resource] : resource.children.flatMap(stepsOf);
    for (const resource of resources) {
        const urns = [...resource.record.dependencies];
        if (resource.record.provider) urns.push(providerUrn(resource.record.provider));
        const waits = new Set<PlanResource>();
        for (const urn of urns) {
            const target = byUrn.get(urn);
            if (target && target !== resource) stepsOf(target).forEach((step) => waits.add(step));
        }
        resource.waitsFor.push(...[...waits].sort((a, b) => a.index - b.index));
    }
    return { stack, project, nodes, resources, roots, byUrn };
}

/** Every step under a resource (itself included when it is one). */
export function stepsUnder(resource: PlanResource): PlanResource[] {
    return resource.isStep ? [resource, ...resource.children.flatMap(stepsUnder)] : resource.children.flatMap(stepsUnder);
}

/** True when `ancestor` is `resource` or one of its parents. */
export function isAncestorOrSelf(ancestor: PlanResource, resource: PlanResource): boolean {
    for (let at: PlanResource | undefined = resource; at; at = at.parent) {
        if (at === ancestor) return true;
    }
    return false;
}

/** The short type token `pulumi preview` prints (`vsphere:index/virtualMachine:VirtualMachine` -> `vsphere:index:VirtualMachine`). */
export function displayType(type: string): string {
    const [pkg, module, name] = type.split(":");
    if (name === undefined) return type;
    const slash = module.lastIndexOf("/");
    if (slash >= 0 && module.slice(slash + 1) === name.charAt(0).toLowerCase() + name.slice(1)) {
        return `${pkg}:${module.slice(0, slash)}:${name}`;
    }
    return type;
}
