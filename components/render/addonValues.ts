/**
 * Helm values and MetalLB objects of the cluster add-ons, as plain objects built from the config.
 * Pure functions (config in, object out): ClusterAddons passes them to Helm unchanged and the
 * render tests check every key they set against each chart's own values.yaml and schema.
 */
import * as YAML from "yaml";
import { AddonsConfig } from "../config";
import { readManifest } from "./manifests";

/** Where a chart comes from: its name in the repository, the pinned version, the repository URL. */
export interface ChartSource {
    readonly chart: string;
    readonly version: string;
    readonly repo: string;
}

/** Every chart the add-ons install, pinned (sources: ../shared/reference/VERSIONS.md). */
export const addonCharts = {
    flannel: { chart: "flannel", version: "v0.28.9", repo: "https://flannel-io.github.io/flannel/" },
    tigeraOperator: { chart: "tigera-operator", version: "v3.32.1", repo: "https://docs.tigera.io/calico/charts" },
    metallb: { chart: "metallb", version: "0.16.1", repo: "https://metallb.github.io/metallb" },
    ingressNginx: { chart: "ingress-nginx", version: "4.15.1", repo: "https://kubernetes.github.io/ingress-nginx" },
    traefik: { chart: "traefik", version: "41.3.0", repo: "https://traefik.github.io/charts" },
    nfsProvisioner: {
        chart: "nfs-subdir-external-provisioner",
        version: "4.0.18",
        repo: "https://kubernetes-sigs.github.io/nfs-subdir-external-provisioner/",
    },
} as const satisfies Record<string, ChartSource>;

/** The namespace of each add-on. */
export const addonNamespaces = {
    flannel: "kube-flannel",
    tigeraOperator: "tigera-operator",
    metallb: "metallb-system",
    ingressNginx: "ingress-nginx",
    traefik: "traefik",
    nfsProvisioner: "nfs-provisioner",
} as const;

/**
 * Pod Security Admission labels for namespaces whose pods need host access (flannel's and
 * MetalLB speaker's host network, NET_RAW and NET_ADMIN): their own install docs label them so.
 */
export const privilegedPodSecurityLabels: Readonly<Record<string, string>> = {
    "pod-security.kubernetes.io/enforce": "privileged",
    "pod-security.kubernetes.io/audit": "privileged",
    "pod-security.kubernetes.io/warn": "privileged",
};

/** Name of the StorageClass the NFS provisioner creates (the chart's default name). */
export const nfsStorageClassName = "nfs-client";

/** Name of the MetalLB address pool (and of the L2Advertisement that announces it). */
export const metallbPoolName = "lab-pool";

/** The MetalLB annotation that asks for a fixed address (spec.loadBalancerIP is deprecated since Kubernetes 1.24). */
export const metallbAddressAnnotation = "metallb.io/loadBalancerIPs";

/** Helm values: a JSON-like tree. */
export type HelmValues = Record<string, unknown>;

/** flannel: the pod CIDR kubeadm was given, and the backend (vxlan, or host-gw on one L2 network). */
export function flannelValues(cfg: AddonsConfig): HelmValues {
    return {
        podCidr: cfg.podSubnet,
        flannel: { backend: cfg.flannelBackend },
    };
}

/**
 * Calico through the tigera-operator chart: the chart turns `installation` into the operator's
 * Installation resource, so the pod CIDR goes there. VXLAN without BGP needs nothing from the
 * network beyond UDP 4789 between nodes; Calico turns off VXLAN checksum offload itself.
 */
export function calicoValues(cfg: AddonsConfig): HelmValues {
    return {
        installation: {
            enabled: true,
            calicoNetwork: {
                bgp: "Disabled",
                ipPools: [
                    {
                        cidr: cfg.podSubnet,
                        encapsulation: "VXLAN",
                        natOutgoing: "Enabled",
                        nodeSelector: "all()",
                        blockSize: 26,
                    },
                ],
            },
        },
    };
}

/**
 * MetalLB in layer 2 mode. frr-k8s (the BGP backend, on by default since 0.15) is left out: L2
 * announcements need only the speaker, and a lab saves a DaemonSet of FRR pods.
 */
export function metallbValues(): HelmValues {
    return {
        frrk8s: { enabled: false },
        speaker: { frr: { enabled: false } },
    };
}

/** Which ingress-nginx controller: the default, external one or the internal one of seed 001. */
export interface IngressNginxRole {
    readonly internal: boolean;
}

/** Class, controller value and leader-election id of each ingress-nginx controller. */
export const ingressNginxIdentity = {
    external: { className: "nginx", controllerValue: "k8s.io/ingress-nginx", electionID: "ingress-nginx-leader" },
    // Its own electionID, or both controllers compete for one leader lock and only one of them
    // ever writes Ingress status (seed 001).
    internal: { className: "nginx-internal", controllerValue: "k8s.io/ingress-nginx-internal", electionID: "ingress-nginx-internal-leader" },
} as const;

/** The Service annotations asking MetalLB for a fixed address, or none. */
function fixedAddressAnnotations(address: string | undefined): Record<string, string> {
    return address ? { [metallbAddressAnnotation]: address } : {};
}

/**
 * ingress-nginx: a LoadBalancer Service (a fixed address from the pool when configured) and its
 * IngressClass. The external controller's class is the cluster default; the internal one has
 * its own class, controller value and election id so the two never act on each other's Ingresses.
 */
export function ingressNginxValues(cfg: AddonsConfig, role: IngressNginxRole): HelmValues {
    const identity = role.internal ? ingressNginxIdentity.internal : ingressNginxIdentity.external;
    const address = role.internal ? cfg.ingress.internal.address : cfg.ingress.address;
    return {
        controller: {
            electionID: identity.electionID,
            ingressClass: identity.className,
            ingressClassResource: {
                name: identity.className,
                enabled: true,
                default: !role.internal,
                controllerValue: identity.controllerValue,
            },
            service: {
                type: "LoadBalancer",
                annotations: fixedAddressAnnotations(address),
            },
        },
    };
}

/** Traefik: the default IngressClass and a LoadBalancer Service (a fixed address when configured). */
export function traefikValues(cfg: AddonsConfig): HelmValues {
    return {
        ingressClass: { enabled: true, isDefaultClass: true, name: "traefik" },
        service: {
            annotations: fixedAddressAnnotations(cfg.ingress.address),
            spec: { type: "LoadBalancer" },
        },
    };
}

/**
 * nfs-subdir-external-provisioner: the user's export as the default StorageClass. reclaimPolicy
 * Retain keeps a released volume (and its data) until someone deletes it; with Delete,
 * archiveOnDelete renames its folder to archived-* instead of removing it.
 */
export function nfsProvisionerValues(cfg: AddonsConfig): HelmValues {
    const nfs: Record<string, unknown> = { server: cfg.nfs.server, path: cfg.nfs.path };
    if (cfg.nfs.mountOptions.length > 0) {
        nfs.mountOptions = [...cfg.nfs.mountOptions];
    }
    return {
        nfs,
        storageClass: {
            create: true,
            name: nfsStorageClassName,
            defaultClass: true,
            reclaimPolicy: cfg.nfs.reclaimPolicy,
            archiveOnDelete: cfg.nfs.archiveOnDelete,
        },
    };
}

/** A Kubernetes object as applied: apiVersion, kind, metadata and spec. */
export interface KubernetesObject {
    readonly apiVersion: string;
    readonly kind: string;
    readonly metadata: { readonly name: string; readonly namespace: string };
    readonly spec: Record<string, unknown>;
}

/** Parses a manifests/ YAML file holding one object. */
function readObjectManifest(file: string): KubernetesObject {
    const parsed = YAML.parse(readManifest(file)) as KubernetesObject;
    if (!parsed || typeof parsed.apiVersion !== "string" || typeof parsed.kind !== "string" || !parsed.metadata || !parsed.spec) {
        throw new Error(`manifests/${file} does not hold one Kubernetes object with apiVersion, kind, metadata and spec`);
    }
    return parsed;
}

/** The MetalLB IPAddressPool of manifests/metallb-ipaddresspool.yaml, with the config's pool. */
export function metallbAddressPool(cfg: AddonsConfig): KubernetesObject {
    const template = readObjectManifest("metallb-ipaddresspool.yaml");
    const { first, last } = cfg.metallb.addressPool;
    return {
        ...template,
        metadata: { ...template.metadata, name: metallbPoolName },
        spec: { ...template.spec, addresses: [`${first}-${last}`] },
    };
}

/** The L2Advertisement of manifests/metallb-l2advertisement.yaml, announcing the given pool. */
export function metallbL2Advertisement(poolName: string = metallbPoolName): KubernetesObject {
    const template = readObjectManifest("metallb-l2advertisement.yaml");
    return {
        ...template,
        metadata: { ...template.metadata, name: poolName },
        spec: { ...template.spec, ipAddressPools: [poolName] },
    };
}
