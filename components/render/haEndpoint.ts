import { parseIpv4 } from "../network";
import { readManifest, renderScript, renderTemplate } from "./manifests";

/** A control-plane node as the HA endpoint sees it. */
export interface ControlPlanePeer {
    /** The node's name (hostname), e.g. `k8s-control01`. */
    readonly name: string;
    /** The node's IPv4 address on the node network, e.g. `192.168.1.200`. */
    readonly address: string;
}

/** Where keepalived's check script lands on a node (ha-endpoint-install.sh installs it there). */
export const checkScriptNodePath = "/etc/keepalived/check-haproxy.sh";

/** Where haproxy's admin socket lands on a node. */
export const haproxyStatsSocketNodePath = "/run/haproxy/admin.sock";

/** The port every kube-apiserver listens on (kubeadm's default). */
export const defaultApiServerPort = 6443;

/** Arguments of haproxy.cfg, the same on every control-plane node. */
export interface HaproxyConfigArgs {
    /** Port haproxy listens on for the API (the VIP's port, 443 in the lab). */
    readonly apiPort: number;
    /** Port of each kube-apiserver behind it; default 6443. */
    readonly apiServerPort?: number;
    /** Every control-plane node, in order; each becomes one backend server. */
    readonly controlPlanes: readonly ControlPlanePeer[];
    /** haproxy's admin socket; default /run/haproxy/admin.sock (tests use a private path). */
    readonly statsSocketPath?: string;
}

/** Arguments of keepalived.conf for one control-plane node. */
export interface KeepalivedConfigArgs {
    /** The node this file is for. */
    readonly self: ControlPlanePeer;
    /** The control planes it exchanges VRRP with; `self` may be included, it is left out. */
    readonly peers: readonly ControlPlanePeer[];
    /** The node's network interface that carries the VIP, e.g. `ens192`. */
    readonly interfaceName: string;
    /** The API virtual IP (IPv4). */
    readonly vip: string;
    /** Prefix length of the node network, e.g. 24. */
    readonly vipPrefixLength: number;
    /** VRRP virtual router id, 1-255, unique on the node network. */
    readonly virtualRouterId: number;
    /** VRRP priority, 1-254; see keepalivedPriority. */
    readonly priority: number;
    /** VRRP PASS authentication, 1-8 letters or digits (a secret). */
    readonly authPassword: string;
    /** Port haproxy listens on; the check script verifies that haproxy listens there. */
    readonly apiPort: number;
    /** Path of check-haproxy.sh on the node; default /etc/keepalived/check-haproxy.sh. */
    readonly checkScriptPath?: string;
}

const namePattern = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const interfacePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,14}$/;
const passwordPattern = /^[A-Za-z0-9]{1,8}$/;
const absolutePathPattern = /^\/[A-Za-z0-9._\/-]+$/;

/** True for a dotted-quad IPv4 address. */
function isIpv4(text: string): boolean {
    return parseIpv4(text) !== undefined;
}

function isPort(value: number): boolean {
    return Number.isInteger(value) && value >= 1 && value <= 65535;
}

/** Throws once with every problem, so a caller fixes them all in one go. */
function refuse(what: string, problems: string[]): void {
    if (problems.length > 0) {
        throw new Error(`cannot render ${what}: ${problems.join("; ")}`);
    }
}

function peerProblems(peer: ControlPlanePeer, label: string): string[] {
    const problems: string[] = [];
    if (!namePattern.test(peer.name)) {
        problems.push(`${label}.name '${peer.name}' must be letters, digits, '.', '_' or '-'`);
    }
    if (!isIpv4(peer.address)) {
        problems.push(`${label}.address '${peer.address}' is not an IPv4 address`);
    }
    return problems;
}

/**
 * VRRP priority of the control plane at `index` (0 first): 250, 240, 230, ... High values keep
 * VRRP's skew time (a backup's extra wait, (256 - priority) / 256 s) near zero, so failover is fast.
 */
export function keepalivedPriority(index: number): number {
    if (!Number.isInteger(index) || index < 0 || index > 24) {
        throw new Error(`control-plane index ${index} must be an integer from 0 to 24`);
    }
    return 250 - 10 * index;
}

/** haproxy.cfg: TCP on the API port, balanced to every apiserver, health-checked on /readyz. */
export function renderHaproxyConfig(args: HaproxyConfigArgs): string {
    const apiServerPort = args.apiServerPort ?? defaultApiServerPort;
    const statsSocketPath = args.statsSocketPath ?? haproxyStatsSocketNodePath;
    const problems: string[] = [];
    if (!isPort(args.apiPort)) problems.push(`apiPort ${args.apiPort} is not a port`);
    if (!isPort(apiServerPort)) problems.push(`apiServerPort ${apiServerPort} is not a port`);
    if (!absolutePathPattern.test(statsSocketPath)) problems.push(`statsSocketPath '${statsSocketPath}' is not an absolute path`);
    if (args.controlPlanes.length === 0) problems.push("controlPlanes is empty: at least one is needed");
    args.controlPlanes.forEach((peer, index) => problems.push(...peerProblems(peer, `controlPlanes[${index}]`)));
    const names = args.controlPlanes.map((peer) => peer.name);
    const duplicates = names.filter((name, index) => names.indexOf(name) !== index);
    if (duplicates.length > 0) problems.push(`controlPlanes names repeat: ${duplicates.join(", ")}`);
    refuse("haproxy.cfg", problems);

    const backendServers = args.controlPlanes
        .map((peer) => `    server ${peer.name} ${peer.address}:${apiServerPort}`)
        .join("\n");
    return renderTemplate(readManifest("haproxy.cfg"), {
        apiPort: args.apiPort,
        statsSocketPath,
        backendServers,
    });
}

/**
 * keepalived.conf for one control plane: unicast VRRP to the other control planes, PASS
 * authentication, the VIP on `interfaceName`, and a vrrp_script that gives the VIP up when
 * haproxy stops listening. With a single control plane there is no peer; keepalived would then
 * fall back to multicast, so the list holds 127.0.0.1 (never leaves the node) to stay unicast.
 */
export function renderKeepalivedConfig(args: KeepalivedConfigArgs): string {
    const checkScriptPath = args.checkScriptPath ?? checkScriptNodePath;
    const problems: string[] = [...peerProblems(args.self, "self")];
    args.peers.forEach((peer, index) => problems.push(...peerProblems(peer, `peers[${index}]`)));
    if (!interfacePattern.test(args.interfaceName)) {
        problems.push(`interfaceName '${args.interfaceName}' is not a Linux interface name (1-15 letters, digits, '.', '_', '-')`);
    }
    if (!isIpv4(args.vip)) problems.push(`vip '${args.vip}' is not an IPv4 address`);
    if (!Number.isInteger(args.vipPrefixLength) || args.vipPrefixLength < 1 || args.vipPrefixLength > 32) {
        problems.push(`vipPrefixLength ${args.vipPrefixLength} must be 1-32`);
    }
    if (!Number.isInteger(args.virtualRouterId) || args.virtualRouterId < 1 || args.virtualRouterId > 255) {
        problems.push(`virtualRouterId ${args.virtualRouterId} must be 1-255`);
    }
    if (!Number.isInteger(args.priority) || args.priority < 1 || args.priority > 254) {
        problems.push(`priority ${args.priority} must be 1-254`);
    }
    // Never echo the password itself into an error message.
    if (!passwordPattern.test(args.authPassword)) {
        problems.push("authPassword must be 1-8 letters or digits (VRRP PASS authentication keeps 8 characters)");
    }
    if (!isPort(args.apiPort)) problems.push(`apiPort ${args.apiPort} is not a port`);
    if (!absolutePathPattern.test(checkScriptPath)) problems.push(`checkScriptPath '${checkScriptPath}' is not an absolute path`);
    if (args.vip === args.self.address || args.peers.some((peer) => peer.address === args.vip)) {
        problems.push(`vip ${args.vip} is also a control plane's address: use a free address`);
    }
    refuse(`keepalived.conf for ${args.self.name}`, problems);

    const otherAddresses = args.peers
        .filter((peer) => peer.address !== args.self.address && peer.name !== args.self.name)
        .map((peer) => peer.address);
    const unicastPeers = (otherAddresses.length > 0 ? otherAddresses : ["127.0.0.1"])
        .map((address) => `        ${address}`)
        .join("\n");
    return renderTemplate(readManifest("keepalived.conf"), {
        nodeName: args.self.name,
        checkScriptPath,
        apiPort: args.apiPort,
        interfaceName: args.interfaceName,
        virtualRouterId: args.virtualRouterId,
        priority: args.priority,
        selfAddress: args.self.address,
        unicastPeers,
        authPassword: args.authPassword,
        vip: args.vip,
        vipPrefixLength: args.vipPrefixLength,
    });
}

/** check-haproxy.sh, keepalived's vrrp_script; static (takes the API port as its argument). */
export function renderHaproxyCheckScript(): string {
    return renderScript("check-haproxy.sh");
}

/** ha-endpoint-install.sh, run on each control plane; static (values come from the environment). */
export function renderHaEndpointInstallScript(): string {
    return renderScript("ha-endpoint-install.sh");
}
