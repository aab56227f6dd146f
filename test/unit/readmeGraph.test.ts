import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { projectRoot } from "../../components/render/manifests";
import { renderReadmeWithGraph } from "../../scripts/readmeGraph";

test("the README's lab graph is current with the program (npm run docs)", async () => {
    const readme = fs.readFileSync(path.join(projectRoot, "README.md"), "utf8");
    const current = await renderReadmeWithGraph(readme);
    assert.ok(current.includes("```mermaid\nflowchart TB\n"), "the section holds a Mermaid flowchart");
    assert.ok(current.includes('subgraph n_k8s_control01["k8s-control01 (control-plane, 192.168.1.200)"]'), "nodes are grouped");
    assert.equal(readme, current, "README.md's lab-graph section is stale: run 'npm run docs'");
});
