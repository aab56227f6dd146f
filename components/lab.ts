import * as pulumi from "@pulumi/pulumi";
import { ApiServerReady } from "../providers/apiServerReady";
import { ClusterIdentity } from "../providers/clusterIdentity";
import { NodeSize, ResizeGuard } from "../providers/resizeGuard";
import * as vsphere from "../providers/vsphere";
import { ApiServerReconfigure } from "./apiServerReconfigure";
import { ClusterAddons } from "./clusterAddons";
import { ClusterSecrets } from "./clusterSecrets";
import { renewCertificates } from "./certificateRenewal";
import { LabConfig, LabConfigError, NodeRole } from "./config";
import { ClusterInitArgs, ControlPlaneNode, kubeadmClusterArgs } from "./controlPlaneNode";
import { HaEndpoint } from "./haEndpoint";
import { KubernetesUpgrade } from "./kubernetesUpgrade";
import { NodeResizeRoll } from "./nodeResizeRoll";
import { NodeVm, templateProblems, VspherePlacement } from "./nodeVm";
import { apiServerFiles } from "./render/apiServerHardening";
import { clientCertificateExpiry, daysUntil, kubeconfigForWorkstation } from "./render/kubeconfig";
import { NodeConnection, runScript, sshConnection } from "./remoteScript";
import { WorkerNode } from "./workerNode";

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

/** Warn this many days before the control plane's certificates expire. */
const certificateWarningDays = 30;

/** How long ApiServerReady waits for the API through the VIP after the cluster exists. */
const apiReadyTimeoutSeconds = 600;

/**
 * The whole lab as one dependency graph: VMs -> HA endpoint (keepalived + haproxy on every
 * control plane) -> kubeadm init on node 0 -> control-plane joins one after another, worker joins
 * in parallel; ApiServerReady (the API answers through the VIP after init) -> the CNI, and with
 * the worker joins -> the other cluster add-ons (they do not wait for the control-plane joins).
 */
export class KubernetesLab extends pulumi.ComponentResource {
    /** Every node's VM, control planes first, keyed by node name. */
    public readonly nodeVms: ReadonlyMap<string, NodeVm>;
    /** Every node: name, role and address, once its VM is up. */
    public readonly nodes: pulumi.Output<LabNode[]>;
    /** https://<apiDnsName or VIP>:<apiPort>, what kubectl talks to. */
    public readonly apiEndpoint: pulumi.Output<string>;
    /** Admin kubeconfig (secret); its server is the VIP, its tls-server-name the API's DNS name. */
    public readonly kubeconfig: pulumi.Output<string>;
    /** Issue 12: when node 0's certificates (and the admin kubeconfig's) expire, ISO 8601; "unknown" if unreadable. */
    public readonly certificatesExpire: pulumi.Output<string>;
    /** The gate for everything that talks to the API: it answered /readyz through the VIP. */
    public readonly apiReady: ApiServerReady;
    /** Every join step after node 0's init: control planes and workers. */
    public readonly nodesJoined: pulumi.Resource[];
    /** CNI, MetalLB, ingress and NFS storage. */
    public readonly addons: ClusterAddons;
    /** Issue 12 item 1: the in-place upgrade a new kubernetesVersion rolls over the nodes. */
    public readonly upgrade: KubernetesUpgrade;

    constructor(name: string, args: KubernetesLabArgs, opts?: pulumi.ComponentResourceOptions) {
        super("lab:index:KubernetesLab", name, {}, opts);
        const cfg = args.config;

        // Issue 11: refuses at preview a change of what kubeadm init baked into the live cluster.
        const identity = new ClusterIdentity(
            `${name}-identity`,
            {
                firstControlPlaneName: cfg.controlPlanes[0].name,
                firstControlPlaneAddress: cfg.controlPlanes[0].address,
                apiVip: cfg.apiEndpoint.vip,
                apiPort: cfg.apiEndpoint.port,
                apiDnsName: cfg.apiEndpoint.dnsName ?? "",
                podSubnet: cfg.kubernetes.podSubnet,
                serviceSubnet: cfg.kubernetes.serviceSubnet,
                clusterName: cfg.kubernetes.clusterName,
                cni: cfg.addons.cni,
                kubernetesVersion: cfg.kubernetes.version,
                encryptSecretsAtRest: cfg.kubernetes.hardening.encryptSecretsAtRest,
                auditLog: cfg.kubernetes.hardening.auditLog,
                podSecurityStandard: cfg.kubernetes.hardening.podSecurityStandard,
            },
            { parent: this },
        );
        // Issue 11: records every node's size and refuses at preview a resize in the same
        // `pulumi up` as a Kubernetes upgrade (two rolls would drain two nodes at once).
        const roleKeys = { controlPlanes: "controlPlaneCpus/controlPlaneMemoryMb", workers: "workerCpus/workerMemoryMb" };
        const sizes: Record<string, NodeSize> = Object.fromEntries(
            (["controlPlanes", "workers"] as const).flatMap((list) =>
                cfg[list].map((node, index) => [
                    node.name,
                    { role: node.role, cpus: node.cpus, memoryMb: node.memoryMb, reserveMemory: node.reserveMemory, keys: `${list}[${index}].cpus/memoryMb or ${roleKeys[list]}` },
                ]),
            ),
        );
        const resizeGuard = new ResizeGuard(`${name}-resize-guard`, { nodes: sizes, kubernetesVersion: cfg.kubernetes.version, nodesHaveResizeIds: true }, { parent: this });
        const placement = lookUpPlacement(name, cfg, this);
        // Each VM waits for its node's resize drain, which the roll below creates from the VMs'
        // host keys: a promise stands for the drain until then.
        const resizeDrains = new Map<string, Deferred<pulumi.Resource>>();
        const nodeVms = new Map<string, NodeVm>();
        for (const node of [...cfg.controlPlanes, ...cfg.workers]) {
            const drain = deferred<pulumi.Resource>();
            resizeDrains.set(node.name, drain);
            nodeVms.set(
                node.name,
                new NodeVm(
                    node.name,
                    {
                        node,
                        placement,
                        network: cfg.network,
                        adminUser: cfg.ssh.user,
                        sshPublicKey: cfg.ssh.publicKey,
                        apiHost: cfg.apiEndpoint.dnsName ? { name: cfg.apiEndpoint.dnsName, address: cfg.apiEndpoint.vip } : undefined,
                        after: [resizeGuard, drain.promise],
                    },
                    { parent: this },
                ),
            );
        }
        // Issue 11 item 4: a CPU or memory change power-cycles the VMs one at a time, each drained
        // before and Ready and uncordoned after (components/nodeResizeRoll.ts).
        // Its steps reach the control planes at their configured addresses (not through the VMs).
        const byConfiguredAddress = (node: LabConfig["controlPlanes"][number]): NodeConnection => {
            const nodeVm = nodeVms.get(node.name)!;
            return { nodeName: node.name, vm: nodeVm.vm, connection: sshConnection(node.address, cfg.ssh.user, cfg.ssh.privateKey, nodeVm.hostPublicKey) };
        };
        const resizeRoll = new NodeResizeRoll(
            `${name}-resize`,
            {
                controlPlanes: cfg.controlPlanes,
                workers: cfg.workers,
                nodeZero: byConfiguredAddress(cfg.controlPlanes[0]),
                secondControlPlane: cfg.controlPlanes.length > 1 ? byConfiguredAddress(cfg.controlPlanes[1]) : undefined,
                after: [resizeGuard],
            },
            { parent: this },
        );
        for (const [nodeName, drain] of resizeDrains) drain.resolve(resizeRoll.nodes.get(nodeName)!.drain);
        this.nodeVms = nodeVms;
        // Issue 13 item 6: DRS keeps the control planes on different ESXi hosts, so one host's
        // failure takes at most one etcd member. Not mandatory: vSphere does not refuse an
        // operation that breaks it (a lab may have fewer hosts than control planes).
        if (cfg.vsphere.controlPlaneAntiAffinity && placement.computeClusterId && cfg.controlPlanes.length >= 2) {
            new vsphere.ComputeClusterVmAntiAffinityRule(
                `${name}-control-plane-anti-affinity`,
                {
                    name: `${cfg.kubernetes.clusterName}-control-planes-apart`,
                    computeClusterId: placement.computeClusterId,
                    virtualMachineIds: cfg.controlPlanes.map((node) => nodeVms.get(node.name)!.vm.id),
                    enabled: true,
                    mandatory: false,
                },
                { parent: this, provider: placement.provider },
            );
        }

        const connections = new Map<string, NodeConnection>(
            [...nodeVms].map(([nodeName, nodeVm]) => [
                nodeName,
                { nodeName, vm: nodeVm.vm, connection: sshConnection(nodeVm.address, cfg.ssh.user, cfg.ssh.privateKey, nodeVm.hostPublicKey) },
            ]),
        );
        const secrets = new ClusterSecrets(`${name}-secrets`, { parent: this });
        const api = cfg.apiEndpoint;
        const haEndpoint = new HaEndpoint(
            `${name}-ha`,
            {
                controlPlanes: cfg.controlPlanes.map((node) => ({ peer: { name: node.name, address: node.address }, connection: connections.get(node.name)! })),
                vip: api.vip,
                prefixLength: cfg.network.prefixLength,
                apiPort: api.port,
                virtualRouterId: api.virtualRouterId,
                interfaceName: cfg.network.interfaceName,
                authPassword: secrets.keepalivedPassword,
            },
            { parent: this },
        );

        const proxyEnv = proxyEnvironment(cfg);
        // Issue 15: the same encryption config, audit policy and admission config on every control plane.
        const hardening = cfg.kubernetes.hardening;
        const controlPlaneFiles = apiServerFiles(hardening).map((file) => ({
            fileName: file.fileName,
            content: file.holdsEncryptionKey ? pulumi.secret(secrets.encryptionKey.apply((key) => file.render(key))) : file.render(""),
        }));
        const controlPlaneArgs = (node: LabConfig["controlPlanes"][number]) => ({
            node,
            connection: connections.get(node.name)!,
            kubernetesVersion: cfg.kubernetes.version,
            taint: !cfg.kubernetes.controlPlaneSchedulable,
            etcdSnapshots: cfg.etcdSnapshots,
            apiServerFiles: controlPlaneFiles,
            proxyEnv,
        });
        const [firstNode, ...otherControlPlanes] = cfg.controlPlanes;
        const init: ClusterInitArgs = {
            controlPlaneEndpoint: `${api.host}:${api.port}`,
            certSANs: [...new Set([api.vip, api.host])],
            clusterName: cfg.kubernetes.clusterName,
            podSubnet: cfg.kubernetes.podSubnet,
            serviceSubnet: cfg.kubernetes.serviceSubnet,
            // The identity guard too: init (and so every join) runs only once it passed.
            haEndpointReady: [...haEndpoint.installed, identity],
            // Issue 13: what metrics-server and monitoring need from the kubeadm config.
            addonSettings: { kubeletServingCertificates: cfg.addons.metricsServer, metricsEndpoints: cfg.addons.monitoring.enabled },
            hardening,
        };
        const first = new ControlPlaneNode(firstNode.name, { ...controlPlaneArgs(firstNode), init }, { parent: this });
        const join = first.joinCredentials!;

        // Control planes join one after another: each waits for the previous one's join.
        // Removed ones leave one after another too, the later first (issue 11): each reset waits
        // for the previous control plane's, and deletes run the dependent first.
        let previous: pulumi.Resource = first.joined;
        let previousReset: pulumi.Resource | undefined;
        const controlPlaneNodes = [first];
        for (const node of otherControlPlanes) {
            const controlPlane = new ControlPlaneNode(
                node.name,
                { ...controlPlaneArgs(node), join, after: [previous], leavesBefore: previousReset },
                { parent: this },
            );
            previous = controlPlane.joined;
            previousReset = controlPlane.reset;
            controlPlaneNodes.push(controlPlane);
        }
        // The joins of the control planes after node 0.
        const controlPlaneJoins = controlPlaneNodes.slice(1).map((controlPlane) => controlPlane.joined);
        // Issue 13 item 1: an OIDC change rolls onto the running control planes, one at a time.
        const apiServerReconfigure = new ApiServerReconfigure(
            `${name}-apiserver`,
            {
                controlPlanes: cfg.controlPlanes.map((node, index) => ({
                    node,
                    connection: connections.get(node.name)!,
                    after: [controlPlaneNodes[index].joined, ...controlPlaneNodes[index].apiServerFiles],
                })),
                cluster: kubeadmClusterArgs(init, cfg.kubernetes.version, !cfg.kubernetes.controlPlaneSchedulable),
            },
            { parent: this },
        );
        // Workers join in parallel, each after node 0 and the endpoint only.
        const workers = cfg.workers.map(
            (node) =>
                new WorkerNode(node.name, { node, connection: connections.get(node.name)!, kubernetesVersion: cfg.kubernetes.version, join, proxyEnv }, { parent: this }),
        );

        this.nodes = pulumi.all(
            [...cfg.controlPlanes, ...cfg.workers].map((node) =>
                nodeVms.get(node.name)!.address.apply((address): LabNode => ({ name: node.name, role: node.role, address })),
            ),
        );
        this.apiEndpoint = pulumi.output(`https://${api.host}:${api.port}`);
        // The workstation dials the VIP and checks the certificate against the DNS name: the name
        // only has to be in the certificate (certSANs), not in the workstation's DNS.
        const workstationEndpoint = { server: `https://${api.vip}:${api.port}`, tlsServerName: api.dnsName };
        // Issue 12 item 3: within renewCertificatesBefore days of the expiry, pulumi up renews the
        // control planes' certificates one at a time; the stack's kubeconfig is the one read after.
        const renewal = renewCertificates(
            name,
            {
                controlPlanes: controlPlaneNodes.map((controlPlane, index) => ({
                    connection: connections.get(cfg.controlPlanes[index].name)!,
                    address: cfg.controlPlanes[index].address,
                    // After this node's apiserver reconfiguration: the two never restart its apiserver at once.
                    after: [controlPlane.joined, apiServerReconfigure.steps[index]],
                })),
                initialKubeconfig: first.kubeconfig!,
                renewBeforeDays: cfg.certificates.renewBeforeDays,
            },
            this,
        );
        this.kubeconfig = renewal.kubeconfig.apply((kubeconfig) => kubeconfigForWorkstation(kubeconfig, workstationEndpoint));
        // The date is not secret. Within the warning window every preview and up says so.
        this.certificatesExpire = pulumi.unsecret(
            renewal.kubeconfig.apply((kubeconfig) => {
                const expiry = clientCertificateExpiry(kubeconfig);
                const daysLeft = expiry === undefined ? undefined : daysUntil(expiry);
                if (daysLeft !== undefined && daysLeft <= Math.max(certificateWarningDays, cfg.certificates.renewBeforeDays)) {
                    const what =
                        daysLeft <= cfg.certificates.renewBeforeDays
                            ? "pulumi up renews them now (renewCertificatesBefore), one control plane at a time"
                            : `pulumi up renews them from ${cfg.certificates.renewBeforeDays} days before (renewCertificatesBefore)`;
                    void pulumi.log.warn(`the cluster's certificates expire on ${expiry} (${daysLeft} days): ${what}`, this);
                }
                return expiry ?? "unknown";
            }),
        );
        this.apiReady = new ApiServerReady(
            `${name}-api-ready`,
            {
                url: workstationEndpoint.server,
                serverName: workstationEndpoint.tlsServerName,
                caCertificate: first.caCertificate!,
                timeoutSeconds: apiReadyTimeoutSeconds,
            },
            { parent: this, dependsOn: [first.joined] },
        );
        this.nodesJoined = [...controlPlaneJoins, ...workers.map((worker) => worker.joined)];
        // Issue 11: the control planes' taint follows controlPlaneSchedulable on a running cluster
        // too (kubeadm sets it only when a node registers): applied through the API after the
        // control-plane joins, and again whenever the key or the set of control planes changes.
        runScript(
            `${firstNode.name}-control-plane-taint`,
            {
                node: connections.get(firstNode.name)!,
                script: "control-plane-taint.sh",
                env: { SCHEDULABLE: String(cfg.kubernetes.controlPlaneSchedulable), CONTROL_PLANES: cfg.controlPlanes.map((node) => node.name).join(" ") },
            },
            { parent: this, dependsOn: [first.joined, ...controlPlaneJoins] },
        );
        // Issue 15: once every join of this `pulumi up` is done, node 0 deletes the tokens this
        // program created and the uploaded control-plane certificates. Run again (replaced) only
        // when the set of joins changes: a node added, removed or rebuilt.
        runScript(
            `${firstNode.name}-join-credentials-revoke`,
            { node: connections.get(firstNode.name)!, script: "join-credentials-revoke.sh", triggers: [first.joined.id, ...this.nodesJoined.map((joined) => (joined as pulumi.CustomResource).id)] },
            { parent: this, dependsOn: [first.joined, ...this.nodesJoined] },
        );
        // Issue 14: add-ons wait for node 0 and the workers (where their pods run), not for the
        // other control planes' joins. Nothing in them needs a second control plane, and a
        // control-plane join does not take the API away from them:
        // - kubeadm adds the joining etcd member as a non-voting learner and promotes it only once
        //   it has caught up (feature gate EtcdLearnerMode: beta and on by default since 1.29, GA
        //   and locked on since 1.32, kubernetes/kubernetes#120228 and #126374, CHANGELOG-1.29 and
        //   -1.32), so node 0's etcd keeps its quorum while the member joins; this program sets no
        //   kubeadm feature gates and config.ts accepts 1.31 or newer only, so that holds for every
        //   version it deploys (the lab pins 1.34);
        // - haproxy sends API traffic to a control plane only after its /readyz has answered 200
        //   twice (manifests/haproxy.cfg: httpchk GET /readyz, rise 2), so a joining node's
        //   apiserver gets no request before it is ready.
        // The CNI needs nothing but the API; see ClusterAddons for what waits for what.
        const podNodesJoined = [first.joined, ...workers.map((worker) => worker.joined)];
        // Issue 13: with metricsServer on, every kubelet asks the cluster CA for its serving
        // certificate, also on a node that joined a cluster built without that setting.
        const joins: [string, pulumi.Resource][] = [
            ...cfg.controlPlanes.map((node, index): [string, pulumi.Resource] => [node.name, controlPlaneNodes[index].joined]),
            ...cfg.workers.map((node, index): [string, pulumi.Resource] => [node.name, workers[index].joined]),
        ];
        // A control plane's upgrade comes after its OIDC roll and certificate renewal: each of the
        // three restarts its apiserver, and they run one at a time on a node.
        const staticPodSteps = new Map(cfg.controlPlanes.map((node, index) => [node.name, [apiServerReconfigure.steps[index], renewal.renewals[index]]]));
        this.upgrade = upgradeKubernetes(name, cfg, connections, new Map(joins), staticPodSteps, this);
        const kubeletServing = new Map(
            (cfg.addons.metricsServer ? joins : []).map(([nodeName, joined]) => [
                nodeName,
                runScript(`${nodeName}-kubelet-serving-certs`, { node: connections.get(nodeName)!, script: "kubelet-serving-certs.sh" }, { parent: this, dependsOn: [joined] }),
            ]),
        );
        // Issue 14: metrics-server waits for these steps on node 0 and the workers only. It is ready
        // once it holds metrics of any one node (kubernetes-sigs/metrics-server pkg/storage/storage.go,
        // Ready(): len(nodes.prev) != 0 || len(pods.prev) != 0), and a later control plane's kubelet
        // is scraped as soon as its CSR is approved, with no change to metrics-server.
        const podNodeKubeletServing = [firstNode, ...cfg.workers].flatMap((node) => kubeletServing.get(node.name) ?? []);
        this.addons = new ClusterAddons(
            `${name}-addons`,
            { config: cfg.addons, kubeconfig: this.kubeconfig, apiReady: this.apiReady, workersJoined: podNodesJoined, cluster: first.joined, kubeletServing: podNodeKubeletServing },
            { parent: this },
        );
        this.registerOutputs({
            nodes: this.nodes,
            apiEndpoint: this.apiEndpoint,
            kubeconfig: this.kubeconfig,
            certificatesExpire: this.certificatesExpire,
            ingressAddress: this.addons.ingressAddress,
            storageClass: this.addons.storageClass,
            grafanaAdminPassword: this.addons.grafanaAdminPassword,
        });
    }
}

/**
 * Issue 13 item 7: HTTPS_PROXY and NO_PROXY for the scripts that download (node preparation, the
 * etcd tools), or nothing without a proxy. The cluster's own ranges and names always bypass it:
 * node, pod and Service traffic, the API endpoint, in-cluster names.
 */
export function proxyEnvironment(cfg: LabConfig): Record<string, string> {
    const proxy = cfg.network.proxy;
    if (!proxy) return {};
    const bypass = [
        ...proxy.noProxy,
        "localhost",
        "127.0.0.1",
        cfg.network.subnet,
        cfg.kubernetes.podSubnet,
        cfg.kubernetes.serviceSubnet,
        cfg.apiEndpoint.vip,
        ...(cfg.apiEndpoint.dnsName ? [cfg.apiEndpoint.dnsName] : []),
        ".svc",
        ".cluster.local",
    ];
    return { HTTPS_PROXY: proxy.url, NO_PROXY: [...new Set(bypass)].join(",") };
}

/**
 * Issue 12 item 1: the upgrade steps of every node, after its join (components/kubernetesUpgrade.ts).
 * They run only when the version changes: a new cluster is installed at it.
 */
function upgradeKubernetes(
    name: string,
    cfg: LabConfig,
    connections: ReadonlyMap<string, NodeConnection>,
    joins: ReadonlyMap<string, pulumi.Resource>,
    staticPodSteps: ReadonlyMap<string, readonly pulumi.Resource[]>,
    parent: pulumi.Resource,
): KubernetesUpgrade {
    const rolled = (nodes: readonly LabConfig["controlPlanes"][number][]) =>
        nodes.map((node) => ({ node, connection: connections.get(node.name)!, joined: joins.get(node.name)!, staticPodSteps: staticPodSteps.get(node.name) }));
    return new KubernetesUpgrade(
        `${name}-kubernetes-upgrade`,
        {
            kubernetesVersion: cfg.kubernetes.version,
            controlPlanes: rolled(cfg.controlPlanes),
            workers: rolled(cfg.workers),
            workersAtOnce: cfg.upgrade.workersAtOnce,
            proxyEnv: proxyEnvironment(cfg),
        },
        { parent },
    );
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
    const computeCluster = cfg.vsphere.cluster ? vsphere.getComputeClusterOutput({ name: cfg.vsphere.cluster, datacenterId }, lookup) : undefined;
    const resourcePoolId = computeCluster
        ? computeCluster.resourcePoolId
        : vsphere.getResourcePoolOutput({ name: cfg.vsphere.resourcePool!, datacenterId }, lookup).id;
    return {
        provider,
        resourcePoolId,
        datastoreId: vsphere.getDatastoreOutput({ name: cfg.vsphere.datastore, datacenterId }, lookup).id,
        networkId: vsphere.getNetworkOutput({ name: cfg.vsphere.network, datacenterId }, lookup).id,
        template: vsphere.getVirtualMachineOutput({ name: cfg.vsphere.template, datacenterId }, lookup).apply((template) => {
            const problems = templateProblems(template, cfg.vsphere.template, cfg.vsphere.linkedClones);
            if (problems.length > 0) {
                throw new LabConfigError(problems);
            }
            return template;
        }),
        folder: cfg.vsphere.folder,
        linkedClone: cfg.vsphere.linkedClones,
        computeClusterId: computeCluster?.id,
    };
}

/** A promise with its resolve function, for a resource that is created after the one that waits for it. */
interface Deferred<T> {
    readonly promise: Promise<T>;
    readonly resolve: (value: T) => void;
}

function deferred<T>(): Deferred<T> {
    let resolve!: (value: T) => void;
    const promise = new Promise<T>((settle) => (resolve = settle));
    return { promise, resolve };
}
