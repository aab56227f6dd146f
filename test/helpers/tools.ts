import { spawnSync, SpawnSyncReturns } from "child_process";

/**
 * Path of a real tool the tests need (haproxy, keepalived, shellcheck, ip, openssl). A missing
 * tool fails the test with the fix; it never skips it: `bash scripts/test-all.sh` installs them.
 */
export function requireTool(name: string): string {
    const found = spawnSync("sh", ["-c", `command -v ${name} || ls /usr/sbin/${name} /sbin/${name} 2>/dev/null`], {
        encoding: "utf8",
    });
    const toolPath = found.stdout.split("\n").find((line) => line.trim() !== "");
    if (!toolPath) {
        throw new Error(`${name} is not installed: run 'bash scripts/test-all.sh' (installs it from Debian's packages)`);
    }
    return toolPath.trim();
}

/** Runs a tool synchronously and returns its result; never throws on a non-zero exit. */
export function runTool(tool: string, args: string[], input?: string): SpawnSyncReturns<string> {
    return spawnSync(requireTool(tool), args, { encoding: "utf8", input, timeout: 60_000 });
}
