/**
 * The README's picture of the lab: the compact dependency graph of the lab stack (major steps
 * only, see renderCompactMermaid), written between `<!-- begin lab-graph (generated: npm run docs) -->`
 * and `<!-- end lab-graph -->` by `npm run docs`; a unit test fails when it is stale.
 */
import * as fs from "fs";
import * as path from "path";
import { projectRoot } from "../components/render/manifests";
import { replaceMarkedSection } from "./configDocs";
import { renderReadmeGraph } from "./plan";

/** Name of the README's marked section. */
export const readmeGraphSection = "lab-graph";

/** README.md with its lab-graph section rendered from the current program. */
export async function renderReadmeWithGraph(readme: string): Promise<string> {
    return replaceMarkedSection(readme, readmeGraphSection, await renderReadmeGraph("lab"));
}

/** Rewrites the README's lab graph; returns ["README.md"] when it changed. */
export async function syncReadmeGraph(): Promise<string[]> {
    const file = path.join(projectRoot, "README.md");
    if (!fs.existsSync(file)) return [];
    const readme = fs.readFileSync(file, "utf8");
    const updated = await renderReadmeWithGraph(readme);
    if (updated === readme) return [];
    fs.writeFileSync(file, updated);
    return ["README.md"];
}
