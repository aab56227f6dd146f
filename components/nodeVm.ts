import * as pulumi from "@pulumi/pulumi";
import * as vsphere from "../providers/vsphere";
import { NodeSpec } from "./config";
import { cloudInitExtraConfig } from "./render/cloudInit";

/** Where in vSphere the lab's VMs go: looked up once by KubernetesLab, shared by every NodeVm. */
export interface VspherePlacement {
    readonly provider: vsphere.Provider;
    readonly resourcePoolId: pulumi.Input<string>;
    readonly datastoreId: pulumi.Input<string>;
    readonly networkId: pulumi.Input<string>;
    /** VM folder, or undefined for the datacenter's root. */
    readonly folder?: string;
    readonly template: pulumi.Input<vsphere.GetVirtualMachineResult>;
    readonly linkedClone: boolean;
}

/** Guest network settings every node shares. */
export interface GuestNetwork {
    readonly prefixLength: number;
    readonly gateway: string;
    readonly dnsServers: readonly string[];
    readonly searchDomains: readonly string[];
    readonly interfaceName: string;
}

/** Arguments of one node's VM. */
export interface NodeVmArgs {
    /** The node: name, role, address and size. */
    readonly node: NodeSpec;
    readonly placement: VspherePlacement;
    readonly network: GuestNetwork;
    /** Admin user cloud-init creates, and its SSH public key. */
    readonly adminUser: string;
    readonly sshPublicKey: string;
    /** The API's DNS name and VIP for the guest's /etc/hosts; absent when the endpoint is the VIP itself. */
    readonly apiHost?: { readonly name: string; readonly address: string };
}

/** How long `pulumi up` waits for a fresh clone to report its address through VMware tools. */
const guestNetTimeoutMinutes = 10;

/**
 * One lab node's VM: cloned from the cloud-init template, sized, given its hostname, static address
 * and admin SSH key through guestinfo, and — for workers, optionally control planes — with all guest
 * memory reserved so host overcommit can never swap a node out.
 */
export class NodeVm extends pulumi.ComponentResource {
    /** The VM. */
    public readonly vm: vsphere.VirtualMachine;
    /** The node's address, available once the guest network is up (a dependency on the VM). */
    public readonly address: pulumi.Output<string>;

    constructor(name: string, args: NodeVmArgs, opts?: pulumi.ComponentResourceOptions) {
        super("lab:index:NodeVm", name, {}, opts);
        const { node, placement, network } = args;
        const template = pulumi.output(placement.template);

        this.vm = new vsphere.VirtualMachine(
            `${name}-vm`,
            {
                name: node.name,
                annotation: `k8s-vsphere-lab ${node.role} ${node.name} (managed by Pulumi)`,
                resourcePoolId: placement.resourcePoolId,
                datastoreId: placement.datastoreId,
                folder: placement.folder,
                numCpus: node.cpus,
                memory: node.memoryMb,
                memoryReservation: node.reserveMemory ? node.memoryMb : 0,
                memoryReservationLockedToMax: node.reserveMemory,
                guestId: template.guestId,
                firmware: template.firmware,
                scsiType: template.scsiType,
                networkInterfaces: [{ networkId: placement.networkId, adapterType: template.apply((t) => t.networkInterfaceTypes[0] ?? "vmxnet3") }],
                disks: [
                    {
                        label: "disk0",
                        // Never smaller than the template's disk: a clone cannot shrink it.
                        size: template.apply((t) => Math.max(node.diskGb, t.disks[0]?.size ?? 0)),
                        thinProvisioned: template.apply((t) => t.disks[0]?.thinProvisioned ?? true),
                        eagerlyScrub: template.apply((t) => t.disks[0]?.eagerlyScrub ?? false),
                    },
                ],
                clone: { templateUuid: template.uuid, linkedClone: placement.linkedClone },
                enableDiskUuid: true, // stable disk ids for CSI drivers a user may add later
                extraConfig: cloudInitExtraConfig({
                    hostname: node.name,
                    address: node.address,
                    prefixLength: network.prefixLength,
                    gateway: network.gateway,
                    dnsServers: network.dnsServers,
                    searchDomains: network.searchDomains,
                    interfaceName: network.interfaceName,
                    adminUser: args.adminUser,
                    sshPublicKey: args.sshPublicKey,
                    apiHost: args.apiHost,
                }),
                // Issue 11: cloud-init reads extraConfig on first boot only (same instance-id), so
                // a change (DNS servers, SSH key, ...) must not power-cycle every VM at once.
                extraConfigRebootRequired: false,
                waitForGuestNetTimeout: guestNetTimeoutMinutes,
                waitForGuestNetRoutable: true,
                shutdownWaitTimeout: 3,
                forcePowerOff: true,
            },
            // Issue 11: a new template or linkedClones applies to new nodes only (a clone.* change
            // would replace every VM at once, and vCenter refuses a second VM of the same name).
            { parent: this, provider: placement.provider, ignoreChanges: ["clone"], deleteBeforeReplace: true },
        );

        // The configured address, not defaultIpAddress: on a control plane holding the API VIP the
        // guest may report the VIP first.
        this.address = this.vm.id.apply(() => node.address);
        this.registerOutputs({ vm: this.vm, address: this.address });
    }
}
