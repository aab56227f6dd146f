/**
 * Golden files: every artifact the lab stack renders (each node's staged files and scripts, the
 * cluster's Helm values and manifests), committed under test/golden/lab/ so a reviewer sees any
 * change to what lands on a node as a plain diff. `npm run golden` refreshes them; a unit test
 * fails while they are stale.
 */
import * as fs from "fs";
import * as path from "path";
import { projectRoot } from "../components/render/manifests";
import { labConfigWith, readStackConfig } from "../test/helpers/stackConfig";
import { evaluatePlanModel, renderPlan } from "./plan";

/** Where the lab stack's golden files live. */
export const goldenDirectory = path.join(projectRoot, "test", "golden", "lab");
/** Every golden file ends so (KubeOne's testdata/*.golden): a copy of a script is not more source code. */
const goldenSuffix = ".golden";

/**
 * Issue 13 item 8: the second environment's stack file (Pulumi.esxi.yaml, a standalone host with
 * 1 control plane and 2 workers) has its own full set, so "one stack file per environment" is
 * reviewed as files too.
 */
export const esxiGoldenDirectory = path.join(projectRoot, "test", "golden", "esxi");

/** A stack file's rendered artifacts by relative path (the plan's files/ folder); default the lab's. */
export async function renderGoldenFiles(stack: string = "lab"): Promise<Map<string, string>> {
    const model = await evaluatePlanModel(stack, readStackConfig(stack));
    const files = renderPlan(model).files;
    return new Map([...files].sort((a, b) => a.path.localeCompare(b.path)).map((file) => [file.path, file.content]));
}

/**
 * Issue 13: the lab with every optional add-on on (internal ingress, monitoring with a Grafana
 * host, Flux with private-repo credentials). Its golden directory holds only the files that
 * differ from the lab's own, so the add-ons' values and manifests are reviewed as plain files too.
 */
export const allAddonsGoldenDirectory = path.join(projectRoot, "test", "golden", "lab-all-addons");
export const allAddonsConfigChanges: Readonly<Record<string, unknown>> = {
    internalIngress: true,
    internalIngressAddress: "192.168.1.226",
    monitoring: true,
    grafanaHost: "grafana.lab.example",
    flux: true,
    fluxGitUrl: "https://git.lab.example/lab/gitops.git",
    fluxGitPath: "./clusters/lab",
    fluxGitUsername: "flux",
};

/** The all-add-ons variant's files that differ from (or are not in) the lab's. */
export async function renderAllAddonsGoldenFiles(lab: ReadonlyMap<string, string>): Promise<Map<string, string>> {
    const model = await evaluatePlanModel("lab", labConfigWith(allAddonsConfigChanges));
    const files = renderPlan(model).files.filter((file) => lab.get(file.path) !== file.content);
    return new Map(files.sort((a, b) => a.path.localeCompare(b.path)).map((file) => [file.path, file.content]));
}

/** The golden files on disk by relative path. */
export function readGoldenFiles(directory: string = goldenDirectory): Map<string, string> {
    const found = new Map<string, string>();
    const walk = (dir: string) => {
        for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
            const full = path.join(dir, entry.name);
            if (entry.isDirectory()) walk(full);
            else found.set(path.relative(directory, full).replace(/\.golden$/, ""), fs.readFileSync(full, "utf8"));
        }
    };
    if (fs.existsSync(directory)) walk(directory);
    return found;
}

function writeGoldenFiles(directory: string, files: ReadonlyMap<string, string>): void {
    fs.rmSync(directory, { recursive: true, force: true });
    for (const [relative, content] of files) {
        const target = path.join(directory, relative + goldenSuffix);
        fs.mkdirSync(path.dirname(target), { recursive: true });
        fs.writeFileSync(target, content);
    }
    console.log(`golden: wrote ${files.size} files to ${path.relative(process.cwd(), directory)}`);
}

async function main(): Promise<void> {
    const files = await renderGoldenFiles();
    writeGoldenFiles(goldenDirectory, files);
    writeGoldenFiles(allAddonsGoldenDirectory, await renderAllAddonsGoldenFiles(files));
    writeGoldenFiles(esxiGoldenDirectory, await renderGoldenFiles("esxi"));
}

if (require.main === module) {
    main().catch((error) => {
        console.error(error instanceof Error ? error.message : error);
        process.exit(1);
    });
}
