import * as fs from "fs";
import * as path from "path";

/** A fake node's tools folder: stand-ins first on PATH, each recording its call in one log. */
export interface StandInTools {
    /** The folder to put first on PATH. */
    readonly bin: string;
    /** The log: one line per call, "<tool> <arguments>". */
    readonly calls: string;
    /** Writes a stand-in `name` that records its call, then runs `body` (bash). */
    standIn(name: string, body: string): void;
}

/**
 * Stand-ins under `root` for a node named `host`, run as root: `hostname` prints `host` and `id`
 * prints 0, so manifests/lib/common.sh's own-node check and a script's root check pass.
 */
export function standInNode(root: string, host: string): StandInTools {
    const bin = path.join(root, "bin");
    fs.mkdirSync(bin, { recursive: true });
    const calls = path.join(root, "calls.log");
    fs.writeFileSync(calls, "");
    const standIn = (name: string, body: string) =>
        fs.writeFileSync(path.join(bin, name), `#!/usr/bin/env bash\necho "${name} $*" >>"${calls}"\n${body}\n`, { mode: 0o755 });
    standIn("hostname", `echo "${host}"`);
    standIn("id", "echo 0");
    return { bin, calls, standIn };
}
