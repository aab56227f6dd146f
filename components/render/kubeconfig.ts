import * as crypto from "crypto";
import * as YAML from "yaml";
import { stringifyYaml } from "./yaml";

/** Where the workstation reaches the API: an address to dial and, optionally, the name its certificate carries. */
export interface WorkstationEndpoint {
    /** `https://<vip>:<port>`: dialled by address, so the API's DNS name need not resolve on the workstation. */
    readonly server: string;
    /** The API's DNS name, checked against the certificate (kubeconfig `tls-server-name`); absent: the server's host. */
    readonly tlsServerName?: string;
}

interface KubeconfigDocument {
    "current-context"?: string;
    contexts?: { name: string; context?: { cluster?: string } }[];
    clusters?: { name: string; cluster: Record<string, unknown> }[];
}

/**
 * The admin kubeconfig kubeadm wrote (server = controlPlaneEndpoint, the DNS name) rewritten for
 * the workstation: the current context's cluster dials the VIP and checks the certificate against
 * the DNS name (`tls-server-name`, honoured by kubectl, client-go and the Kubernetes provider).
 * Without it, `pulumi up` and kubectl need the name in the workstation's DNS, and fail with
 * ENOTFOUND after the API-ready wait when it is not there.
 */
export function kubeconfigForWorkstation(kubeconfig: string, endpoint: WorkstationEndpoint): string {
    const document = (YAML.parse(kubeconfig) ?? {}) as KubeconfigDocument;
    const contextName = document["current-context"];
    const clusterName = document.contexts?.find((context) => context.name === contextName)?.context?.cluster;
    const cluster = document.clusters?.find((entry) => entry.name === clusterName);
    if (!cluster) {
        throw new Error(`the admin kubeconfig has no cluster for its current context '${contextName ?? ""}': cannot point it at the API endpoint`);
    }
    cluster.cluster.server = endpoint.server;
    if (endpoint.tlsServerName) {
        cluster.cluster["tls-server-name"] = endpoint.tlsServerName;
    } else {
        delete cluster.cluster["tls-server-name"];
    }
    return stringifyYaml(document);
}

/**
 * Issue 12 item 3: when the admin kubeconfig's client certificate expires (ISO 8601), or undefined
 * when it holds none that parses. kubeadm makes it at init with the control planes' other leaf
 * certificates, all valid one year (kubeadm docs, "Certificate Management with kubeadm"): node 0's
 * are the cluster's earliest, and once they lapse the API refuses the Kubernetes provider too.
 */
export function clientCertificateExpiry(kubeconfig: string): string | undefined {
    const document = (YAML.parse(kubeconfig) ?? {}) as {
        "current-context"?: string;
        contexts?: { name: string; context?: { user?: string } }[];
        users?: { name: string; user?: { "client-certificate-data"?: string } }[];
    };
    const contextName = document["current-context"];
    const userName = document.contexts?.find((context) => context.name === contextName)?.context?.user;
    const data = document.users?.find((user) => user.name === userName)?.user?.["client-certificate-data"];
    if (!data) return undefined;
    try {
        return new Date(new crypto.X509Certificate(Buffer.from(data, "base64")).validTo).toISOString();
    } catch {
        return undefined;
    }
}

/** Days from `now` to `isoTime` (negative once past). */
export function daysUntil(isoTime: string, now: Date = new Date()): number {
    return Math.floor((Date.parse(isoTime) - now.getTime()) / 86_400_000);
}
