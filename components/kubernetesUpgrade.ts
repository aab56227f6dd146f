import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { NodeSpec } from "./config";
import { containerdEnv, containerdFor } from "./render/containerd";
import { NodeConnection, runScript } from "./remoteScript";

/** A node of the cluster as the upgrade rolls it. */
export interface UpgradeNode {
    readonly node: NodeSpec;
    readonly connection: NodeConnection;
    /** Its kubeadm init or join: the node is upgraded only once it is in the cluster. */
    readonly joined: pulumi.Resource;
    /**
     * The node's other steps that restart its static pods (an OIDC roll, a certificate renewal):
     * its upgrade waits for them, so no two of them ever restart its apiserver at once.
     */
    readonly staticPodSteps?: readonly pulumi.Resource[];
}

/** Arguments of a Kubernetes upgrade. */
export interface KubernetesUpgradeArgs {
    /** The configured kubernetesVersion: a change of it is what rolls the nodes. */
    readonly kubernetesVersion: string;
    /** Control planes in config order: node 0 first (kubeadm upgrade apply there). */
    readonly controlPlanes: readonly UpgradeNode[];
    readonly workers: readonly UpgradeNode[];
    /** upgradeWorkersAtOnce: workers drained and upgraded at a time (default 1). */
    readonly workersAtOnce: number;
    /** Issue 13 item 7: HTTPS_PROXY/NO_PROXY for the package downloads, when the lab has a proxy. */
    readonly proxyEnv?: Readonly<Record<string, string>>;
}

/** One node's upgrade steps, in their order. */
export interface NodeUpgradeSteps {
    readonly kubeadm: command.remote.Command;
    readonly drain: command.remote.Command;
    readonly kubelet: command.remote.Command;
    readonly uncordon: command.remote.Command;
}

/**
 * Issue 12 item 1: a new `kubernetesVersion` upgrades the cluster in place, following kubernetes.io
 * "Upgrading kubeadm clusters" (https://kubernetes.io/docs/tasks/administer-cluster/kubeadm/kubeadm-upgrade/):
 * preflight on node 0 -> node 0 (kubeadm upgrade apply) -> the other control planes one after
 * another (kubeadm upgrade node) -> the workers, `workersAtOnce` at a time, each batch Ready before
 * the next. Per node: kubeadm step on the node -> drain (from node 0) -> kubelet and kubectl on the
 * node (first, for 1.36 and later, containerd 1.x replaced by containerd's release: issue 12 item 2)
 * -> Ready and uncordon (from node 0). Every step has the version in its command line, so a new
 * version updates (runs again) every step and `pulumi preview` lists each node's; no VM, init,
 * join or add-on input changes. Every step depends on the one before it: a failed step stops the
 * roll there, and the next `pulumi up` runs the failed step again (its state keeps the old
 * version) and what follows; the scripts skip a node already at the version. The steps run only
 * on a change (runScript's onChangeOnly: an `update` command, no `create`), so a new cluster or
 * node, installed at the version, runs none of them: the chain of every node's steps would
 * otherwise make a first `pulumi up` grow with the number of workers (one SSH session per step).
 */
export class KubernetesUpgrade extends pulumi.ComponentResource {
    /** The preflight on node 0 (versions, Ready nodes, etcd health). */
    public readonly preflight: command.remote.Command;
    /** Each node's steps, by node name. */
    public readonly nodes: ReadonlyMap<string, NodeUpgradeSteps>;
    /** The last steps of the roll (the last worker batch's uncordons, or the last control plane's). */
    public readonly done: readonly pulumi.Resource[];

    constructor(name: string, args: KubernetesUpgradeArgs, opts?: pulumi.ComponentResourceOptions) {
        super("lab:index:KubernetesUpgrade", name, {}, opts);
        const [first] = args.controlPlanes;
        const version = args.kubernetesVersion;
        const runtime = containerdFor(version);
        const allJoined = [...args.controlPlanes, ...args.workers].map((node) => node.joined);
        this.preflight = runScript(
            `${name}-preflight`,
            {
                node: first.connection,
                script: "kubernetes-upgrade-cluster.sh",
                onChangeOnly: true,
                env: {
                    UPGRADE_STEP: "preflight",
                    KUBERNETES_VERSION: version,
                    CONTROL_PLANES: args.controlPlanes.map((node) => node.node.name).join(" "),
                    WORKERS: args.workers.map((node) => node.node.name).join(" "),
                    // Issue 12 item 2: the containerd a node on 1.x is moved to (1.36 and later).
                    ...(runtime.source === "upstream" ? { CONTAINERD_VERSION: runtime.containerd.version } : {}),
                },
            },
            { parent: this, dependsOn: allJoined },
        );

        const nodes = new Map<string, NodeUpgradeSteps>();
        const upgradeOne = (target: UpgradeNode, after: readonly pulumi.Resource[]): NodeUpgradeSteps => {
            const nodeName = target.node.name;
            const onNode = (step: "kubeadm" | "kubelet", dependsOn: readonly pulumi.Resource[]) =>
                runScript(
                    `${nodeName}-upgrade-${step}`,
                    {
                        node: target.connection,
                        script: "kubernetes-upgrade-node.sh",
                        onChangeOnly: true,
                        env: {
                            UPGRADE_STEP: step,
                            NODE_ROLE: target.node.role,
                            FIRST_CONTROL_PLANE: String(target === first),
                            KUBERNETES_VERSION: version,
                            ...containerdEnv(version),
                            ...(args.proxyEnv ?? {}),
                        },
                    },
                    { parent: this, dependsOn: [...dependsOn] },
                );
            const fromNodeZero = (step: "drain" | "uncordon", dependsOn: readonly pulumi.Resource[]) =>
                runScript(
                    `${nodeName}-upgrade-${step}`,
                    {
                        node: first.connection,
                        script: "kubernetes-upgrade-cluster.sh",
                        onChangeOnly: true,
                        env: { UPGRADE_STEP: step, KUBERNETES_VERSION: version, TARGET_NODE: nodeName, TARGET_ROLE: target.node.role },
                    },
                    { parent: this, dependsOn: [...dependsOn] },
                );
            const kubeadm = onNode("kubeadm", [this.preflight, target.joined, ...(target.staticPodSteps ?? []), ...after]);
            const drain = fromNodeZero("drain", [kubeadm]);
            const kubelet = onNode("kubelet", [drain]);
            const uncordon = fromNodeZero("uncordon", [kubelet]);
            const steps = { kubeadm, drain, kubelet, uncordon };
            nodes.set(nodeName, steps);
            return steps;
        };

        // Control planes one after another: never two apiservers or etcd members restarting at once.
        let previous: readonly pulumi.Resource[] = [];
        for (const controlPlane of args.controlPlanes) {
            previous = [upgradeOne(controlPlane, previous).uncordon];
        }
        // Then the workers, in batches of workersAtOnce: a batch starts once the one before is Ready.
        for (let start = 0; start < args.workers.length; start += args.workersAtOnce) {
            previous = args.workers.slice(start, start + args.workersAtOnce).map((worker) => upgradeOne(worker, previous).uncordon);
        }
        this.nodes = nodes;
        this.done = previous;
        this.registerOutputs({});
    }
}
