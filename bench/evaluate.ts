/**
 * One benchmark run, in its own process: evaluates the real program under mocks for a lab of
 * `--control-planes N --workers M` nodes and prints one JSON line: evaluation time, resources
 * registered, and the planned critical path vs the serial sum. Started by bench/run.ts.
 */
import { buildPlanModel } from "../scripts/plan/model";
import { estimateTimeline } from "../scripts/plan/timeline";
import { planNodes } from "../scripts/plan";
import { evaluateProgram } from "../test/helpers/program";
import { installMocks } from "../test/helpers/pulumiMocks";
import { labConfigWith, RawStackConfig } from "../test/helpers/stackConfig";

/** What one run reports. */
export interface EvaluationSample {
    readonly controlPlanes: number;
    readonly workers: number;
    /** Wall time from loading index.ts to the last registration settling, in milliseconds. */
    readonly evaluationMs: number;
    readonly resources: number;
    readonly criticalPathSeconds: number;
    readonly serialSeconds: number;
}

/** 192.168.0.0/22 + offset, as text. */
function addressAt(offset: number): string {
    const value = (192 << 24) + (168 << 16) + offset;
    return [24, 16, 8, 0].map((shift) => (value >>> shift) & 255).join(".");
}

/**
 * The lab stack with `controlPlanes` + `workers` nodes: nodeSubnet widened to 192.168.0.0/22 (the
 * lab's gateway, VIP and LoadBalancer pool in 192.168.1.x stay inside it), control planes from
 * 192.168.2.10, workers from 192.168.2.100 on.
 */
export function benchConfig(controlPlanes: number, workers: number): RawStackConfig {
    const pad = (n: number) => String(n).padStart(2, "0");
    return labConfigWith({
        nodeSubnet: "192.168.0.0/22",
        controlPlanes: Array.from({ length: controlPlanes }, (_, i) => ({ name: `k8s-control${pad(i + 1)}`, address: addressAt(512 + 10 + i) })),
        workers: Array.from({ length: workers }, (_, i) => ({ name: `k8s-worker${pad(i + 1)}`, address: addressAt(512 + 100 + i) })),
    });
}

/** Evaluates the program once for a lab size and measures it. */
export async function measureEvaluation(controlPlanes: number, workers: number): Promise<EvaluationSample> {
    const config = benchConfig(controlPlanes, workers);
    const recorder = installMocks("bench");
    // Load the program's modules first: the measurement is the evaluation, not module loading.
    require("../components/lab");
    require("../components/config");
    const started = process.hrtime.bigint();
    await evaluateProgram(config);
    const evaluationMs = Number(process.hrtime.bigint() - started) / 1e6;
    const timeline = estimateTimeline(buildPlanModel([...recorder.resources], planNodes(config), "bench"));
    return {
        controlPlanes,
        workers,
        evaluationMs,
        resources: recorder.resources.length,
        criticalPathSeconds: timeline.totalSeconds,
        serialSeconds: timeline.serialSeconds,
    };
}

if (require.main === module) {
    const flag = (name: string) => {
        const at = process.argv.indexOf(name);
        const value = Number(process.argv[at + 1]);
        if (at < 0 || !Number.isInteger(value) || value < 0) throw new Error(`${name} <count> is required`);
        return value;
    };
    measureEvaluation(flag("--control-planes"), flag("--workers"))
        .then((sample) => console.log(JSON.stringify(sample)))
        .catch((error: Error) => {
            console.error(error.message);
            process.exit(1);
        });
}
