import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import * as vsphere from "../providers/vsphere";
import { minimumDiskGb, NodeSpec } from "./config";
import { fullKey } from "./configSchema";
import { staticMacAddress } from "./network";
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
    /** The compute cluster's id when the VMs go to a cluster (not a standalone host's pool). */
    readonly computeClusterId?: pulumi.Input<string>;
}

/** Guest network settings every node shares. */
export interface GuestNetwork {
    readonly prefixLength: number;
    readonly gateway: string;
    readonly dnsServers: readonly string[];
    readonly searchDomains: readonly string[];
    readonly ntpServers: readonly string[];
    readonly proxy?: { readonly url: string };
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
    /**
     * Resources the VM waits for: the resize guard (issue 11) judges a change before any VM moves,
     * and the node's resize drain empties it before a new size power-cycles it (a promise of it).
     */
    readonly after?: readonly pulumi.Input<pulumi.Resource>[];
}

/**
 * What is wrong with the template for this lab, each problem naming the key and the fix; empty when
 * it can be cloned. Checked on the template lookup, so `pulumi preview` refuses before any VM.
 */
export function templateProblems(template: vsphere.GetVirtualMachineResult, templateName: string, linkedClone: boolean): string[] {
    const key = `${fullKey("vsphereTemplate")} '${templateName}'`;
    const problems: string[] = [];
    if (template.vappTransports.length > 0) {
        // cloud-init's OVF datasource comes before the VMware (guestinfo) one in Ubuntu's
        // datasource_list: with vApp options on, a clone boots with the OVA's vApp properties
        // (its default hostname, no user-data) and the guestinfo this program writes is ignored.
        problems.push(
            `${key} has vApp options on (OVF environment transport ${template.vappTransports.join(", ")}): cloud-init would read the OVA's vApp properties, not the node's guestinfo. ` +
                "Turn them off on the template (Edit Settings > vApp Options > uncheck 'Enable vApp options'): see 'Building the template' in README.md.",
        );
    }
    if (template.disks.length === 0) {
        problems.push(`${key} has no disk: clone it from the Ubuntu cloud image (see 'Building the template' in README.md).`);
    } else if (linkedClone && template.disks[0].size < minimumDiskGb) {
        problems.push(
            `${key} has a ${template.disks[0].size} GB disk and ${fullKey("linkedClones")} is on: a linked clone keeps the template's disk size; ` +
                `grow the template's disk to at least ${minimumDiskGb} GB (50 is comfortable) before taking its snapshot, or turn linkedClones off.`,
        );
    }
    return problems;
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
    /** The node's SSH host public key (authorized_keys form): every connection pins it. */
    public readonly hostPublicKey: pulumi.Output<string>;

    constructor(name: string, args: NodeVmArgs, opts?: pulumi.ComponentResourceOptions) {
        super("lab:index:NodeVm", name, {}, opts);
        const { node, placement, network } = args;
        const template = pulumi.output(placement.template);
        // A static MAC from VMware's manual range, derived from the node's address: the guest's
        // netplan config finds the NIC by it (components/render/cloudInit.ts).
        const macAddress = staticMacAddress(node.address);
        // The node's SSH host key, made here and handed to the guest by cloud-init, so it is known
        // before the clone boots and every connection can pin it.
        const hostKey = new tls.PrivateKey(`${name}-ssh-host-key`, { algorithm: "ED25519" }, { parent: this });
        this.hostPublicKey = hostKey.publicKeyOpenssh.apply((key) => key.trim());
        const extraConfig = pulumi
            .all([hostKey.privateKeyOpenssh, this.hostPublicKey])
            .apply(([privateKey, publicKey]) =>
                cloudInitExtraConfig({
                    hostname: node.name,
                    address: node.address,
                    prefixLength: network.prefixLength,
                    gateway: network.gateway,
                    dnsServers: network.dnsServers,
                    searchDomains: network.searchDomains,
                    ntpServers: network.ntpServers,
                    aptProxy: network.proxy?.url,
                    macAddress,
                    interfaceName: network.interfaceName,
                    adminUser: args.adminUser,
                    sshPublicKey: args.sshPublicKey,
                    hostKey: { privateKey, publicKey },
                    apiHost: args.apiHost,
                }),
            );

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
                networkInterfaces: [
                    {
                        networkId: placement.networkId,
                        adapterType: template.apply((t) => t.networkInterfaceTypes[0] ?? "vmxnet3"),
                        useStaticMac: true,
                        macAddress,
                    },
                ],
                disks: [
                    {
                        label: "disk0",
                        // A linked clone's disk is the template's (a delta disk on its snapshot cannot be
                        // resized); a full clone gets diskGb, never smaller than the template's disk.
                        size: template.apply((t) => (placement.linkedClone ? t.disks[0].size : Math.max(node.diskGb, t.disks[0]?.size ?? 0))),
                        thinProvisioned: template.apply((t) => t.disks[0]?.thinProvisioned ?? true),
                        eagerlyScrub: template.apply((t) => t.disks[0]?.eagerlyScrub ?? false),
                    },
                ],
                clone: { templateUuid: template.uuid, linkedClone: placement.linkedClone },
                enableDiskUuid: true, // stable disk ids for CSI drivers a user may add later
                // Secret: the user-data carries the host's private key. Anyone who can read the VM's
                // advanced settings in vCenter can read it (README "Security").
                extraConfig: pulumi.secret(extraConfig),
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
            // A disk's provisioning is fixed when it is cloned (the provider cannot change it on a
            // live disk), and with linkedClones on the disk size follows the template: existing
            // full clones keep their (larger) disks instead of being asked to shrink.
            {
                parent: this,
                provider: placement.provider,
                dependsOn: [...(args.after ?? [])],
                additionalSecretOutputs: ["extraConfig"],
                ignoreChanges: ["clone", "disks[0].thinProvisioned", "disks[0].eagerlyScrub", ...(placement.linkedClone ? ["disks[0].size"] : [])],
                deleteBeforeReplace: true,
            },
        );

        // The configured address, not defaultIpAddress: on a control plane holding the API VIP the
        // guest may report the VIP first.
        this.address = this.vm.id.apply(() => node.address);
        this.registerOutputs({ vm: this.vm, address: this.address, hostPublicKey: this.hostPublicKey });
    }
}
