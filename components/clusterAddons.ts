import * as crypto from "crypto";
import * as path from "path";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as YAML from "yaml";
import { AddonsConfig } from "./config";
import { PodSecurityLevel } from "./render/apiServerHardening";
import {
    addonCharts,
    addonNamespaces,
    calicoValues,
    ChartSigningKey,
    ChartSource,
    flannelValues,
    flux2Values,
    fluxGitRepository,
    fluxKustomization,
    fluxObjectNames,
    grafanaAdminSecret,
    HelmValues,
    IngressRole,
    ingressNginxValues,
    kubeletCsrApproverValues,
    kubePrometheusStackValues,
    KubernetesObject,
    metallbAddressPool,
    metallbL2Advertisement,
    metallbValues,
    metricsServerValues,
    nfsProvisionerValues,
    nfsStorageClassName,
    addonPodSecurity,
    podSecurityLabels,
    traefikValues,
} from "./render/addonValues";

/** Arguments of the cluster add-ons. */
export interface ClusterAddonsArgs {
    /** What to install and how (components/config.ts). */
    readonly config: AddonsConfig;
    /** Admin kubeconfig (secret), server = the VIP endpoint. */
    readonly kubeconfig: pulumi.Input<string>;
    /** The gate: the API answers through the VIP (an ApiServerReady resource). */
    readonly apiReady: pulumi.Resource;
    /**
     * The steps after which the nodes the add-ons' pods run on are in the cluster: node 0's init
     * and every worker's join (issue 14: not the other control planes' joins, see lab.ts).
     * Everything but the CNI waits for them.
     */
    readonly workersJoined: readonly pulumi.Resource[];
    /** Node 0's init (issue 11): in-cluster objects are deletedWith it, so `pulumi destroy` skips them. */
    readonly cluster?: pulumi.Resource;
    /** Issue 13: the steps turning on CA-signed kubelet serving certificates on the nodes of `workersJoined`; metrics-server waits for them. */
    readonly kubeletServing?: readonly pulumi.Resource[];
}

/**
 * The cluster's add-ons, installed through one Kubernetes provider built from the admin
 * kubeconfig: the CNI right after the API answers, then (once every worker has joined) MetalLB
 * with its address pool, the ingress controller(s) and the NFS StorageClass, side by side (the
 * ingress Release's wait covers its Service's address from MetalLB's pool). Each one can be turned
 * off in config.
 */
export class ClusterAddons extends pulumi.ComponentResource {
    /** The provider every add-on is applied with. */
    public readonly provider: k8s.Provider;
    /** The ingress controller's fixed LoadBalancer address, when one is configured. */
    public readonly ingressAddress: pulumi.Output<string | undefined>;
    /** Name of the default StorageClass, when NFS storage is on. */
    public readonly storageClass: pulumi.Output<string | undefined>;
    /** Grafana's generated admin password (secret), when monitoring is on. */
    public readonly grafanaAdminPassword: pulumi.Output<string | undefined>;

    constructor(name: string, args: ClusterAddonsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("lab:index:ClusterAddons", name, {}, opts);
        const cfg = args.config;

        this.provider = new k8s.Provider(
            `${name}-provider`,
            {
                kubeconfig: pulumi.secret(args.kubeconfig),
                // Only a different cluster (a new CA) replaces the provider and with it every
                // add-on; a re-read or rotated kubeconfig of the same cluster is an update.
                clusterIdentifier: pulumi.unsecret(pulumi.output(args.kubeconfig).apply(clusterIdentifierOf)),
                // After `pulumi destroy` has deleted the VMs, drop add-ons from state instead of failing.
                deleteUnreachable: true,
            },
            { parent: this, dependsOn: [args.apiReady] },
        );
        const inCluster = (dependsOn: pulumi.Resource[]): pulumi.CustomResourceOptions & pulumi.ComponentResourceOptions => ({
            parent: this,
            provider: this.provider,
            dependsOn,
            deletedWith: args.cluster,
        });
        // Each namespace carries its Pod Security level (issue 15): the add-ons run whatever podSecurityStandard says.
        // A namespace needs only the API (no node, no pod network), so every one goes in as soon as
        // the API answers, beside the CNI; each chart still waits for its gate and its namespace.
        const namespace = (role: string, namespaceName: string, level: PodSecurityLevel) =>
            new k8s.core.v1.Namespace(`${name}-${role}-namespace`, { metadata: { name: namespaceName, labels: podSecurityLabels(level) } }, inCluster([args.apiReady]));

        // --- CNI: right after the API answers. Nodes stay NotReady and nothing else can start
        // pods until it runs, so it must not wait for the workers (they join without it).
        const cniGate = [args.apiReady];
        let cni: pulumi.Resource;
        if (cfg.cni === "flannel") {
            const ns = namespace("flannel", addonNamespaces.flannel, addonPodSecurity.flannel);
            cni = chart(`${name}-flannel`, addonCharts.flannel, addonNamespaces.flannel, flannelValues(cfg), inCluster([...cniGate, ns]));
        } else {
            const ns = namespace("calico", addonNamespaces.tigeraOperator, addonPodSecurity.tigeraOperator);
            // A Release: the operator creates calico-node itself; the chart's CRDs and Installation go in with Helm.
            cni = release(`${name}-calico`, "calico", addonCharts.tigeraOperator, addonNamespaces.tigeraOperator, calicoValues(cfg), inCluster([...cniGate, ns]));
        }

        // Everything else: after the API, every worker join and the CNI (its pods need a network).
        // Not after the other control planes' joins (issue 14, see lab.ts): nothing here needs them.
        const addonGate = [args.apiReady, ...args.workersJoined, cni];

        // --- MetalLB
        let loadBalancerReady: pulumi.Resource[] = [];
        if (cfg.metallb.enabled) {
            const ns = namespace("metallb", addonNamespaces.metallb, addonPodSecurity.metallb);
            // helm.v4.Chart, not a Release: it applies every object itself and awaits each one,
            // including the controller Deployment that serves the validating webhook and the
            // webhook Service's endpoints; depending on the Chart (a remote component) waits for
            // all of that. The pool and advertisement below are checked by that webhook, and the
            // provider does not retry a webhook error, so they must not be sent any earlier.
            const metallb = chart(`${name}-metallb`, addonCharts.metallb, addonNamespaces.metallb, metallbValues(), inCluster([...addonGate, ns]));
            const pool = customResource(`${name}-metallb-pool`, metallbAddressPool(cfg), inCluster([...addonGate, metallb]));
            // Side by side with the pool (issue 14): MetalLB's webhook accepts an advertisement that
            // names a pool not there yet, and its config simply links them once both exist (v0.16.1
            // internal/config/config.go setL2AdvertisementsToPools skips a missing pool name;
            // test/fixtures/SOURCES.md).
            const advertisement = customResource(`${name}-metallb-l2advertisement`, metallbL2Advertisement(), inCluster([...addonGate, metallb]));
            loadBalancerReady = [pool, advertisement];
        }

        // --- Ingress. One Release per instance (the chart makes ingress-nginx's admission webhook
        // certificate with Helm hooks): the external one, and with internalIngress a second one
        // (issue 13). Issue 14: it installs beside MetalLB instead of after the pool. Nothing in it
        // needs MetalLB to exist first: its LoadBalancer Service is not checked by MetalLB's webhook
        // (that validates MetalLB's own kinds) and simply stays pending until the controller has a
        // pool, then gets its address (a changed pool set makes MetalLB's controller reprocess every
        // Service: internal/k8s/controllers/pool_controller.go, ForceReload). The Release's
        // await is Helm's wait (helm.v3.Release without skipAwait; atomic implies --wait), which counts a
        // LoadBalancer Service ready only once it has an ingress address (helm pkg/kube/ready.go,
        // serviceReady), so the Release is still done only when its address is assigned; its
        // timeout covers MetalLB's install and the pool, which now run in the same window.
        const ingressReleases: pulumi.Resource[] = [];
        const ingress = cfg.ingress.controller === "none" ? undefined : ingressControllers[cfg.ingress.controller];
        if (ingress) {
            const ns = namespace(ingress.release, ingress.namespace, addonPodSecurity.ingress);
            const roles: IngressRole[] = [{ internal: false }, ...(cfg.ingress.internal.enabled ? [{ internal: true }] : [])];
            for (const role of roles) {
                const suffix = role.internal ? "-internal" : "";
                const releaseName = `${ingress.release}${suffix}`;
                // Issue 11: one resource per role, whichever controller fills it, so switching
                // ingressController replaces it and the old controller goes first
                // (deleteBeforeReplace): with ingressAddress set, MetalLB gives the new Service that
                // address only once the old one has released it. The aliases keep the names this
                // resource had when it was named after its controller.
                const aliases = Object.values(ingressControllers).map((controller) => ({ name: `${name}-${controller.release}${suffix}` }));
                ingressReleases.push(
                    release(
                        `${name}-ingress${suffix}`,
                        releaseName,
                        ingress.chart,
                        ingress.namespace,
                        ingress.values(cfg, role),
                        {
                            ...inCluster([...addonGate, ns]),
                            aliases,
                            replaceOnChanges: ["chart", "name", "namespace"],
                            deleteBeforeReplace: true,
                        },
                        ingressTimeoutSeconds,
                    ),
                );
            }
        }

        // --- NFS storage
        const storageReady: pulumi.Resource[] = [];
        if (cfg.nfs.enabled) {
            const ns = namespace("nfs", addonNamespaces.nfsProvisioner, addonPodSecurity.nfsProvisioner);
            storageReady.push(chart(`${name}-nfs`, addonCharts.nfsProvisioner, addonNamespaces.nfsProvisioner, nfsProvisionerValues(cfg), inCluster([...addonGate, ns])));
        }

        // --- Issue 13 item 3: kubectl top. The kubelets' serving certificates wait for approval
        // (serverTLSBootstrap; until then kubectl logs/exec to a node fail). Nothing before this
        // point uses the kubelet's API: ApiServerReady asks the apiserver's /readyz, Helm and the
        // provider's awaits read object status, and node-remove.sh's `kubectl exec` into node 0's
        // etcd runs only on a later scale-in. The approver and metrics-server go in together
        // (issue 14): metrics-server turns ready only after a verified scrape of a kubelet, so its
        // own await (the provider waits up to 10 min for the Deployment) already spans the
        // approval, and installing it after the approver's chart only made the two serial.
        if (cfg.metricsServer) {
            chart(
                `${name}-kubelet-csr-approver`,
                addonCharts.kubeletCsrApprover,
                addonNamespaces.kubeletCsrApprover,
                kubeletCsrApproverValues(cfg),
                inCluster(addonGate),
            );
            chart(`${name}-metrics-server`, addonCharts.metricsServer, addonNamespaces.metricsServer, metricsServerValues(), inCluster([...addonGate, ...(args.kubeletServing ?? [])]));
        }

        // --- Issue 13 item 4: monitoring. Grafana's admin password is generated and reaches the
        // cluster only as a Secret the chart reads (never as a Helm value).
        let grafanaAdminPassword: pulumi.Output<string> | undefined;
        if (cfg.monitoring.enabled) {
            const password = new random.RandomPassword(`${name}-grafana-admin-password`, { length: 24, special: false }, { parent: this });
            grafanaAdminPassword = password.result;
            const ns = namespace("monitoring", addonNamespaces.monitoring, addonPodSecurity.monitoring);
            const adminSecret = new k8s.core.v1.Secret(
                `${name}-grafana-admin`,
                {
                    metadata: { name: grafanaAdminSecret.name, namespace: addonNamespaces.monitoring },
                    stringData: { [grafanaAdminSecret.userKey]: grafanaAdminSecret.user, [grafanaAdminSecret.passwordKey]: password.result },
                },
                { ...inCluster([...addonGate, ns]), additionalSecretOutputs: ["stringData", "data"] },
            );
            // A Release: the operator's admission webhook certificate is made by Helm hooks. Its
            // PVCs need the NFS StorageClass and its Ingress a controller, so it waits for both.
            release(
                `${name}-monitoring`,
                "kube-prometheus-stack",
                addonCharts.kubePrometheusStack,
                addonNamespaces.monitoring,
                kubePrometheusStackValues(cfg),
                inCluster([...addonGate, ...loadBalancerReady, ...ingressReleases, ...storageReady, ns, adminSecret]),
                // Nine images (ten with nfs: README "Supply chain") and three volumes on a lab's uplink: more than Helm's 5 minutes.
                monitoringTimeoutSeconds,
            );
        }

        // --- Issue 13 item 5: GitOps. Flux's CRDs come with its Release; the source and the
        // Kustomization are sent once it is ready. A private repository's credentials are a Secret.
        if (cfg.flux.enabled) {
            const ns = namespace("flux", addonNamespaces.flux, addonPodSecurity.flux);
            const flux = release(`${name}-flux`, "flux2", addonCharts.flux2, addonNamespaces.flux, flux2Values(), inCluster([...addonGate, ns]));
            const sourceGate: pulumi.Resource[] = [...addonGate, flux];
            const credentials = cfg.flux.credentials;
            if (credentials) {
                sourceGate.push(
                    new k8s.core.v1.Secret(
                        `${name}-flux-git-credentials`,
                        {
                            metadata: { name: fluxObjectNames.credentials, namespace: addonNamespaces.flux },
                            stringData: { username: credentials.username, password: credentials.password },
                        },
                        { ...inCluster([...addonGate, ns]), additionalSecretOutputs: ["stringData", "data"] },
                    ),
                );
            }
            const source = customResource(`${name}-flux-source`, fluxGitRepository(cfg), inCluster(sourceGate));
            customResource(`${name}-flux-kustomization`, fluxKustomization(cfg), inCluster([...sourceGate, source]));
        }

        this.grafanaAdminPassword = grafanaAdminPassword ? pulumi.secret(grafanaAdminPassword) : pulumi.output(undefined);
        this.ingressAddress = pulumi.output(cfg.ingress.controller === "none" ? undefined : cfg.ingress.address);
        this.storageClass = pulumi.output(cfg.nfs.enabled ? nfsStorageClassName : undefined);
        this.registerOutputs({
            provider: this.provider,
            ingressAddress: this.ingressAddress,
            storageClass: this.storageClass,
            grafanaAdminPassword: this.grafanaAdminPassword,
        });
    }
}

/**
 * How long Helm waits for an ingress controller: its own pods plus, since it no longer waits for
 * MetalLB (issue 14), MetalLB's chart and pool before its Service has an address; twice Helm's
 * 300 s default, so a slow MetalLB image pull does not roll the (atomic) release back.
 */
const ingressTimeoutSeconds = 600;

/** How long Helm waits for kube-prometheus-stack's objects to be ready. */
const monitoringTimeoutSeconds = 900;

/** Each ingress controller: its Helm release name, chart, namespace and values per instance. */
const ingressControllers: Record<
    "ingress-nginx" | "traefik",
    { release: string; chart: ChartSource; namespace: string; values: (cfg: AddonsConfig, role: IngressRole) => HelmValues }
> = {
    "ingress-nginx": { release: "ingress-nginx", chart: addonCharts.ingressNginx, namespace: addonNamespaces.ingressNginx, values: ingressNginxValues },
    traefik: { release: "traefik", chart: addonCharts.traefik, namespace: addonNamespaces.traefik, values: traefikValues },
};

/** A chart applied object by object (helm template + Pulumi's await on each object). */
function chart(resourceName: string, source: ChartSource, namespace: string, values: HelmValues, opts: pulumi.ComponentResourceOptions): k8s.helm.v4.Chart {
    return new k8s.helm.v4.Chart(
        resourceName,
        {
            chart: source.chart,
            version: source.version,
            repositoryOpts: { repo: source.repo },
            namespace,
            values,
        },
        opts,
    );
}

/** A Helm release (helm install: hooks run), awaited until its objects are ready. */
function release(
    resourceName: string,
    releaseName: string,
    source: ChartSource,
    namespace: string,
    values: HelmValues,
    opts: pulumi.CustomResourceOptions,
    timeoutSeconds?: number,
): k8s.helm.v3.Release {
    return new k8s.helm.v3.Release(
        resourceName,
        {
            name: releaseName,
            chart: source.chart,
            version: source.version,
            repositoryOpts: { repo: source.repo },
            namespace,
            createNamespace: false,
            values,
            // A failed install or upgrade is rolled back (install: purged), leaving nothing
            // half-made for the next `pulumi up` (issue 11: atomic rather than cleanupOnFail).
            atomic: true,
            // Helm's own default (300 s) unless a chart needs longer.
            timeout: timeoutSeconds,
            ...chartVerification(source),
        },
        opts,
    );
}

/**
 * Issue 15 item 5: a signed chart is verified against its publisher's pinned key before it is
 * installed. The keyring path is relative to the project root: Pulumi starts provider plugins in
 * the project's directory (pulumi/pulumi#706), and a relative path keeps the checkout's location
 * out of the state (moving the project is no diff).
 */
function chartVerification(source: ChartSource): { verify?: boolean; keyring?: string } {
    return source.signingKey ? { verify: true, keyring: chartKeyringPath(source.signingKey) } : {};
}

/** A chart keyring's path from the project root. */
export function chartKeyringPath(key: ChartSigningKey): string {
    return path.posix.join("manifests", "chart-keys", key.keyring);
}

/** A custom resource from a manifests/ object. */
function customResource(resourceName: string, object: KubernetesObject, opts: pulumi.CustomResourceOptions): k8s.apiextensions.CustomResource {
    return new k8s.apiextensions.CustomResource(
        resourceName,
        { apiVersion: object.apiVersion, kind: object.kind, metadata: object.metadata, spec: object.spec },
        opts,
    );
}

/**
 * A stable identity of the cluster behind a kubeconfig: a hash of its current cluster's CA
 * certificate. Client credentials and the server name may change; the CA changes only when the
 * cluster is rebuilt. The CA certificate is public, so the hash is not a secret.
 */
export function clusterIdentifierOf(kubeconfig: string): string {
    const config = (YAML.parse(kubeconfig) ?? {}) as {
        "current-context"?: string;
        contexts?: { name: string; context?: { cluster?: string } }[];
        clusters?: { name: string; cluster?: { "certificate-authority-data"?: string } }[];
    };
    const context = config.contexts?.find((c) => c.name === config["current-context"]) ?? config.contexts?.[0];
    const cluster = config.clusters?.find((c) => c.name === context?.context?.cluster) ?? config.clusters?.[0];
    const caData = cluster?.cluster?.["certificate-authority-data"];
    if (!caData) {
        throw new Error("the admin kubeconfig has no certificate-authority-data for its current cluster: cannot identify the cluster");
    }
    return `cluster-ca-sha256-${crypto.createHash("sha256").update(caData.trim()).digest("hex").slice(0, 32)}`;
}
