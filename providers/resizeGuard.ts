import * as pulumi from "@pulumi/pulumi";

// Issue 11: the resize guard. A CPU or memory change power-cycles the node's VM (vSphere: no
// hot-add is enabled on the lab's VMs), and Pulumi updates every changed VM at the same time: a
// role-wide key (controlPlaneMemoryMb, ...) would take every control plane down at once and etcd
// with them. This dynamic resource holds each node's size; its `check(olds, news)` runs at
// preview and refuses a change that resizes more than one node, naming the keys and the way to
// roll it (one node per `pulumi up`). Every VM depends on it, so it is judged before any VM moves.
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

/** The guard's inputs: every node's size, by node name. */
export interface ResizeGuardInputs {
    nodes: Record<string, NodeSize>;
}

/**
 * The reason a change of sizes is refused, or undefined when at most one existing node is resized.
 * Nodes added or removed do not count: they are created or deleted, not power-cycled.
 *
 * Self-contained on purpose: the dynamic provider's serialized `check` calls it.
 */
export function judgeResize(before: Record<string, NodeSize>, after: Record<string, NodeSize>): string | undefined {
    const resized = Object.keys(after)
        .filter((name) => name in before)
        .filter((name) => {
            const [old, next] = [before[name], after[name]];
            return old.cpus !== next.cpus || old.memoryMb !== next.memoryMb || old.reserveMemory !== next.reserveMemory;
        })
        .sort();
    if (resized.length <= 1) return undefined;
    const controlPlanes = resized.filter((name) => after[name].role === "control-plane").length;
    const why =
        controlPlanes >= 2
            ? `${controlPlanes} control planes down at the same time lose etcd's quorum and the API`
            : "their workloads stop at the same time";
    return (
        `this change resizes ${resized.length} nodes at once (${resized.map((name) => `${name}: ${after[name].keys}`).join("; ")}): ` +
        `each resize power-cycles the node's VM, and ${why}. Nothing was changed. Resize one node per pulumi up: ` +
        "give one entry of controlPlanes or workers its own cpus/memoryMb (e.g. workers[0].memoryMb: 8192), run pulumi up, then the next; " +
        "set the role-wide key (controlPlaneCpus, controlPlaneMemoryMb, workerCpus, workerMemoryMb, reserveControlPlaneMemory) once every node has the new size."
    );
}

/** The provider: `check` refuses; create/update only record the sizes; nothing is ever replaced. */
export const resizeGuardProvider: pulumi.dynamic.ResourceProvider<ResizeGuardInputs, ResizeGuardInputs> = {
    async check(olds, news) {
        const deployed = olds && typeof olds === "object" && olds.nodes && typeof olds.nodes === "object";
        const reason = deployed ? judgeResize(olds.nodes, news.nodes) : undefined;
        return { inputs: news, failures: reason === undefined ? [] : [{ property: "nodes", reason }] };
    },

    async diff(_id, olds, news) {
        return { changes: JSON.stringify(olds.nodes) !== JSON.stringify(news.nodes), replaces: [], deleteBeforeReplace: false };
    },

    async create(inputs) {
        return { id: "node-sizes", outs: inputs };
    },

    async update(_id, _olds, news) {
        return { outs: news };
    },
};

/** Records every node's size and refuses, at preview, a change that resizes two or more nodes at once. */
export class ResizeGuard extends pulumi.dynamic.Resource {
    constructor(name: string, args: ResizeGuardInputs, opts?: pulumi.CustomResourceOptions) {
        super(resizeGuardProvider, name, { ...args }, opts, "lab", "ResizeGuard");
    }
}
