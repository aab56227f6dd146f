import * as pulumi from "@pulumi/pulumi";
import * as vsphere from "../providers/vsphere";
import { LabConfig, NodeRole } from "./config";
import { NodeVm, VspherePlacement } from "./nodeVm";

/** Arguments of the whole lab. */
export interface KubernetesLabArgs {
    /** The validated stack config (components/config.ts). */
    readonly config: LabConfig;
}

/** A node as the stack outputs list it. */
export interface LabNode {
    readonly name: string;
    readonly role: NodeRole;
    readonly address: string;
}

/**
 * The whole lab as one dependency graph: the VMs, then (in later layers) the HA endpoint, the
 * kubeadm control plane and workers, and the cluster add-ons.
 */
export class KubernetesLab extends pulumi.ComponentResource {
    /** Every node's VM, control planes first, keyed by node name. */
    public readonly nodeVms: ReadonlyMap<string, NodeVm>;
    /** Every node: name, role and address, once its VM is up. */
    public readonly nodes: pulumi.Output<LabNode[]>;
    /** https://<apiDnsName or VIP>:<apiPort>, what kubectl talks to. */
    public readonly apiEndpoint: pulumi.Output<string>;

    constructor(name: string, args: KubernetesLabArgs, opts?: pulumi.ComponentResourceOptions) {
        super("lab:index:KubernetesLab", name, {}, opts);
        const cfg = args.config;

        const placement = lookUpPlacement(name, cfg, this);
        const nodeVms = new Map<string, NodeVm>();
        for (const node of [...cfg.controlPlanes, ...cfg.workers]) {
            nodeVms.set(
                node.name,
                new NodeVm(
                    node.name,
                    { node, placement, network: cfg.network, adminUser: cfg.ssh.user, sshPublicKey: cfg.ssh.publicKey },
                    { parent: this },
                ),
            );
        }
        this.nodeVms = nodeVms;

        this.nodes = pulumi.all(
            [...cfg.controlPlanes, ...cfg.workers].map((node) =>
                nodeVms.get(node.name)!.address.apply((address): LabNode => ({ name: node.name, role: node.role, address })),
            ),
        );
        this.apiEndpoint = pulumi.output(`https://${cfg.apiEndpoint.host}:${cfg.apiEndpoint.port}`);
        this.registerOutputs({ nodes: this.nodes, apiEndpoint: this.apiEndpoint });
    }
}

/** The provider and the vSphere objects every VM needs, looked up by the names in the config. */
function lookUpPlacement(name: string, cfg: LabConfig, parent: pulumi.Resource): VspherePlacement {
    const provider = new vsphere.Provider(
        `${name}-vsphere`,
        {
            vsphereServer: cfg.vsphere.server,
            user: cfg.vsphere.user,
            password: cfg.vsphere.password,
            allowUnverifiedSsl: cfg.vsphere.allowUnverifiedSsl,
        },
        { parent },
    );
    const lookup = { provider, parent };
    const datacenterId = vsphere.getDatacenterOutput({ name: cfg.vsphere.datacenter }, lookup).id;
    const resourcePoolId = cfg.vsphere.cluster
        ? vsphere.getComputeClusterOutput({ name: cfg.vsphere.cluster, datacenterId }, lookup).resourcePoolId
        : vsphere.getResourcePoolOutput({ name: cfg.vsphere.resourcePool!, datacenterId }, lookup).id;
    return {
        provider,
        resourcePoolId,
        datastoreId: vsphere.getDatastoreOutput({ name: cfg.vsphere.datastore, datacenterId }, lookup).id,
        networkId: vsphere.getNetworkOutput({ name: cfg.vsphere.network, datacenterId }, lookup).id,
        template: vsphere.getVirtualMachineOutput({ name: cfg.vsphere.template, datacenterId }, lookup),
        folder: cfg.vsphere.folder,
        linkedClone: cfg.vsphere.linkedClones,
    };
}
