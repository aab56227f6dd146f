/**
 * A thin typed binding of the official vSphere provider, pulumi-vsphere v4.17.0.
 *
 * Why: `@pulumi/vsphere` is not on the npm registry this project can reach, but the engine only
 * needs type tokens, property names and a plugin version. This file declares the few resources and
 * invokes the lab uses with exactly the tokens and camelCase property names of the provider's
 * schema (a test checks every name against ../shared/reference/vsphere-v4.17.0-schema-subset.json),
 * and passes `version` everywhere, so `pulumi up` runs the official plugin. The marker package in
 * packages/vsphere-plugin-marker makes the CLI install that plugin.
 */
import * as pulumi from "@pulumi/pulumi";

/** The official provider release this binding mirrors. */
export const vsphereProviderVersion = "4.17.0";

const tokens = {
    virtualMachine: "vsphere:index/virtualMachine:VirtualMachine",
    computeClusterVmAntiAffinityRule: "vsphere:index/computeClusterVmAntiAffinityRule:ComputeClusterVmAntiAffinityRule",
    getDatacenter: "vsphere:index/getDatacenter:getDatacenter",
    getDatastore: "vsphere:index/getDatastore:getDatastore",
    getComputeCluster: "vsphere:index/getComputeCluster:getComputeCluster",
    getResourcePool: "vsphere:index/getResourcePool:getResourcePool",
    getNetwork: "vsphere:index/getNetwork:getNetwork",
    getVirtualMachine: "vsphere:index/getVirtualMachine:getVirtualMachine",
} as const;

/** The provider's configuration (vsphere:* keys), given explicitly so the password stays a secret. */
export interface ProviderArgs {
    readonly vsphereServer: pulumi.Input<string>;
    readonly user: pulumi.Input<string>;
    readonly password: pulumi.Input<string>;
    readonly allowUnverifiedSsl?: pulumi.Input<boolean>;
}

/** An explicit instance of the vsphere provider (`pulumi:providers:vsphere`). */
export class Provider extends pulumi.ProviderResource {
    constructor(name: string, args: ProviderArgs, opts?: pulumi.ResourceOptions) {
        super(
            "vsphere",
            name,
            {
                vsphereServer: args.vsphereServer,
                user: args.user,
                password: pulumi.secret(args.password),
                // Providers receive non-string config JSON-encoded, as the generated SDKs send it.
                allowUnverifiedSsl: pulumi.output(args.allowUnverifiedSsl ?? false).apply((value) => JSON.stringify(value)),
            },
            { ...opts, version: vsphereProviderVersion },
        );
    }
}

/** `clone` block: what to clone from. */
export interface VirtualMachineCloneArgs {
    readonly templateUuid: pulumi.Input<string>;
    readonly linkedClone?: pulumi.Input<boolean>;
    readonly timeout?: pulumi.Input<number>;
}

/** One virtual disk. */
export interface VirtualMachineDiskArgs {
    readonly label: pulumi.Input<string>;
    readonly size?: pulumi.Input<number>;
    readonly thinProvisioned?: pulumi.Input<boolean>;
    readonly eagerlyScrub?: pulumi.Input<boolean>;
    readonly unitNumber?: pulumi.Input<number>;
}

/** One network adapter. */
export interface VirtualMachineNetworkInterfaceArgs {
    readonly networkId: pulumi.Input<string>;
    readonly adapterType?: pulumi.Input<string>;
    /** Use macAddress instead of a MAC vCenter generates. */
    readonly useStaticMac?: pulumi.Input<boolean>;
    readonly macAddress?: pulumi.Input<string>;
}

/** The VirtualMachine inputs the lab sets (names as in the provider schema). */
export interface VirtualMachineArgs {
    readonly name: pulumi.Input<string>;
    readonly resourcePoolId: pulumi.Input<string>;
    readonly datastoreId?: pulumi.Input<string>;
    readonly folder?: pulumi.Input<string>;
    readonly numCpus?: pulumi.Input<number>;
    readonly memory?: pulumi.Input<number>;
    readonly memoryReservation?: pulumi.Input<number>;
    readonly memoryReservationLockedToMax?: pulumi.Input<boolean>;
    readonly guestId?: pulumi.Input<string>;
    readonly firmware?: pulumi.Input<string>;
    readonly scsiType?: pulumi.Input<string>;
    readonly networkInterfaces?: pulumi.Input<pulumi.Input<VirtualMachineNetworkInterfaceArgs>[]>;
    readonly disks?: pulumi.Input<pulumi.Input<VirtualMachineDiskArgs>[]>;
    readonly clone?: pulumi.Input<VirtualMachineCloneArgs>;
    readonly extraConfig?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /** Power-cycle the VM when extraConfig changes (the provider's default: true). */
    readonly extraConfigRebootRequired?: pulumi.Input<boolean>;
    readonly enableDiskUuid?: pulumi.Input<boolean>;
    readonly annotation?: pulumi.Input<string>;
    readonly waitForGuestNetTimeout?: pulumi.Input<number>;
    readonly waitForGuestNetRoutable?: pulumi.Input<boolean>;
    readonly ignoredGuestIps?: pulumi.Input<pulumi.Input<string>[]>;
    readonly shutdownWaitTimeout?: pulumi.Input<number>;
    readonly forcePowerOff?: pulumi.Input<boolean>;
}

/** vsphere:index/virtualMachine:VirtualMachine — a VM, here always cloned from a template. */
export class VirtualMachine extends pulumi.CustomResource {
    /** The VM's managed object id. */
    public readonly moid!: pulumi.Output<string>;
    /** The address VMware tools reports first. */
    public readonly defaultIpAddress!: pulumi.Output<string>;
    public readonly guestIpAddresses!: pulumi.Output<string[]>;
    public readonly uuid!: pulumi.Output<string>;
    public readonly powerState!: pulumi.Output<string>;

    constructor(name: string, args: VirtualMachineArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            tokens.virtualMachine,
            name,
            { ...args, moid: undefined, defaultIpAddress: undefined, guestIpAddresses: undefined, uuid: undefined, powerState: undefined },
            { ...opts, version: vsphereProviderVersion },
        );
    }
}

/** Inputs of a DRS VM anti-affinity rule (issue 13 item 6). */
export interface ComputeClusterVmAntiAffinityRuleArgs {
    readonly name: pulumi.Input<string>;
    /** The compute cluster's managed object id. */
    readonly computeClusterId: pulumi.Input<string>;
    /** The VMs (their ids: UUIDs) to keep on different hosts. */
    readonly virtualMachineIds: pulumi.Input<pulumi.Input<string>[]>;
    readonly enabled?: pulumi.Input<boolean>;
    /** true: vSphere refuses any operation that would break the rule. */
    readonly mandatory?: pulumi.Input<boolean>;
}

/** vsphere:index/computeClusterVmAntiAffinityRule:ComputeClusterVmAntiAffinityRule — keeps VMs on different hosts. */
export class ComputeClusterVmAntiAffinityRule extends pulumi.CustomResource {
    constructor(name: string, args: ComputeClusterVmAntiAffinityRuleArgs, opts?: pulumi.CustomResourceOptions) {
        super(tokens.computeClusterVmAntiAffinityRule, name, { ...args }, { ...opts, version: vsphereProviderVersion });
    }
}

/** Options of every invoke: the explicit provider and the binding's plugin version. */
export interface LookupOptions {
    readonly provider: pulumi.ProviderResource;
    readonly parent?: pulumi.Resource;
}

function invoke<T>(token: string, args: pulumi.Inputs, opts: LookupOptions): pulumi.Output<T> {
    return pulumi.runtime.invokeOutput(token, args, { provider: opts.provider, parent: opts.parent, version: vsphereProviderVersion });
}

export interface GetDatacenterResult {
    readonly id: string;
    readonly name?: string;
}
/** Looks up a datacenter by name. */
export function getDatacenterOutput(args: { name: pulumi.Input<string> }, opts: LookupOptions): pulumi.Output<GetDatacenterResult> {
    return invoke(tokens.getDatacenter, { name: args.name }, opts);
}

export interface GetDatastoreResult {
    readonly id: string;
    readonly name: string;
}
/** Looks up a datastore of a datacenter by name. */
export function getDatastoreOutput(
    args: { name: pulumi.Input<string>; datacenterId: pulumi.Input<string> },
    opts: LookupOptions,
): pulumi.Output<GetDatastoreResult> {
    return invoke(tokens.getDatastore, { name: args.name, datacenterId: args.datacenterId }, opts);
}

export interface GetComputeClusterResult {
    readonly id: string;
    readonly name: string;
    readonly resourcePoolId: string;
}
/** Looks up a compute cluster (its root resource pool receives the VMs). */
export function getComputeClusterOutput(
    args: { name: pulumi.Input<string>; datacenterId: pulumi.Input<string> },
    opts: LookupOptions,
): pulumi.Output<GetComputeClusterResult> {
    return invoke(tokens.getComputeCluster, { name: args.name, datacenterId: args.datacenterId }, opts);
}

export interface GetResourcePoolResult {
    readonly id: string;
    readonly name?: string;
}
/** Looks up a resource pool by path (e.g. a standalone host's `esxi01/Resources`). */
export function getResourcePoolOutput(
    args: { name: pulumi.Input<string>; datacenterId: pulumi.Input<string> },
    opts: LookupOptions,
): pulumi.Output<GetResourcePoolResult> {
    return invoke(tokens.getResourcePool, { name: args.name, datacenterId: args.datacenterId }, opts);
}

export interface GetNetworkResult {
    readonly id: string;
    readonly name: string;
    readonly type: string;
}
/** Looks up a port group / network by name. */
export function getNetworkOutput(
    args: { name: pulumi.Input<string>; datacenterId: pulumi.Input<string> },
    opts: LookupOptions,
): pulumi.Output<GetNetworkResult> {
    return invoke(tokens.getNetwork, { name: args.name, datacenterId: args.datacenterId }, opts);
}

export interface GetVirtualMachineResult {
    readonly id: string;
    readonly uuid: string;
    readonly guestId: string;
    readonly firmware: string;
    readonly scsiType: string;
    readonly networkInterfaceTypes: string[];
    /** The OVF environment transports of the template's vApp options; empty when vApp options are off. */
    readonly vappTransports: string[];
    readonly disks: { readonly label: string; readonly size: number; readonly thinProvisioned: boolean; readonly eagerlyScrub: boolean; readonly unitNumber: number }[];
}
/** Looks up a VM or template by name: the template every node is cloned from. */
export function getVirtualMachineOutput(
    args: { name: pulumi.Input<string>; datacenterId: pulumi.Input<string> },
    opts: LookupOptions,
): pulumi.Output<GetVirtualMachineResult> {
    return invoke(tokens.getVirtualMachine, { name: args.name, datacenterId: args.datacenterId }, opts);
}
