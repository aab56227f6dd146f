/**
 * `npm run plan -- --stack <name>`: what `pulumi up` would do, without vSphere or the Pulumi CLI.
 * Evaluates the real program (index.ts) under Pulumi's mocks with the stack's Pulumi.<stack>.yaml
 * (secure values replaced by placeholders, never decrypted) and writes out/plan/<stack>/:
 * resources.txt, graph.mmd, graph.dot, files/ and timeline.txt.
 *
 *   npm run plan -- --stack lab [--out <dir>] [--duration prepare=300 ...]
 */
import * as fs from "fs";
import * as path from "path";
import { parseLabConfig } from "../components/config";
import { projectRoot } from "../components/render/manifests";
import { evaluateProgram } from "../test/helpers/program";
import { installMocks, MockRecorder } from "../test/helpers/pulumiMocks";
import { mapConfigSource, RawStackConfig, readStackConfig } from "../test/helpers/stackConfig";
import { plannedFiles, PlannedFile, nodeManifests } from "./plan/files";
import { renderCompactMermaid, renderDot, renderMermaid } from "./plan/graph";
import { buildPlanModel, PlanModel, PlanNode } from "./plan/model";
import { renderResourceTree } from "./plan/resourceTree";
import { estimateTimeline, formatDuration, parseDurationOverrides, preparedTemplateSubstitutions, renderTimeline, Timeline } from "./plan/timeline";

/** What to plan. */
export interface PlanOptions {
    /** Stack name: reads Pulumi.<stack>.yaml. */
    readonly stack: string;
    /** Output folder; default out/plan/<stack> under the project. */
    readonly outDir?: string;
    /** Folder holding Pulumi.<stack>.yaml; default the project root. */
    readonly stackDir?: string;
    /** Step durations in seconds replacing the defaults (see timeline.ts). */
    readonly durations?: Readonly<Record<string, number>>;
    /** Use this config instead of reading the stack file (benchmarks, tests). */
    readonly config?: RawStackConfig;
}

/** Everything the plan writes, in memory. */
export interface PlanArtifacts {
    readonly model: PlanModel;
    readonly resourcesText: string;
    readonly mermaid: string;
    readonly dot: string;
    readonly files: readonly PlannedFile[];
    readonly timeline: Timeline;
    /** Issue 14: the same graph from a prepared template with linked clones. */
    readonly preparedTimeline: Timeline;
    readonly timelineText: string;
}

/** The result of a plan written to disk. */
export interface PlanResult {
    readonly outDir: string;
    readonly artifacts: PlanArtifacts;
    /** Secret keys the stack file does not set: `pulumi up` will ask for them. */
    readonly missingSecrets: readonly string[];
    readonly summary: string;
}

/** The lab's nodes as the plan needs them, from the same parser `pulumi up` runs. */
export function planNodes(config: RawStackConfig): PlanNode[] {
    const parsed = parseLabConfig(mapConfigSource(config));
    return [...parsed.controlPlanes, ...parsed.workers].map((n) => ({ name: n.name, role: n.role, address: n.address }));
}

/**
 * Evaluates the program with a config under mocks and classifies what it registered. Rejects with
 * the program's own error (e.g. LabConfigError) when the config is refused.
 */
export async function evaluatePlanModel(stack: string, config: RawStackConfig): Promise<PlanModel> {
    // The first install fixes the stack name in the URNs; later calls reuse it.
    const recorder: MockRecorder = installMocks(stack);
    await evaluateProgram(config);
    return buildPlanModel([...recorder.resources], planNodes(config), stack);
}

/** Renders every artifact of the plan from a model. */
export function renderPlan(model: PlanModel, durations: Readonly<Record<string, number>> = {}): PlanArtifacts {
    const timeline = estimateTimeline(model, durations);
    const preparedTimeline = estimateTimeline(model, durations, preparedTemplateSubstitutions);
    return {
        model,
        resourcesText: renderResourceTree(model),
        mermaid: renderMermaid(model),
        dot: renderDot(model),
        files: plannedFiles(model, nodeManifests()),
        timeline,
        preparedTimeline,
        timelineText: renderTimeline(model, timeline, preparedTimeline),
    };
}

/** Refuses to clear a folder that does not look like an earlier plan's output. */
function prepareOutputDirectory(outDir: string): void {
    if (fs.existsSync(outDir)) {
        const entries = fs.readdirSync(outDir);
        const planFiles = new Set(["resources.txt", "graph.mmd", "graph.dot", "timeline.txt", "files"]);
        if (entries.some((entry) => !planFiles.has(entry))) {
            throw new Error(`${outDir} holds files a plan did not write (${entries.filter((e) => !planFiles.has(e)).join(", ")}): pick another --out`);
        }
        fs.rmSync(outDir, { recursive: true, force: true });
    }
    fs.mkdirSync(outDir, { recursive: true });
}

/** Writes a file below a folder, refusing paths that would leave it. */
function writeInside(root: string, relative: string, content: string): void {
    const target = path.resolve(root, relative);
    if (!target.startsWith(path.resolve(root) + path.sep)) {
        throw new Error(`refusing to write ${relative}: outside ${root}`);
    }
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, content);
}

/**
 * Runs the plan for a stack and writes its output folder. A refused config rejects with the same
 * error `pulumi up` shows, and nothing is written.
 */
export async function runPlan(options: PlanOptions): Promise<PlanResult> {
    const config = options.config ?? readStackConfig(options.stack, options.stackDir);
    const model = await evaluatePlanModel(options.stack, config);
    const artifacts = renderPlan(model, options.durations);
    const outDir = path.resolve(options.outDir ?? path.join(projectRoot, "out", "plan", options.stack));
    prepareOutputDirectory(outDir);
    writeInside(outDir, "resources.txt", artifacts.resourcesText);
    writeInside(outDir, "graph.mmd", artifacts.mermaid);
    writeInside(outDir, "graph.dot", artifacts.dot);
    writeInside(outDir, "timeline.txt", artifacts.timelineText);
    for (const file of artifacts.files) writeInside(path.join(outDir, "files"), file.path, file.content);
    const missingSecrets = config.missingSecretKeys ?? [];
    return { outDir, artifacts, missingSecrets, summary: summarize(options.stack, outDir, artifacts, missingSecrets) };
}

function summarize(stack: string, outDir: string, artifacts: PlanArtifacts, missingSecrets: readonly string[]): string {
    const { model, files, timeline, preparedTimeline } = artifacts;
    const shown = path.relative(process.cwd(), outDir) || ".";
    const byKind = new Map<string, number>();
    for (const r of model.resources) byKind.set(r.kind.kind, (byKind.get(r.kind.kind) ?? 0) + 1);
    const kinds = [...byKind].map(([kind, count]) => `${count} ${kind}`).join(", ");
    const nodeFiles = files.filter((f) => !f.path.startsWith("cluster/") && !f.path.endsWith("/commands.txt"));
    const clusterFiles = files.filter((f) => f.path.startsWith("cluster/"));
    const lines = [
        `plan of stack ${stack}: ${model.resources.length} resources (${kinds}) for ${model.nodes.length} nodes`,
        `  ${shown}/resources.txt   the resource tree, as pulumi preview lists it`,
        `  ${shown}/graph.mmd, graph.dot   the dependency graph (Mermaid, Graphviz)`,
        `  ${shown}/files/   ${nodeFiles.length} files for ${new Set(nodeFiles.map((f) => f.path.split("/")[0])).size} nodes, ${clusterFiles.length} for the cluster (Helm values, manifests); commands.txt per node`,
        `  ${shown}/timeline.txt   critical path ${formatDuration(timeline.totalSeconds)} over ${timeline.criticalPath.length} steps (the ${timeline.stepCount} steps one after another: ${formatDuration(timeline.serialSeconds)}); ${formatDuration(preparedTimeline.totalSeconds)} from a prepared template with linked clones`,
    ];
    if (missingSecrets.length > 0) {
        lines.push(`secrets not in Pulumi.${stack}.yaml (placeholders used here); pulumi up will need: ${missingSecrets.map((k) => `pulumi config set --secret ${k}`).join("; ")}`);
    }
    return lines.join("\n");
}

/** The README's compact graph of a stack, as a fenced Mermaid block. */
export async function renderReadmeGraph(stack = "lab"): Promise<string> {
    const model = await evaluatePlanModel(stack, readStackConfig(stack));
    return `\`\`\`mermaid\n${renderCompactMermaid(model)}\`\`\`\n`;
}

/** Command-line flags of `npm run plan`. */
export function parseArguments(argv: readonly string[]): { stack: string; outDir?: string; durations: Record<string, number> } {
    let stack = "lab";
    let outDir: string | undefined;
    const durationSpecs: string[] = [];
    for (let i = 0; i < argv.length; i++) {
        const flag = argv[i];
        const value = () => {
            const next = argv[++i];
            if (next === undefined) throw new Error(`${flag} needs a value`);
            return next;
        };
        if (flag === "--stack") stack = value();
        else if (flag.startsWith("--stack=")) stack = flag.slice("--stack=".length);
        else if (flag === "--out") outDir = value();
        else if (flag.startsWith("--out=")) outDir = flag.slice("--out=".length);
        else if (flag === "--duration") durationSpecs.push(value());
        else if (flag.startsWith("--duration=")) durationSpecs.push(flag.slice("--duration=".length));
        else throw new Error(`unknown argument ${flag}: use --stack <name> [--out <dir>] [--duration <step>=<seconds>]...`);
    }
    return { stack, outDir, durations: parseDurationOverrides(durationSpecs) };
}

if (require.main === module) {
    (async () => {
        const args = parseArguments(process.argv.slice(2));
        const result = await runPlan({ stack: args.stack, outDir: args.outDir, durations: args.durations });
        console.log(result.summary);
    })().catch((error: Error) => {
        console.error(`plan failed: ${error.message}`);
        process.exit(1);
    });
}
