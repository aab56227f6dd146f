import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import * as YAML from "yaml";
import { configKeys } from "../../components/configSchema";
import { projectRoot } from "../../components/render/manifests";
import { renderConfigReference, renderProjectFile, replaceMarkedSection } from "../../scripts/configDocs";
import { renderHaSection, renderResultSections } from "../../scripts/resultTables";
import { renderVspherePrivileges } from "../../providers/vspherePrivileges";

const read = (file: string) => fs.readFileSync(path.join(projectRoot, file), "utf8");

test("Pulumi.yaml's config block is current with components/configSchema.ts (npm run docs)", () => {
    assert.equal(read("Pulumi.yaml"), renderProjectFile());
});

test("Pulumi.yaml declares every key with a description, its type and default, secrets marked", () => {
    const project = YAML.parse(read("Pulumi.yaml"));
    assert.deepEqual(Object.keys(project.config).sort(), Object.keys(configKeys).sort());
    assert.equal(project.config.apiPort.type, "integer");
    assert.equal(project.config.apiPort.default, 443);
    assert.equal(project.config.sshPrivateKey.secret, true);
    assert.deepEqual(project.config.dnsServers.items, { type: "string" });
    for (const [key, declaration] of Object.entries<any>(project.config)) {
        assert.ok(declaration.description, `${key} has no description`);
    }
});

test("the README's config reference is current (npm run docs)", () => {
    const readme = read("README.md");
    assert.equal(readme, replaceMarkedSection(readme, "config-reference", renderConfigReference()));
    for (const key of Object.keys(configKeys)) {
        assert.ok(readme.includes(`| \`${key}\` |`), `README lacks ${key}`);
    }
});

test("the README's vCenter privileges table is current with providers/vspherePrivileges.ts (npm run docs)", () => {
    const readme = read("README.md");
    assert.equal(readme, replaceMarkedSection(readme, "vsphere-privileges", renderVspherePrivileges()));
    assert.match(readme, /`VirtualMachine\.Provisioning\.Clone`/);
});

test("the README's benchmark and HA tables are generated from bench/results (npm run docs)", () => {
    const readme = read("README.md");
    for (const [name, content] of Object.entries(renderResultSections())) {
        assert.equal(readme, replaceMarkedSection(readme, name, content), `README section ${name} is stale`);
        assert.match(content, /^Recorded run: \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC, /, name);
    }
});

test("the HA section carries the loop's record: runs passed in a row, or where it stopped", () => {
    const ha = JSON.parse(read("bench/results/ha.json"));
    const before = JSON.parse(read("bench/results/ha-before.json"));
    const run = (outcome: string, load: number) => ({ started: "2026-12-04T19:02:36Z", loadAverageAtStart: load, outcome });
    const passed = renderHaSection(ha, before, { runs: 3, passed: 3, cpus: 2, results: [run("passed", 1.5), run("passed", 0.4), run("passed", 2.9)] });
    assert.match(passed, /Reliability \(`bash scripts\/ha-loop\.sh 3`, started 2026-12-04 19:02 UTC\): 3\/3 runs in a row passed; load average at each run's start 0\.4-2\.9 on 2 cores\./);
    const stopped = renderHaSection(ha, before, { runs: 10, passed: 1, cpus: 2, results: [run("passed", 1), run("failed", 1)] });
    assert.match(stopped, /1\/10 runs in a row passed; stopped at the failed run 2;/);
    assert.match(renderResultSections()["ha-results"], /Reliability \(`bash scripts\/ha-loop\.sh 10`/, "the README shows the recorded loop");
});
