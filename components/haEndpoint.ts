import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { contentHash, NodeConnection, runScript, stageFile } from "./remoteScript";
import {
    ControlPlanePeer,
    keepalivedPriority,
    renderHaproxyCheckScript,
    renderHaproxyConfig,
    renderKeepalivedConfig,
} from "./render/haEndpoint";

/** Arguments of the HA endpoint. */
export interface HaEndpointArgs {
    /** Every control plane, in config order (node 0 gets the highest VRRP priority). */
    readonly controlPlanes: readonly { readonly peer: ControlPlanePeer; readonly connection: NodeConnection }[];
    /** The API virtual IP and the prefix length of its network. */
    readonly vip: string;
    readonly prefixLength: number;
    /** Port haproxy serves the API on (443 in the lab). */
    readonly apiPort: number;
    /** keepalived virtual_router_id, unique on the network. */
    readonly virtualRouterId: number;
    /** The NIC that carries the VIP. */
    readonly interfaceName: string;
    /** VRRP PASS authentication (secret, 8 characters). */
    readonly authPassword: pulumi.Output<string>;
}

/**
 * The Kubernetes API's highly available endpoint, on every control plane: keepalived holds the VIP
 * (unicast VRRP: multicast and VMAC break on vSphere port groups) and gives it up when its haproxy
 * dies; haproxy balances the API port to every apiserver's 6443, health-checked on /readyz. Each
 * node's install ends only when the VIP answers TCP on the API port, so kubeadm init can use it.
 */
export class HaEndpoint extends pulumi.ComponentResource {
    /** Each control plane's install step, in config order: kubeadm waits for all of them. */
    public readonly installed: command.remote.Command[];
    /** Each control plane's reload step, in config order (issue 11: a changed config rolls through them). */
    public readonly reloads: command.remote.Command[];

    constructor(name: string, args: HaEndpointArgs, opts?: pulumi.ComponentResourceOptions) {
        super("lab:index:HaEndpoint", name, {}, opts);
        const peers = args.controlPlanes.map((cp) => cp.peer);
        const haproxyConfig = renderHaproxyConfig({ apiPort: args.apiPort, controlPlanes: peers });
        const checkScript = renderHaproxyCheckScript();

        let previousReload: pulumi.Resource[] = [];
        const nodes = args.controlPlanes.map(({ peer, connection }, index) => {
            const keepalivedConfig = pulumi.secret(
                args.authPassword.apply((authPassword) =>
                    renderKeepalivedConfig({
                        self: peer,
                        peers,
                        interfaceName: args.interfaceName,
                        vip: args.vip,
                        vipPrefixLength: args.prefixLength,
                        virtualRouterId: args.virtualRouterId,
                        priority: keepalivedPriority(index),
                        authPassword,
                        apiPort: args.apiPort,
                    }),
                ),
            );
            const prefix = `${name}-${peer.name}`;
            const staged = [
                stageFile(`${prefix}-file-haproxy.cfg`, { node: connection, fileName: "haproxy.cfg", content: haproxyConfig }, { parent: this }),
                stageFile(`${prefix}-file-keepalived.conf`, { node: connection, fileName: "keepalived.conf", content: keepalivedConfig }, { parent: this }),
                stageFile(`${prefix}-file-check-haproxy.sh`, { node: connection, fileName: "check-haproxy.sh", content: checkScript }, { parent: this }),
            ];
            const env = { VIP: args.vip, API_PORT: String(args.apiPort) };
            const install = runScript(`${prefix}-ha-install`, { node: connection, script: "ha-endpoint-install.sh", env }, { parent: this, dependsOn: staged });
            // Issue 11 item 4: a changed config (a control plane added or removed, a new haproxy.cfg)
            // reaches the running control planes one at a time: each one's reload step runs the same
            // install script (it validates the staged files, reloads only what changed, and ends once
            // its own haproxy listens and the VIP answers), and the next waits for it, so a config that
            // breaks a node stops the roll there with the others still serving. The steps run only on
            // a change (a new hash of the staged files; secret, as keepalived.conf holds the VRRP
            // password), never when created: a new control plane's install does the work, and on a
            // first `pulumi up` nothing waits for them.
            const configHash = contentHash(pulumi.concat(contentHash(haproxyConfig), contentHash(keepalivedConfig), contentHash(checkScript)));
            const reload = runScript(
                `${prefix}-ha-reload`,
                { node: connection, script: "ha-endpoint-install.sh", onChangeOnly: true, env: { ...env, CONFIG_HASH: configHash } },
                { parent: this, dependsOn: [install, ...staged, ...previousReload] },
            );
            previousReload = [reload];
            return { install, reload };
        });
        this.installed = nodes.map((node) => node.install);
        this.reloads = nodes.map((node) => node.reload);
        this.registerOutputs({});
    }
}
