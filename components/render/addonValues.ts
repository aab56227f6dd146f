/**
 * Helm values and MetalLB objects of the cluster add-ons, as plain objects built from the config.
 * Pure functions (config in, object out): ClusterAddons passes them to Helm unchanged and the
 * render tests check every key they set against each chart's own values.yaml and schema.
 */
import * as YAML from "yaml";
import { AddonsConfig } from "../config";
import { readManifest } from "./manifests";
import { PodSecurityLevel } from "./apiServerHardening";

/** Where a chart comes from: its name in the repository, the pinned version, the repository URL. */
export interface ChartSource {
    readonly chart: string;
    readonly version: string;
    readonly repo: string;
    /** Issue 15 item 5: set when the publisher signs its charts; Helm then verifies the chart's provenance. */
    readonly signingKey?: ChartSigningKey;
}

/**
 * A chart publisher's signing key. Helm provenance: the repository serves a `.prov` file beside
 * each chart package, the package's sha256 signed with this key; `helm install --verify` refuses a
 * chart whose file is missing, unsigned by a key of the keyring, or whose hash differs
 * (https://helm.sh/docs/topics/provenance/).
 */
export interface ChartSigningKey {
    /** The key's user id. */
    readonly signer: string;
    /** The key's fingerprint, pinned: a test checks that the shipped keyring holds this key and no other. */
    readonly fingerprint: string;
    /**
     * The keyring under manifests/chart-keys/: binary OpenPGP packets (Helm reads no armored or
     * keybox file), made with `gpg --dearmor` from the publisher's armored key kept beside it.
     */
    readonly keyring: string;
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
    // Issue 13 (sources: test/fixtures/SOURCES.md).
    kubeletCsrApprover: { chart: "kubelet-csr-approver", version: "1.2.14", repo: "https://postfinance.github.io/kubelet-csr-approver" },
    metricsServer: { chart: "metrics-server", version: "3.13.1", repo: "https://kubernetes-sigs.github.io/metrics-server/" },
    kubePrometheusStack: {
        chart: "kube-prometheus-stack",
        version: "88.5.3",
        repo: "https://prometheus-community.github.io/helm-charts",
        // Signed since prometheus-community/helm-charts#6511 (2026-01-24: chart-releaser with
        // CR_SIGN); the key is the repository's pubkey.gpg (sources: test/fixtures/SOURCES.md).
        signingKey: {
            signer: "Prometheus Community Helm Charts",
            fingerprint: "E2F102EFA9ACD882585BFE1A27252B168248743B",
            keyring: "prometheus-community.gpg",
        },
    },
    flux2: { chart: "flux2", version: "2.18.3", repo: "https://fluxcd-community.github.io/helm-charts" },
} as const satisfies Record<string, ChartSource>;

/** The namespace of each add-on. */
export const addonNamespaces = {
    flannel: "kube-flannel",
    tigeraOperator: "tigera-operator",
    metallb: "metallb-system",
    ingressNginx: "ingress-nginx",
    traefik: "traefik",
    nfsProvisioner: "nfs-provisioner",
    // Issue 13: both metrics add-ons sit with the kubelet-facing system components.
    kubeletCsrApprover: "kube-system",
    metricsServer: "kube-system",
    monitoring: "monitoring",
    flux: "flux-system",
} as const;

/**
 * The Pod Security level of each add-on namespace, set as its enforce, audit and warn labels, so
 * the add-ons run whatever the cluster default (podSecurityStandard) is:
 * - privileged where pods need the host: flannel and MetalLB's speaker (host network, NET_RAW,
 *   NET_ADMIN; their install docs label the namespace so), the tigera-operator (host network: it
 *   runs before any pod network), kube-prometheus-stack's node-exporter (host network, PID and
 *   paths);
 * - baseline for the rest: no host access, but the ingress controllers add NET_BIND_SERVICE and
 *   the NFS provisioner mounts an nfs volume, which restricted forbids.
 */
export const addonPodSecurity = {
    flannel: "privileged",
    tigeraOperator: "privileged",
    metallb: "privileged",
    monitoring: "privileged",
    ingress: "baseline",
    nfsProvisioner: "baseline",
    flux: "baseline",
} as const satisfies Record<string, PodSecurityLevel>;

/** The namespace labels that make `level` enforced there (and warned and audited at the same level). */
export function podSecurityLabels(level: PodSecurityLevel): Record<string, string> {
    return {
        "pod-security.kubernetes.io/enforce": level,
        "pod-security.kubernetes.io/audit": level,
        "pod-security.kubernetes.io/warn": level,
    };
}

/** Name of the StorageClass the NFS provisioner creates (the chart's default name). */
export const nfsStorageClassName = "nfs-client";

/** Name of the MetalLB address pool (and of the L2Advertisement that announces it). */
export const metallbPoolName = "lab-pool";

/** The MetalLB annotation that asks for a fixed address (spec.loadBalancerIP is deprecated since Kubernetes 1.24). */
export const metallbAddressAnnotation = "metallb.io/loadBalancerIPs";
/**
 * The MetalLB annotation that asks for an address from a named pool: the one way to get one from a
 * pool with autoAssign off (MetalLB docs, "Advanced AddressPool configuration": "Controlling
 * automatic address allocation"). The lab's own controllers always carry it.
 */
export const metallbPoolAnnotation = "metallb.io/address-pool";

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

/** Which instance of the ingress controller: the default, external one or the internal one of seed 001. */
export interface IngressRole {
    readonly internal: boolean;
}

/** Class, controller value and leader-election id of each ingress-nginx controller. */
export const ingressNginxIdentity = {
    external: { className: "nginx", controllerValue: "k8s.io/ingress-nginx", electionID: "ingress-nginx-leader" },
    // Its own electionID, or both controllers compete for one leader lock and only one of them
    // ever writes Ingress status (seed 001).
    internal: { className: "nginx-internal", controllerValue: "k8s.io/ingress-nginx-internal", electionID: "ingress-nginx-internal-leader" },
} as const;

/** The Service annotations asking MetalLB for an address from the lab's pool, a fixed one when configured. */
function loadBalancerAnnotations(address: string | undefined): Record<string, string> {
    return { [metallbPoolAnnotation]: metallbPoolName, ...(address ? { [metallbAddressAnnotation]: address } : {}) };
}

/**
 * ingress-nginx: a LoadBalancer Service (a fixed address from the pool when configured) and its
 * IngressClass. The external controller's class is the cluster default; the internal one has
 * its own class, controller value and election id so the two never act on each other's Ingresses.
 */
export function ingressNginxValues(cfg: AddonsConfig, role: IngressRole): HelmValues {
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
                annotations: loadBalancerAnnotations(address),
            },
        },
    };
}

/** IngressClass of each Traefik instance (both use Traefik's one controller value, traefik.io/ingress-controller). */
export const traefikIdentity = {
    external: { className: "traefik" },
    internal: { className: "traefik-internal" },
} as const;

/**
 * Traefik: its IngressClass and a LoadBalancer Service (a fixed address when configured). The
 * external instance's class is the cluster default. Both instances share Traefik's controller
 * value, so each one watches only its own class by name (providers.kubernetesIngress.ingressClass:
 * Traefik v3 filters the IngressClasses by that name, traefik/traefik
 * pkg/provider/kubernetes/ingress/kubernetes.go, loadConfigurationFromIngresses)
 * and, for IngressRoutes, the internal one only those annotated with its class (kubernetesCRD:
 * "only resources containing an annotation with the same value are processed", the chart's values.yaml).
 */
export function traefikValues(cfg: AddonsConfig, role: IngressRole = { internal: false }): HelmValues {
    const className = role.internal ? traefikIdentity.internal.className : traefikIdentity.external.className;
    const address = role.internal ? cfg.ingress.internal.address : cfg.ingress.address;
    return {
        ingressClass: { enabled: true, isDefaultClass: !role.internal, name: className },
        providers: {
            kubernetesIngress: { ingressClass: className },
            ...(role.internal ? { kubernetesCRD: { ingressClass: className } } : {}),
        },
        service: {
            annotations: loadBalancerAnnotations(address),
            spec: { type: "LoadBalancer" },
        },
    };
}

/** The IngressClass name of the external (or, with internal, the internal) controller, if any. */
export function ingressClassName(cfg: AddonsConfig, internal: boolean): string | undefined {
    const role = internal && cfg.ingress.internal.enabled ? "internal" : "external";
    if (cfg.ingress.controller === "ingress-nginx") return ingressNginxIdentity[role].className;
    if (cfg.ingress.controller === "traefik") return traefikIdentity[role].className;
    return undefined;
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

// --- Issue 13 item 3: kubectl top

/** A regular expression matching exactly the given names (for kubelet-csr-approver's providerRegex). */
function exactNamesPattern(names: readonly string[]): string {
    return `^(${names.map((name) => name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|")})$`;
}

/**
 * kubelet-csr-approver: approves a kubelet-serving CSR only from a node (user system:node:<name>)
 * whose name is one of the lab's (providerRegex = the node names, exactly; the certificate's DNS
 * name must be that node's), with IP addresses only among the lab's node addresses
 * (providerIpPrefixes, one /32 each: the approver checks each address against the list, not
 * against the node). Node names need not be in DNS in a lab, so the DNS check is bypassed; the
 * name and address lists are what restrict it (the chart's README, "Helm Install").
 */
export function kubeletCsrApproverValues(cfg: AddonsConfig): HelmValues {
    return {
        providerRegex: exactNamesPattern(cfg.nodes.map((node) => node.name)),
        providerIpPrefixes: cfg.nodes.map((node) => `${node.address}/32`),
        bypassDnsResolution: true,
    };
}

/**
 * metrics-server: scrapes each kubelet at its InternalIP (the node address, which the kubelet's
 * CA-signed serving certificate carries) and verifies the certificate against the cluster CA: the
 * chart's own defaultArgs, written out so the file shows there is no --kubelet-insecure-tls.
 */
export function metricsServerValues(): HelmValues {
    return {
        defaultArgs: ["--cert-dir=/tmp", "--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname", "--kubelet-use-node-status-port", "--metric-resolution=15s"],
        args: [],
    };
}

// --- Issue 13 item 4: monitoring

/** The Secret holding Grafana's admin user and generated password (the chart reads it: grafana.admin.existingSecret). */
export const grafanaAdminSecret = { name: "grafana-admin", userKey: "admin-user", passwordKey: "admin-password", user: "admin" } as const;

/** A PersistentVolumeClaim template on the NFS StorageClass. */
function nfsClaim(sizeGb: number): Record<string, unknown> {
    return { spec: { storageClassName: nfsStorageClassName, accessModes: ["ReadWriteOnce"], resources: { requests: { storage: `${sizeGb}Gi` } } } };
}

/**
 * kube-prometheus-stack: Prometheus, Alertmanager and Grafana. With NFS on, each keeps its data on
 * a volume of the NFS StorageClass (Prometheus documents NFS as not POSIX-exact: fine for a lab,
 * not for production). Grafana's admin comes from {@link grafanaAdminSecret}, never from the values;
 * with a host name Grafana gets an Ingress (the internal class when there is one). The kubeadm
 * components are scraped where kubeadm.ts's applyAddonSettings opens them (etcd's metrics on 2381).
 */
export function kubePrometheusStackValues(cfg: AddonsConfig): HelmValues {
    const nfs = cfg.nfs.enabled;
    const host = cfg.monitoring.grafanaHost;
    return {
        prometheus: { prometheusSpec: { storageSpec: nfs ? { volumeClaimTemplate: nfsClaim(cfg.monitoring.prometheusStorageGb) } : {} } },
        alertmanager: { alertmanagerSpec: { storage: nfs ? { volumeClaimTemplate: nfsClaim(2) } : {} } },
        kubeEtcd: { service: { port: 2381, targetPort: 2381 } },
        grafana: {
            admin: { existingSecret: grafanaAdminSecret.name, userKey: grafanaAdminSecret.userKey, passwordKey: grafanaAdminSecret.passwordKey },
            persistence: nfs ? { enabled: true, type: "pvc", storageClassName: nfsStorageClassName, accessModes: ["ReadWriteOnce"], size: "5Gi" } : { enabled: false },
            ingress: host ? { enabled: true, ingressClassName: ingressClassName(cfg, true), hosts: [host], path: "/" } : { enabled: false },
        },
    };
}

// --- Issue 13 item 5: GitOps

/** Names of the Flux objects the lab creates in flux-system. */
export const fluxObjectNames = { source: "lab", credentials: "lab-git-credentials" } as const;

/** Flux's controllers without image automation (a lab syncs manifests and Helm releases). */
export function flux2Values(): HelmValues {
    return {
        installCRDs: true,
        imageAutomationController: { create: false },
        imageReflectionController: { create: false },
    };
}

/** A Flux object named {@link fluxObjectNames}.source in flux-system. */
function fluxObject(apiVersion: string, kind: string, spec: Record<string, unknown>): KubernetesObject {
    return { apiVersion, kind, metadata: { name: fluxObjectNames.source, namespace: addonNamespaces.flux }, spec };
}

/** The GitRepository Flux pulls (source.toolkit.fluxcd.io/v1), with its credentials Secret when set. */
export function fluxGitRepository(cfg: AddonsConfig): KubernetesObject {
    const flux = cfg.flux;
    return fluxObject("source.toolkit.fluxcd.io/v1", "GitRepository", {
        interval: "1m0s",
        url: flux.url,
        ref: { branch: flux.branch },
        ...(flux.credentials ? { secretRef: { name: fluxObjectNames.credentials } } : {}),
    });
}

/** The Kustomization applying fluxGitPath of that repository (kustomize.toolkit.fluxcd.io/v1). */
export function fluxKustomization(cfg: AddonsConfig): KubernetesObject {
    return fluxObject("kustomize.toolkit.fluxcd.io/v1", "Kustomization", {
        interval: "10m0s",
        path: cfg.flux.path,
        prune: true,
        sourceRef: { kind: "GitRepository", name: fluxObjectNames.source },
    });
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
        spec: { ...template.spec, addresses: [`${first}-${last}`], autoAssign: cfg.metallb.autoAssign },
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
