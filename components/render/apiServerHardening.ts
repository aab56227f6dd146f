import * as crypto from "crypto";
import { stringifyYaml } from "./yaml";

/**
 * Issue 15 item 4: the control plane's hardened defaults, as kubeadm ClusterConfiguration
 * settings and the files they point the kube-apiserver at.
 *
 * - Secrets encrypted at rest in etcd: an EncryptionConfiguration with one generated 32-byte key.
 *   `secretbox` (XSalsa20-Poly1305) is the strongest of the providers that need no external KMS
 *   (kubernetes.io "Encrypting Confidential Data at Rest", providers table: aescbc is weak to
 *   padding-oracle attacks, aesgcm needs a new key every 200k writes); `identity` last keeps
 *   anything written before readable.
 * - An audit log of who did what (metadata only: never a Secret's or a token's content), rotated
 *   by the apiserver itself (--audit-log-maxage/-maxbackup/-maxsize; --audit-log-compress gzips
 *   the rotated files, since 1.20: kubernetes/kubernetes#94066).
 * - Pod Security Admission: a cluster default level (kubeadm's docs: an AdmissionConfiguration
 *   file given with --admission-control-config-file); kube-system is exempt (kube-proxy and the
 *   static pods need the host), the add-ons' namespaces carry their own labels.
 * - --profiling=false on apiserver, controller-manager and scheduler (CIS Kubernetes Benchmark
 *   1.2.x, 1.3.2, 1.4.1): no pprof handlers on the control plane.
 *
 * The files are staged root-only on every control plane before its init or join (join takes
 * the ClusterConfiguration, with these mounts, from the cluster) and mounted read-only into the
 * apiserver's static pod.
 */

/** Pod Security Standards levels (kubernetes.io "Pod Security Standards"). */
export const podSecurityLevels = ["privileged", "baseline", "restricted"] as const;
export type PodSecurityLevel = (typeof podSecurityLevels)[number];

/** Issue 13 item 1: the API server accepts ID tokens of this OIDC issuer (kube-apiserver --oidc-* flags). */
export interface OidcSettings {
    readonly issuerUrl: string;
    readonly clientId: string;
    readonly usernameClaim: string;
    readonly groupsClaim: string;
    readonly usernamePrefix: string;
    readonly groupsPrefix: string;
    /** PEM of the issuer's CA, when not a public one: staged and given as --oidc-ca-file. */
    readonly caCertificate?: string;
}

/** What the config asks of the control plane's apiserver: set at kubeadm init; OIDC also rolled later (apiServerReconfigure.ts). */
export interface ApiServerHardening {
    readonly encryptSecretsAtRest: boolean;
    readonly auditLog: boolean;
    /** The level enforced in every namespace without its own label; privileged = no admission file. */
    readonly podSecurityStandard: PodSecurityLevel;
    /** OIDC sign-in (issue 13 item 1); absent = off. */
    readonly oidc?: OidcSettings;
}

/** The staged file names (under /etc/k8s-lab/ on every control plane). */
export const apiServerFileNames = {
    encryptionConfig: "encryption-config.yaml",
    auditPolicy: "audit-policy.yaml",
    admissionConfig: "admission-config.yaml",
} as const;

/**
 * The OIDC CA's staged file name, with a hash of its content: a new CA is a new path, so the
 * apiserver's manifest changes and the roll (apiserver-reconfigure.sh) restarts each apiserver,
 * which reads --oidc-ca-file only when it starts. The old file stays until the end of the
 * `pulumi up` (Pulumi deletes removed resources last), so an apiserver not rolled yet keeps it.
 */
export function oidcCaFileName(caCertificate: string): string {
    return `oidc-ca-${crypto.createHash("sha256").update(caCertificate).digest("hex").slice(0, 16)}.crt`;
}

/** Where the staged files are on the node, and where the apiserver container sees them. */
const stagedOnNode = (fileName: string) => `/etc/k8s-lab/${fileName}`;
const seenByApiServer = (fileName: string) => `/etc/kubernetes/k8s-lab/${fileName}`;

/** Audit log directory on each control plane (node and container). */
export const auditLogDirectory = "/var/log/kubernetes/audit";
/** Rotation: 5 compressed files of at most 100 MB, none older than 7 days (< 600 MB per node). */
export const auditLogRotation = { maxAgeDays: 7, maxBackups: 5, maxSizeMb: 100 } as const;

/** The EncryptionConfiguration (apiserver.config.k8s.io/v1) for Secrets with `keyBase64` (32 bytes). */
export function renderEncryptionConfiguration(keyBase64: string): string {
    if (Buffer.from(keyBase64, "base64").length !== 32 || !/^[A-Za-z0-9+/]{43}=$/.test(keyBase64)) {
        throw new Error("encryption key must be 32 bytes, base64-encoded");
    }
    return stringifyYaml({
        apiVersion: "apiserver.config.k8s.io/v1",
        kind: "EncryptionConfiguration",
        resources: [
            {
                resources: ["secrets"],
                providers: [{ secretbox: { keys: [{ name: "k8s-lab-1", secret: keyBase64 }] } }, { identity: {} }],
            },
        ],
    });
}

/**
 * The audit Policy (audit.k8s.io/v1). Rules are matched in order, the first match wins:
 * health checks, events and lease renewals (several a second on a quiet cluster) are not
 * recorded; everything else at Metadata: user, verb, resource, namespace, name and response
 * code, never a request or response body (so no Secret, token or kubeconfig content).
 */
export function renderAuditPolicy(): string {
    return stringifyYaml({
        apiVersion: "audit.k8s.io/v1",
        kind: "Policy",
        omitStages: ["RequestReceived"],
        rules: [
            { level: "None", nonResourceURLs: ["/healthz*", "/livez*", "/readyz*", "/version", "/openapi*"] },
            { level: "None", resources: [{ group: "", resources: ["events"] }, { group: "events.k8s.io", resources: ["events"] }] },
            { level: "None", verbs: ["get", "update"], resources: [{ group: "coordination.k8s.io", resources: ["leases"] }] },
            { level: "Metadata" },
        ],
    });
}

/**
 * The AdmissionConfiguration (apiserver.config.k8s.io/v1) with the PodSecurity plugin's
 * defaults: `level` enforced and warned about, `restricted` audited (an annotation in the audit
 * log shows what would not pass restricted).
 */
export function renderAdmissionConfiguration(level: PodSecurityLevel): string {
    return stringifyYaml({
        apiVersion: "apiserver.config.k8s.io/v1",
        kind: "AdmissionConfiguration",
        plugins: [
            {
                name: "PodSecurity",
                configuration: {
                    apiVersion: "pod-security.admission.config.k8s.io/v1",
                    kind: "PodSecurityConfiguration",
                    defaults: {
                        enforce: level,
                        "enforce-version": "latest",
                        audit: "restricted",
                        "audit-version": "latest",
                        warn: level,
                        "warn-version": "latest",
                    },
                    exemptions: { usernames: [], runtimeClasses: [], namespaces: ["kube-system"] },
                },
            },
        ],
    });
}

/** A file a control plane needs staged; only the encryption config holds a secret (the key). */
export interface ApiServerFileSpec {
    readonly fileName: string;
    readonly holdsEncryptionKey: boolean;
    /** The content; the key is used by the encryption config only. */
    render(encryptionKeyBase64: string): string;
}

/** The files a control plane needs staged for `hardening`. */
export function apiServerFiles(hardening: ApiServerHardening): ApiServerFileSpec[] {
    return [
        ...(hardening.encryptSecretsAtRest
            ? [{ fileName: apiServerFileNames.encryptionConfig, holdsEncryptionKey: true, render: renderEncryptionConfiguration }]
            : []),
        ...(hardening.auditLog ? [{ fileName: apiServerFileNames.auditPolicy, holdsEncryptionKey: false, render: () => renderAuditPolicy() }] : []),
        ...(hardening.podSecurityStandard !== "privileged"
            ? [{ fileName: apiServerFileNames.admissionConfig, holdsEncryptionKey: false, render: () => renderAdmissionConfiguration(hardening.podSecurityStandard) }]
            : []),
        ...(hardening.oidc?.caCertificate
            ? [{ fileName: oidcCaFileName(hardening.oidc.caCertificate), holdsEncryptionKey: false, render: () => hardening.oidc!.caCertificate! }]
            : []),
    ];
}

type Arg = { name: string; value: string };
type HostPathMount = { name: string; hostPath: string; mountPath: string; readOnly: boolean; pathType: string };
type Component = { extraArgs?: Arg[]; extraVolumes?: HostPathMount[] };

/** Appends to a control-plane component's extraArgs and extraVolumes (creating the component). */
function extend(clusterConfiguration: Record<string, unknown>, component: string, args: Arg[], volumes: HostPathMount[] = []): void {
    const existing = (clusterConfiguration[component] ?? {}) as Component;
    const extended: Component & Record<string, unknown> = { ...existing };
    if (args.length > 0) extended.extraArgs = [...(existing.extraArgs ?? []), ...args];
    if (volumes.length > 0) extended.extraVolumes = [...(existing.extraVolumes ?? []), ...volumes];
    clusterConfiguration[component] = extended;
}

/** A staged file mounted read-only into the apiserver's static pod. */
function stagedFileMount(name: string, fileName: string): HostPathMount {
    return { name, hostPath: stagedOnNode(fileName), mountPath: seenByApiServer(fileName), readOnly: true, pathType: "File" };
}

/** Applies `hardening` to the init's ClusterConfiguration (edited in place). */
export function applyApiServerHardening(clusterConfiguration: Record<string, unknown>, hardening: ApiServerHardening): void {
    const noProfiling = () => [{ name: "profiling", value: "false" }];
    const args: Arg[] = noProfiling();
    const volumes: HostPathMount[] = [];
    if (hardening.encryptSecretsAtRest) {
        args.push({ name: "encryption-provider-config", value: seenByApiServer(apiServerFileNames.encryptionConfig) });
        volumes.push(stagedFileMount("k8s-lab-encryption-config", apiServerFileNames.encryptionConfig));
    }
    if (hardening.auditLog) {
        args.push(
            { name: "audit-policy-file", value: seenByApiServer(apiServerFileNames.auditPolicy) },
            { name: "audit-log-path", value: `${auditLogDirectory}/audit.log` },
            { name: "audit-log-maxage", value: String(auditLogRotation.maxAgeDays) },
            { name: "audit-log-maxbackup", value: String(auditLogRotation.maxBackups) },
            { name: "audit-log-maxsize", value: String(auditLogRotation.maxSizeMb) },
            { name: "audit-log-compress", value: "true" },
        );
        volumes.push(stagedFileMount("k8s-lab-audit-policy", apiServerFileNames.auditPolicy), {
            name: "k8s-lab-audit-log",
            hostPath: auditLogDirectory,
            mountPath: auditLogDirectory,
            readOnly: false,
            pathType: "DirectoryOrCreate",
        });
    }
    if (hardening.podSecurityStandard !== "privileged") {
        args.push({ name: "admission-control-config-file", value: seenByApiServer(apiServerFileNames.admissionConfig) });
        volumes.push(stagedFileMount("k8s-lab-admission-config", apiServerFileNames.admissionConfig));
    }
    const oidc = hardening.oidc;
    if (oidc) {
        // kube-apiserver's OIDC flags (kubernetes.io "Authenticating", OpenID Connect Tokens).
        args.push(
            { name: "oidc-issuer-url", value: oidc.issuerUrl },
            { name: "oidc-client-id", value: oidc.clientId },
            { name: "oidc-username-claim", value: oidc.usernameClaim },
            { name: "oidc-groups-claim", value: oidc.groupsClaim },
            { name: "oidc-username-prefix", value: oidc.usernamePrefix },
            { name: "oidc-groups-prefix", value: oidc.groupsPrefix },
        );
        if (oidc.caCertificate) {
            const caFile = oidcCaFileName(oidc.caCertificate);
            args.push({ name: "oidc-ca-file", value: seenByApiServer(caFile) });
            volumes.push(stagedFileMount("k8s-lab-oidc-ca", caFile));
        }
    }
    extend(clusterConfiguration, "apiServer", args, volumes);
    extend(clusterConfiguration, "controllerManager", noProfiling());
    extend(clusterConfiguration, "scheduler", noProfiling());
}
