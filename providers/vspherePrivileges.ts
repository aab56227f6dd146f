/**
 * Issue 15 item 6: the least-privilege vCenter role of the program, per vSphere object, and which
 * of the program's vSphere calls needs which grant. The README's "vCenter account" section is
 * generated from this table (`npm run docs`), and a test fails when the program uses a vSphere
 * resource or lookup that no grant covers.
 *
 * Next to the binding (providers/vsphere.ts) whose calls it covers. Grounded in what the program
 * does with each object (components/nodeVm.ts, components/lab.ts):
 * it reads the placement objects, clones each VM from the template (full or linked), sets its
 * CPUs, memory and reservation, disk size, one NIC with a static MAC, guestinfo extraConfig and
 * the annotation, powers it on, waits for VMware Tools to report an address, and on delete powers
 * it off and deletes it. The privilege IDs and the per-object layout follow the OpenShift
 * installer's vSphere privileges list (openshift/installer docs/user/vsphere/privileges.md,
 * "Precreated virtual machine folder and resource pool"), cut down to what this program does.
 */

/** One permission to add in vCenter: a role on an object. */
export interface VsphereGrant {
    /** The inventory object the permission is set on. */
    readonly object: string;
    /** The role: "Read-only" (vCenter's own) or a custom role with `privileges`. */
    readonly role: string;
    /** Whether the permission propagates to the object's children. */
    readonly propagate: boolean;
    /** Privilege IDs of a custom role (vSphere API names); none for Read-only. */
    readonly privileges: readonly string[];
    /** What the program does there. */
    readonly why: string;
}

export const vsphereGrants = {
    vcenter: {
        object: "vCenter (the root object)",
        role: "Read-only",
        propagate: false,
        privileges: [],
        why: "log in and read the inventory",
    },
    datacenter: {
        object: "the datacenter (vsphereDatacenter)",
        role: "Read-only",
        propagate: false,
        privileges: [],
        why: "look up the datacenter",
    },
    placement: {
        object: "the compute cluster (vsphereCluster) or resource pool (vsphereResourcePool)",
        role: "k8s-lab-placement",
        propagate: true,
        privileges: ["Resource.AssignVMToPool"],
        why: "look it up and place the VMs in it",
    },
    drsRule: {
        object: "the compute cluster (vsphereCluster), with controlPlaneAntiAffinity",
        role: "k8s-lab-drs-rule",
        propagate: false,
        privileges: ["Host.Inventory.EditCluster"],
        why: "add and remove the DRS rule that keeps the control planes on different hosts",
    },
    datastore: {
        object: "the datastore (vsphereDatastore)",
        role: "k8s-lab-datastore",
        propagate: false,
        privileges: ["Datastore.AllocateSpace", "Datastore.Browse", "Datastore.FileManagement"],
        why: "create, grow and delete the VMs' disks",
    },
    network: {
        object: "the port group (vsphereNetwork), Read-only on its switch",
        role: "k8s-lab-network",
        propagate: false,
        privileges: ["Network.Assign"],
        why: "connect each VM's NIC",
    },
    template: {
        object: "the template (vsphereTemplate)",
        role: "k8s-lab-template",
        propagate: false,
        privileges: ["VirtualMachine.Provisioning.Clone", "VirtualMachine.Provisioning.DeployTemplate"],
        why: "clone it (a template, or a VM with a snapshot for linkedClones)",
    },
    folder: {
        object: "the VM folder (vsphereFolder; without one: the datacenter, propagated)",
        role: "k8s-lab-vms",
        propagate: true,
        privileges: [
            "VirtualMachine.Inventory.CreateFromExisting",
            "VirtualMachine.Inventory.Delete",
            "VirtualMachine.Config.AddNewDisk",
            "VirtualMachine.Config.AddRemoveDevice",
            "VirtualMachine.Config.AdvancedConfig",
            "VirtualMachine.Config.Annotation",
            "VirtualMachine.Config.CPUCount",
            "VirtualMachine.Config.DiskExtend",
            "VirtualMachine.Config.EditDevice",
            "VirtualMachine.Config.Memory",
            "VirtualMachine.Config.Resource",
            "VirtualMachine.Config.Settings",
            "VirtualMachine.Interact.PowerOff",
            "VirtualMachine.Interact.PowerOn",
        ],
        why: "create the VMs from the clone, set CPUs, memory and its reservation, the disk size, the NIC (static MAC), guestinfo (extraConfig) and the annotation, power them on and off, delete them",
    },
} as const satisfies Record<string, VsphereGrant>;

export type VsphereGrantName = keyof typeof vsphereGrants;

/** The grants each vSphere type token the program registers or invokes needs. */
export const vsphereTokenGrants: Readonly<Record<string, readonly VsphereGrantName[]>> = {
    "pulumi:providers:vsphere": ["vcenter"],
    "vsphere:index/getDatacenter:getDatacenter": ["datacenter"],
    "vsphere:index/getComputeCluster:getComputeCluster": ["placement"],
    "vsphere:index/getResourcePool:getResourcePool": ["placement"],
    "vsphere:index/getDatastore:getDatastore": ["datastore"],
    "vsphere:index/getNetwork:getNetwork": ["network"],
    "vsphere:index/getVirtualMachine:getVirtualMachine": ["template"],
    "vsphere:index/virtualMachine:VirtualMachine": ["placement", "datastore", "network", "template", "folder"],
    "vsphere:index/computeClusterVmAntiAffinityRule:ComputeClusterVmAntiAffinityRule": ["drsRule"],
};

/** The README's table of grants (generated section "vsphere-privileges"). */
export function renderVspherePrivileges(): string {
    const rows = Object.values(vsphereGrants as Record<string, VsphereGrant>).map(
        (grant) =>
            `| ${grant.object} | ${grant.role} | ${grant.propagate ? "yes" : "no"} | ${grant.privileges.length > 0 ? grant.privileges.map((p) => `\`${p}\``).join(", ") : "(System.Anonymous, System.View, System.Read)"} | ${grant.why} |`,
    );
    return ["| object | role | propagate | privileges | for |", "|---|---|---|---|---|", ...rows, ""].join("\n");
}
