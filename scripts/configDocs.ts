/**
 * Pulumi.yaml's `config:` block and the README's config reference, both rendered from the one
 * key table in components/configSchema.ts. `npm run docs` writes them; a unit test fails when
 * either is stale.
 */
import * as fs from "fs";
import * as path from "path";
import { stringifyYaml } from "../components/render/yaml";
import { ConfigKey, configKeys, projectName, vsphereProviderKeys } from "../components/configSchema";
import { renderResultSections } from "./resultTables";
import { renderVspherePrivileges } from "../providers/vspherePrivileges";
import { renderAddonImages } from "./addonImages";
import { projectRoot } from "../components/render/manifests";

/** The project file, config block included. */
export function renderProjectFile(): string {
    const config: Record<string, unknown> = {};
    for (const [key, spec] of Object.entries(configKeys) as [string, ConfigKey][]) {
        const declaration: Record<string, unknown> = { description: spec.description };
        // Object-valued keys (node lists) cannot be typed in Pulumi.yaml (pulumi/pulumi#11321):
        // declared without a type, required per stack, and validated by components/config.ts.
        if (spec.type === "string[]") {
            declaration.type = "array";
            declaration.items = { type: "string" };
        } else if (spec.type !== "nodes") {
            declaration.type = spec.type;
        }
        if (spec.secret) declaration.secret = true;
        if (spec.default !== undefined) declaration.default = spec.default;
        config[key] = declaration;
    }
    const project = {
        name: projectName,
        description: "A highly available kubeadm Kubernetes lab on VMware vSphere: VMs, keepalived + haproxy API endpoint, kubeadm init/join, CNI, MetalLB, ingress and NFS storage.",
        runtime: { name: "nodejs", options: { typescript: true, packagemanager: "npm" } },
        // Local state (~/.pulumi), no account needed: the same as `pulumi login --local`.
        backend: { url: "file://~" },
        config,
    };
    return `# Generated from components/configSchema.ts by 'npm run docs': edit that table, not this block.\n${stringifyYaml(project)}`;
}

const cell = (text: string) => text.replace(/\|/g, "\\|");

/** The README's config reference: every key with type, default and meaning. */
export function renderConfigReference(): string {
    const rows = (Object.entries(configKeys) as [string, ConfigKey][]).map(([key, spec]) => {
        const type = spec.type === "nodes" ? "list of {name, address, cpus?, memoryMb?, diskGb?}" : spec.type;
        const fallback = spec.secret ? (spec.optional ? "secret, optional" : "secret, required") : spec.default === undefined ? "required" : `\`${JSON.stringify(spec.default)}\``;
        return `| \`${key}\` | ${type} | ${fallback} | ${cell(spec.description)} |`;
    });
    const providerRows = [
        [vsphereProviderKeys.server, "string", "required", "vCenter (or ESXi) host name."],
        [vsphereProviderKeys.user, "string", "required", "vSphere user."],
        [vsphereProviderKeys.password, "string", "secret, required", "vSphere password: `pulumi config set --secret vsphere:password`."],
        [vsphereProviderKeys.allowUnverifiedSsl, "boolean", "`false`", "Accept any vCenter certificate, unverified. Leave it false and trust the vCenter's CA instead (README 'The vCenter account')."],
    ].map(([key, type, fallback, meaning]) => `| \`${key}\` | ${type} | ${fallback} | ${meaning} |`);
    return [
        `Keys without a namespace are \`${projectName}:<key>\` (\`pulumi config set <key> <value>\` adds it).`,
        "",
        "| key | type | default | meaning |",
        "|---|---|---|---|",
        ...providerRows,
        ...rows,
        "",
    ].join("\n");
}

/** Replaces the text between `<!-- begin NAME -->` and `<!-- end NAME -->` in a markdown file. */
export function replaceMarkedSection(text: string, name: string, content: string): string {
    const begin = `<!-- begin ${name} (generated: npm run docs) -->`;
    const end = `<!-- end ${name} -->`;
    const start = text.indexOf(begin);
    const stop = text.indexOf(end);
    if (start < 0 || stop < start) {
        throw new Error(`README.md has no '${begin}' ... '${end}' section`);
    }
    return `${text.slice(0, start + begin.length)}\n${content}${text.slice(stop)}`;
}

/** Rewrites the generated files; returns the ones that changed. */
export function syncConfigDocs(): string[] {
    const changed: string[] = [];
    const write = (file: string, text: string) => {
        const full = path.join(projectRoot, file);
        if (!fs.existsSync(full) || fs.readFileSync(full, "utf8") !== text) {
            fs.writeFileSync(full, text);
            changed.push(file);
        }
    };
    write("Pulumi.yaml", renderProjectFile());
    const readme = path.join(projectRoot, "README.md");
    if (fs.existsSync(readme)) {
        let text = replaceMarkedSection(fs.readFileSync(readme, "utf8"), "config-reference", renderConfigReference());
        text = replaceMarkedSection(text, "vsphere-privileges", renderVspherePrivileges());
        text = replaceMarkedSection(text, "addon-images", renderAddonImages());
        for (const [name, content] of Object.entries(renderResultSections())) text = replaceMarkedSection(text, name, content);
        write("README.md", text);
    }
    return changed;
}

if (require.main === module) {
    (async () => {
        const changed = syncConfigDocs();
        // The README's graph evaluates the program under mocks: loaded only here, and async.
        const { syncReadmeGraph } = await import("./readmeGraph");
        for (const file of await syncReadmeGraph()) if (!changed.includes(file)) changed.push(file);
        console.log(changed.length > 0 ? `updated: ${changed.join(", ")}` : "docs: up to date");
    })().catch((error: Error) => {
        console.error(`docs failed: ${error.message}`);
        process.exit(1);
    });
}
