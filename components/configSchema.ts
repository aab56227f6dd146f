/**
 * Every stack config key of the project, with its type, default and meaning. One table serves
 * three readers: config.ts (defaults and parsing), Pulumi.yaml (its `config:` block is generated
 * from it and a test keeps them equal) and the README's config reference.
 */

/** The project's config namespace: keys are written `k8s-vsphere-lab:<key>` in Pulumi.<stack>.yaml. */
export const projectName = "k8s-vsphere-lab";

export type ConfigKeyType = "string" | "integer" | "boolean" | "string[]" | "nodes";

export interface ConfigKey {
    readonly type: ConfigKeyType;
    readonly description: string;
    /** Used when the stack does not set the key. No default: every stack must set it. */
    readonly default?: string | number | boolean | readonly string[];
    /** Read with requireSecret and kept a Pulumi secret end to end. */
    readonly secret?: boolean;
    /** A secret the program reads only when another key asks for it (issue 13: fluxGitPassword). */
    readonly optional?: boolean;
}

export const configKeys = {
    // --- vSphere placement (the provider's own credentials are vsphere:vsphereServer/user/password)
    vsphereDatacenter: { type: "string", description: "vSphere datacenter that holds the lab." },
    vsphereCluster: {
        type: "string",
        default: "",
        description: "Compute cluster whose root resource pool receives the VMs. Set this or vsphereResourcePool.",
    },
    vsphereResourcePool: {
        type: "string",
        default: "",
        description: "Resource pool for the VMs, e.g. 'esxi01.lab/Resources' on a standalone host. Set this or vsphereCluster.",
    },
    vsphereDatastore: { type: "string", description: "Datastore for the VMs' disks." },
    vsphereNetwork: { type: "string", description: "Port group the VMs' single NIC connects to (e.g. 'VM Network')." },
    vsphereTemplate: {
        type: "string",
        description: "Name of the Ubuntu 24.04 cloud-image template (VMware tools + cloud-init) that every VM is cloned from. A change applies to new nodes only: existing VMs are kept.",
    },
    vsphereFolder: { type: "string", default: "", description: "VM folder for the lab's VMs (must exist); empty = the datacenter's root." },
    controlPlaneAntiAffinity: {
        type: "boolean",
        default: true,
        description:
            "A DRS VM anti-affinity rule keeps the control planes on different ESXi hosts of vsphereCluster (with 2 or more control planes). Needs a compute cluster with DRS: set it false with vsphereResourcePool (a standalone host).",
    },
    linkedClones: {
        type: "boolean",
        default: false,
        description:
            "Clone from the template's snapshot (seconds instead of minutes; needs a snapshot on the template and the VMs on the template's datastore). The disks keep the template's size: diskGb must not be set. A change applies to new nodes only.",
    },

    // --- node network
    nodeSubnet: { type: "string", description: "CIDR of the network the nodes, the API VIP and the LoadBalancer pool live in, e.g. 192.168.1.0/24." },
    gateway: { type: "string", description: "Default gateway of the nodes." },
    dnsServers: { type: "string[]", description: "DNS servers of the nodes." },
    searchDomains: { type: "string[]", default: [], description: "DNS search domains of the nodes." },
    httpProxy: {
        type: "string",
        default: "",
        description:
            "HTTP(S) proxy the nodes download through, http://host:port without a user or password: apt (cloud-init on first boot, node-prepare.sh after), containerd's image pulls and the scripts' downloads. Empty = direct.",
    },
    noProxy: {
        type: "string[]",
        default: [],
        description: "Names, domains (.lab.example) or CIDRs that bypass httpProxy, besides the cluster's own (nodeSubnet, podSubnet, serviceSubnet, apiVip, apiDnsName, .svc, .cluster.local, localhost), which are always added.",
    },
    ntpServers: {
        type: "string[]",
        default: [],
        description:
            "NTP servers (names or addresses) the nodes keep time with: cloud-init sets up chrony with them on first boot. kubeadm's certificates and etcd need the clocks in step. Empty = the template's own time sync (Ubuntu: systemd-timesyncd with ntp.ubuntu.com). A change applies to new nodes only.",
    },
    nodeInterface: {
        type: "string",
        default: "lan0",
        description:
            "Name cloud-init gives each node's single NIC, found by its static MAC whatever the template calls it (ens160, ens192, ...). keepalived binds the VIP to it.",
    },

    // --- nodes
    controlPlanes: {
        type: "nodes",
        description:
            "Control-plane nodes: a list of {name, address} (optional cpus, memoryMb, diskGb; unreachable: true before removing a node whose host is dead). 1, 3 or 5: stacked etcd needs an odd count.",
    },
    workers: {
        type: "nodes",
        description: "Worker nodes: a list of {name, address} (optional cpus, memoryMb, diskGb; unreachable: true before removing a node whose host is dead). May be empty.",
    },
    controlPlaneCpus: { type: "integer", default: 2, description: "vCPUs of each control plane (kubeadm needs 2). A change on a running lab rolls over the nodes one at a time: each drained, power-cycled with the new size, Ready and uncordoned before the next." },
    controlPlaneMemoryMb: { type: "integer", default: 2048, description: "Memory of each control plane in MB (kubeadm needs 2048). A change on a running lab rolls over the nodes one at a time: each drained, power-cycled with the new size, Ready and uncordoned before the next." },
    workerCpus: { type: "integer", default: 2, description: "vCPUs of each worker. A change on a running lab rolls over the nodes one at a time: each drained, power-cycled with the new size, Ready and uncordoned before the next." },
    workerMemoryMb: { type: "integer", default: 4096, description: "Memory of each worker in MB; all of it is reserved on the host. A change on a running lab rolls over the nodes one at a time: each drained, power-cycled with the new size, Ready and uncordoned before the next." },
    diskGb: { type: "integer", default: 50, description: "System disk size of every node in GB (at least the template's disk)." },
    reserveControlPlaneMemory: {
        type: "boolean",
        default: false,
        description: "Also reserve all guest memory for control planes (workers always reserve it).",
    },

    // --- API endpoint
    apiVip: { type: "string", description: "Virtual IP of the Kubernetes API, held by keepalived on one control plane." },
    apiDnsName: {
        type: "string",
        default: "",
        description: "DNS name resolving to apiVip; used as controlPlaneEndpoint and in the kubeconfig. Empty = use apiVip.",
    },
    apiPort: { type: "integer", default: 443, description: "Port haproxy serves the API on at the VIP (apiservers listen on 6443)." },
    vrrpRouterId: { type: "integer", default: 51, description: "keepalived virtual_router_id (1-255), unique on the node network." },

    // --- Kubernetes
    kubernetesVersion: {
        type: "string",
        default: "1.37.1",
        description:
            "Kubernetes version 1.<minor>.<patch>; packages come from pkgs.k8s.io v1.<minor>. The default is the newest minor in upstream support on 2026-12-07 with its newest patch the sources show (test/fixtures/SOURCES.md). The container runtime follows it: up to 1.35 Ubuntu 24.04's containerd package (1.7); from 1.36, which needs containerd 2, containerd's own release 2.3.4 and runc 1.4.3, downloaded and checked against pinned sha256s (an upgrade from 1.35 moves each node to it while the node is drained). Minors newer than 1.37 are refused until a containerd is pinned for them.",
    },
    clusterName: { type: "string", default: "lab", description: "Cluster name in kubeadm's ClusterConfiguration and the kubeconfig." },
    podSubnet: { type: "string", default: "10.244.0.0/16", description: "Pod network CIDR (flannel's default)." },
    serviceSubnet: { type: "string", default: "10.96.0.0/12", description: "Service ClusterIP CIDR (kubeadm's default)." },
    controlPlaneSchedulable: {
        type: "boolean",
        default: false,
        description: "Remove the control planes' NoSchedule taint so they run workloads too (seed 003).",
    },
    upgradeWorkersAtOnce: {
        type: "integer",
        default: 1,
        description:
            "Issue 12: how many workers a Kubernetes upgrade (a new kubernetesVersion) drains and upgrades at a time, after the control planes one by one; each batch is Ready again before the next.",
    },

    // --- issue 15: the control plane's hardened defaults, set at kubeadm init (a change on a running cluster is refused)
    encryptSecretsAtRest: {
        type: "boolean",
        default: true,
        description:
            "Encrypt Secrets in etcd (secretbox, a generated 32-byte key kept as a Pulumi secret and staged root-only on the control planes). Set at kubeadm init: a change on a running cluster is refused.",
    },
    auditLog: {
        type: "boolean",
        default: true,
        description:
            "kube-apiserver audit log (metadata of every request, no bodies) in /var/log/kubernetes/audit/ on each control plane, rotated: 5 gzipped files of 100 MB, 7 days. Set at kubeadm init.",
    },
    podSecurityStandard: {
        type: "string",
        default: "baseline",
        description:
            "Pod Security level enforced in namespaces without their own label: privileged, baseline or restricted (kube-system is exempt; the add-ons' namespaces are labelled). Set at kubeadm init.",
    },

    // --- issue 13 item 1: OIDC sign-in (set at kubeadm init; a later change rolls onto the control planes)
    oidcIssuerUrl: {
        type: "string",
        default: "",
        description: "OIDC issuer (https://...) the API server accepts ID tokens from (kubelogin, seed 001). Empty = no OIDC. A change of any oidc* key on a running cluster rolls onto the control planes, one at a time.",
    },
    oidcClientId: { type: "string", default: "", description: "The OIDC client id the tokens are issued for (required with oidcIssuerUrl)." },
    oidcUsernameClaim: { type: "string", default: "email", description: "The ID token claim used as the user name." },
    oidcGroupsClaim: { type: "string", default: "groups", description: "The ID token claim holding the user's groups (bind RBAC to them)." },
    oidcUsernamePrefix: { type: "string", default: "oidc:", description: "Prefix of OIDC user names, so they never clash with other users (e.g. oidc:alice@lab.example)." },
    oidcGroupsPrefix: { type: "string", default: "oidc:", description: "Prefix of OIDC group names (e.g. oidc:lab-admins)." },
    oidcCaCertificate: {
        type: "string",
        default: "",
        description: "PEM CA certificate of the issuer, when its certificate is not signed by a public CA (staged on the control planes, given as --oidc-ca-file). Empty = the system's CAs.",
    },

    // --- SSH access used by every remote command
    sshUser: { type: "string", default: "svc_mgmt", description: "Admin user created by cloud-init, with passwordless sudo; every remote command runs as it." },
    sshPublicKey: { type: "string", description: "OpenSSH public key installed for sshUser (e.g. the content of ~/.ssh/id_ed25519.pub)." },
    sshPrivateKey: {
        type: "string",
        secret: true,
        description: "Matching private key (pulumi config set --secret sshPrivateKey < ~/.ssh/id_ed25519).",
    },

    // --- add-ons
    loadBalancerPool: {
        type: "string",
        description: "MetalLB address pool: first-last (192.168.1.225-192.168.1.234) or a CIDR, inside nodeSubnet.",
    },
    cni: { type: "string", default: "flannel", description: "Pod network: flannel or calico." },
    flannelBackend: { type: "string", default: "vxlan", description: "flannel backend: vxlan, or host-gw when all nodes share one L2 network." },
    metallb: { type: "boolean", default: true, description: "Install MetalLB (L2) for LoadBalancer Services." },
    loadBalancerAutoAssign: {
        type: "boolean",
        default: true,
        description:
            "MetalLB gives any LoadBalancer Service an address from the pool. Off: only Services that ask for the pool (annotation metallb.io/address-pool: lab-pool, as the ingress controllers do) get one, so no stray Service appears on the LAN.",
    },
    ingressController: {
        type: "string",
        default: "ingress-nginx",
        description: "Ingress controller: ingress-nginx (retired upstream in March 2026), traefik, or none.",
    },
    ingressAddress: { type: "string", default: "", description: "Fixed LoadBalancer address for the ingress controller, from loadBalancerPool. Empty = any." },
    internalIngress: {
        type: "boolean",
        default: false,
        description:
            "A second, internal instance of ingressController (ingress-nginx or traefik) with its own IngressClass, LoadBalancer address and (ingress-nginx) electionID and controllerValue (seed 001).",
    },
    internalIngressAddress: { type: "string", default: "", description: "Fixed LoadBalancer address of the internal controller. Empty = any." },
    nfs: { type: "boolean", default: true, description: "Install the NFS subdir provisioner as the default StorageClass." },
    nfsServer: { type: "string", default: "", description: "NFS server address or name (required when nfs is on)." },
    nfsPath: { type: "string", default: "", description: "Exported path on the NFS server (required when nfs is on)." },
    nfsReclaimPolicy: { type: "string", default: "Retain", description: "Reclaim policy of the StorageClass: Retain (keeps data) or Delete." },
    nfsArchiveOnDelete: { type: "boolean", default: true, description: "Archive (rename) a deleted volume's folder instead of removing it." },
    nfsMountOptions: {
        type: "string[]",
        default: ["nfsvers=4.1"],
        description: "NFS mount options; add 'soft' and 'timeo=...' so a dead server does not hang nodes (seed 001).",
    },

    // --- issue 13 (items 2-5): metrics, monitoring, GitOps
    metricsServer: {
        type: "boolean",
        default: true,
        description:
            "kubectl top: metrics-server, verifying each kubelet's serving certificate against the cluster CA (kubelets get CA-signed serving certificates, serverTLSBootstrap, approved by kubelet-csr-approver for the lab's node names and addresses only; set at kubeadm init and, on nodes that lack it, after their join). Turning it off later: see README 'Metrics, monitoring and GitOps'.",
    },
    monitoring: {
        type: "boolean",
        default: false,
        description:
            "kube-prometheus-stack: Prometheus, Alertmanager and Grafana (volumes on the NFS StorageClass when nfs is on), with the kubeadm components' metrics endpoints opened in the kubeadm config at init. Grafana's admin password is generated: pulumi stack output grafanaAdminPassword --show-secrets.",
    },
    grafanaHost: {
        type: "string",
        default: "",
        description: "Host name Grafana is served under through the ingress (the internal controller when internalIngress is on). Empty = no Ingress (kubectl port-forward).",
    },
    prometheusStorageGb: { type: "integer", default: 20, description: "Size of Prometheus's volume in GB (when monitoring and nfs are on)." },
    flux: {
        type: "boolean",
        default: false,
        description: "Install Flux (fluxcd-community flux2 chart) and sync the cluster from fluxGitUrl (a GitRepository and a Kustomization in flux-system).",
    },
    fluxGitUrl: { type: "string", default: "", description: "Git repository Flux syncs from: https://... (or ssh:// for a public mirror). Required when flux is on." },
    fluxGitBranch: { type: "string", default: "main", description: "Branch of fluxGitUrl Flux follows." },
    fluxGitPath: { type: "string", default: "./", description: "Path inside the repository whose manifests/kustomization Flux applies." },
    fluxGitUsername: {
        type: "string",
        default: "",
        description: "User name for a private HTTPS repository (with fluxGitPassword). Empty = a public repository.",
    },
    fluxGitPassword: {
        type: "string",
        secret: true,
        optional: true,
        description: "Password or access token for fluxGitUsername (pulumi config set --secret fluxGitPassword). Read only when fluxGitUsername is set.",
    },

    // --- day 2: etcd snapshots
    etcdSnapshotSchedule: {
        type: "string",
        default: "*-*-* 00/6:00:00",
        description: "When each control plane takes an etcd snapshot: a systemd OnCalendar expression (default every 6 h; see man systemd.time).",
    },
    etcdSnapshotKeep: {
        type: "integer",
        default: 8,
        description: "etcd snapshots each control plane keeps (locally and, when nfs is on, on the share under etcd-snapshots/<node>/).",
    },

    // --- day 2: certificates
    renewCertificatesBefore: {
        type: "integer",
        default: 30,
        description:
            "Days before the control planes' certificates expire (one year after kubeadm init) from which a pulumi up renews them: kubeadm certs renew all on one control plane at a time, its static pods restarted in turn, then the admin kubeconfig read back into the stack. 0 = only once they have expired. See README 'Certificates'.",
    },
} as const satisfies Record<string, ConfigKey>;

export type ConfigKeyName = keyof typeof configKeys;

/** The full key as written in a stack file, e.g. `k8s-vsphere-lab:workers`. */
export function fullKey(key: string): string {
    return key.includes(":") ? key : `${projectName}:${key}`;
}

/** The vSphere provider's own keys, read from the `vsphere:` namespace. */
export const vsphereProviderKeys = {
    server: "vsphere:vsphereServer",
    user: "vsphere:user",
    password: "vsphere:password",
    allowUnverifiedSsl: "vsphere:allowUnverifiedSsl",
} as const;
