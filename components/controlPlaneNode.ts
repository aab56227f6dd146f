import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { EtcdSnapshotConfig, NodeSpec } from "./config";
import { installEtcdSnapshots } from "./etcdSnapshots";
import { JoinCredentials, joinCluster, prepareNode } from "./nodeSteps";
import { renderScript } from "./render/manifests";
import { ApiServerHardening } from "./render/apiServerHardening";
import { KubeadmAddonSettings, KubeadmClusterArgs, renderKubeadmInitConfig } from "./render/kubeadm";
import { NodeConnection, runScript, stageFile } from "./remoteScript";

/** What the first control plane needs to create the cluster. */
export interface ClusterInitArgs {
    /** controlPlaneEndpoint `host:port`: the DNS name (or VIP) and the API port. */
    readonly controlPlaneEndpoint: string;
    /** Extra names in the apiserver certificate: the VIP and the DNS name. */
    readonly certSANs: readonly string[];
    readonly clusterName: string;
    readonly podSubnet: string;
    readonly serviceSubnet: string;
    /** The HA endpoint's installs: kubeadm init reaches the API through the VIP. */
    readonly haEndpointReady: readonly pulumi.Resource[];
    /** Issue 13: kubelet serving certificates and metrics endpoints for the add-ons. */
    readonly addonSettings?: KubeadmAddonSettings;
    /** Issue 15: encryption at rest, audit log, Pod Security default. */
    readonly hardening: ApiServerHardening;
}

/** The kubeadm settings of the whole cluster: node 0's init file, and each control plane's apiserver roll. */
export function kubeadmClusterArgs(init: ClusterInitArgs, kubernetesVersion: string, taint: boolean): KubeadmClusterArgs {
    return {
        controlPlaneEndpoint: init.controlPlaneEndpoint,
        certSANs: init.certSANs,
        kubernetesVersion,
        podSubnet: init.podSubnet,
        serviceSubnet: init.serviceSubnet,
        clusterName: init.clusterName,
        controlPlaneTaint: taint,
        addonSettings: init.addonSettings,
        hardening: init.hardening,
    };
}

/** A file every control plane's apiserver reads (components/render/apiServerHardening.ts). */
export interface ApiServerFile {
    readonly fileName: string;
    /** A secret when it holds one (the encryption key). */
    readonly content: pulumi.Input<string>;
}

/** Arguments of a control-plane node: node 0 initialises the cluster, the others join it. */
export interface ControlPlaneNodeArgs {
    readonly node: NodeSpec;
    readonly connection: NodeConnection;
    readonly kubernetesVersion: string;
    /** Keep the control-plane NoSchedule taint (default in kubeadm; off = schedulable, seed 003). */
    readonly taint: boolean;
    /** Set on node 0: create the cluster. */
    readonly init?: ClusterInitArgs;
    /** Set on nodes 1..n: join with these credentials, after `after` (the previous control plane). */
    readonly join?: JoinCredentials;
    readonly after?: readonly pulumi.Resource[];
    /** Nodes 2..n: the previous joining control plane's reset (removals run one after another). */
    readonly leavesBefore?: pulumi.Resource;
    /** etcd snapshot timer settings (issue 12): installed once the node is a member. */
    readonly etcdSnapshots: EtcdSnapshotConfig;
    /**
     * Issue 15: staged before this node's init or join. kubeadm writes the apiserver's static pod
     * with these files mounted (a joining node takes the ClusterConfiguration from the cluster),
     * and the pod does not start while one is missing.
     */
    readonly apiServerFiles: readonly ApiServerFile[];
    /** Issue 13 item 7: HTTPS_PROXY/NO_PROXY for the scripts that download, when the lab has a proxy. */
    readonly proxyEnv?: Readonly<Record<string, string>>;
}

/**
 * A control-plane node: prepared, then either `kubeadm init` (node 0, which then
 * publishes the discovery CA hash, the CA and the admin kubeconfig as secrets) or
 * `kubeadm join --control-plane` (nodes 1..n, one after another: stacked etcd joins must not race).
 */
export class ControlPlaneNode extends pulumi.ComponentResource {
    /** The init or join step: everything that needs this node in the cluster waits for it. */
    public readonly joined: command.remote.Command;
    /** Nodes 1..n: the kubeadm reset run when the node is removed (it leaves etcd). */
    public readonly reset?: command.remote.Command;
    /** The apiserver's staged files (issue 15, OIDC CA): a roll of its flags waits for them too. */
    public readonly apiServerFiles: readonly command.remote.Command[];
    /** The etcd snapshot install (timer enabled, first snapshot taken). */
    public readonly etcdSnapshots: command.remote.Command;
    /** Node 0 only: what every other node needs to join. */
    public readonly joinCredentials?: JoinCredentials;
    /** Node 0 only: the admin kubeconfig (secret), server = the HA endpoint. */
    public readonly kubeconfig?: pulumi.Output<string>;
    /** Node 0 only: the cluster CA certificate (PEM, secret). */
    public readonly caCertificate?: pulumi.Output<string>;

    constructor(name: string, args: ControlPlaneNodeArgs, opts?: pulumi.ComponentResourceOptions) {
        super("lab:index:ControlPlaneNode", name, {}, opts);
        if ((args.init === undefined) === (args.join === undefined)) {
            throw new Error(`ControlPlaneNode ${name}: give exactly one of init (node 0) and join (other control planes)`);
        }
        // A schedulable control plane runs pods, and with them NFS mounts.
        const prepared = prepareNode(
            name,
            { node: args.node, connection: args.connection, kubernetesVersion: args.kubernetesVersion, runsWorkloads: !args.taint, proxyEnv: args.proxyEnv },
            this,
        );

        const stagedApiServerFiles = args.apiServerFiles.map((file) =>
            stageFile(`${name}-file-${file.fileName}`, { node: args.connection, fileName: file.fileName, content: file.content }, { parent: this }),
        );
        this.apiServerFiles = stagedApiServerFiles;

        if (args.join) {
            const joined = joinCluster(
                name,
                {
                    prepared,
                    join: args.join,
                    controlPlane: { taint: args.taint },
                    after: args.after,
                    staged: stagedApiServerFiles,
                    leavesBefore: args.leavesBefore,
                },
                this,
            );
            this.joined = joined.joined;
            this.reset = joined.reset;
            this.etcdSnapshots = this.installSnapshots(name, args);
            this.registerOutputs({});
            return;
        }

        const init = args.init!;
        // No secret in it (issue 15): kubeadm generates the init's token, and each join gets its own.
        const initConfig = renderKubeadmInitConfig({
            ...kubeadmClusterArgs(init, args.kubernetesVersion, args.taint),
            nodeName: args.node.name,
            advertiseAddress: args.node.address,
        });
        const stagedInitConfig = stageFile(
            `${name}-file-kubeadm-init.yaml`,
            { node: args.connection, fileName: "kubeadm-init.yaml", content: initConfig },
            { parent: this },
        );
        const removeScript = stageFile(
            `${name}-file-node-remove.sh`,
            { node: args.connection, fileName: "node-remove.sh", content: renderScript("node-remove.sh") },
            { parent: this },
        );
        this.joined = runScript(
            `${name}-kubeadm-init`,
            { node: args.connection, script: "kubeadm-init.sh" },
            { parent: this, dependsOn: [prepared.prepared, stagedInitConfig, ...stagedApiServerFiles, ...init.haEndpointReady] },
        );
        this.etcdSnapshots = this.installSnapshots(name, args);

        const read = (what: "ca-cert-hash" | "ca-cert" | "kubeconfig") =>
            pulumi.secret(
                runScript(`${name}-read-${what}`, { node: args.connection, script: "read-cluster-credentials.sh", env: { WHAT: what }, secretOutput: true }, { parent: this, dependsOn: [this.joined] }).stdout,
            );
        const caCertHash = read("ca-cert-hash").apply((hash) => hash.trim()); // still secret: apply keeps it
        this.caCertificate = read("ca-cert");
        this.kubeconfig = read("kubeconfig");
        this.joinCredentials = {
            apiServerEndpoint: init.controlPlaneEndpoint,
            kubernetesVersion: args.kubernetesVersion,
            caCertHash,
            firstControlPlane: args.connection,
            clusterInitialized: this.joined,
            removeScript,
            haEndpointReady: init.haEndpointReady,
        };
        this.registerOutputs({ kubeconfig: this.kubeconfig, caCertificate: this.caCertificate });
    }

    private installSnapshots(name: string, args: ControlPlaneNodeArgs): command.remote.Command {
        return installEtcdSnapshots(
            name,
            { connection: args.connection, config: args.etcdSnapshots, kubernetesVersion: args.kubernetesVersion, member: this.joined, proxyEnv: args.proxyEnv },
            this,
        );
    }
}
