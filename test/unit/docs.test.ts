import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import * as YAML from "yaml";
import { configKeys } from "../../components/configSchema";
import { projectRoot } from "../../components/render/manifests";
import { renderConfigReference, renderProjectFile, replaceMarkedSection } from "../../scripts/configDocs";
import { renderResultSections } from "../../scripts/resultTables";
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
