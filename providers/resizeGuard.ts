import * as pulumi from "@pulumi/pulumi";

// Issue 11: the resize guard. A CPU or memory change power-cycles the node's VM (vSphere: no
// hot-add is enabled on the lab's VMs), and components/nodeResizeRoll.ts rolls it over the nodes
// one at a time, each drained before and Ready after. A Kubernetes upgrade rolls over the nodes the
// same way, but the two rolls are not chained to each other (each VM would otherwise wait for the
// cluster): in one `pulumi up` they could take two nodes, two etcd members, down at once. This
// dynamic resource holds each node's size and the Kubernetes version; its `check(olds, news)` runs
// at preview and refuses a resize together with an upgrade, naming the keys and the way to do them
// one after the other. Every VM and the first resize step depend on it, so it is judged before any
// node moves. (A memory reservation change is not a resize: vSphere changes a reservation on a
// running VM, terraform-provider-vsphere expandVirtualMachineResourceAllocation.)
//
// Like providers/clusterIdentity.ts, the provider's methods are serialized into a separate
// process: everything they use is plain data or a plain function declaration below.

/** One node's size as the VM gets it. */
export interface NodeSize {
    readonly role: string;
    readonly cpus: number;
    readonly memoryMb: number;
    readonly reserveMemory: boolean;
    /** The config keys that set this node's size, for the message: e.g. "workers[1].memoryMb or workerMemoryMb". */
    readonly keys: string;
}

/** The guard's inputs: every node's size, by node name, and the configured Kubernetes version. */
export interface ResizeGuardInputs {
    nodes: Record<string, NodeSize>;
    /** Absent in the state of a stack deployed before the guard recorded it. */
    kubernetesVersion?: string;
    /**
     * True once every node has its ResizeId (providers/resizeId.ts), which tells the resize steps
     * whether a VM really changes size. Absent in the state of a stack deployed before those
     * existed: its ResizeIds are created in the next `pulumi up`, empty, so that one must not
     * resize (the steps would take the new empty id for "never resized" and skip the drain).
     */
    nodesHaveResizeIds?: boolean;
}

/**
 * The reason a change is refused, or undefined: an existing node's CPU or memory change (a power
 * cycle) in the same `pulumi up` as a change of the Kubernetes version, or in the first `pulumi up`
 * of a program that gives each node a ResizeId (a state without `nodesHaveResizeIds`). Nodes added or
 * removed do not count: they are created or deleted, not power-cycled. A version recorded by an
 * older program (absent) is not compared.
 *
 * Self-contained on purpose: the dynamic provider's serialized `check` calls it.
 */
export function judgeResize(before: ResizeGuardInputs, after: ResizeGuardInputs): string | undefined {
    const resized = Object.keys(after.nodes)
        .filter((name) => name in before.nodes)
        .filter((name) => before.nodes[name].cpus !== after.nodes[name].cpus || before.nodes[name].memoryMb !== after.nodes[name].memoryMb)
        .sort();
    if (resized.length === 0) return undefined;
    if (before.nodesHaveResizeIds !== true) {
        return (
            `the size of ${resized.map((name) => `${name} (${after.nodes[name].keys})`).join(", ")} changes in the first pulumi up of this version of the program, ` +
            "which first creates each node's resize record (<node>-resize-id); a resize in that same pulumi up would power-cycle the VM without draining it. Nothing was changed. " +
            "Put the sizes back and run pulumi up once (it creates the records and touches no node), then change the sizes again and run pulumi up."
        );
    }
    const upgraded = before.kubernetesVersion !== undefined && before.kubernetesVersion !== after.kubernetesVersion;
    if (!upgraded) return undefined;
    return (
        `k8s-vsphere-lab:kubernetesVersion changes from ${before.kubernetesVersion} to ${after.kubernetesVersion} in the same pulumi up as the size of ` +
        `${resized.map((name) => `${name} (${after.nodes[name].keys})`).join(", ")}: the upgrade and the resize each take one node down at a time, ` +
        "but not in turn with each other, so two nodes (two etcd members) could be down at once. Nothing was changed. " +
        `Put kubernetesVersion back to ${before.kubernetesVersion} and run pulumi up (the resize), then set it again and run pulumi up (the upgrade).`
    );
}

/** The provider: `check` refuses; create/update only record the sizes; nothing is ever replaced. */
export const resizeGuardProvider: pulumi.dynamic.ResourceProvider<ResizeGuardInputs, ResizeGuardInputs> = {
    async check(olds, news) {
        const deployed = olds && typeof olds === "object" && olds.nodes && typeof olds.nodes === "object";
        const reason = deployed ? judgeResize(olds, news) : undefined;
        return { inputs: news, failures: reason === undefined ? [] : [{ property: "nodes", reason }] };
    },

    async diff(_id, olds, news) {
        const recorded = (inputs: ResizeGuardInputs) => JSON.stringify([inputs.nodes, inputs.kubernetesVersion, inputs.nodesHaveResizeIds === true]);
        return { changes: recorded(olds) !== recorded(news), replaces: [], deleteBeforeReplace: false };
    },

    async create(inputs) {
        return { id: "node-sizes", outs: inputs };
    },

    async update(_id, _olds, news) {
        return { outs: news };
    },
};

/** Records every node's size and the Kubernetes version; refuses, at preview, a resize together with an upgrade. */
export class ResizeGuard extends pulumi.dynamic.Resource {
    constructor(name: string, args: ResizeGuardInputs, opts?: pulumi.CustomResourceOptions) {
        super(resizeGuardProvider, name, { ...args }, opts, "lab", "ResizeGuard");
    }
}
