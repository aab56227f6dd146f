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

    constructor(name: string, args: HaEndpointArgs, opts?: pulumi.ComponentResourceOptions) {
        super("lab:index:HaEndpoint", name, {}, opts);
        const peers = args.controlPlanes.map((cp) => cp.peer);
        const haproxyConfig = renderHaproxyConfig({ apiPort: args.apiPort, controlPlanes: peers });
        const checkScript = renderHaproxyCheckScript();

        this.installed = args.controlPlanes.map(({ peer, connection }, index) => {
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
            return runScript(
                `${prefix}-ha-install`,
                {
                    node: connection,
                    script: "ha-endpoint-install.sh",
                    env: { VIP: args.vip, API_PORT: String(args.apiPort) },
                    // A changed config is installed (and the daemons reloaded) by running the install again.
                    triggers: [contentHash(haproxyConfig), contentHash(keepalivedConfig), contentHash(checkScript)],
                },
                { parent: this, dependsOn: staged },
            );
        });
        this.registerOutputs({});
    }
}
