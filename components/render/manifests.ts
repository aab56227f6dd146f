import * as fs from "fs";
import * as path from "path";

/**
 * The project root: the nearest folder above this file that holds Pulumi.yaml. Found by walking
 * up so the same code works from the TypeScript sources (Pulumi's ts-node) and from build/ (tests).
 */
export const projectRoot: string = (() => {
    let dir = __dirname;
    while (!fs.existsSync(path.join(dir, "Pulumi.yaml"))) {
        const parent = path.dirname(dir);
        if (parent === dir) {
            throw new Error(`no Pulumi.yaml above ${__dirname}: run from inside the k8s-vsphere-lab project`);
        }
        dir = parent;
    }
    return dir;
})();

/** Absolute path of a file under manifests/. */
export function manifestPath(name: string): string {
    return path.join(projectRoot, "manifests", name);
}

/** The text of a file under manifests/ (scripts, templates, YAML), as it lands on a node. */
export function readManifest(name: string): string {
    return fs.readFileSync(manifestPath(name), "utf8");
}

/**
 * Fills `{{ key }}` placeholders of a template. Strict both ways, so a template and its renderer
 * cannot drift apart silently: a placeholder without a value and a value without a placeholder
 * are both errors.
 */
export function renderTemplate(template: string, values: Readonly<Record<string, string | number>>): string {
    const used = new Set<string>();
    const text = template.replace(/\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g, (_match, key: string) => {
        if (!(key in values)) {
            throw new Error(`template placeholder {{ ${key} }} has no value`);
        }
        used.add(key);
        return String(values[key]);
    });
    const unused = Object.keys(values).filter((key) => !used.has(key));
    if (unused.length > 0) {
        throw new Error(`values without a placeholder in the template: ${unused.join(", ")}`);
    }
    return text;
}
