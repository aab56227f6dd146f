import * as crypto from "crypto";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { projectRoot } from "../../components/render/manifests";

/**
 * Issue 12 item 2: stand-ins for containerd's release downloads and for the containerd a node runs,
 * so lib/containerd.sh runs its install with real tar, sha256sum and install(1) and no network.
 */

/** A fake containerd release: the two files curl serves and the environment naming them. */
export interface FakeContainerdRelease {
    /** Folder whose files the stand-in curl serves by name (the URL's last part). */
    readonly downloads: string;
    /** CONTAINERD_VERSION, CONTAINERD_SHA256, RUNC_VERSION, RUNC_SHA256 of these files. */
    readonly env: Record<string, string>;
}

const fixture = (name: string) => path.join(projectRoot, "test", "fixtures", name);
const sha256 = (file: string) => crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");

/**
 * A containerd `version` release under `dir`: containerd-<version>-linux-amd64.tar.gz holding
 * bin/containerd (prints its version; `config default` prints containerd 2's default config, the
 * fixture; `config dump` prints the node's config.toml under K8S_LAB_TEST_ROOT), bin/ctr and
 * bin/containerd-shim-runc-v2, and runc.amd64 (prints runc `runcVersion`).
 */
export function fakeContainerdRelease(dir: string, version = "2.3.4", runcVersion = "1.4.3"): FakeContainerdRelease {
    const downloads = path.join(dir, "downloads");
    const tree = path.join(dir, "release-tree");
    fs.mkdirSync(path.join(tree, "bin"), { recursive: true });
    fs.mkdirSync(downloads, { recursive: true });
    fs.writeFileSync(
        path.join(tree, "bin", "containerd"),
        [
            "#!/usr/bin/env bash",
            'case "$1 ${2:-}" in',
            `  "--version "*) echo "containerd github.com/containerd/containerd/v2 v${version} 0123456789abcdef" ;;`,
            `  "config default") cat "${fixture("containerd-2.x-config-default.toml")}" ;;`,
            '  "config dump") cat "${K8S_LAB_TEST_ROOT}/etc/containerd/config.toml" ;;',
            "esac",
        ].join("\n") + "\n",
        { mode: 0o755 },
    );
    for (const tool of ["ctr", "containerd-shim-runc-v2"]) fs.writeFileSync(path.join(tree, "bin", tool), "#!/bin/sh\n", { mode: 0o755 });
    const tarball = path.join(downloads, `containerd-${version}-linux-amd64.tar.gz`);
    const tar = spawnSync("tar", ["-czf", tarball, "-C", tree, "bin"], { encoding: "utf8" });
    if (tar.status !== 0) throw new Error(`tar: ${tar.stderr}`);
    const runc = path.join(downloads, "runc.amd64");
    fs.writeFileSync(runc, `#!/bin/sh\necho "runc version ${runcVersion}"\necho "commit: v${runcVersion}-0-g0123456"\n`, { mode: 0o755 });
    return {
        downloads,
        env: { CONTAINERD_VERSION: version, CONTAINERD_SHA256: sha256(tarball), RUNC_VERSION: runcVersion, RUNC_SHA256: sha256(runc) },
    };
}

/** A stand-in curl body: `-o FILE URL` copies the file named like the URL's last part from `downloads`, else fails as curl does. */
export function curlServing(downloads: string): string {
    return [
        'out=""; url=""',
        'while [ $# -gt 0 ]; do case "$1" in -o) out="$2"; shift ;; http*) url="$1" ;; esac; shift; done',
        `[ -f "${downloads}/\${url##*/}" ] || { echo "curl: (22) The requested URL returned error: 404" >&2; exit 22; }`,
        `cp "${downloads}/\${url##*/}" "$out"`,
    ].join("\n");
}

/**
 * A stand-in `containerd` on PATH: the release under ROOT/usr/local/bin once installed there (a
 * node's PATH has /usr/local/bin first), else Ubuntu's 1.7 package (its version, its default
 * config, the fixture; `config dump` prints the node's config.toml).
 */
export function containerdOnPath(root: string): string {
    return [
        `[ -x "${root}/usr/local/bin/containerd" ] && exec "${root}/usr/local/bin/containerd" "$@"`,
        'case "$1 ${2:-}" in',
        '  "--version "*) echo "containerd github.com/containerd/containerd 1.7.28 1.7.28-0ubuntu1~24.04.1" ;;',
        `  "config default") cat "${fixture("containerd-1.x-config-default.toml")}" ;;`,
        `  "config dump") cat "${root}/etc/containerd/config.toml" ;;`,
        "esac",
    ].join("\n");
}
