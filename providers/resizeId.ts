import * as pulumi from "@pulumi/pulumi";

// The id of a node's latest size change, for its resize steps (components/nodeResizeRoll.ts).
//
// Those steps run on any change of their inputs, and node-resize.sh's text is one of them: a new
// program version that edits the script (or a file it includes) runs every node's drain again,
// with no VM to power-cycle behind it, and the return would then wait for a reboot that never
// comes. The id tells the script whether its node's VM really changes size in this `pulumi up`:
// empty for a node whose size never changed since it was added, new for each size change, and
// kept while the size stays. The script drains only for an id whose return has not finished
// (it records finished ids in the cluster). One small resource per node, so a resize changes only
// the resized node's id and `pulumi preview` keeps every other node's steps unchanged.
//
// Like providers/resizeGuard.ts, the provider's methods are serialized into a separate process:
// everything they use is plain data or a function declared inside them.

/** Inputs: the node's size as its VM gets it. */
export interface ResizeIdInputs {
    cpus: number;
    memoryMb: number;
}

/** State: the size and the id of its latest change. */
export interface ResizeIdOutputs extends ResizeIdInputs {
    /** Empty for a size never changed; else the time of the `pulumi up` that changed it (ISO 8601). */
    resizeId: string;
}

/** The provider: a change of CPU or memory updates the id; nothing is ever replaced. */
export const resizeIdProvider: pulumi.dynamic.ResourceProvider<ResizeIdInputs, ResizeIdOutputs> = {
    async diff(_id, olds, news) {
        return { changes: olds.cpus !== news.cpus || olds.memoryMb !== news.memoryMb, replaces: [], deleteBeforeReplace: false };
    },

    async create(inputs) {
        return { id: "resize-id", outs: { cpus: inputs.cpus, memoryMb: inputs.memoryMb, resizeId: "" } };
    },

    async update(_id, _olds, news) {
        // Only a size change reaches update (diff). The time is new for every pulumi up, so an
        // id never comes back for a later change, nor for a node removed and added again.
        return { outs: { cpus: news.cpus, memoryMb: news.memoryMb, resizeId: new Date().toISOString() } };
    },
};

/** One node's size and the id of its latest change ({@link ResizeIdOutputs}). */
export class ResizeId extends pulumi.dynamic.Resource {
    public readonly resizeId!: pulumi.Output<string>;

    constructor(name: string, args: ResizeIdInputs, opts?: pulumi.CustomResourceOptions) {
        super(resizeIdProvider, name, { ...args, resizeId: undefined }, opts, "lab", "ResizeId");
    }
}
