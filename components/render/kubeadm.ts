import { isIPv4 } from "net";
import { ApiServerHardening, applyApiServerHardening } from "./apiServerHardening";
import { stringifyYaml } from "./yaml";

/**
 * kubeadm configuration files (`kubeadm.k8s.io/v1beta4`), built as objects and serialized with
 * `yaml`. Node 0 receives the init file (/etc/k8s-lab/kubeadm-init.yaml), every other node a join
 * file (/etc/k8s-lab/kubeadm-join.yaml). Both hold secrets: stage them root-only.
 */

/** API group and version of every kubeadm document rendered here. */
export const KUBEADM_API_VERSION = "kubeadm.k8s.io/v1beta4";
/** API group and version of the kubelet's component config. */
export const KUBELET_API_VERSION = "kubelet.config.k8s.io/v1beta1";
/** Port each kube-apiserver listens on, on its own node address (haproxy forwards the VIP here). */
export const API_SERVER_BIND_PORT = 6443;
/** containerd's CRI socket, named explicitly so kubeadm never has to guess between runtimes. */
export const CONTAINERD_CRI_SOCKET = "unix:///var/run/containerd/containerd.sock";
/** The taint kubeadm puts on control planes by default; written out so the file says it. */
export const CONTROL_PLANE_TAINT = { key: "node-role.kubernetes.io/control-plane", effect: "NoSchedule" } as const;
/**
 * Lifetime of the token kubeadm init creates. No join uses it (each join mints its own,
 * manifests/join-credentials-mint.sh) and join-credentials-revoke.sh deletes it after the joins;
 * the TTL bounds it if that never runs.
 */
export const DEFAULT_BOOTSTRAP_TOKEN_TTL = "1h0m0s";
/** The description of the init's token: join-credentials-revoke.sh deletes tokens with this prefix. */
export const LAB_TOKEN_DESCRIPTION_PREFIX = "k8s-vsphere-lab";

/** Arguments of the first control plane's `kubeadm init`. */
export interface KubeadmInitArgs {
    /** Node name (also the etcd member name), e.g. "k8s-control01". */
    readonly nodeName: string;
    /** Node 0's own address: its apiserver binds there on port 6443, and the kubelet reports it. */
    readonly advertiseAddress: string;
    /** The HA endpoint with its port, e.g. "k8s.lab.example:443" (DNS name or VIP). */
    readonly controlPlaneEndpoint: string;
    /** Extra names and addresses in the apiserver certificate (the VIP, the DNS name). */
    readonly certSANs: readonly string[];
    /** Kubernetes version, "1.33.4" or "v1.33.4". */
    readonly kubernetesVersion: string;
    /** Pod CIDR, e.g. "10.244.0.0/16" (flannel's default). */
    readonly podSubnet: string;
    /** Service CIDR, e.g. "10.96.0.0/12". */
    readonly serviceSubnet: string;
    /** Cluster name in kubeconfigs; default "kubernetes" (kubeadm's). */
    readonly clusterName?: string;
    /** Whether node 0 gets the control-plane NoSchedule taint; false lets workloads run there. */
    readonly controlPlaneTaint: boolean;
    /** Bootstrap token lifetime as a Go duration; default 24h0m0s. */
    readonly bootstrapTokenTtl?: string;
    /** Issue 13: what the add-ons need from the kubeadm config (see {@link applyAddonSettings}). */
    readonly addonSettings?: KubeadmAddonSettings;
    /** Issue 15: encryption at rest, audit log, Pod Security default (see apiServerHardening.ts); profiling is always off. */
    readonly hardening: ApiServerHardening;
}

/**
 * The cluster's part of the init arguments, the same on every control plane: with a node's name and
 * address added, the init file of node 0, or the file apiserver-reconfigure.sh rewrites a control
 * plane's apiserver manifest from (components/apiServerReconfigure.ts).
 */
export type KubeadmClusterArgs = Omit<KubeadmInitArgs, "nodeName" | "advertiseAddress">;

/** Arguments of a `kubeadm join` (worker, or control plane when `controlPlane` is set). */
export interface KubeadmJoinArgs {
    /** Node name, e.g. "k8s-worker01". */
    readonly nodeName: string;
    /** The node's own address: the kubelet reports it; a control plane's apiserver binds there. */
    readonly advertiseAddress: string;
    /** The HA endpoint with its port, the same as the init's controlPlaneEndpoint. */
    readonly apiServerEndpoint: string;
    /** Secret bootstrap token, `[a-z0-9]{6}.[a-z0-9]{16}`. */
    readonly bootstrapToken: string;
    /** Hash pinning the cluster CA: "sha256:" + 64 hex characters. */
    readonly caCertHash: string;
    /** Present for control planes only; a worker gets neither certificates nor a taint. */
    readonly controlPlane?: {
        /** Secret key to download the uploaded control-plane certificates. */
        readonly certificateKey: string;
        /** Whether this control plane gets the NoSchedule taint. */
        readonly taint: boolean;
    };
}

const BOOTSTRAP_TOKEN_PATTERN = /^[a-z0-9]{6}\.[a-z0-9]{16}$/;
const CERTIFICATE_KEY_PATTERN = /^[0-9a-f]{64}$/;
const CA_CERT_HASH_PATTERN = /^sha256:[0-9a-f]{64}$/;
const VERSION_PATTERN = /^v?\d+\.\d+\.\d+$/;
const ENDPOINT_PATTERN = /^[A-Za-z0-9.-]+:\d{1,5}$|^\[[0-9A-Fa-f:]+\]:\d{1,5}$/;
const GO_DURATION_PATTERN = /^(\d+h)?(\d+m)?(\d+s)?$/;

/**
 * The init configuration of node 0: InitConfiguration (node registration, and a bootstrap token
 * entry without a value: kubeadm generates it, issue 15), ClusterConfiguration (version,
 * endpoint, SANs, subnets) and KubeletConfiguration (systemd cgroup driver), as one
 * multi-document YAML text. It holds no secret: no token, no certificate key (no certificates are
 * uploaded at init; each control-plane join uploads them under its own key).
 */
export function renderKubeadmInitConfig(args: KubeadmInitArgs): string {
    checkInitArgs(args);
    const initConfiguration = {
        apiVersion: KUBEADM_API_VERSION,
        kind: "InitConfiguration",
        // No `token`: kubeadm generates one (SetBootstrapTokensDynamicDefaults) and, with
        // --skip-token-print, prints it nowhere. The entry exists for its description and TTL.
        bootstrapTokens: [
            {
                description: `${LAB_TOKEN_DESCRIPTION_PREFIX}: kubeadm init (deleted once the joins are done)`,
                ttl: args.bootstrapTokenTtl ?? DEFAULT_BOOTSTRAP_TOKEN_TTL,
                usages: ["signing", "authentication"],
                groups: ["system:bootstrappers:kubeadm:default-node-token"],
            },
        ],
        localAPIEndpoint: { advertiseAddress: args.advertiseAddress, bindPort: API_SERVER_BIND_PORT },
        nodeRegistration: nodeRegistration(args.nodeName, args.advertiseAddress, args.controlPlaneTaint),
    };
    const clusterConfiguration = {
        apiVersion: KUBEADM_API_VERSION,
        kind: "ClusterConfiguration",
        clusterName: args.clusterName ?? "kubernetes",
        kubernetesVersion: kubernetesVersionTag(args.kubernetesVersion),
        controlPlaneEndpoint: args.controlPlaneEndpoint,
        apiServer: { certSANs: [...args.certSANs] },
        networking: { podSubnet: args.podSubnet, serviceSubnet: args.serviceSubnet },
    };
    // kubeadm has defaulted to systemd since v1.22; pinned here because containerd is configured
    // with SystemdCgroup = true by node-prepare.sh, and the two must match.
    const kubeletConfiguration = {
        apiVersion: KUBELET_API_VERSION,
        kind: "KubeletConfiguration",
        cgroupDriver: "systemd",
    };
    const extraDocuments = applyAddonSettings(clusterConfiguration, kubeletConfiguration, args.addonSettings);
    applyApiServerHardening(clusterConfiguration, args.hardening);
    return toMultiDocumentYaml([initConfiguration, clusterConfiguration, kubeletConfiguration, ...extraDocuments]);
}

/** What the add-ons of issue 13 need from the kubeadm config. */
export interface KubeadmAddonSettings {
    /** Kubelets ask the cluster CA for serving certificates (metrics-server verifies them). */
    readonly kubeletServingCertificates: boolean;
    /** The control-plane components' and kube-proxy's metrics endpoints listen beyond localhost. */
    readonly metricsEndpoints: boolean;
}

/** API group and version of kube-proxy's component config. */
export const KUBE_PROXY_API_VERSION = "kubeproxy.config.k8s.io/v1alpha1";

/**
 * Issue 13: the add-ons' settings, applied to the init's ClusterConfiguration and
 * KubeletConfiguration (edited in place); returns further documents (a KubeProxyConfiguration).
 *
 * - serverTLSBootstrap: the kubelet requests its serving certificate with a CSR (signer
 *   kubernetes.io/kubelet-serving, the cluster CA) instead of a self-signed one; until the CSR is
 *   approved the kubelet serves no TLS (kubectl logs/exec fail), so kubelet-csr-approver runs with
 *   the first add-ons (kubeadm docs, "Enabling signed kubelet serving certificates").
 * - metrics: kubeadm binds controller-manager and scheduler to 127.0.0.1 and etcd's metrics to
 *   http://127.0.0.1:2381, and kube-proxy's metrics to 127.0.0.1:10249; Prometheus scrapes them
 *   from the pod network, so they listen on every address (kube-prometheus-stack's kubeadm notes).
 *   controller-manager (10257) and scheduler (10259) still require authentication and authorization.
 *   kubeadm uploads both configs, so joining nodes get the same settings.
 */
export function applyAddonSettings(
    clusterConfiguration: Record<string, unknown>,
    kubeletConfiguration: Record<string, unknown>,
    settings: KubeadmAddonSettings | undefined,
): object[] {
    if (settings?.kubeletServingCertificates) {
        kubeletConfiguration.serverTLSBootstrap = true;
    }
    if (!settings?.metricsEndpoints) {
        return [];
    }
    // A fresh list each (a shared one would be written as a YAML anchor and alias).
    const bindEverywhere = () => [{ name: "bind-address", value: "0.0.0.0" }];
    clusterConfiguration.controllerManager = { extraArgs: bindEverywhere() };
    clusterConfiguration.scheduler = { extraArgs: bindEverywhere() };
    clusterConfiguration.etcd = { local: { extraArgs: [{ name: "listen-metrics-urls", value: "http://0.0.0.0:2381" }] } };
    return [{ apiVersion: KUBE_PROXY_API_VERSION, kind: "KubeProxyConfiguration", metricsBindAddress: "0.0.0.0:10249" }];
}

/** The join configuration of a worker or of a further control plane, as YAML text. */
export function renderKubeadmJoinConfig(args: KubeadmJoinArgs): string {
    checkJoinArgs(args);
    const joinConfiguration: Record<string, unknown> = {
        apiVersion: KUBEADM_API_VERSION,
        kind: "JoinConfiguration",
        nodeRegistration: nodeRegistration(args.nodeName, args.advertiseAddress, args.controlPlane?.taint),
        discovery: {
            bootstrapToken: {
                token: args.bootstrapToken,
                apiServerEndpoint: args.apiServerEndpoint,
                caCertHashes: [args.caCertHash],
            },
        },
    };
    if (args.controlPlane) {
        joinConfiguration.controlPlane = {
            localAPIEndpoint: { advertiseAddress: args.advertiseAddress, bindPort: API_SERVER_BIND_PORT },
            certificateKey: args.controlPlane.certificateKey,
        };
    }
    return toMultiDocumentYaml([joinConfiguration]);
}

/** "1.33.4" -> "v1.33.4"; "v1.33.4" stays. */
export function kubernetesVersionTag(version: string): string {
    return version.startsWith("v") ? version : `v${version}`;
}

/**
 * NodeRegistrationOptions. `taint` undefined (workers) leaves `taints` out, which kubeadm reads as
 * "no taint" on a worker join; for control planes the list is explicit: [] means untainted.
 */
function nodeRegistration(nodeName: string, address: string, taint: boolean | undefined): Record<string, unknown> {
    const registration: Record<string, unknown> = {
        name: nodeName,
        criSocket: CONTAINERD_CRI_SOCKET,
        // Control planes also carry the keepalived VIP: pin the address the kubelet reports.
        kubeletExtraArgs: [{ name: "node-ip", value: address }],
    };
    if (taint !== undefined) {
        registration.taints = taint ? [{ ...CONTROL_PLANE_TAINT }] : [];
    }
    return registration;
}

function toMultiDocumentYaml(documents: readonly object[]): string {
    return documents.map((document) => stringifyYaml(document)).join("---\n");
}

// Messages name the field and the expected form, never the value: some values are secrets.
function checkInitArgs(args: KubeadmInitArgs): void {
    const problems = [
        ...nodeProblems(args.nodeName, args.advertiseAddress),
        ...check(ENDPOINT_PATTERN.test(args.controlPlaneEndpoint), "controlPlaneEndpoint must be host:port, e.g. k8s.lab.example:443"),
        ...check(VERSION_PATTERN.test(args.kubernetesVersion), "kubernetesVersion must look like 1.33.4"),
        ...check(args.podSubnet.includes("/"), "podSubnet must be a CIDR, e.g. 10.244.0.0/16"),
        ...check(args.serviceSubnet.includes("/"), "serviceSubnet must be a CIDR, e.g. 10.96.0.0/12"),
        ...check(args.certSANs.every((san) => san.trim() !== ""), "certSANs must not hold empty names"),
        ...check(
            args.bootstrapTokenTtl === undefined || (args.bootstrapTokenTtl !== "" && GO_DURATION_PATTERN.test(args.bootstrapTokenTtl)),
            "bootstrapTokenTtl must be a Go duration, e.g. 24h0m0s",
        ),
    ];
    throwIfAny("kubeadm init config", problems);
}

function checkJoinArgs(args: KubeadmJoinArgs): void {
    const problems = [
        ...nodeProblems(args.nodeName, args.advertiseAddress),
        ...check(BOOTSTRAP_TOKEN_PATTERN.test(args.bootstrapToken), "bootstrapToken must match [a-z0-9]{6}.[a-z0-9]{16}"),
        ...check(ENDPOINT_PATTERN.test(args.apiServerEndpoint), "apiServerEndpoint must be host:port, e.g. k8s.lab.example:443"),
        ...check(CA_CERT_HASH_PATTERN.test(args.caCertHash), "caCertHash must be sha256: followed by 64 lowercase hex characters"),
        ...check(
            args.controlPlane === undefined || CERTIFICATE_KEY_PATTERN.test(args.controlPlane.certificateKey),
            "controlPlane.certificateKey must be 64 lowercase hex characters",
        ),
    ];
    throwIfAny(`kubeadm join config of ${args.nodeName}`, problems);
}

function nodeProblems(nodeName: string, address: string): string[] {
    return [
        ...check(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(nodeName), "nodeName must be a lowercase DNS name"),
        ...check(isIPv4(address), "advertiseAddress must be an IPv4 address"),
    ];
}

function check(ok: boolean, problem: string): string[] {
    return ok ? [] : [problem];
}

function throwIfAny(what: string, problems: readonly string[]): void {
    if (problems.length > 0) {
        throw new Error(`${what}: ${problems.join("; ")}`);
    }
}
