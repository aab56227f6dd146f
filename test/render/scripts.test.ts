import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync, SpawnSyncReturns } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { expandScriptIncludes, manifestPath, projectRoot, renderScript, scriptIncludes } from "../../components/render/manifests";
import { renderKubeadmJoinConfig } from "../../components/render/kubeadm";
import { requireTool, runTool } from "../helpers/tools";

// Every script under manifests/, whoever wrote it: the rules below hold for all of them.
const scriptNames = fs
    .readdirSync(path.join(projectRoot, "manifests"))
    .filter((name) => name.endsWith(".sh"))
    .sort();

/** A script as a node receives it: rendered, its includes pasted in. The checks run on this. */
function scriptText(name: string): string {
    return renderScript(name);
}

/** A script as stored under manifests/, include markers and all. */
function sourceText(name: string): string {
    return fs.readFileSync(manifestPath(name), "utf8");
}

const INCLUDE_MARKER = /^\s*#\s*k8s-lab:include\b/m;

/** The leading comment block after the shebang: where a script documents its interface. */
function headerComment(text: string): string {
    const lines = text.split("\n").slice(1);
    const end = lines.findIndex((line) => !line.startsWith("#"));
    return lines.slice(0, end === -1 ? lines.length : end).join("\n");
}

/** Script lines without comments (whole-line ones), for checks on what the script does. */
function codeLines(text: string): string[] {
    return text.split("\n").filter((line) => !/^\s*#/.test(line));
}

/** The rendered script written to a temp file once per script, for bash to load. */
const renderedScriptFiles = new Map<string, string>();
function renderedScriptFile(script: string): string {
    let file = renderedScriptFiles.get(script);
    if (file === undefined) {
        file = path.join(tempDir(), script);
        fs.writeFileSync(file, scriptText(script));
        renderedScriptFiles.set(script, file);
    }
    return file;
}

/**
 * Runs one function of a rendered manifests/ script in bash (what a node runs, shared helpers
 * included). The scripts define their functions and only call main when K8S_LAB_FUNCTIONS_ONLY is
 * not 1, so a test can load them without side effects.
 */
function runScriptFunction(script: string, fn: string, args: string[], input?: string): SpawnSyncReturns<string> {
    return spawnSync("bash", ["-c", 'K8S_LAB_FUNCTIONS_ONLY=1; source "$0"; "$@"', renderedScriptFile(script), fn, ...args], {
        encoding: "utf8",
        input,
        timeout: 30_000,
    });
}

function tempDir(): string {
    return fs.mkdtempSync(path.join(os.tmpdir(), "k8s-lab-scripts-"));
}

// ---------------------------------------------------------------------------------------------
// Rules for every script
// ---------------------------------------------------------------------------------------------

test("manifests/ holds the node scripts", () => {
    for (const name of [
        "node-prepare.sh",
        "kubeadm-init.sh",
        "read-cluster-credentials.sh",
        "join-credentials-mint.sh",
        "join-credentials-revoke.sh",
        "kubeadm-join.sh",
        "node-remove.sh",
        "node-reset.sh",
    ]) {
        assert.ok(scriptNames.includes(name), `manifests/${name} is missing`);
    }
});

test("every rendered manifests script and every shared include passes shellcheck at style severity", () => {
    requireTool("shellcheck");
    const rendered = scriptNames.map((name) => ({ name: `${name} (rendered)`, text: scriptText(name) }));
    const includes = scriptIncludes.map((name) => ({ name, text: sourceText(name) }));
    const failures = [...rendered, ...includes].flatMap(({ name, text }) => {
        const result = runTool("shellcheck", ["--severity=style", "--shell=bash", "-"], text);
        return result.status === 0 ? [] : [`${name}:\n${result.stdout}${result.stderr}`];
    });
    assert.deepEqual(failures, []);
});

test("every rendered manifests script and every shared include parses with bash -n", () => {
    const rendered = scriptNames.map((name) => ({ name: `${name} (rendered)`, text: scriptText(name) }));
    const includes = scriptIncludes.map((name) => ({ name, text: sourceText(name) }));
    const failures = [...rendered, ...includes].flatMap(({ name, text }) => {
        const result = spawnSync("bash", ["-n"], { encoding: "utf8", input: text });
        return result.status === 0 ? [] : [`${name}: ${result.stderr}`];
    });
    assert.deepEqual(failures, []);
});

test("every manifests script starts with the bash shebang and set -euo pipefail", () => {
    for (const name of scriptNames) {
        const text = scriptText(name);
        assert.equal(text.split("\n")[0], "#!/usr/bin/env bash", `${name}: first line`);
        const firstStatement = codeLines(text.split("\n").slice(1).join("\n")).find((line) => line.trim() !== "");
        assert.equal(firstStatement, "set -euo pipefail", `${name}: first statement`);
    }
});

test("no manifests script or shared include uses eval or sources a file", () => {
    const texts = [...scriptNames.map((name) => ({ name, text: scriptText(name) })), ...scriptIncludes.map((name) => ({ name, text: sourceText(name) }))];
    for (const { name, text } of texts) {
        for (const line of codeLines(text)) {
            assert.doesNotMatch(line, /(^|[\s;&|(])eval(\s|$)/, `${name} uses eval: ${line}`);
            assert.doesNotMatch(line, /(^|[;&|]|\bthen|\bdo|\belse)\s*(source|\.)\s+\S/, `${name} sources a file: ${line}`);
        }
    }
});

test("every environment variable a manifests script reads is documented in its header", () => {
    for (const name of scriptNames) {
        const text = scriptText(name);
        const header = headerComment(text);
        // ${NAME:?...}, ${NAME:-...}, ${NAME-...}, ${NAME:=...}: how the scripts read their environment.
        const readVariables = new Set([...text.matchAll(/\$\{([A-Z][A-Z0-9_]*):?[-?=]/g)].map((match) => match[1]));
        // A variable of a pasted include may be documented in that include's header instead.
        const includeHeaders = scriptIncludes.filter((include) => text.includes(sourceText(include).split("\n")[1])).map((include) => sourceText(include));
        for (const variable of readVariables) {
            // An entry of its own: "#   NAME   what it is   (required|default ...)".
            const entry = new RegExp(`^#\\s+${variable}\\s`, "m");
            assert.ok(entry.test(header) || includeHeaders.some((include) => entry.test(include)), `${name} reads ${variable} without a line for it in its header`);
        }
        if (readVariables.size > 0) {
            assert.match(header, /Environment:/, `${name} reads its environment but has no Environment: section`);
        }
    }
});

test("every environment variable a manifests script documents in its header is one it uses", () => {
    for (const name of scriptNames) {
        const text = scriptText(name);
        const lines = headerComment(text).split("\n");
        const start = lines.indexOf("# Environment:");
        if (start === -1) continue;
        const sectionEnd = lines.findIndex((line, index) => index > start && /^# \S/.test(line));
        const section = lines.slice(start + 1, sectionEnd === -1 ? lines.length : sectionEnd);
        // Entries are "#   NAME   what it is"; deeper-indented lines continue an entry.
        const documented = section.flatMap((line) => /^#   ([A-Z][A-Z0-9_]*)\s/.exec(line)?.[1] ?? []);
        assert.ok(documented.length > 0, `${name}: an Environment: section without entries`);
        const code = codeLines(text).join("\n");
        for (const variable of documented) {
            assert.match(code, new RegExp(`\\$\\{?${variable}\\b`), `${name} documents ${variable} but never reads it`);
        }
    }
});

// ---------------------------------------------------------------------------------------------
// Shared helpers (manifests/lib/) and renderScript, which pastes them into each script
// ---------------------------------------------------------------------------------------------

test("scriptIncludes lists exactly the files under manifests/lib", () => {
    const libFiles = fs.readdirSync(path.join(projectRoot, "manifests", "lib")).map((file) => `lib/${file}`).sort();
    assert.deepEqual([...scriptIncludes].sort(), libFiles);
});

test("renderScript replaces the include marker with the included file's text", () => {
    const common = sourceText("lib/common.sh");
    const marker = "# k8s-lab:include lib/common.sh";
    const source = sourceText("kubeadm-init.sh");
    assert.ok(source.includes(`\n${marker}\n`), "kubeadm-init.sh includes lib/common.sh");
    const rendered = renderScript("kubeadm-init.sh");
    assert.equal(rendered, source.replace(marker, common.replace(/\n$/, "")));
    assert.ok(rendered.includes("\nrun_logged() {\n"), "the shared run_logged is in the rendered script");
});

test("no rendered manifests script contains an include marker", () => {
    for (const name of scriptNames) {
        assert.doesNotMatch(scriptText(name), INCLUDE_MARKER, name);
    }
});

test("a script includes lib/common.sh once, right after set -euo pipefail and shopt; lib/apt.sh only right after it, lib/kubernetes-apt.sh only right after that, lib/containerd.sh last; or lib/node-table.sh alone after lib/common.sh", () => {
    const including = scriptNames.filter((name) => INCLUDE_MARKER.test(sourceText(name)));
    assert.ok(including.length >= 4, `only ${including.join(", ")} include the shared helpers`);
    for (const name of including) {
        const lines = sourceText(name).split("\n");
        const markers = lines.filter((line) => INCLUDE_MARKER.test(line));
        // lib/apt.sh uses log and fail from lib/common.sh, so it comes right after it; lib/kubernetes-apt.sh
        // (issue 12) uses both, and lib/containerd.sh (issue 12 item 2) the three.
        // lib/node-table.sh (the roll scripts on node 0) needs no package helper: it follows lib/common.sh alone.
        const chain = markers.includes("# k8s-lab:include lib/node-table.sh")
            ? ["# k8s-lab:include lib/common.sh", "# k8s-lab:include lib/node-table.sh"]
            : ["# k8s-lab:include lib/common.sh", "# k8s-lab:include lib/apt.sh", "# k8s-lab:include lib/kubernetes-apt.sh", "# k8s-lab:include lib/containerd.sh"];
        const expected = chain.slice(0, Math.max(1, markers.length));
        assert.deepEqual(markers, expected, `${name}: include markers`);
        const first = lines.indexOf(markers[0]);
        markers.forEach((marker, index) => assert.equal(lines[first + index], marker, `${name}: ${marker} right after the one before`));
        // The statements before the marker, trailing comments cut off.
        const before = codeLines(lines.slice(0, first).join("\n"))
            .filter((line) => line.trim() !== "")
            .map((line) => line.replace(/\s+#.*$/, ""));
        assert.deepEqual(before, ["set -euo pipefail", "shopt -s inherit_errexit"], `${name}: marker placement`);
    }
    assert.deepEqual(
        including.filter((name) => sourceText(name).includes("# k8s-lab:include lib/apt.sh")).sort(),
        ["etcd-snapshot-install.sh", "ha-endpoint-install.sh", "kubernetes-upgrade-node.sh", "node-prepare.sh"],
        "the scripts that install packages include lib/apt.sh",
    );
    assert.deepEqual(
        including.filter((name) => sourceText(name).includes("# k8s-lab:include lib/kubernetes-apt.sh")).sort(),
        ["kubernetes-upgrade-node.sh", "node-prepare.sh"],
        "the scripts that install the Kubernetes packages include lib/kubernetes-apt.sh",
    );
    assert.deepEqual(
        including.filter((name) => sourceText(name).includes("# k8s-lab:include lib/containerd.sh")).sort(),
        ["kubernetes-upgrade-node.sh", "node-prepare.sh"],
        "the scripts that install or move the container runtime include lib/containerd.sh",
    );
    assert.deepEqual(
        including.filter((name) => sourceText(name).includes("# k8s-lab:include lib/node-table.sh")).sort(),
        ["kubernetes-upgrade-cluster.sh", "node-resize.sh"],
        "the scripts that drain and uncordon nodes from node 0 read the Node table through lib/node-table.sh",
    );
});

test("no rendered manifests script defines a function twice", () => {
    for (const name of scriptNames) {
        const defined = [...scriptText(name).matchAll(/^([a-z_][a-z0-9_]*)\(\)\s*\{/gm)].map((match) => match[1]);
        const twice = defined.filter((fn, index) => defined.indexOf(fn) !== index);
        assert.deepEqual(twice, [], `${name} defines ${twice.join(", ")} more than once (a copy next to the shared include?)`);
    }
});

test("an unknown include is an error, also one that points outside manifests/", () => {
    for (const includePath of ["lib/other.sh", "../scripts/install-test-tools.sh", "/etc/passwd"]) {
        const script = `#!/usr/bin/env bash\nset -euo pipefail\n# k8s-lab:include ${includePath}\n`;
        assert.throws(() => expandScriptIncludes(script, "example.sh"), /example\.sh:3: unknown include/, includePath);
    }
});

test("an include marker inside an included file is an error: includes do not nest", () => {
    const script = "#!/usr/bin/env bash\nset -euo pipefail\n# k8s-lab:include lib/common.sh\n";
    const nested = () => "log() { :; }\n# k8s-lab:include lib/common.sh\n";
    assert.throws(() => expandScriptIncludes(script, "example.sh", nested), /do not nest/);
});

test("a malformed include marker is an error, not a comment passed through", () => {
    for (const marker of ["#k8s-lab:include lib/common.sh", "# k8s-lab:include", "  # k8s-lab:include lib/common.sh", "# k8s-lab:include lib/common.sh extra"]) {
        const script = `#!/usr/bin/env bash\nset -euo pipefail\n${marker}\n`;
        assert.throws(() => expandScriptIncludes(script, "example.sh"), /malformed include marker/, marker);
    }
});

test("renderScript renders only scripts", () => {
    assert.throws(() => renderScript("haproxy.cfg"), /use readManifest/);
});

// ---------------------------------------------------------------------------------------------
// node-prepare.sh: containerd config.toml edits, on containerd 1.x and 2.x default configs
// (test/fixtures/containerd-1.x-config-default.toml is the verbatim `containerd config default`
// of Debian's containerd 1.6.20; the 2.x one is a trimmed containerd 2.1 default).
// ---------------------------------------------------------------------------------------------

const RUNC_OPTIONS_V2 = `plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options`;
const RUNC_OPTIONS_V3 = `plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options`;
const PAUSE_IMAGE = "registry.k8s.io/pause:3.10";

function bareHeader(line: string): string {
    return line.replace(/[\s"']/g, "");
}

/** The key = value lines of one TOML table, read independently of the script's awk. */
function tableEntries(text: string, table: string): Map<string, string> | undefined {
    const lines = text.split("\n");
    const start = lines.findIndex((line) => line.trim().startsWith("[") && bareHeader(line) === bareHeader(`[${table}]`));
    if (start === -1) {
        return undefined;
    }
    const entries = new Map<string, string>();
    for (const line of lines.slice(start + 1)) {
        if (line.trim().startsWith("[")) {
            break;
        }
        const match = /^\s*([A-Za-z0-9_]+)\s*=\s*(.*?)\s*$/.exec(line);
        if (match) {
            entries.set(match[1], match[2]);
        }
    }
    return entries;
}

function configureContainerdCopy(fixture: string): { before: string; after: string; file: string } {
    const file = path.join(tempDir(), "config.toml");
    fs.copyFileSync(path.join(projectRoot, "test", "fixtures", fixture), file);
    const before = fs.readFileSync(file, "utf8");
    const result = runScriptFunction("node-prepare.sh", "configure_containerd_file", [file, PAUSE_IMAGE]);
    assert.equal(result.status, 0, result.stderr);
    return { before, after: fs.readFileSync(file, "utf8"), file };
}

function changedLines(before: string, after: string): string[] {
    const old = new Set(before.split("\n"));
    return after.split("\n").filter((line) => !old.has(line));
}

test("containerd 1.x config (version 2): SystemdCgroup = true lands in the grpc.v1.cri runc options", () => {
    const { before, after } = configureContainerdCopy("containerd-1.x-config-default.toml");
    assert.equal(tableEntries(before, RUNC_OPTIONS_V2)?.get("SystemdCgroup"), "false");
    assert.equal(tableEntries(after, RUNC_OPTIONS_V2)?.get("SystemdCgroup"), "true");
    assert.equal(tableEntries(after, `plugins."io.containerd.grpc.v1.cri"`)?.get("sandbox_image"), `"${PAUSE_IMAGE}"`);
    // Only those two lines change: the old v1 option `systemd_cgroup` stays false, nothing else moves.
    assert.deepEqual(changedLines(before, after).map((line) => line.trim()), [
        `sandbox_image = "${PAUSE_IMAGE}"`,
        "SystemdCgroup = true",
    ]);
    assert.equal(after.split("\n").length, before.split("\n").length);
});

test("containerd 2.x config (version 3): SystemdCgroup = true is added to the cri.v1.runtime runc options", () => {
    const { before, after } = configureContainerdCopy("containerd-2.x-config-default.toml");
    assert.equal(tableEntries(before, RUNC_OPTIONS_V3)?.has("SystemdCgroup"), false, "the 2.x fixture lacks the key");
    assert.equal(tableEntries(after, RUNC_OPTIONS_V3)?.get("SystemdCgroup"), "true");
    assert.equal(tableEntries(after, `plugins.'io.containerd.cri.v1.images'.pinned_images`)?.get("sandbox"), `"${PAUSE_IMAGE}"`);
    assert.equal(tableEntries(after, RUNC_OPTIONS_V2), undefined, "no version 2 table in a version 3 file");
    assert.deepEqual(changedLines(before, after).map((line) => line.trim()), [`sandbox = "${PAUSE_IMAGE}"`, "SystemdCgroup = true"]);
});

test("containerd config edits are idempotent", () => {
    for (const fixture of ["containerd-1.x-config-default.toml", "containerd-2.x-config-default.toml"]) {
        const { after, file } = configureContainerdCopy(fixture);
        const again = runScriptFunction("node-prepare.sh", "configure_containerd_file", [file, PAUSE_IMAGE]);
        assert.equal(again.status, 0, again.stderr);
        assert.equal(fs.readFileSync(file, "utf8"), after, `${fixture}: a second run changed the file`);
    }
});

test("containerd config without the runc options table gets the table appended", () => {
    const file = path.join(tempDir(), "config.toml");
    fs.writeFileSync(file, "version = 3\n\n[grpc]\n  address = '/run/containerd/containerd.sock'\n");
    const result = runScriptFunction("node-prepare.sh", "set_toml_key", [file, RUNC_OPTIONS_V3, "SystemdCgroup", "true"]);
    assert.equal(result.status, 0, result.stderr);
    const text = fs.readFileSync(file, "utf8");
    assert.equal(tableEntries(text, RUNC_OPTIONS_V3)?.get("SystemdCgroup"), "true");
    assert.equal(tableEntries(text, "grpc")?.get("address"), "'/run/containerd/containerd.sock'");
});

test("the containerd verification accepts an edited config and rejects a default one", () => {
    for (const fixture of ["containerd-1.x-config-default.toml", "containerd-2.x-config-default.toml"]) {
        const { file } = configureContainerdCopy(fixture);
        assert.equal(runScriptFunction("node-prepare.sh", "containerd_dump_has_systemd_cgroup", [file]).status, 0, `${fixture} edited`);
        const untouched = path.join(projectRoot, "test", "fixtures", fixture);
        assert.notEqual(runScriptFunction("node-prepare.sh", "containerd_dump_has_systemd_cgroup", [untouched]).status, 0, `${fixture} default`);
    }
});

// ---------------------------------------------------------------------------------------------
// read-cluster-credentials.sh: the discovery CA hash
// ---------------------------------------------------------------------------------------------

function makeCa(dir: string, keyAlgorithm: string[]): string {
    requireTool("openssl");
    const key = path.join(dir, "ca.key");
    const cert = path.join(dir, "ca.crt");
    const made = runTool("openssl", [
        "req", "-x509", "-newkey", ...keyAlgorithm, "-nodes", "-keyout", key, "-out", cert,
        "-days", "1", "-subj", "/CN=kubernetes",
    ]);
    assert.equal(made.status, 0, made.stderr);
    return cert;
}

test("ca_cert_hash is sha256 of the CA's DER public key, for RSA and ECDSA CAs", () => {
    for (const algorithm of [["rsa:2048"], ["ec", "-pkeyopt", "ec_paramgen_curve:P-256"]]) {
        const cert = makeCa(tempDir(), algorithm);
        const publicKeyDer = new crypto.X509Certificate(fs.readFileSync(cert)).publicKey.export({ type: "spki", format: "der" });
        const expected = `sha256:${crypto.createHash("sha256").update(publicKeyDer).digest("hex")}`;
        const result = runScriptFunction("read-cluster-credentials.sh", "ca_cert_hash", [cert]);
        assert.equal(result.status, 0, result.stderr);
        assert.equal(result.stdout, `${expected}\n`, `${algorithm[0]} CA`);
    }
});

// ---------------------------------------------------------------------------------------------
// kubeadm-join.sh, node-remove.sh and the shared log redaction
// ---------------------------------------------------------------------------------------------

test("join_config_role tells a control-plane join config from a worker one", () => {
    const common = {
        advertiseAddress: "192.168.1.211",
        apiServerEndpoint: "k8s.lab.example:443",
        bootstrapToken: "abcdef.0123456789abcdef",
        caCertHash: `sha256:${"ab".repeat(32)}`,
    };
    const dir = tempDir();
    const worker = path.join(dir, "worker.yaml");
    const controlPlane = path.join(dir, "control-plane.yaml");
    fs.writeFileSync(worker, renderKubeadmJoinConfig({ ...common, nodeName: "k8s-worker02" }));
    fs.writeFileSync(
        controlPlane,
        renderKubeadmJoinConfig({ ...common, nodeName: "k8s-control02", controlPlane: { certificateKey: "0f".repeat(32), taint: true } }),
    );
    assert.equal(runScriptFunction("kubeadm-join.sh", "join_config_role", [worker]).stdout, "worker\n");
    assert.equal(runScriptFunction("kubeadm-join.sh", "join_config_role", [controlPlane]).stdout, "control-plane\n");
});

test("etcd_member_id finds a member by name, or by peer URL when it never started", () => {
    const members = [
        "8e9e05c52164694d, started, k8s-control01, https://192.168.1.200:2380, https://192.168.1.200:2379, false",
        "91bc3c398fb3c146, started, k8s-control02, https://192.168.1.201:2380, https://192.168.1.201:2379, false",
        "fd422379fda50e48, unstarted, , https://192.168.1.202:2380, , true",
        "",
    ].join("\n");
    const byName = runScriptFunction("node-remove.sh", "etcd_member_id", ["k8s-control02"], members);
    assert.equal(byName.stdout, "91bc3c398fb3c146\n");
    const byPeer = runScriptFunction("node-remove.sh", "etcd_member_id", ["k8s-control03", "192.168.1.202"], members);
    assert.equal(byPeer.stdout, "fd422379fda50e48\n");
    const absent = runScriptFunction("node-remove.sh", "etcd_member_id", ["k8s-control03"], members);
    assert.equal(absent.status, 0);
    assert.equal(absent.stdout, "");
});

test("redact_secrets hides bootstrap tokens and certificate keys in every script that logs kubeadm", () => {
    const log = [
        "[upload-certs] Using certificate key:",
        "0f".repeat(32),
        "kubeadm join k8s.lab.example:443 --token abcdef.0123456789abcdef \\",
        "[kubelet-start] Starting the kubelet",
        "",
    ].join("\n");
    for (const script of ["kubeadm-init.sh", "join-credentials-mint.sh", "join-credentials-revoke.sh", "kubeadm-join.sh", "node-reset.sh"]) {
        const result = runScriptFunction(script, "redact_secrets", [], log);
        assert.equal(result.status, 0, result.stderr);
        assert.doesNotMatch(result.stdout, /0f0f0f0f|0123456789abcdef/, script);
        assert.match(result.stdout, /--token <redacted-token>/, script);
        assert.match(result.stdout, /Starting the kubelet/, script);
    }
});

// ---------------------------------------------------------------------------------------------
// node-prepare.sh: the pkgs.k8s.io signing key is trusted only with the pinned fingerprint
// ---------------------------------------------------------------------------------------------

/** A throwaway OpenPGP signing key, armored as pkgs.k8s.io serves Release.key, and its fingerprint. */
function throwawaySigningKey(dir: string): { armoredFile: string; fingerprint: string } {
    requireTool("gpg");
    const gnupgHome = fs.mkdtempSync(path.join(dir, "gnupg-"));
    const env = { ...process.env, GNUPGHOME: gnupgHome };
    const gpg = (args: string[]) => spawnSync("gpg", ["--batch", ...args], { encoding: "utf8", env, timeout: 60_000 });
    const made = gpg(["--passphrase", "", "--quick-gen-key", "test <t@example.invalid>", "ed25519", "sign", "never"]);
    assert.equal(made.status, 0, made.stderr);
    const listed = gpg(["--with-colons", "--list-keys"]);
    const fingerprint = listed.stdout.split("\n").find((line) => line.startsWith("fpr:"))?.split(":")[9];
    assert.ok(fingerprint, listed.stdout);
    const armoredFile = path.join(dir, "Release.key");
    const exported = gpg(["--armor", "--export", "-o", armoredFile]);
    assert.equal(exported.status, 0, exported.stderr);
    return { armoredFile, fingerprint };
}

test("node-prepare.sh writes the pkgs.k8s.io keyring only for a key with an accepted fingerprint", () => {
    const dir = tempDir();
    const { armoredFile, fingerprint } = throwawaySigningKey(dir);
    const keyring = path.join(dir, "keyring.gpg");

    const accepted = runScriptFunction("node-prepare.sh", "verify_signing_key", [armoredFile, `0000 ${fingerprint}`, keyring]);
    assert.equal(accepted.status, 0, accepted.stderr);
    const listed = spawnSync("gpg", ["--batch", "--show-keys", "--with-colons", keyring], { encoding: "utf8" });
    assert.match(listed.stdout, new RegExp(`^fpr:+${fingerprint}:`, "m"), "the keyring holds the verified key (binary, as apt's signed-by reads it)");

    const other = path.join(dir, "other.gpg");
    const rejected = runScriptFunction("node-prepare.sh", "verify_signing_key", [armoredFile, "DE15B14486CD377B9E876E1A234654DA9A296436", other]);
    assert.notEqual(rejected.status, 0);
    assert.match(rejected.stderr, new RegExp(`fingerprint ${fingerprint}, expected DE15B14486CD377B9E876E1A234654DA9A296436`));
    assert.match(rejected.stderr, /KUBERNETES_APT_KEY_FINGERPRINTS/);
    assert.equal(fs.existsSync(other), false, "no keyring for a key nobody pinned");

    const notAKey = path.join(dir, "error.html");
    fs.writeFileSync(notAKey, "<html>503 Service Unavailable</html>\n");
    const garbage = runScriptFunction("node-prepare.sh", "verify_signing_key", [notAKey, fingerprint, other]);
    assert.notEqual(garbage.status, 0);
    assert.match(garbage.stderr, /not an OpenPGP key/);
    assert.equal(fs.existsSync(other), false);
});

test("node-prepare.sh pins the pkgs.k8s.io key it verifies by default", () => {
    const text = scriptText("node-prepare.sh");
    assert.match(text, /^readonly KUBERNETES_APT_KEY_PINNED_FINGERPRINT=DE15B14486CD377B9E876E1A234654DA9A296436$/m);
    assert.match(text, /accepted="\$\{KUBERNETES_APT_KEY_FINGERPRINTS:-\$KUBERNETES_APT_KEY_PINNED_FINGERPRINT\}"/);
    assert.doesNotMatch(codeLines(text).join("\n"), /Release\.key"? \| gpg --dearmor/, "no unverified key piped into the keyring");
});
