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

/**
 * The text of a file under manifests/ as stored. Non-script files (templates, YAML) land on a node
 * like this; a script goes through {@link renderScript} instead.
 */
export function readManifest(name: string): string {
    return fs.readFileSync(manifestPath(name), "utf8");
}

/**
 * The files under manifests/ a node script may include: helpers shared by several scripts. Known
 * names only, so an include can neither reach outside manifests/ nor pick up a stray file.
 */
export const scriptIncludes: readonly string[] = ["lib/apt.sh", "lib/common.sh", "lib/containerd.sh", "lib/kubernetes-apt.sh", "lib/node-table.sh"];

/** A line that is (or tries to be) an include marker: `# k8s-lab:include lib/common.sh`. */
const includeMarkerLine = /^\s*#\s*k8s-lab:include\b/;
const includeMarker = /^# k8s-lab:include (\S+)$/;

/**
 * Replaces each include marker line of a script, `# k8s-lab:include <path>`, with the text of
 * that manifests/ file, so the result is one self-contained script (a node gets a script on the
 * stdin of `bash -s` or as one staged file: it has nothing to `source`). Throws on a path not in
 * {@link scriptIncludes}, on a malformed marker and on a marker inside an included file (no
 * nesting: one level keeps what a node runs easy to read from the sources).
 *
 * @param script      the script's text
 * @param scriptName  its name, for error messages
 * @param readInclude reads an included file by its manifests/ path (tests pass a stand-in)
 */
export function expandScriptIncludes(
    script: string,
    scriptName: string,
    readInclude: (includePath: string) => string = readManifest,
): string {
    return script
        .split("\n")
        .map((line, index) => {
            if (!includeMarkerLine.test(line)) {
                return line;
            }
            const where = `${scriptName}:${index + 1}`;
            const includePath = includeMarker.exec(line)?.[1];
            if (includePath === undefined) {
                throw new Error(`${where}: malformed include marker "${line}" (expected "# k8s-lab:include <path>")`);
            }
            if (!scriptIncludes.includes(includePath)) {
                throw new Error(`${where}: unknown include ${includePath} (known: ${scriptIncludes.join(", ")})`);
            }
            const included = readInclude(includePath);
            if (included.split("\n").some((includedLine) => includeMarkerLine.test(includedLine))) {
                throw new Error(`${where}: ${includePath} has an include marker of its own: includes do not nest`);
            }
            return included.replace(/\n$/, "");
        })
        .join("\n");
}

/**
 * A manifests/ script as a node receives it: its text with each include marker replaced by the
 * included file (see {@link expandScriptIncludes}). Every script sent or staged goes through this.
 */
export function renderScript(name: string): string {
    if (!name.endsWith(".sh")) {
        throw new Error(`renderScript renders scripts (*.sh), not ${name}: use readManifest`);
    }
    return expandScriptIncludes(readManifest(name), name);
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
