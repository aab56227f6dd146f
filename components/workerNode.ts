import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { NodeSpec } from "./config";
import { JoinCredentials, joinCluster, prepareNode } from "./nodeSteps";
import { NodeConnection } from "./remoteScript";

/** Arguments of a worker node. */
export interface WorkerNodeArgs {
    readonly node: NodeSpec;
    /** SSH connection to the node. */
    readonly connection: NodeConnection;
    readonly kubernetesVersion: string;
    /** Join credentials published by the first control plane. */
    readonly join: JoinCredentials;
    /** Issue 13 item 7: HTTPS_PROXY/NO_PROXY for node preparation, when the lab has a proxy. */
    readonly proxyEnv?: Readonly<Record<string, string>>;
}

/**
 * A worker: prepared (nfs-common included), then joined. Workers join in parallel: each waits for
 * node 0 and the HA endpoint, never for another worker.
 */
export class WorkerNode extends pulumi.ComponentResource {
    /** The join step: add-ons that schedule pods wait for every worker's. */
    public readonly joined: command.remote.Command;

    constructor(name: string, args: WorkerNodeArgs, opts?: pulumi.ComponentResourceOptions) {
        super("lab:index:WorkerNode", name, {}, opts);
        const prepared = prepareNode(
            name,
            { node: args.node, connection: args.connection, kubernetesVersion: args.kubernetesVersion, runsWorkloads: true, proxyEnv: args.proxyEnv },
            this,
        );
        this.joined = joinCluster(name, { prepared, join: args.join }, this).joined;
        this.registerOutputs({});
    }
}
