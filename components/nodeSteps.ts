/**
 * The steps every node goes through, shared by ControlPlaneNode and WorkerNode: preparation,
 * and joining the cluster with its clean-up on removal.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { NodeSpec } from "./config";
import { renderScript } from "./render/manifests";
import { containerdEnv } from "./render/containerd";
import { renderKubeadmJoinConfig } from "./render/kubeadm";
import { NodeConnection, runScript, runScriptOnDelete, stageFile } from "./remoteScript";

/** A prepared node: the containerd its Kubernetes version runs on and pinned kubeadm/kubelet/kubectl installed. */
export interface PreparedNode {
    readonly node: NodeSpec;
    readonly connection: NodeConnection;
    /** The node-prepare.sh run. */
    readonly prepared: command.remote.Command;
    /** node-reset.sh staged on the node, run when the node leaves the cluster. */
    readonly resetScript: command.remote.Command;
}

/** Runs node-prepare.sh on a node and stages its reset script. */
export function prepareNode(
    name: string,
    args: { node: NodeSpec; connection: NodeConnection; kubernetesVersion: string; runsWorkloads: boolean; proxyEnv?: Readonly<Record<string, string>> },
    parent: pulumi.Resource,
): PreparedNode {
    const prepared = runScript(
        `${name}-prepare`,
        {
            node: args.connection,
            script: "node-prepare.sh",
            env: {
                NODE_ROLE: args.node.role,
                KUBERNETES_VERSION: args.kubernetesVersion,
                RUNS_WORKLOADS: String(args.runsWorkloads),
                // Issue 12 item 2: containerd's release for 1.36 and later, none (Ubuntu's package) before.
                ...containerdEnv(args.kubernetesVersion),
                ...(args.proxyEnv ?? {}),
            },
        },
        { parent },
    );
    const resetScript = stageFile(
        `${name}-file-node-reset.sh`,
        { node: args.connection, fileName: "node-reset.sh", content: renderScript("node-reset.sh") },
        { parent },
    );
    return { node: args.node, connection: args.connection, prepared, resetScript };
}

/** What a node needs to join, published by the first control plane (its own token and key are minted per join). */
export interface JoinCredentials {
    /** controlPlaneEndpoint: `host:port` of the HA endpoint. */
    readonly apiServerEndpoint: string;
    /** The cluster's version: a control-plane join's certificate upload names it. */
    readonly kubernetesVersion: string;
    /** `sha256:<hex>` of the cluster CA's public key (secret). */
    readonly caCertHash: pulumi.Output<string>;
    /** The first control plane, where credentials are refreshed and removals run. */
    readonly firstControlPlane: NodeConnection;
    /** node 0's kubeadm init: every join waits for it; clean-ups are skipped when it goes too. */
    readonly clusterInitialized: pulumi.Resource;
    /** node-remove.sh staged on the first control plane. */
    readonly removeScript: command.remote.Command;
    /** Every control plane's HA endpoint install: joins go through the VIP. */
    readonly haEndpointReady: readonly pulumi.Resource[];
}

/** Arguments of {@link joinCluster}. */
export interface JoinClusterArgs {
    readonly prepared: PreparedNode;
    readonly join: JoinCredentials;
    /** For control planes: keep the NoSchedule taint. Absent for workers. */
    readonly controlPlane?: { readonly taint: boolean };
    /** Resources this join must wait for (the previous control plane's join: etcd joins must not race). */
    readonly after?: readonly pulumi.Resource[];
    /** Files staged on the joining node that its join needs (a control plane's apiserver files). */
    readonly staged?: readonly pulumi.Resource[];
    /**
     * Issue 11: the previous control plane's reset. This node's reset depends on it, so when both
     * nodes are removed in one `pulumi up` this one leaves etcd first and the previous one only
     * after (deletes run dependents first): never two members leaving at once.
     */
    readonly leavesBefore?: pulumi.Resource;
}

/** A joined node's steps that others order against. */
export interface JoinedNode {
    /** The kubeadm join. */
    readonly joined: command.remote.Command;
    /** The delete-only kubeadm reset on the node (a control plane leaves etcd there). */
    readonly reset: command.remote.Command;
}

/**
 * Joins a prepared node: mint its own token (and a control plane's certificate key) on node 0,
 * stage the join config, `kubeadm join` (which removes the config once joined). Removing the node from the config runs the clean-up in the safe order, through
 * delete-only commands whose delete order Pulumi derives from their dependencies:
 * drain (on node 0) -> kubeadm reset (on the node) -> delete the Node object and etcd member (node 0).
 * All clean-ups are `deletedWith` node 0's init: destroying the whole cluster skips them.
 * Returns the join and the reset.
 */
export function joinCluster(name: string, args: JoinClusterArgs, parent: pulumi.Resource): JoinedNode {
    const { prepared, join } = args;
    const node = prepared.node;
    const role = node.role;
    const removeEnv = { TARGET_NODE: node.name, TARGET_ROLE: role, TARGET_ADDRESS: node.address };
    const cleanUp = { parent, deletedWith: join.clusterInitialized };

    // Deleted last: the Node object and (control planes) the etcd member go once the node is reset.
    const forget = runScriptOnDelete(
        `${name}-forget`,
        {
            node: join.firstControlPlane,
            stagedScript: join.removeScript,
            stagedScriptName: "node-remove.sh",
            env: { ...removeEnv, REMOVE_STEP: "delete" },
        },
        cleanUp,
    );

    // Issue 15: this join's own credentials, minted on node 0 right before it (a late join gets
    // fresh ones too) and revoked by join-credentials-revoke.sh once the joins are done. The mint
    // and the staged join config run once: no later edit (an SSH key, a script change) mints a
    // token again or writes one back to the node. A rebuilt node (issue 11) gets new ones.
    const runOnce = { ignoreChanges: ["connection", "create", "update", "stdin", "logging"], replaceWith: [prepared.connection.vm] };
    const credentials = runScript(
        `${name}-join-credentials`,
        {
            node: join.firstControlPlane,
            script: "join-credentials-mint.sh",
            env: { JOINING_NODE: node.name, JOIN_ROLE: role, KUBERNETES_VERSION: join.kubernetesVersion },
            secretOutput: true,
        },
        { parent, dependsOn: [join.clusterInitialized, prepared.prepared, ...(args.after ?? [])], ...runOnce },
    );

    const joinConfig = pulumi.all([credentials.stdout, join.caCertHash]).apply(([minted, caCertHash]) => {
        const { token, certificateKey } = parseMintedCredentials(minted, node.name);
        return renderKubeadmJoinConfig({
            nodeName: node.name,
            advertiseAddress: node.address,
            apiServerEndpoint: join.apiServerEndpoint,
            bootstrapToken: token,
            caCertHash,
            controlPlane: args.controlPlane ? { certificateKey, taint: args.controlPlane.taint } : undefined,
        });
    });
    const stagedConfig = stageFile(
        `${name}-file-kubeadm-join.yaml`,
        { node: prepared.connection, fileName: "kubeadm-join.yaml", content: pulumi.secret(joinConfig) },
        { parent, ...runOnce },
    );

    const joined = runScript(
        `${name}-kubeadm-join`,
        { node: prepared.connection, script: "kubeadm-join.sh", env: { JOIN_ROLE: role } },
        { parent, dependsOn: [credentials, stagedConfig, ...(args.staged ?? []), forget, prepared.prepared, ...join.haEndpointReady, ...(args.after ?? [])] },
    );

    // Issue 11: a node marked unreachable (its host is dead) is not drained or reset when it is
    // removed: those steps are dropped from the state without running (retainOnDelete), where they
    // would retry SSH for minutes and fail. Node 0 still deletes the Node object and etcd member
    // (forget), and pod GC removes the pods bound to a Node that is gone.
    const skippedIfDead = node.unreachable ? { retainOnDelete: true } : {};

    // Deleted before the join: kubeadm reset on the node itself (a control plane leaves etcd).
    const reset = runScriptOnDelete(
        `${name}-reset`,
        { node: prepared.connection, stagedScript: prepared.resetScript, stagedScriptName: "node-reset.sh" },
        { ...cleanUp, ...skippedIfDead, dependsOn: [joined, ...(args.leavesBefore ? [args.leavesBefore] : [])] },
    );

    // Deleted first: drain the node while it still runs.
    runScriptOnDelete(
        `${name}-drain`,
        {
            node: join.firstControlPlane,
            stagedScript: join.removeScript,
            stagedScriptName: "node-remove.sh",
            env: { ...removeEnv, REMOVE_STEP: "drain" },
        },
        { ...cleanUp, ...skippedIfDead, dependsOn: [reset] },
    );
    return { joined, reset };
}

/**
 * The credentials join-credentials-mint.sh printed: `{"token":"...","certificateKey":"..."}`.
 * Errors name the node and the expected form, never the value.
 */
export function parseMintedCredentials(stdout: string, nodeName: string): { token: string; certificateKey: string } {
    let parsed: { token?: unknown; certificateKey?: unknown };
    try {
        parsed = JSON.parse(stdout.trim()) as typeof parsed;
    } catch {
        throw new Error(`join credentials of ${nodeName}: join-credentials-mint.sh did not print one JSON line`);
    }
    if (typeof parsed.token !== "string" || typeof parsed.certificateKey !== "string") {
        throw new Error(`join credentials of ${nodeName}: expected {"token": "...", "certificateKey": "..."}`);
    }
    return { token: parsed.token, certificateKey: parsed.certificateKey };
}
