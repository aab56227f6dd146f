import * as pulumi from "@pulumi/pulumi";

// Issue 12 item 3: when the control planes' certificates are renewed. kubeadm's leaf certificates
// last one year; a `pulumi up` within renewCertificatesBefore days of their expiry starts a
// renewal round. The round must be sticky: the renewal commands run when it changes and at no
// other time, so it cannot be a function of the expiry read from the cluster (that moves with the
// renewal, and the read that sees it comes after the renewal: a cycle). This dynamic resource
// keeps the expected expiry in its own state: `diff` (preview and up) says whether a round is
// due, `update` starts it and moves the expiry a year on. The expiry it tracks is that of the
// admin kubeconfig in the stack, which only a round reads again: a Kubernetes upgrade renews the
// nodes' certificates too (kubeadm does), but not that copy, so an upgrade moves nothing here.
//
// Like providers/clusterIdentity.ts, the provider's methods are serialized into a separate
// process: everything they use is plain data or a function declared inside them.

/** Inputs: what the program knows at each run. */
export interface CertificateRenewalInputs {
    /** When node 0's certificates from kubeadm init expire (ISO 8601), or "unknown". */
    initialExpiry: string;
    /** renewCertificatesBefore: days before the expiry from which a `pulumi up` renews. */
    renewBeforeDays: number;
}

/** State: the inputs plus the round and the expiry it expects. */
export interface CertificateRenewalOutputs extends CertificateRenewalInputs {
    /** When the certificates are expected to expire (ISO 8601), or "unknown". */
    expires: string;
    /** The current renewal round: the time it started (ISO 8601), or "initial" before the first. */
    round: string;
}

/** Days a kubeadm leaf certificate is valid (kubeadm: one year; the CA ten). */
export const certificateValidityDays = 365;

/**
 * Whether a round is due: the expected expiry is known and `now` is within `renewBeforeDays` of
 * it (or past it). Self-contained: the serialized provider calls it.
 */
export function renewalDue(expires: string, renewBeforeDays: number, now: number): boolean {
    const expiry = Date.parse(expires);
    return !Number.isNaN(expiry) && now >= expiry - renewBeforeDays * 86_400_000;
}

/** The next state. Self-contained: the serialized provider calls it. */
export function nextRenewalState(olds: CertificateRenewalOutputs | undefined, news: CertificateRenewalInputs, now: number): CertificateRenewalOutputs {
    const oneYearOn = new Date(now + certificateValidityDays * 86_400_000).toISOString();
    if (olds === undefined) return { ...news, expires: news.initialExpiry, round: "initial" };
    if (renewalDue(olds.expires, news.renewBeforeDays, now)) return { ...news, expires: oneYearOn, round: new Date(now).toISOString() };
    // Unknown until node 0's init has been read (or in a stack made before this resource existed).
    const expires = Number.isNaN(Date.parse(olds.expires)) ? news.initialExpiry : olds.expires;
    return { ...news, expires, round: olds.round };
}

/** The provider: nothing outside its own state; `diff` is where a round is decided. */
export const certificateRenewalProvider: pulumi.dynamic.ResourceProvider<CertificateRenewalInputs, CertificateRenewalOutputs> = {
    async diff(_id, olds, news) {
        const next = nextRenewalState(olds, news, Date.now());
        const changed = (["expires", "round", "renewBeforeDays", "initialExpiry"] as const).filter((key) => next[key] !== olds[key]);
        // The round changes only in update (unknown in preview): the renewal steps show as changing.
        return { changes: changed.length > 0, replaces: [], deleteBeforeReplace: false, stables: [] };
    },

    async create(inputs) {
        return { id: "certificates", outs: nextRenewalState(undefined, inputs, Date.now()) };
    },

    async update(_id, olds, news) {
        return { outs: nextRenewalState(olds, news, Date.now()) };
    },
};

/**
 * The control planes' certificate renewal schedule: `round` changes when a renewal is due, and the
 * renewal steps (components/certificateRenewal.ts) run when it does.
 */
export class CertificateRenewal extends pulumi.dynamic.Resource {
    /** The current round: its start time, or "initial". */
    declare public readonly round: pulumi.Output<string>;
    /** When the certificates are expected to expire. */
    declare public readonly expires: pulumi.Output<string>;

    constructor(name: string, args: { [K in keyof CertificateRenewalInputs]: pulumi.Input<CertificateRenewalInputs[K]> }, opts?: pulumi.CustomResourceOptions) {
        super(certificateRenewalProvider, name, { ...args, round: undefined, expires: undefined }, opts, "lab", "CertificateRenewal");
    }
}
