/**
 * Issue 12 item 3: the control planes' certificates renewed by `pulumi up` within
 * renewCertificatesBefore days of their expiry, one control plane at a time, and the renewed admin
 * kubeconfig read back into the stack.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { CertificateRenewal } from "../providers/certificateRenewal";
import { API_SERVER_BIND_PORT } from "./render/kubeadm";
import { clientCertificateExpiry } from "./render/kubeconfig";
import { NodeConnection, runScript } from "./remoteScript";

/** A control plane as the renewal needs it. */
export interface RenewedControlPlane {
    readonly connection: NodeConnection;
    /** Its address: the script checks its own apiserver's /readyz there. */
    readonly address: string;
    /** Its kubeadm init or join, and any other step that restarts its static pods: renewal comes after. */
    readonly after: readonly pulumi.Resource[];
}

/** Arguments of {@link renewCertificates}. */
export interface CertificateRenewalStepsArgs {
    /** Node 0 first (where the admin kubeconfig is read), then the others in config order. */
    readonly controlPlanes: readonly RenewedControlPlane[];
    /** Node 0's admin kubeconfig as read after its init: the first expiry. */
    readonly initialKubeconfig: pulumi.Output<string>;
    readonly renewBeforeDays: number;
}

/** What {@link renewCertificates} made. */
export interface CertificateRenewalSteps {
    /** The admin kubeconfig (secret), read after the latest renewal round. */
    readonly kubeconfig: pulumi.Output<string>;
    /** The schedule: its `round` starts the renewal. */
    readonly schedule: CertificateRenewal;
    /** The renewal step of each control plane, in order. */
    readonly renewals: readonly command.remote.Command[];
}

/**
 * The renewal steps: a CertificateRenewal schedule, then certificates-renew.sh on each control
 * plane in turn (each waits for the previous: one apiserver and one etcd member restart at a time),
 * then node 0's admin kubeconfig read again. The steps run whenever the round changes and do
 * nothing in the round "initial", so on the first `pulumi up` they only check.
 */
export function renewCertificates(name: string, args: CertificateRenewalStepsArgs, parent: pulumi.Resource): CertificateRenewalSteps {
    const [first] = args.controlPlanes;
    const schedule = new CertificateRenewal(
        `${name}-certificate-renewal`,
        {
            initialExpiry: args.initialKubeconfig.apply((kubeconfig) => clientCertificateExpiry(kubeconfig) ?? "unknown"),
            renewBeforeDays: args.renewBeforeDays,
        },
        { parent, dependsOn: [...first.after] },
    );
    const renewals: command.remote.Command[] = [];
    for (const controlPlane of args.controlPlanes) {
        const previous = renewals.at(-1);
        renewals.push(
            runScript(
                `${controlPlane.connection.nodeName}-certificates-renew`,
                {
                    node: controlPlane.connection,
                    script: "certificates-renew.sh",
                    env: { RENEW_ROUND: schedule.round, ADVERTISE_ADDRESS: controlPlane.address, API_SERVER_BIND_PORT: String(API_SERVER_BIND_PORT) },
                },
                { parent, dependsOn: [...controlPlane.after, schedule, ...(previous ? [previous] : [])] },
            ),
        );
    }
    // Only node 0's renewal comes before the read: the admin kubeconfig is node 0's file, and the
    // add-ons (which take it) need not wait for the other control planes.
    const kubeconfig = pulumi.secret(
        runScript(
            `${first.connection.nodeName}-read-renewed-kubeconfig`,
            { node: first.connection, script: "read-cluster-credentials.sh", env: { WHAT: "kubeconfig" }, triggers: [schedule.round], secretOutput: true },
            { parent, dependsOn: [renewals[0]] },
        ).stdout,
    );
    return { kubeconfig, schedule, renewals };
}
