import * as pulumi from "@pulumi/pulumi";

// Issue 11: the cluster-identity guard. Some config keys are baked into a live cluster by
// `kubeadm init` (the certificates, the etcd member of node 0, kube-proxy's and the CNI's
// ranges) and re-running the program with a changed value would not change the cluster, only
// break it. This dynamic resource holds those values; its `check(olds, news)` runs during
// preview against the inputs of the previous deployment and refuses a change, naming the key
// and what to do instead. The init of node 0 depends on it, so it is checked before anything.
//
// Like providers/apiServerReady.ts, the provider's methods are serialized into a separate
// process: everything they use is plain data or a plain function declaration below.

/** The values that identify a running cluster, one per config key (plain strings/numbers/booleans). */
export interface ClusterIdentityInputs {
    /** `controlPlanes[0].name`: the node that ran `kubeadm init` (etcd member, CA holder). */
    firstControlPlaneName: string;
    /** `controlPlanes[0].address`. */
    firstControlPlaneAddress: string;
    apiVip: string;
    apiPort: number;
    /** `apiDnsName`, or "" when unset; it is a SAN of the API server certificate. */
    apiDnsName: string;
    podSubnet: string;
    serviceSubnet: string;
    clusterName: string;
    cni: string;
    /** `kubernetesVersion`, e.g. 1.33.4: may move up by patches or one minor at a time. */
    kubernetesVersion: string;
    /**
     * Issue 15: apiserver settings of the ClusterConfiguration that point at staged files. Turning
     * one off would delete a file the running apiservers mount (a static pod whose hostPath file is
     * gone does not start again), and kubeadm would not remove the flag.
     */
    encryptSecretsAtRest: boolean;
    auditLog: boolean;
    /** `podSecurityStandard`: the AdmissionConfiguration's default level. */
    podSecurityStandard: string;
    // Not the oidc* keys (issue 13 item 1): a change of them rolls onto the control planes
    // (components/apiServerReconfigure.ts). A deployment recorded before that keeps an `oidc`
    // input, which check and diff ignore (they read the keys listed here only).
}

/** The inputs' names, in the order they are reported. */
export const clusterIdentityKeys = [
    "firstControlPlaneName",
    "firstControlPlaneAddress",
    "apiVip",
    "apiPort",
    "apiDnsName",
    "podSubnet",
    "serviceSubnet",
    "clusterName",
    "cni",
    "kubernetesVersion",
    "encryptSecretsAtRest",
    "auditLog",
    "podSecurityStandard",
] as const satisfies readonly (keyof ClusterIdentityInputs)[];

/** How a changed identity value is judged: undefined when allowed, else the reason it is refused. */
export type ClusterIdentityRule = "immutable" | "kubernetesVersionSkew";

/**
 * The rule and the stack config key of each identity value. A new key is one line here plus
 * its input; a new kind of rule is one more case in {@link judgeIdentityChange}.
 */
export const clusterIdentityRules: Readonly<Record<keyof ClusterIdentityInputs, { configKey: string; rule: ClusterIdentityRule }>> = {
    firstControlPlaneName: { configKey: "controlPlanes[0].name", rule: "immutable" },
    firstControlPlaneAddress: { configKey: "controlPlanes[0].address", rule: "immutable" },
    apiVip: { configKey: "apiVip", rule: "immutable" },
    apiPort: { configKey: "apiPort", rule: "immutable" },
    apiDnsName: { configKey: "apiDnsName", rule: "immutable" },
    podSubnet: { configKey: "podSubnet", rule: "immutable" },
    serviceSubnet: { configKey: "serviceSubnet", rule: "immutable" },
    clusterName: { configKey: "clusterName", rule: "immutable" },
    cni: { configKey: "cni", rule: "immutable" },
    kubernetesVersion: { configKey: "kubernetesVersion", rule: "kubernetesVersionSkew" },
    encryptSecretsAtRest: { configKey: "encryptSecretsAtRest", rule: "immutable" },
    auditLog: { configKey: "auditLog", rule: "immutable" },
    podSecurityStandard: { configKey: "podSecurityStandard", rule: "immutable" },
};

/**
 * Judges one change of an identity value. Returns undefined when the change is allowed, else the
 * reason, naming the config key and what to do instead.
 *
 * Self-contained on purpose: the dynamic provider's serialized `check` calls it.
 */
export function judgeIdentityChange(configKey: string, rule: ClusterIdentityRule, before: unknown, after: unknown): string | undefined {
    if (before === after) return undefined;
    const shown = (value: unknown) => (value === "" || value === undefined ? "(unset)" : String(value));
    if (rule === "kubernetesVersionSkew") {
        // kubeadm upgrades one minor at a time and never downgrades:
        // https://kubernetes.io/docs/tasks/administer-cluster/kubeadm/kubeadm-upgrade/
        // ("Skipping MINOR versions when upgrading is unsupported"; no downgrade path).
        const parse = (value: unknown) => {
            const match = /^1\.(\d+)\.(\d+)$/.exec(String(value));
            return match ? { minor: Number(match[1]), patch: Number(match[2]) } : undefined;
        };
        const old = parse(before);
        const next = parse(after);
        if (!old || !next) return undefined; // config.ts reports a malformed version
        const allowed = `1.${old.minor}.${old.patch} or a later 1.${old.minor} patch, or 1.${old.minor + 1}.x`;
        if (next.minor < old.minor || (next.minor === old.minor && next.patch < old.patch)) {
            return (
                `${configKey} ${shown(after)} is a downgrade from ${shown(before)}: kubeadm cannot downgrade a cluster. ` +
                `Allowed: ${allowed}; to run an older version, create a new stack.`
            );
        }
        if (next.minor > old.minor + 1) {
            return (
                `${configKey} ${shown(after)} skips a minor version from ${shown(before)}: kubeadm upgrades one minor at a time. ` +
                `Allowed: ${allowed}; upgrade through each minor in turn.`
            );
        }
        return undefined;
    }
    return (
        `${configKey} cannot change on a running cluster (it was ${shown(before)}, the config now says ${shown(after)}): ` +
        `kubeadm init baked it into the cluster. Put ${configKey} back to ${shown(before)}, ` +
        `or build a new cluster in a new stack (pulumi stack init <name>) or after pulumi destroy.`
    );
}

/** Checks new inputs against the previous deployment's (none on the first deployment). */
function checkClusterIdentity(olds: Record<string, unknown>, news: Record<string, unknown>): pulumi.dynamic.CheckResult<ClusterIdentityInputs> {
    // Pulumi's marker for a value not known yet: nothing to compare.
    const unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
    const failures: pulumi.dynamic.CheckFailure[] = [];
    const deployed = olds !== undefined && olds !== null && Object.keys(olds).length > 0;
    if (deployed) {
        for (const key of clusterIdentityKeys) {
            if (!(key in olds) || news[key] === unknown || olds[key] === unknown) continue; // a key added later: nothing to compare
            const { configKey, rule } = clusterIdentityRules[key];
            const reason = judgeIdentityChange(configKey, rule, olds[key], news[key]);
            if (reason !== undefined) failures.push({ property: key, reason });
        }
    }
    return { inputs: news as unknown as ClusterIdentityInputs, failures };
}

/** The provider: `check` refuses; create/update only record the values; nothing is ever replaced. */
export const clusterIdentityProvider: pulumi.dynamic.ResourceProvider<ClusterIdentityInputs, ClusterIdentityInputs> = {
    async check(olds, news) {
        return checkClusterIdentity(olds as unknown as Record<string, unknown>, news as unknown as Record<string, unknown>);
    },

    async diff(_id, olds, news) {
        const changed = clusterIdentityKeys.filter((key) => olds[key] !== news[key]);
        return { changes: changed.length > 0, replaces: [], deleteBeforeReplace: false };
    },

    async create(inputs) {
        return { id: inputs.clusterName, outs: inputs };
    },

    async update(_id, _olds, news) {
        return { outs: news };
    },
};

/**
 * Records the cluster's identity and refuses, at preview, a config change of it that a live
 * cluster cannot take (see {@link clusterIdentityRules}).
 */
export class ClusterIdentity extends pulumi.dynamic.Resource {
    constructor(name: string, args: ClusterIdentityInputs, opts?: pulumi.CustomResourceOptions) {
        super(clusterIdentityProvider, name, { ...args }, opts, "lab", "ClusterIdentity");
    }
}
