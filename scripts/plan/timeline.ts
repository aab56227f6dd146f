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
    /**
     * Issue 14: a linked clone (linkedClones): a delta disk on the template's snapshot, no disk data
     * copied (vsphere provider docs, clone.linked_clone), so "seconds" as the clone entry says; 10 s
     * leaves room for the reconfigure (CPU, memory, guestinfo) every clone does.
     */
    "linked-clone": 10,
    /** Power on, cloud-init, VMware tools reporting a routable address. */
    boot: 120,
    /**
     * apt: containerd, kubelet, kubeadm, kubectl; kernel modules and sysctls; image pre-pull. Kept as
     * it was: the pre-pull (issue 14) was counted here already; node-prepare.sh now does it.
     */
    prepare: 300,
    /**
     * Issue 14: node-prepare.sh on a node cloned from a prepared template (README "A prepared
     * template"): it finds the pinned packages and images and only checks them; no apt list, no
     * package download or install, no image pull. What is left: the first-boot wait, the sysctl,
     * module and containerd config checks (`containerd config dump`), dpkg/crictl queries, apt-mark
     * holds. An estimate (not measured): a tenth of `prepare`, whose downloads are gone.
     */
    "prepare-prepared": 30,
    /** keepalived + haproxy packages, config, first VRRP election. */
    "ha-install": 60,
    /**
     * Issue 14: the same step on a node cloned from a prepared template that also holds the two
     * packages (README "A prepared template", step 2): ha-endpoint-install.sh finds them and skips
     * apt. What is left was measured: its first run with the packages in place (configs checked
     * and installed, both daemons started, this node's haproxy listening and the VIP answering)
     * took 4.4 s in the sandbox of test/ha/installScript.test.ts (4.4-4.5 s over four runs on a
     * quiet machine, 2026-12-07; bench/results/ha-install.json keeps the last recorded one). The
     * sandbox starts the daemons without systemd and over no SSH session, so the figure keeps a
     * margin for both: 10 s.
     */
    "ha-install-prepared": 10,
    /** Staging one file over SSH. */
    file: 2,
    /** kubeadm init: certificates, static pods, etcd, upload-certs. */
    init: 150,
    /**
     * Issue 14: kubeadm init with its images already on the node (node-prepare.sh pre-pulls them;
     * init's preflight then finds them: ImagePullCheck, IfNotPresent). `init` less the part that
     * moved: pulling the seven images `kubeadm config images list` names (apiserver,
     * controller-manager, scheduler, proxy, coredns, pause, etcd), estimated at 60 s of the 150 s
     * on the lab's uplink; the certificates, static pods, etcd and the waits for them stay.
     */
    "init-prepulled": 90,
    /** Reading a credential back from node 0 over SSH. */
    read: 3,
    /** A new token (and a control plane's certificates uploaded under a new key) on node 0 before a join. */
    "join-credentials": 15,
    /**
     * kubeadm join (a control plane's etcd member join included). A worker's join keeps this figure:
     * it pulls no image (kubeadm's join preflight pulls only for a control-plane join:
     * cmd/kubeadm/app/cmd/phases/join/preflight.go), so the pre-pull moved nothing out of it.
     */
    join: 120,
    /**
     * Issue 14: a control-plane join with its images pre-pulled: `join` less the same 60 s of image
     * pull as `init-prepulled` (its preflight pulls the same control-plane images).
     */
    "join-prepulled": 60,
    /** Any other remote command. */
    command: 10,
    /** The API answering /readyz through the VIP once init is done. */
    "api-ready": 30,
    /** One Helm release installed and ready. */
    chart: 90,
    /**
     * Issue 14: a chart whose images the nodes already hold (a prepared template built with the
     * add-ons' images in PREPULL_IMAGES, README "A prepared template"): `chart` less its image
     * pulls, estimated at half of it; applying the objects, scheduling, starting the pods and their
     * readiness probes stay.
     */
    "chart-prepulled": 45,
    /** One Kubernetes object applied. */
    manifest: 5,
    /** Provider configuration. */
    provider: 0,
    /** Anything unclassified. */
    other: 1,
};

/**
 * Issue 14: the duration keys a lab built from a prepared template with linkedClones uses instead
 * of the stock template's (the plan cannot see the template: node-prepare.sh detects it on the node).
 */
export const preparedTemplateSubstitutions: Readonly<Record<string, string>> = {
    clone: "linked-clone",
    prepare: "prepare-prepared",
    "ha-install": "ha-install-prepared",
    chart: "chart-prepulled",
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
    /** Duration keys replaced for this estimate (empty: the stack as configured). */
    readonly substitutions: Readonly<Record<string, string>>;
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

/** The duration keys of a step, with `substitutions` (key -> key) applied. */
export function stepKeys(step: PlanResource, substitutions: Readonly<Record<string, string>> = {}): string[] {
    return step.kind.durations.map((key) => substitutions[key] ?? key);
}

/** Seconds one step takes under a duration table. */
export function stepSeconds(step: PlanResource, durations: Readonly<Record<string, number>>, substitutions: Readonly<Record<string, string>> = {}): number {
    return stepKeys(step, substitutions).reduce((sum, key) => sum + (durations[key] ?? 0), 0);
}

/**
 * Earliest start and finish of every step, and the longest (critical) path through them.
 * `substitutions` replaces duration keys (e.g. {@link preparedTemplateSubstitutions}).
 */
export function estimateTimeline(
    model: PlanModel,
    overrides: Readonly<Record<string, number>> = {},
    substitutions: Readonly<Record<string, string>> = {},
): Timeline {
    const durations = { ...defaultDurations, ...overrides };
    const seconds = (step: PlanResource) => stepSeconds(step, durations, substitutions);
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
        const end = start + seconds(step);
        finish.set(step, end);
        return end;
    };
    let last: PlanResource | undefined;
    for (const step of steps) {
        if (last === undefined || finishOf(step) > finishOf(last)) last = step;
    }
    const path: TimedStep[] = [];
    for (let at = last; at; at = critical.get(at)) {
        const took = seconds(at);
        path.unshift({ step: at, seconds: took, start: finish.get(at)! - took, finish: finish.get(at)! });
    }
    return {
        criticalPath: path,
        totalSeconds: last ? finish.get(last)! : 0,
        serialSeconds: steps.reduce((sum, step) => sum + seconds(step), 0),
        stepCount: steps.length,
        durations,
        substitutions,
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

/** A critical path as timeline.txt's table. */
function renderCriticalPath(timeline: Timeline): string[] {
    const rows = timeline.criticalPath.map(({ step, seconds, start }) => ({
        start: formatDuration(start),
        took: formatDuration(seconds),
        what: step.kind.durations.length > 0 ? stepKeys(step, timeline.substitutions).join(" + ") : step.kind.kind,
        name: step.name,
    }));
    const whatWidth = Math.max(4, ...rows.map((r) => r.what.length));
    return [
        `  ${"start".padStart(8)}  ${"takes".padStart(7)}  ${"step".padEnd(whatWidth)}  resource`,
        ...rows.map((r) => `  ${r.start.padStart(8)}  ${r.took.padStart(7)}  ${r.what.padEnd(whatWidth)}  ${r.name}`),
    ];
}

/** "prepare=prepare-prepared clone=linked-clone". */
const describeSubstitutions = (substitutions: Readonly<Record<string, string>>) =>
    Object.entries(substitutions)
        .map(([from, to]) => `${from} -> ${to}`)
        .join(", ");

/**
 * timeline.txt: the critical path of the stack as configured (a stock template), and issue 14's
 * second estimate, the same graph built from a prepared template with linked clones.
 */
export function renderTimeline(model: PlanModel, timeline: Timeline, prepared?: Timeline): string {
    const overridden = Object.entries(timeline.durations).map(([key, value]) => `${key}=${value}`);
    const second = prepared
        ? [
              "",
              `With a prepared template (README "A prepared template") and linkedClones (${describeSubstitutions(prepared.substitutions)}):`,
              ...renderCriticalPath(prepared),
              "",
              `Estimated total with a prepared template and linked clones (critical path, ${prepared.criticalPath.length} steps): ${formatDuration(prepared.totalSeconds)}`,
          ]
        : [];
    return [
        `Estimated duration of a first 'pulumi up' of stack ${model.stack} (offline plan; times are estimates, h:mm:ss).`,
        "Steps start as soon as everything they depend on is done (pulumi up's --parallel is unbounded by default;",
        "the vSphere host's own limits, e.g. concurrent clones, are not modelled); the critical path is the longest chain.",
        "",
        "Critical path (the stack as configured, from the stock template):",
        ...renderCriticalPath(timeline),
        "",
        `Estimated total (critical path, ${timeline.criticalPath.length} steps): ${formatDuration(timeline.totalSeconds)}`,
        `The same ${timeline.stepCount} steps one after another (serial sum): ${formatDuration(timeline.serialSeconds)}`,
        ...second,
        "",
        "Durations used (seconds; override with --duration <step>=<seconds>):",
        `  ${overridden.join(" ")}`,
        "",
    ].join("\n");
}
