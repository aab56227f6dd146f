import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { ResizeId } from "../providers/resizeId";
import { NodeSpec } from "./config";
import { NodeConnection, runScript } from "./remoteScript";

/** Arguments of a resize roll. */
export interface NodeResizeRollArgs {
    /** Control planes in config order: the first one runs the steps (its admin kubeconfig). */
    readonly controlPlanes: readonly NodeSpec[];
    readonly workers: readonly NodeSpec[];
    /**
     * SSH to the first control plane at its configured address, not through its VM's outputs: the
     * steps must not depend on any VM (each VM depends on its node's drain), or a first
     * `pulumi up` would clone the VMs one after another.
     */
    readonly nodeZero: NodeConnection;
    /** The same to the second control plane, when there is one: it runs the first one's steps. */
    readonly secondControlPlane?: NodeConnection;
    /** What the first drain waits for: the resize guard, judged before any node is drained. */
    readonly after: readonly pulumi.Resource[];
}

/** One node's resize steps. */
export interface NodeResizeSteps {
    /** Cordon and drain, from a control plane; the node's VM waits for it. */
    readonly drain: command.remote.Command;
    /** Wait for the power-cycled node to be Ready again, then uncordon; the next node's drain waits for it. */
    readonly return: command.remote.Command;
}

/**
 * Issue 11 item 4: a CPU or memory change (a node entry's cpus/memoryMb, or controlPlaneCpus,
 * controlPlaneMemoryMb, workerCpus, workerMemoryMb) rolls over the nodes one at a time. vSphere
 * power-cycles a VM to resize it (the lab's VMs have no hot-add: terraform-provider-vsphere
 * expandCPUCountConfig/expandMemorySizeConfig), so each resized node is drained first and Ready and
 * uncordoned after, and the next is drained only then: never two nodes, so never two etcd members,
 * down at once (manifests/node-resize.sh).
 *
 * Per node, two steps run from a control plane with the node's new size in their command line, so
 * a size change updates (runs) exactly the resized nodes' steps and `pulumi preview` lists them;
 * they run only on a change (no `create`), so a new cluster or node runs none. A new text of
 * node-resize.sh is a change too: each node's ResizeId (its latest size change, empty if none)
 * tells the script whether to drain, so such a run drains nothing. The node's VM
 * depends on its drain. The return step does NOT depend on the VM: it starts with the VM's update
 * and waits on the node itself (a new boot id, Ready), so the chain drain -> return -> next drain
 * never passes through a VM. That keeps a first `pulumi up` cloning every VM at once, which a VM ->
 * next drain edge would serialize.
 *
 * Node 0 runs every node's steps but its own, which the second control plane runs: a step must not
 * run on the node it takes down (its SSH session would be cut). Order: the control planes in config
 * order, then the workers. With one control plane there is no other: node 0 runs its own steps,
 * last, and its return step waits for its VM (it connects once the VM is back), harmless only at
 * the end of the chain.
 */
export class NodeResizeRoll extends pulumi.ComponentResource {
    /** Each node's steps, by node name. */
    public readonly nodes: ReadonlyMap<string, NodeResizeSteps>;

    constructor(name: string, args: NodeResizeRollArgs, opts?: pulumi.ComponentResourceOptions) {
        super("lab:index:NodeResizeRoll", name, {}, opts);
        const [first] = args.controlPlanes;
        // Each node's size and the id of its latest change: the steps below run on any change of
        // their inputs (a new node-resize.sh text too), and the id tells the script whether the VM
        // really changes size (providers/resizeId.ts).
        const resizeIds = new Map(
            [...args.controlPlanes, ...args.workers].map((node) => [
                node.name,
                new ResizeId(`${node.name}-resize-id`, { cpus: node.cpus, memoryMb: node.memoryMb }, { parent: this }),
            ]),
        );
        const step = (node: NodeSpec, resizeStep: "drain" | "return", dependsOn: readonly pulumi.Resource[]) =>
            runScript(
                `${node.name}-resize-${resizeStep}`,
                {
                    node: node === first && args.secondControlPlane ? args.secondControlPlane : args.nodeZero,
                    script: "node-resize.sh",
                    onChangeOnly: true,
                    // Not replaced with its control plane's VM: that would make every step (and so every VM) wait for it.
                    replaceWithNodeVm: false,
                    env: {
                        RESIZE_STEP: resizeStep,
                        TARGET_NODE: node.name,
                        TARGET_ROLE: node.role,
                        TARGET_CPUS: String(node.cpus),
                        TARGET_MEMORY_MB: String(node.memoryMb),
                        CONTROL_PLANE_COUNT: String(args.controlPlanes.length),
                        RESIZE_ID: resizeIds.get(node.name)!.resizeId,
                    },
                },
                { parent: this, dependsOn: [...dependsOn] },
            );

        const order = args.secondControlPlane ? [...args.controlPlanes, ...args.workers] : [...args.workers, first];
        const nodes = new Map<string, NodeResizeSteps>();
        let previous: readonly pulumi.Resource[] = args.after;
        for (const node of order) {
            const drain = step(node, "drain", previous);
            const returned = step(node, "return", node === first && !args.secondControlPlane ? [drain, args.nodeZero.vm] : [drain]);
            nodes.set(node.name, { drain, return: returned });
            previous = [returned];
        }
        this.nodes = nodes;
        this.registerOutputs({});
    }
}
