import * as pulumi from "@pulumi/pulumi";
import { ConfigKey, configKeys, ConfigKeyName, fullKey, projectName, vsphereProviderKeys } from "./configSchema";
import { formatIpv4, Ipv4Range, parseCidr, parseIpv4, parseIpv4Range, rangeContains, rangesOverlap, staticMacAddressBits } from "./network";
import { ApiServerHardening, OidcSettings, podSecurityLevels } from "./render/apiServerHardening";
import { CONTAINERD2_FROM_MINOR, NEWEST_SUPPORTED_MINOR, upstreamContainerd } from "./render/containerd";

/** A node's role in the cluster. */
export type NodeRole = "control-plane" | "worker";

/** One VM of the lab, with its size resolved from the per-role defaults. */
export interface NodeSpec {
    readonly name: string;
    readonly role: NodeRole;
    readonly address: string;
    readonly cpus: number;
    readonly memoryMb: number;
    readonly diskGb: number;
    /** Reserve all guest memory on the host (always for workers, optional for control planes). */
    readonly reserveMemory: boolean;
    /**
     * Issue 11: the node's host is dead and it is about to be removed from the config. Its
     * node-side clean-ups (drain, kubeadm reset) are skipped on removal; node 0 still deletes its
     * Node object and etcd member.
     */
    readonly unreachable: boolean;
}

export type CniPlugin = "flannel" | "calico";
export type FlannelBackend = "vxlan" | "host-gw";
export type IngressController = "ingress-nginx" | "traefik" | "none";
export type ReclaimPolicy = "Retain" | "Delete";

/** The whole validated stack config: the only input of KubernetesLab. Deeply immutable. */
export interface LabConfig {
    readonly vsphere: {
        readonly server: string;
        readonly user: string;
        readonly password: pulumi.Output<string>;
        readonly allowUnverifiedSsl: boolean;
        readonly datacenter: string;
        /** Exactly one of cluster and resourcePool is set. */
        readonly cluster?: string;
        readonly resourcePool?: string;
        readonly datastore: string;
        readonly network: string;
        readonly template: string;
        readonly folder?: string;
        readonly linkedClones: boolean;
        /** Issue 13 item 6: a DRS rule keeps the control planes on different hosts (cluster only). */
        readonly controlPlaneAntiAffinity: boolean;
    };
    readonly network: {
        readonly subnet: string;
        readonly prefixLength: number;
        readonly gateway: string;
        readonly dnsServers: readonly string[];
        readonly searchDomains: readonly string[];
        /** Issue 13 item 7: chrony's servers; empty = the template's time sync. */
        readonly ntpServers: readonly string[];
        /** Issue 13 item 7: the download proxy and what bypasses it (the user's list only); absent = direct. */
        readonly proxy?: { readonly url: string; readonly noProxy: readonly string[] };
        readonly interfaceName: string;
    };
    /** Control planes first (node 0 runs kubeadm init), then workers; config order within each. */
    readonly controlPlanes: readonly NodeSpec[];
    readonly workers: readonly NodeSpec[];
    readonly apiEndpoint: {
        readonly vip: string;
        readonly dnsName?: string;
        /** What clients dial: the DNS name when set, else the VIP. */
        readonly host: string;
        readonly port: number;
        readonly virtualRouterId: number;
    };
    readonly kubernetes: {
        readonly version: string;
        readonly minorVersion: string;
        readonly clusterName: string;
        readonly podSubnet: string;
        readonly serviceSubnet: string;
        readonly controlPlaneSchedulable: boolean;
        /** Issue 15: encryption at rest, audit log and the Pod Security default (set at kubeadm init). */
        readonly hardening: ApiServerHardening;
    };
    readonly ssh: {
        readonly user: string;
        readonly publicKey: string;
        readonly privateKey: pulumi.Output<string>;
    };
    readonly addons: AddonsConfig;
    /** etcd snapshots on every control plane (issue 12). */
    readonly etcdSnapshots: EtcdSnapshotConfig;
    /** Issue 12 item 3: renewCertificatesBefore, in days. */
    readonly certificates: { readonly renewBeforeDays: number };
    /** Issue 12 item 1: how a new kubernetesVersion is rolled over the nodes. */
    readonly upgrade: UpgradeConfig;
}

/** How a Kubernetes upgrade rolls (issue 12 item 1). */
export interface UpgradeConfig {
    /** Workers drained and upgraded at a time (after every control plane, one by one). */
    readonly workersAtOnce: number;
}

/** What the etcd snapshot timer on each control plane needs from the config. */
export interface EtcdSnapshotConfig {
    /** systemd OnCalendar expression. */
    readonly schedule: string;
    /** Snapshots kept per node, locally and on the share. */
    readonly keep: number;
    /** The NFS share snapshots are copied to, when nfs is on. */
    readonly nfs?: { readonly server: string; readonly path: string; readonly mountOptions: readonly string[] };
}

/** What the cluster add-ons need from the config. */
export interface AddonsConfig {
    readonly cni: CniPlugin;
    readonly flannelBackend: FlannelBackend;
    readonly podSubnet: string;
    readonly metallb: {
        readonly enabled: boolean;
        readonly addressPool: { readonly first: string; readonly last: string };
        /** The pool's autoAssign: off = only Services asking for an address get one. */
        readonly autoAssign: boolean;
    };
    readonly ingress: {
        readonly controller: IngressController;
        readonly address?: string;
        readonly internal: { readonly enabled: boolean; readonly address?: string };
    };
    readonly nfs: {
        readonly enabled: boolean;
        readonly server: string;
        readonly path: string;
        readonly reclaimPolicy: ReclaimPolicy;
        readonly archiveOnDelete: boolean;
        readonly mountOptions: readonly string[];
    };
    readonly controlPlaneSchedulable: boolean;
    /** Issue 13: every node's name and address (kubelet-csr-approver approves only these). */
    readonly nodes: readonly { readonly name: string; readonly address: string }[];
    /** Issue 13 item 3: metrics-server with CA-signed kubelet serving certificates. */
    readonly metricsServer: boolean;
    /** Issue 13 item 4: kube-prometheus-stack. */
    readonly monitoring: MonitoringConfig;
    /** Issue 13 item 5: Flux syncing from Git. */
    readonly flux: FluxConfig;
}

/** kube-prometheus-stack settings (issue 13 item 4). */
export interface MonitoringConfig {
    readonly enabled: boolean;
    /** Grafana's host name on the ingress; undefined = no Ingress. */
    readonly grafanaHost?: string;
    readonly prometheusStorageGb: number;
}

/** Flux settings (issue 13 item 5). */
export interface FluxConfig {
    readonly enabled: boolean;
    readonly url: string;
    readonly branch: string;
    readonly path: string;
    /** HTTPS basic-auth credentials of a private repository (the password a Pulumi secret). */
    readonly credentials?: { readonly username: string; readonly password: pulumi.Output<string> };
}

/** Where config values come from: Pulumi's config in a program, a plain map in tests and the plan. */
export interface ConfigSource {
    /** The raw value of a full key (`ns:key`) as Pulumi stores it (a string; objects as JSON), or undefined. */
    raw(fullKey: string): string | undefined;
    /** The value of a secret full key as a Pulumi secret, or undefined when not set. */
    secret(fullKey: string): pulumi.Output<string> | undefined;
    /** Every full key the stack sets (to catch typos). */
    keys(): string[];
}

/** Raised for invalid config: lists every problem, each naming its key and the fix. */
export class LabConfigError extends Error {
    constructor(public readonly problems: readonly string[]) {
        super(`invalid stack config (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n- ${problems.join("\n- ")}`);
        this.name = "LabConfigError";
    }
}

/** The stack's config as Pulumi hands it to the program (`pulumi up`, `pulumi preview`, mocks). */
export function pulumiConfigSource(): ConfigSource {
    return {
        raw: (key) => pulumi.runtime.getConfig(key),
        secret: (key) => {
            const [namespace, name] = key.split(":");
            return pulumi.runtime.getConfig(key) === undefined ? undefined : new pulumi.Config(namespace).requireSecret(name);
        },
        keys: () => Object.keys(pulumi.runtime.allConfig()),
    };
}

/** Reads and validates the stack config; throws LabConfigError before any resource exists. */
export function loadLabConfig(source: ConfigSource = pulumiConfigSource()): LabConfig {
    return parseLabConfig(source);
}

const rfc1123Label = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const kubernetesVersionPattern = /^1\.(\d+)\.(\d+)$/;
const minimumMemoryMb = 2048;
const minimumCpus = 2;
/** The smallest system disk a node works with (images and etcd). */
export const minimumDiskGb = 10;
/** A Linux interface name: at most 15 characters (IFNAMSIZ - 1), none of them '/', ':' or blanks. */
const interfaceNamePattern = /^[A-Za-z][A-Za-z0-9_-]{0,14}$/;

/** What every section reader shares: the key reader, the source (secrets) and the one problems list. */
interface ConfigSection {
    readonly reader: KeyReader;
    readonly source: ConfigSource;
    readonly problems: string[];
}

/** The node network, and the rule every address of the config follows (inside nodeSubnet). */
interface NodeNetwork {
    readonly config: LabConfig["network"];
    readonly subnet?: Ipv4Range;
    readonly subnetText: string;
    readonly subnetHint: string;
    readonly gatewayAddress?: number;
    /** Parses an address of `key`, reporting a malformed one or one outside the subnet. */
    readonly requireAddress: (key: string, text: string) => number | undefined;
}

/** The nodes, with what later sections check against (addresses taken, and by whom). */
interface NodeLists {
    readonly controlPlanes: NodeSpec[];
    readonly workers: NodeSpec[];
    readonly nodeAddresses: readonly number[];
    readonly seenAddresses: ReadonlyMap<number, string>;
}

/** The API endpoint, with the VIP's parsed address for the pool's checks. */
interface ApiEndpointSection {
    readonly endpoint: LabConfig["apiEndpoint"];
    readonly vip?: number;
}

/**
 * Parses every key, applies defaults, validates the whole, and collects all problems at once.
 * Each section of keys has its own reader below, next to its rules (issue 13 item 9); they share
 * one problems list, so a stack file gets every problem in one go. A section with a problem
 * returns stand-in values: they never leave, the error is thrown first.
 */
export function parseLabConfig(source: ConfigSource): LabConfig {
    const problems: string[] = [];
    const reader = new KeyReader(source, problems);
    const section: ConfigSection = { reader, source, problems };

    const vsphere = readVsphereSection(section);
    const network = readNetworkSection(section);
    const nodes = readNodesSection(section, network);
    const api = readApiEndpointSection(section, network, nodes);
    const kubernetes = readKubernetesSection(section, network);
    const ssh = readSshSection(section);
    const addons = readAddonsSection(section, network, nodes, api, kubernetes);
    const etcdSnapshots = readEtcdSnapshotSection(section, addons);
    const certificates = readCertificatesSection(section);
    const upgrade = readUpgradeSection(section, nodes.workers.length);

    reader.reportUnknownKeys();
    if (problems.length > 0) {
        throw new LabConfigError(problems);
    }
    return deepFreeze({
        vsphere,
        network: network.config,
        controlPlanes: nodes.controlPlanes,
        workers: nodes.workers,
        apiEndpoint: api.endpoint,
        kubernetes,
        ssh,
        addons,
        etcdSnapshots,
        certificates,
        upgrade,
    });
}

/** vSphere placement and the provider's credentials (checked here, so a missing one fails before the first VM). */
function readVsphereSection(section: ConfigSection): LabConfig["vsphere"] {
    const { reader, problems } = section;
    const str = (key: ConfigKeyName) => reader.string(key);
    const bool = (key: ConfigKeyName) => reader.boolean(key);
    // vSphere provider credentials: checked here so a missing one fails before the first VM.
    const vsphereServer = section.source.raw(vsphereProviderKeys.server) ?? "";
    const vsphereUser = section.source.raw(vsphereProviderKeys.user) ?? "";
    const vspherePassword = section.source.secret(vsphereProviderKeys.password);
    if (vsphereServer.trim() === "") {
        problems.push(`${vsphereProviderKeys.server} is not set: pulumi config set ${vsphereProviderKeys.server} <vcenter or esxi host>.`);
    }
    if (vsphereUser.trim() === "") {
        problems.push(`${vsphereProviderKeys.user} is not set: pulumi config set ${vsphereProviderKeys.user} k8s-lab@vsphere.local (a user with the lab's roles: README 'The vCenter account').`);
    }
    if (vspherePassword === undefined) {
        problems.push(`${vsphereProviderKeys.password} is not set: pulumi config set --secret ${vsphereProviderKeys.password} <password>.`);
    }
    const allowUnverifiedSsl = (section.source.raw(vsphereProviderKeys.allowUnverifiedSsl) ?? "false").trim() === "true";

    const cluster = str("vsphereCluster");
    const resourcePool = str("vsphereResourcePool");
    const controlPlaneAntiAffinity = bool("controlPlaneAntiAffinity");
    if (controlPlaneAntiAffinity && cluster === "" && resourcePool !== "") {
        problems.push(
            `${fullKey("controlPlaneAntiAffinity")} is on with ${fullKey("vsphereResourcePool")}: a DRS anti-affinity rule needs a compute cluster (vsphereCluster), and a standalone host has one host to place on anyway; set controlPlaneAntiAffinity: false.`,
        );
    }
    if ((cluster === "") === (resourcePool === "")) {
        problems.push(
            `${fullKey("vsphereCluster")} and ${fullKey("vsphereResourcePool")}: set exactly one (the compute cluster, or the resource pool of a standalone host).`,
        );
    }

    const linkedClones = bool("linkedClones");
    if (linkedClones) {
        // A linked clone's disk is a delta on the template's snapshot: it has the template's size
        // and cannot be resized (vsphere provider docs, clone.linked_clone), so a size is a mistake.
        const sized = [
            ...(reader.isSet("diskGb") ? [fullKey("diskGb")] : []),
            ...reader.nodesSetting("controlPlanes", "diskGb"),
            ...reader.nodesSetting("workers", "diskGb"),
        ];
        if (sized.length > 0) {
            problems.push(
                `${sized.join(", ")} set while ${fullKey("linkedClones")} is on: a linked clone keeps the template's disk size; remove the disk size (grow the template's disk instead) or turn linkedClones off.`,
            );
        }
    }

    return {
        server: vsphereServer,
        user: vsphereUser,
        password: vspherePassword!,
        allowUnverifiedSsl,
        datacenter: str("vsphereDatacenter"),
        cluster: cluster || undefined,
        resourcePool: resourcePool || undefined,
        datastore: str("vsphereDatastore"),
        network: str("vsphereNetwork"),
        template: str("vsphereTemplate"),
        folder: str("vsphereFolder") || undefined,
        linkedClones,
        controlPlaneAntiAffinity,
    };
}

/** The node network: subnet, gateway, DNS, the NIC's name. */
function readNetworkSection(section: ConfigSection): NodeNetwork {
    const { reader, problems } = section;
    const str = (key: ConfigKeyName) => reader.string(key);
    const subnetText = str("nodeSubnet");
    const subnet = subnetText === "" ? undefined : parseCidr(subnetText);
    if (subnetText !== "" && !subnet) {
        problems.push(`${fullKey("nodeSubnet")} '${subnetText}' is not a CIDR like 192.168.1.0/24 (network address, no host bits): fix it.`);
    }
    if (subnet && subnet.prefixLength < 32 - staticMacAddressBits) {
        problems.push(
            `${fullKey("nodeSubnet")} ${subnetText} is wider than /${32 - staticMacAddressBits}: each node's static MAC carries the low ${staticMacAddressBits} bits of its address, so nodes of a wider subnet could share one; use a smaller node subnet.`,
        );
    }
    const inSubnet = (address: number) => !subnet || rangeContains(subnet, address);
    const subnetHint = subnet ? `nodeSubnet ${subnetText}` : "nodeSubnet";

    const requireAddress = (key: string, text: string): number | undefined => {
        if (text === "") {
            return undefined; // already reported as missing
        }
        const address = parseIpv4(text);
        if (address === undefined) {
            problems.push(`${key} '${text}' is not an IPv4 address: write it like 192.168.1.10.`);
            return undefined;
        }
        if (!inSubnet(address)) {
            problems.push(`${key} ${text} is outside ${subnetHint}: use an address in it or widen nodeSubnet.`);
        }
        return address;
    };

    const gateway = str("gateway");
    const gatewayAddress = requireAddress(fullKey("gateway"), gateway);
    const interfaceName = str("nodeInterface");
    if (!interfaceNamePattern.test(interfaceName)) {
        problems.push(
            `${fullKey("nodeInterface")} '${interfaceName}' is not a Linux interface name: use a letter, then up to 14 letters, digits, '_' or '-' (e.g. lan0).`,
        );
    }
    const dnsServers = reader.stringList("dnsServers");
    dnsServers.forEach((server, index) => {
        if (parseIpv4(server) === undefined) {
            problems.push(`${fullKey("dnsServers")}[${index}] '${server}' is not an IPv4 address: list DNS servers by address.`);
        }
    });
    if (reader.isSet("dnsServers") && dnsServers.length === 0) {
        problems.push(`${fullKey("dnsServers")} is empty: list at least one DNS server the nodes can reach.`);
    }
    const httpProxy = str("httpProxy");
    if (httpProxy !== "" && !/^https?:\/\/[A-Za-z0-9.-]+(:[0-9]{1,5})?\/?$/.test(httpProxy)) {
        problems.push(
            `${fullKey("httpProxy")} '${httpProxy.replace(/\/\/[^@/]*@/, "//***@")}' is not http(s)://host:port without a user or password (it would land in the VMs' guestinfo and on command lines): write it like http://proxy.lab.example:3128.`,
        );
    }
    const noProxy = reader.stringList("noProxy");
    noProxy.forEach((entry, index) => {
        if (!/^[A-Za-z0-9.*:/_-]+$/.test(entry)) {
            problems.push(`${fullKey("noProxy")}[${index}] '${entry}' is not a name, domain or CIDR: list entries like .lab.example or 10.0.0.0/8.`);
        }
    });
    const ntpServers = reader.stringList("ntpServers");
    ntpServers.forEach((server, index) => {
        if (parseIpv4(server) === undefined && !/^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(server)) {
            problems.push(`${fullKey("ntpServers")}[${index}] '${server}' is not a host name or IPv4 address: list NTP servers like 192.168.1.1 or ntp.lab.example.`);
        }
    });

    return {
        config: {
            subnet: subnetText,
            prefixLength: subnet?.prefixLength ?? 0,
            gateway,
            dnsServers,
            searchDomains: reader.stringList("searchDomains"),
            ntpServers,
            interfaceName,
            proxy: httpProxy === "" ? undefined : { url: httpProxy, noProxy },
        },
        subnet,
        subnetText,
        subnetHint,
        gatewayAddress,
        requireAddress,
    };
}

/** The control planes and workers: names, addresses, sizes, and the dead-node rules. */
function readNodesSection(section: ConfigSection, network: NodeNetwork): NodeLists {
    const { reader, problems } = section;
    const int = (key: ConfigKeyName) => reader.integer(key);
    const bool = (key: ConfigKeyName) => reader.boolean(key);
    const { requireAddress } = network;
    const controlPlaneDefaults = {
        cpus: int("controlPlaneCpus"),
        memoryMb: int("controlPlaneMemoryMb"),
        reserveMemory: bool("reserveControlPlaneMemory"),
    };
    const workerDefaults = { cpus: int("workerCpus"), memoryMb: int("workerMemoryMb"), reserveMemory: true };
    const diskGb = int("diskGb");
    const controlPlanes = reader.nodes("controlPlanes", "control-plane", { ...controlPlaneDefaults, diskGb });
    const workers = reader.nodes("workers", "worker", { ...workerDefaults, diskGb });
    const allNodes = [...controlPlanes.map((n) => ({ node: n, key: "controlPlanes" })), ...workers.map((n) => ({ node: n, key: "workers" }))];

    if (reader.isSet("controlPlanes") && (controlPlanes.length === 0 || controlPlanes.length % 2 === 0)) {
        problems.push(
            `${fullKey("controlPlanes")} has ${controlPlanes.length} nodes: stacked etcd needs an odd number (1, 3 or 5) to keep a majority; add or remove one.`,
        );
    }
    const nodeIndexOf = (key: string, node: NodeSpec) =>
        (key === "controlPlanes" ? controlPlanes : workers).indexOf(node);
    const seenNames = new Map<string, string>();
    const seenAddresses = new Map<number, string>();
    const nodeAddresses: number[] = [];
    for (const { node, key } of allNodes) {
        const where = `${fullKey(key)}[${nodeIndexOf(key, node)}]`;
        if (!rfc1123Label.test(node.name)) {
            problems.push(
                `${where}.name '${node.name}' is not a valid hostname: use lower-case letters, digits and '-', start and end with a letter or digit, at most 63 characters (RFC 1123).`,
            );
        }
        const sameName = seenNames.get(node.name);
        if (sameName) {
            problems.push(`${where}.name '${node.name}' is also used by ${sameName}: give every node its own name.`);
        } else {
            seenNames.set(node.name, where);
        }
        const address = requireAddress(`${where}.address`, node.address);
        if (address !== undefined) {
            const sameAddress = seenAddresses.get(address);
            if (sameAddress) {
                problems.push(`${where}.address ${node.address} is also used by ${sameAddress}: give every node its own address.`);
            } else {
                seenAddresses.set(address, where);
            }
            nodeAddresses.push(address);
        }
        if (node.memoryMb < minimumMemoryMb) {
            problems.push(`${where} has ${node.memoryMb} MB of memory: kubeadm's preflight needs at least ${minimumMemoryMb}; raise memoryMb.`);
        }
        if (node.cpus < minimumCpus) {
            problems.push(`${where} has ${node.cpus} vCPU: kubeadm's preflight needs at least ${minimumCpus}; raise cpus.`);
        }
        if (node.diskGb < minimumDiskGb) {
            problems.push(`${where} has a ${node.diskGb} GB disk: images and etcd need at least ${minimumDiskGb} GB (50 is comfortable); raise diskGb.`);
        }
    }

    // Issue 11: removing a dead node. Node 0 runs every removal, and etcd removes a member only
    // while a majority of members is alive.
    if (controlPlanes[0]?.unreachable) {
        problems.push(
            `${fullKey("controlPlanes")}[0].unreachable: the first control plane runs every removal and cannot be removed; if its host is dead, restore the cluster from an etcd snapshot (README "Backups and restore").`,
        );
    }
    const deadControlPlanes = controlPlanes.filter((node) => node.unreachable).length;
    if (controlPlanes.length > 1 && deadControlPlanes * 2 >= controlPlanes.length) {
        problems.push(
            `${fullKey("controlPlanes")}: ${deadControlPlanes} of ${controlPlanes.length} are unreachable: etcd has lost its majority and cannot remove a member; restore from an etcd snapshot (README "Backups and restore") instead.`,
        );
    }

    return { controlPlanes, workers, nodeAddresses, seenAddresses };
}

/** The API endpoint: the VIP (free, in the subnet), its DNS name, port and VRRP router id. */
function readApiEndpointSection(section: ConfigSection, network: NodeNetwork, nodes: NodeLists): ApiEndpointSection {
    const { reader, problems } = section;
    const str = (key: ConfigKeyName) => reader.string(key);
    const int = (key: ConfigKeyName) => reader.integer(key);
    const { requireAddress, gatewayAddress } = network;
    const { seenAddresses } = nodes;
    const vipText = str("apiVip");
    const vip = requireAddress(fullKey("apiVip"), vipText);
    if (vip !== undefined) {
        const owner = seenAddresses.get(vip);
        if (owner) {
            problems.push(`${fullKey("apiVip")} ${vipText} is the address of ${owner}: the VIP must be a free address that only keepalived uses.`);
        }
        if (vip === gatewayAddress) {
            problems.push(`${fullKey("apiVip")} ${vipText} is the gateway's address: the VIP must be a free address that only keepalived uses; pick an unused one.`);
        }
    }
    const apiDnsName = str("apiDnsName");
    if (apiDnsName !== "" && !apiDnsName.split(".").every((label) => rfc1123Label.test(label))) {
        problems.push(`${fullKey("apiDnsName")} '${apiDnsName}' is not a DNS name: use lower-case labels separated by dots, or leave it empty to use apiVip.`);
    }
    const apiPort = int("apiPort");
    if (apiPort < 1 || apiPort > 65535 || apiPort === 6443) {
        problems.push(`${fullKey("apiPort")} ${apiPort} is not usable: pick a port 1-65535 other than 6443 (the apiservers' own port on the same hosts).`);
    }
    const virtualRouterId = int("vrrpRouterId");
    if (virtualRouterId < 1 || virtualRouterId > 255) {
        problems.push(`${fullKey("vrrpRouterId")} ${virtualRouterId} is outside 1-255: VRRP router ids are one byte; pick one unused on your network.`);
    }

    return {
        endpoint: { vip: vipText, dnsName: apiDnsName || undefined, host: apiDnsName || vipText, port: apiPort, virtualRouterId },
        vip,
    };
}

/** Kubernetes: version, cluster name, subnets, schedulable control planes and the hardened defaults. */
function readKubernetesSection(section: ConfigSection, network: NodeNetwork): LabConfig["kubernetes"] {
    const { reader, problems } = section;
    const str = (key: ConfigKeyName) => reader.string(key);
    const bool = (key: ConfigKeyName) => reader.boolean(key);
    const { subnet, subnetText } = network;
    const version = str("kubernetesVersion");
    const versionMatch = kubernetesVersionPattern.exec(version);
    if (!versionMatch) {
        problems.push(`${fullKey("kubernetesVersion")} '${version}' is not 1.<minor>.<patch>: write e.g. 1.37.1 (no 'v', no '-00').`);
    } else if (Number(versionMatch[1]) < 31) {
        problems.push(`${fullKey("kubernetesVersion")} ${version} is too old: kubeadm's v1beta4 config needs 1.31 or newer.`);
    } else if (Number(versionMatch[1]) > NEWEST_SUPPORTED_MINOR) {
        // Issue 12 item 2: from 1.36 the nodes run the containerd release the program pins; a
        // minor newer than the one it was chosen for may need another (containerd RELEASES.md).
        const { containerd } = upstreamContainerd;
        problems.push(
            `${fullKey("kubernetesVersion")} ${version} is newer than the Kubernetes minors the nodes' containerd ${containerd.version} is pinned for ` +
                `(1.${CONTAINERD2_FROM_MINOR}-1.${NEWEST_SUPPORTED_MINOR}, components/render/containerd.ts): the nodes would run a Kubernetes whose containerd is not known to work. ` +
                `Set a 1.${NEWEST_SUPPORTED_MINOR} release, or first pin the containerd that containerd's RELEASES.md "Kubernetes Support" table lists for 1.${versionMatch[1]}.`,
        );
    }
    const clusterName = str("clusterName");
    if (!rfc1123Label.test(clusterName)) {
        problems.push(`${fullKey("clusterName")} '${clusterName}' is not a DNS label: use lower-case letters, digits and '-'.`);
    }
    const podSubnetText = str("podSubnet");
    const serviceSubnetText = str("serviceSubnet");
    const podSubnet = parseCidr(podSubnetText);
    const serviceSubnet = parseCidr(serviceSubnetText);
    if (!podSubnet) {
        problems.push(`${fullKey("podSubnet")} '${podSubnetText}' is not a CIDR like 10.244.0.0/16: fix it.`);
    }
    if (!serviceSubnet) {
        problems.push(`${fullKey("serviceSubnet")} '${serviceSubnetText}' is not a CIDR like 10.96.0.0/12: fix it.`);
    }
    if (podSubnet && serviceSubnet && rangesOverlap(podSubnet, serviceSubnet)) {
        problems.push(
            `${fullKey("podSubnet")} ${podSubnetText} overlaps ${fullKey("serviceSubnet")} ${serviceSubnetText}: pods and Services need separate ranges; move one.`,
        );
    }
    for (const [key, text, range] of [
        ["podSubnet", podSubnetText, podSubnet],
        ["serviceSubnet", serviceSubnetText, serviceSubnet],
    ] as const) {
        if (range && subnet && rangesOverlap(range, subnet)) {
            problems.push(`${fullKey(key)} ${text} overlaps nodeSubnet ${subnetText}: cluster-internal ranges must not clash with the LAN; move ${key}.`);
        }
    }

    // --- issue 15: hardened control-plane defaults
    const hardening: ApiServerHardening = {
        encryptSecretsAtRest: bool("encryptSecretsAtRest"),
        auditLog: bool("auditLog"),
        podSecurityStandard: reader.oneOf("podSecurityStandard", podSecurityLevels),
        oidc: readOidc(section),
    };

    return {
        version,
        minorVersion: versionMatch ? `1.${versionMatch[1]}` : "",
        clusterName,
        podSubnet: podSubnetText,
        serviceSubnet: serviceSubnetText,
        controlPlaneSchedulable: bool("controlPlaneSchedulable"),
        hardening,
    };
}

/** Issue 13 item 1: OIDC sign-in, or undefined when oidcIssuerUrl is empty. */
function readOidc(section: ConfigSection): OidcSettings | undefined {
    const { reader, problems } = section;
    const issuerUrl = reader.string("oidcIssuerUrl");
    const clientId = reader.string("oidcClientId");
    const caCertificate = reader.string("oidcCaCertificate");
    if (issuerUrl === "") {
        for (const key of ["oidcClientId", "oidcCaCertificate"] as const) {
            if (reader.string(key) !== "") problems.push(`${fullKey(key)} is set without ${fullKey("oidcIssuerUrl")}: set the issuer too, or clear ${key}.`);
        }
        return undefined;
    }
    // The API server accepts only an https issuer whose URL has no query or fragment.
    if (!/^https:\/\/[^\s?#]+$/.test(issuerUrl)) {
        problems.push(`${fullKey("oidcIssuerUrl")} '${issuerUrl}' is not an https URL without query or fragment: write it like https://id.lab.example/realms/lab.`);
    }
    if (clientId === "") {
        problems.push(`${fullKey("oidcClientId")} is empty while ${fullKey("oidcIssuerUrl")} is set: give the client id your tokens are issued for (kubelogin's --oidc-client-id).`);
    }
    if (caCertificate !== "" && !/^-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----\s*$/.test(caCertificate.trim())) {
        problems.push(`${fullKey("oidcCaCertificate")} is not a PEM certificate: paste the issuer CA's -----BEGIN CERTIFICATE----- ... block.`);
    }
    const claim = (key: "oidcUsernameClaim" | "oidcGroupsClaim") => {
        const value = reader.string(key);
        if (!/^[A-Za-z0-9_:.\/-]+$/.test(value)) problems.push(`${fullKey(key)} '${value}' is not a claim name: write e.g. email or groups.`);
        return value;
    };
    return {
        issuerUrl,
        clientId,
        usernameClaim: claim("oidcUsernameClaim"),
        groupsClaim: claim("oidcGroupsClaim"),
        usernamePrefix: reader.string("oidcUsernamePrefix"),
        groupsPrefix: reader.string("oidcGroupsPrefix"),
        caCertificate: caCertificate === "" ? undefined : `${caCertificate.trim()}\n`,
    };
}

/** The SSH user and key pair every remote command uses. */
function readSshSection(section: ConfigSection): LabConfig["ssh"] {
    const { reader, problems } = section;
    const str = (key: ConfigKeyName) => reader.string(key);
    const sshUser = str("sshUser");
    if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(sshUser)) {
        problems.push(`${fullKey("sshUser")} '${sshUser}' is not a Linux user name: use lower-case letters, digits, '_' and '-'.`);
    }
    const sshPublicKey = str("sshPublicKey");
    if (sshPublicKey !== "" && !/^(ssh-(ed25519|rsa)|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/=]+( .*)?$/.test(sshPublicKey.trim())) {
        problems.push(`${fullKey("sshPublicKey")} is not an OpenSSH public key: paste one line like 'ssh-ed25519 AAAA... you@host'.`);
    }
    const sshPrivateKey = reader.secret("sshPrivateKey");

    return { user: sshUser, publicKey: sshPublicKey.trim(), privateKey: sshPrivateKey! };
}

/** The cluster add-ons: CNI, MetalLB and its pool, ingress, NFS, and issue 13's. */
function readAddonsSection(section: ConfigSection, network: NodeNetwork, nodes: NodeLists, api: ApiEndpointSection, kubernetes: LabConfig["kubernetes"]): AddonsConfig {
    const { reader, problems } = section;
    const str = (key: ConfigKeyName) => reader.string(key);
    const bool = (key: ConfigKeyName) => reader.boolean(key);
    const { subnet, subnetHint } = network;
    const { nodeAddresses, controlPlanes, workers } = nodes;
    const { vip } = api;
    const vipText = api.endpoint.vip;
    const poolText = str("loadBalancerPool");
    const pool: Ipv4Range | undefined = poolText === "" ? undefined : parseIpv4Range(poolText);
    if (poolText !== "" && !pool) {
        problems.push(`${fullKey("loadBalancerPool")} '${poolText}' is not a range: write first-last (192.168.1.225-192.168.1.234) or a CIDR.`);
    }
    if (pool) {
        if (subnet && !(rangeContains(subnet, pool.first) && rangeContains(subnet, pool.last))) {
            problems.push(`${fullKey("loadBalancerPool")} ${poolText} is not inside ${subnetHint}: MetalLB L2 announces only on the nodes' own network.`);
        }
        const clashes = nodeAddresses.filter((address) => rangeContains(pool, address)).map(formatIpv4);
        if (clashes.length > 0) {
            problems.push(`${fullKey("loadBalancerPool")} ${poolText} contains node addresses ${clashes.join(", ")}: shrink the pool or move the nodes.`);
        }
        if (vip !== undefined && rangeContains(pool, vip)) {
            problems.push(`${fullKey("loadBalancerPool")} ${poolText} contains apiVip ${vipText}: keep the VIP out of the pool.`);
        }
    }
    const cni = reader.oneOf("cni", ["flannel", "calico"] as const);
    const flannelBackend = reader.oneOf("flannelBackend", ["vxlan", "host-gw"] as const);
    const ingressController = reader.oneOf("ingressController", ["ingress-nginx", "traefik", "none"] as const);
    const reclaimPolicy = reader.oneOf("nfsReclaimPolicy", ["Retain", "Delete"] as const);
    const metallbEnabled = bool("metallb");
    const autoAssign = bool("loadBalancerAutoAssign");
    const fixedAddress = (key: ConfigKeyName): string | undefined => {
        const text = str(key);
        if (text === "") {
            return undefined;
        }
        const address = parseIpv4(text);
        if (address === undefined || !pool || !rangeContains(pool, address)) {
            problems.push(`${fullKey(key)} '${text}' is not an address inside loadBalancerPool ${poolText}: pick one from the pool or leave it empty.`);
        }
        return text;
    };
    const ingressAddress = fixedAddress("ingressAddress");
    const internalIngress = bool("internalIngress");
    const internalIngressAddress = fixedAddress("internalIngressAddress");
    if (internalIngress && ingressController === "none") {
        problems.push(`${fullKey("internalIngress")} needs an ${fullKey("ingressController")} (ingress-nginx or traefik): the internal controller is a second instance of it.`);
    }
    if (ingressAddress && internalIngressAddress && ingressAddress === internalIngressAddress) {
        problems.push(`${fullKey("internalIngressAddress")} equals ingressAddress ${ingressAddress}: give each controller its own address.`);
    }
    if ((ingressController !== "none" || internalIngress) && !metallbEnabled) {
        problems.push(`${fullKey("ingressController")} ${ingressController} needs a LoadBalancer: turn ${fullKey("metallb")} on or set ingressController to none.`);
    }
    const nfsEnabled = bool("nfs");
    const nfsServer = str("nfsServer");
    const nfsPath = str("nfsPath");
    if (nfsEnabled && nfsServer === "") {
        problems.push(`${fullKey("nfsServer")} is empty while ${fullKey("nfs")} is on: set your NFS server's address, or turn nfs off.`);
    }
    if (nfsEnabled && !nfsPath.startsWith("/")) {
        problems.push(`${fullKey("nfsPath")} '${nfsPath}' is not an absolute export path while ${fullKey("nfs")} is on: set it like /srv/nfs/k8s.`);
    }

    // --- issue 13 (items 3-5): metrics-server, monitoring, Flux
    const issue13 = readIssue13Addons(reader, section.source, problems, ingressController);

    return {
        cni,
        flannelBackend,
        podSubnet: kubernetes.podSubnet,
        metallb: { enabled: metallbEnabled, addressPool: { first: pool ? formatIpv4(pool.first) : "", last: pool ? formatIpv4(pool.last) : "" }, autoAssign },
        ingress: {
            controller: ingressController,
            address: ingressAddress,
            internal: { enabled: internalIngress, address: internalIngressAddress },
        },
        nfs: {
            enabled: nfsEnabled,
            server: nfsServer,
            path: nfsPath,
            reclaimPolicy,
            archiveOnDelete: bool("nfsArchiveOnDelete"),
            mountOptions: reader.stringList("nfsMountOptions"),
        },
        controlPlaneSchedulable: kubernetes.controlPlaneSchedulable,
        nodes: [...controlPlanes, ...workers].map((node) => ({ name: node.name, address: node.address })),
        ...issue13,
    };
}

/** Day 2 (issue 12): the etcd snapshot timer's schedule and retention, and the share it copies to. */
function readEtcdSnapshotSection(section: ConfigSection, addons: AddonsConfig): EtcdSnapshotConfig {
    const { reader, problems } = section;
    const str = (key: ConfigKeyName) => reader.string(key);
    const int = (key: ConfigKeyName) => reader.integer(key);
    const snapshotSchedule = str("etcdSnapshotSchedule");
    // The full check is systemd-analyze calendar on the node; here: one line a unit file can hold.
    if (!/^[A-Za-z0-9*/:.,~ -]+$/.test(snapshotSchedule)) {
        problems.push(
            `${fullKey("etcdSnapshotSchedule")} '${snapshotSchedule}' is not a systemd OnCalendar expression: write e.g. '*-*-* 00/6:00:00' (every 6 h) or 'daily' (see man systemd.time).`,
        );
    }
    const snapshotKeep = int("etcdSnapshotKeep");
    if (snapshotKeep < 1 || snapshotKeep > 1000) {
        problems.push(`${fullKey("etcdSnapshotKeep")} ${snapshotKeep} is outside 1-1000: keep at least one snapshot per control plane.`);
    }

    const { nfs } = addons;
    return {
        schedule: snapshotSchedule,
        keep: snapshotKeep,
        nfs: nfs.enabled ? { server: nfs.server, path: nfs.path, mountOptions: nfs.mountOptions } : undefined,
    };
}

/** Day 2 (issue 12 item 3): when a pulumi up renews the control planes' certificates. */
function readCertificatesSection(section: ConfigSection): LabConfig["certificates"] {
    const renewBeforeDays = section.reader.integer("renewCertificatesBefore");
    // A renewal makes certificates valid a year (365 days): a window of more than 300 days would
    // make the next round due within weeks of the last, or at once.
    if (renewBeforeDays < 0 || renewBeforeDays > 300) {
        section.problems.push(
            `${fullKey("renewCertificatesBefore")} ${renewBeforeDays} is outside 0-300: give the days before the certificates' one-year expiry from which pulumi up renews them (default 30).`,
        );
    }
    return { renewBeforeDays };
}

/** Day 2 (issue 12 item 1): the batch size of a Kubernetes upgrade's worker roll. */
function readUpgradeSection(section: ConfigSection, workerCount: number): UpgradeConfig {
    const workersAtOnce = section.reader.integer("upgradeWorkersAtOnce");
    if (workersAtOnce < 1) {
        section.problems.push(
            `${fullKey("upgradeWorkersAtOnce")} ${workersAtOnce} is below 1: an upgrade drains at least one worker at a time; set 1 (the default) or more.`,
        );
    } else if (workerCount > 0 && workersAtOnce > workerCount) {
        section.problems.push(
            `${fullKey("upgradeWorkersAtOnce")} ${workersAtOnce} is more than the ${workerCount} workers: draining them all at once leaves pods nowhere to go; set at most ${workerCount}, or fewer to keep capacity during an upgrade.`,
        );
    }
    return { workersAtOnce };
}

/** A DNS name: lower-case RFC 1123 labels separated by dots. */
const dnsNamePattern = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/;

/** Issue 13 items 3-5: the keys of metrics-server, monitoring and Flux, checked together. */
function readIssue13Addons(
    reader: KeyReader,
    source: ConfigSource,
    problems: string[],
    ingressController: IngressController,
): Pick<AddonsConfig, "metricsServer" | "monitoring" | "flux"> {
    const monitoringEnabled = reader.boolean("monitoring");
    const grafanaHost = reader.string("grafanaHost");
    if (grafanaHost !== "") {
        if (!dnsNamePattern.test(grafanaHost)) {
            problems.push(`${fullKey("grafanaHost")} '${grafanaHost}' is not a DNS name: use lower-case labels separated by dots, or leave it empty.`);
        }
        if (!monitoringEnabled) {
            problems.push(`${fullKey("grafanaHost")} is set while ${fullKey("monitoring")} is off: turn monitoring on or clear grafanaHost.`);
        }
        if (ingressController === "none") {
            problems.push(`${fullKey("grafanaHost")} needs an ingress controller: set ${fullKey("ingressController")} to ingress-nginx or traefik, or clear grafanaHost.`);
        }
    }
    const prometheusStorageGb = reader.integer("prometheusStorageGb");
    if (prometheusStorageGb < 1 || prometheusStorageGb > 10000) {
        problems.push(`${fullKey("prometheusStorageGb")} ${prometheusStorageGb} is outside 1-10000: give Prometheus's volume a size in GB.`);
    }

    const fluxEnabled = reader.boolean("flux");
    const url = reader.string("fluxGitUrl");
    const branch = reader.string("fluxGitBranch");
    const path = reader.string("fluxGitPath");
    const username = reader.string("fluxGitUsername");
    let credentials: FluxConfig["credentials"];
    if (fluxEnabled) {
        if (!/^(https?|ssh):\/\/[^\s]+$/.test(url)) {
            problems.push(`${fullKey("fluxGitUrl")} '${url}' is not a Git URL while ${fullKey("flux")} is on: set it like https://github.com/you/lab-gitops.git.`);
        }
        if (!/^[A-Za-z0-9._/-]+$/.test(branch) || branch.includes("..")) {
            problems.push(`${fullKey("fluxGitBranch")} '${branch}' is not a branch name: write it like main.`);
        }
        if (!/^(\.\/)?[A-Za-z0-9._/-]*$/.test(path) || path.split("/").includes("..")) {
            problems.push(`${fullKey("fluxGitPath")} '${path}' is not a path inside the repository: write it like ./clusters/lab (no '..').`);
        }
        if (username !== "") {
            const password = source.secret(fullKey("fluxGitPassword"));
            if (password === undefined) {
                problems.push(`${fullKey("fluxGitPassword")} is not set while ${fullKey("fluxGitUsername")} is: pulumi config set --secret fluxGitPassword <token>.`);
            }
            if (!/^https?:\/\//.test(url)) {
                problems.push(`${fullKey("fluxGitUsername")} is set but ${fullKey("fluxGitUrl")} is not https://: user/password credentials work over HTTPS only.`);
            }
            credentials = password === undefined ? undefined : { username, password: pulumi.secret(password) };
        }
    }
    return {
        metricsServer: reader.boolean("metricsServer"),
        monitoring: { enabled: monitoringEnabled, grafanaHost: grafanaHost || undefined, prometheusStorageGb },
        flux: { enabled: fluxEnabled, url, branch, path, credentials },
    };
}

/** Reads typed values of project keys, applying defaults; type errors go to the shared problem list. */
class KeyReader {
    constructor(
        private readonly source: ConfigSource,
        private readonly problems: string[],
    ) {}

    isSet(key: ConfigKeyName): boolean {
        return this.source.raw(fullKey(key)) !== undefined;
    }

    /** The raw text, or the default rendered as text; reports a missing required key once. */
    private text(key: ConfigKeyName): string | undefined {
        const raw = this.source.raw(fullKey(key));
        if (raw !== undefined) {
            return raw;
        }
        const spec: ConfigKey = configKeys[key];
        if (spec.default === undefined) {
            this.problems.push(`${fullKey(key)} is not set: ${spec.description} Set it with: pulumi config set ${key} <value>.`);
            return undefined;
        }
        return typeof spec.default === "object" ? JSON.stringify(spec.default) : String(spec.default);
    }

    string(key: ConfigKeyName): string {
        return (this.text(key) ?? "").trim();
    }

    integer(key: ConfigKeyName): number {
        const text = this.text(key);
        if (text === undefined) {
            return 0;
        }
        if (!/^-?\d+$/.test(text.trim())) {
            this.problems.push(`${fullKey(key)} '${text}' is not a whole number: write it without quotes or units.`);
            return 0;
        }
        return Number(text);
    }

    boolean(key: ConfigKeyName): boolean {
        const text = (this.text(key) ?? "false").trim();
        if (text !== "true" && text !== "false") {
            this.problems.push(`${fullKey(key)} '${text}' is not true or false.`);
        }
        return text === "true";
    }

    oneOf<T extends string>(key: ConfigKeyName, allowed: readonly T[]): T {
        const text = this.string(key);
        if (!(allowed as readonly string[]).includes(text)) {
            this.problems.push(`${fullKey(key)} '${text}' is not one of ${allowed.join(", ")}: pick one.`);
            return allowed[0];
        }
        return text as T;
    }

    stringList(key: ConfigKeyName): string[] {
        const value = this.json(key);
        if (value === undefined) {
            return [];
        }
        if (!Array.isArray(value) || !value.every((item) => typeof item === "string")) {
            this.problems.push(`${fullKey(key)} is not a list of strings: write it as a YAML list.`);
            return [];
        }
        return value.map((item: string) => item.trim());
    }

    secret(key: ConfigKeyName): pulumi.Output<string> | undefined {
        const value = this.source.secret(fullKey(key));
        if (value === undefined) {
            this.problems.push(`${fullKey(key)} is not set: ${configKeys[key].description}`);
        }
        return value;
    }

    /** A node list: [{name, address, cpus?, memoryMb?, diskGb?}], sizes defaulting per role. */
    nodes(
        key: "controlPlanes" | "workers",
        role: NodeRole,
        defaults: { cpus: number; memoryMb: number; diskGb: number; reserveMemory: boolean },
    ): NodeSpec[] {
        const value = this.json(key);
        if (value === undefined) {
            return [];
        }
        if (!Array.isArray(value)) {
            this.problems.push(`${fullKey(key)} is not a list: write a YAML list of {name, address} entries.`);
            return [];
        }
        const allowed = new Set(["name", "address", "cpus", "memoryMb", "diskGb", "unreachable"]);
        return value.flatMap((entry: unknown, index: number): NodeSpec[] => {
            const where = `${fullKey(key)}[${index}]`;
            if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
                this.problems.push(`${where} is not an object: write {name: ..., address: ...}.`);
                return [];
            }
            const item = entry as Record<string, unknown>;
            for (const field of Object.keys(item).filter((f) => !allowed.has(f))) {
                this.problems.push(`${where}.${field} is not a node field: use name, address, cpus, memoryMb, diskGb or unreachable.`);
            }
            const text = (field: string): string => {
                const v = item[field];
                if (typeof v !== "string" || v.trim() === "") {
                    this.problems.push(`${where}.${field} is missing: every node needs a ${field}.`);
                    return "";
                }
                return v.trim();
            };
            const flag = (field: "unreachable"): boolean => {
                const v = item[field];
                if (v !== undefined && typeof v !== "boolean") {
                    this.problems.push(`${where}.${field} '${String(v)}' is not true or false.`);
                    return false;
                }
                return v === true;
            };
            const count = (field: "cpus" | "memoryMb" | "diskGb"): number => {
                const v = item[field];
                if (v === undefined) {
                    return defaults[field];
                }
                if (typeof v !== "number" || !Number.isInteger(v)) {
                    this.problems.push(`${where}.${field} '${String(v)}' is not a whole number.`);
                    return defaults[field];
                }
                return v;
            };
            return [
                {
                    name: text("name"),
                    role,
                    address: text("address"),
                    cpus: count("cpus"),
                    memoryMb: count("memoryMb"),
                    diskGb: count("diskGb"),
                    reserveMemory: defaults.reserveMemory,
                    unreachable: flag("unreachable"),
                },
            ];
        });
    }

    /** `key[i].field` for every node of the list that sets field itself. */
    nodesSetting(key: "controlPlanes" | "workers", field: string): string[] {
        const value = this.source.raw(fullKey(key)) === undefined ? undefined : this.json(key);
        if (!Array.isArray(value)) {
            return [];
        }
        return value.flatMap((entry: unknown, index: number) =>
            typeof entry === "object" && entry !== null && field in entry ? [`${fullKey(key)}[${index}].${field}`] : [],
        );
    }

    /** Keys in the project namespace that the program does not know: almost always typos. */
    reportUnknownKeys(): void {
        const known = new Set(Object.keys(configKeys).map(fullKey));
        const prefix = `${projectName}:`;
        for (const key of this.source.keys().filter((k) => k.startsWith(prefix) && !known.has(k))) {
            this.problems.push(`${key} is not a key of this program (a typo?): see the config reference in README.md.`);
        }
    }

    private json(key: ConfigKeyName): unknown {
        const text = this.text(key);
        if (text === undefined) {
            return undefined;
        }
        try {
            return JSON.parse(text);
        } catch {
            this.problems.push(`${fullKey(key)} is not a list: write it as a YAML list in Pulumi.<stack>.yaml.`);
            return undefined;
        }
    }
}

function deepFreeze<T>(value: T): T {
    if (value && typeof value === "object" && !pulumi.Output.isInstance(value) && !Object.isFrozen(value)) {
        Object.freeze(value);
        for (const child of Object.values(value as Record<string, unknown>)) {
            deepFreeze(child);
        }
    }
    return value;
}
