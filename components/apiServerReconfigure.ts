import * as crypto from "crypto";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { NodeSpec } from "./config";
import { OidcSettings } from "./render/apiServerHardening";
import { KubeadmClusterArgs, renderKubeadmInitConfig } from "./render/kubeadm";
import { NodeConnection, runScript, stageFile } from "./remoteScript";

/** A control plane of the roll. */
export interface ReconfiguredControlPlane {
    readonly node: NodeSpec;
    readonly connection: NodeConnection;
    /** Its kubeadm init or join, and the apiserver files its new manifest mounts (the OIDC CA). */
    readonly after: readonly pulumi.Resource[];
}

/** Arguments of {@link ApiServerReconfigure}. */
export interface ApiServerReconfigureArgs {
    /** The control planes in roll order: node 0 first (it also updates the kubeadm-config ConfigMap). */
    readonly controlPlanes: readonly ReconfiguredControlPlane[];
    /** The cluster's kubeadm settings, the same as node 0's init file is rendered from. */
    readonly cluster: KubeadmClusterArgs;
}

/**
 * Issue 13 item 1: an OIDC change rolls onto a running cluster's control planes, one at a time.
 * Each control plane gets its own kubeadm config (the init file's renderer, with its name and
 * address: the manifest's --advertise-address and the /readyz it waits for come from it) and runs
 * apiserver-reconfigure.sh, which rewrites its kube-apiserver static pod manifest and waits until
 * the restarted apiserver answers /readyz; node 0 then uploads the ClusterConfiguration. Each step
 * waits for the previous control plane's, so at most one apiserver restarts at a time and a failed
 * one stops the roll.
 *
 * The steps run again (replaced) only when the OIDC settings change (their hash is the trigger):
 * other changes of the cluster's kubeadm settings only rewrite the staged files. On a new cluster
 * each step runs once after its init or join and finds nothing to change.
 */
export class ApiServerReconfigure extends pulumi.ComponentResource {
    /** The steps, in roll order. */
    public readonly steps: readonly command.remote.Command[];

    constructor(name: string, args: ApiServerReconfigureArgs, opts?: pulumi.ComponentResourceOptions) {
        super("lab:index:ApiServerReconfigure", name, {}, opts);
        const trigger = oidcFingerprint(args.cluster.hardening.oidc);
        const steps: command.remote.Command[] = [];
        args.controlPlanes.forEach(({ node, connection, after }, index) => {
            const config = stageFile(
                `${node.name}-file-kubeadm-apiserver.yaml`,
                {
                    node: connection,
                    fileName: "kubeadm-apiserver.yaml",
                    content: renderKubeadmInitConfig({ ...args.cluster, nodeName: node.name, advertiseAddress: node.address }),
                },
                { parent: this },
            );
            steps.push(
                runScript(
                    `${node.name}-apiserver-reconfigure`,
                    {
                        node: connection,
                        script: "apiserver-reconfigure.sh",
                        env: { ADVERTISE_ADDRESS: node.address, UPLOAD_CONFIG: String(index === 0) },
                        triggers: [trigger],
                    },
                    { parent: this, dependsOn: [config, ...after, ...steps.slice(-1)] },
                ),
            );
        });
        this.steps = steps;
        this.registerOutputs({});
    }
}

/** A hash of the OIDC settings (the CA's content included); "off" when there are none. */
export function oidcFingerprint(oidc: OidcSettings | undefined): string {
    if (!oidc) return "off";
    const fields = [oidc.issuerUrl, oidc.clientId, oidc.usernameClaim, oidc.groupsClaim, oidc.usernamePrefix, oidc.groupsPrefix, oidc.caCertificate ?? ""];
    return crypto.createHash("sha256").update(JSON.stringify(fields)).digest("hex").slice(0, 16);
}
