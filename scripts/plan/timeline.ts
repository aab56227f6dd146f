/**
 * timeline.txt: how long `pulumi up` will take, estimated from the dependency graph. Every step
 * gets a duration from a table (overridable with `--duration <key>=<seconds>`); steps start as
 * soon as everything they wait for is done (Pulumi runs independent steps in parallel), so the
 * total is the longest path through the graph. The serial sum is shown for comparison.
 */
import { PlanModel, PlanResource } from "./model";

/**
 * Estimated seconds per kind of work, for a small lab host (one ESXi, local SSD, a home uplink).
 * Keys are those of `StepKind.durations` in model.ts.
 */
export const defaultDurations: Readonly<Record<string, number>> = {
    /** vSphere full clone of the cloud-image template (linked clones take seconds). */
    clone: 90,
    /** Power on, cloud-init, VMware tools reporting a routable address. */
    boot: 120,
    /** apt: containerd, kubelet, kubeadm, kubectl; kernel modules and sysctls; image pre-pull. */
    prepare: 300,
    /** keepalived + haproxy packages, config, first VRRP election. */
    "ha-install": 60,
    /** Staging one file over SSH. */
    file: 2,
    /** kubeadm init: certificates, static pods, etcd, upload-certs. */
    init: 150,
    /** Reading a credential back from node 0 over SSH. */
    read: 3,
    /** A new token (and a control plane's certificates uploaded under a new key) on node 0 before a join. */
    "join-credentials": 15,
    /** kubeadm join (a control plane's etcd member join included). */
    join: 120,
    /** Any other remote command. */
    command: 10,
    /** The API answering /readyz through the VIP once init is done. */
    "api-ready": 30,
    /** One Helm release installed and ready. */
    chart: 90,
    /** One Kubernetes object applied. */
    manifest: 5,
    /** Provider configuration. */
    provider: 0,
    /** Anything unclassified. */
    other: 1,
};

/** One step of the estimate. */
export interface TimedStep {
    readonly step: PlanResource;
    readonly seconds: number;
    readonly start: number;
    readonly finish: number;
}

/** The estimate: the critical path, its total, and the serial sum of every step. */
export interface Timeline {
    readonly criticalPath: readonly TimedStep[];
    readonly totalSeconds: number;
    readonly serialSeconds: number;
    readonly stepCount: number;
    readonly durations: Readonly<Record<string, number>>;
}

/** Parses `key=seconds` overrides; throws naming the bad one and the valid keys. */
export function parseDurationOverrides(specs: readonly string[]): Record<string, number> {
    const overrides: Record<string, number> = {};
    for (const spec of specs) {
        const match = /^([a-z-]+)=(\d+(?:\.\d+)?)$/.exec(spec.trim());
        if (!match || !(match[1] in defaultDurations)) {
            throw new Error(`--duration ${spec}: write <step>=<seconds> with a step among ${Object.keys(defaultDurations).join(", ")}`);
        }
        overrides[match[1]] = Number(match[2]);
    }
    return overrides;
}

/** Seconds one step takes under a duration table. */
export function stepSeconds(step: PlanResource, durations: Readonly<Record<string, number>>): number {
    return step.kind.durations.reduce((sum, key) => sum + (durations[key] ?? 0), 0);
}

/** Earliest start and finish of every step, and the longest (critical) path through them. */
export function estimateTimeline(model: PlanModel, overrides: Readonly<Record<string, number>> = {}): Timeline {
    const durations = { ...defaultDurations, ...overrides };
    const steps = model.resources.filter((r) => r.isStep);
    const finish = new Map<PlanResource, number>();
    const critical = new Map<PlanResource, PlanResource | undefined>();
    const visiting = new Set<PlanResource>();
    const finishOf = (step: PlanResource): number => {
        const known = finish.get(step);
        if (known !== undefined) return known;
        if (visiting.has(step)) throw new Error(`dependency cycle through ${step.name}`);
        visiting.add(step);
        let start = 0;
        let latest: PlanResource | undefined;
        for (const dependency of step.waitsFor) {
            const done = finishOf(dependency);
            if (latest === undefined || done > start) {
                latest = dependency;
                start = done;
            }
        }
        visiting.delete(step);
        critical.set(step, latest);
        const end = start + stepSeconds(step, durations);
        finish.set(step, end);
        return end;
    };
    let last: PlanResource | undefined;
    for (const step of steps) {
        if (last === undefined || finishOf(step) > finishOf(last)) last = step;
    }
    const path: TimedStep[] = [];
    for (let at = last; at; at = critical.get(at)) {
        const seconds = stepSeconds(at, durations);
        path.unshift({ step: at, seconds, start: finish.get(at)! - seconds, finish: finish.get(at)! });
    }
    return {
        criticalPath: path,
        totalSeconds: last ? finish.get(last)! : 0,
        serialSeconds: steps.reduce((sum, step) => sum + stepSeconds(step, durations), 0),
        stepCount: steps.length,
        durations,
    };
}

/** 95 -> "1:35", 3725 -> "1:02:05". */
export function formatDuration(seconds: number): string {
    const s = Math.round(seconds);
    const hours = Math.floor(s / 3600);
    const minutes = Math.floor((s % 3600) / 60);
    const rest = String(s % 60).padStart(2, "0");
    return hours > 0 ? `${hours}:${String(minutes).padStart(2, "0")}:${rest}` : `${minutes}:${rest}`;
}

/** timeline.txt. */
export function renderTimeline(model: PlanModel, timeline: Timeline): string {
    const rows = timeline.criticalPath.map(({ step, seconds, start }) => ({
        start: formatDuration(start),
        took: formatDuration(seconds),
        what: step.kind.durations.length > 0 ? step.kind.durations.join(" + ") : step.kind.kind,
        name: step.name,
    }));
    const whatWidth = Math.max(4, ...rows.map((r) => r.what.length));
    const table = [
        `  ${"start".padStart(8)}  ${"takes".padStart(7)}  ${"step".padEnd(whatWidth)}  resource`,
        ...rows.map((r) => `  ${r.start.padStart(8)}  ${r.took.padStart(7)}  ${r.what.padEnd(whatWidth)}  ${r.name}`),
    ];
    const overridden = Object.entries(timeline.durations).map(([key, value]) => `${key}=${value}`);
    return [
        `Estimated duration of a first 'pulumi up' of stack ${model.stack} (offline plan; times are estimates, h:mm:ss).`,
        "Steps start as soon as everything they depend on is done (pulumi up's --parallel is unbounded by default;",
        "the vSphere host's own limits, e.g. concurrent clones, are not modelled); the critical path is the longest chain.",
        "",
        "Critical path:",
        ...table,
        "",
        `Estimated total (critical path, ${rows.length} steps): ${formatDuration(timeline.totalSeconds)}`,
        `The same ${timeline.stepCount} steps one after another (serial sum): ${formatDuration(timeline.serialSeconds)}`,
        "",
        "Durations used (seconds; override with --duration <step>=<seconds>):",
        `  ${overridden.join(" ")}`,
        "",
    ].join("\n");
}
