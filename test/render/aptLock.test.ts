/**
 * apt on a fresh clone: cloud-init, apt-daily and unattended-upgrades may hold apt's locks when
 * node-prepare.sh and ha-endpoint-install.sh start, and `DPkg::Lock::Timeout` does not cover the
 * lists lock `apt-get update` takes. These tests run the scripts' own apt_get (lib/apt.sh, as
 * rendered into node-prepare.sh) with the real apt-get against a private apt state directory
 * (APT_CONFIG; no sources, so nothing is downloaded) while another process holds apt's lock.
 */
import assert from "node:assert/strict";
import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, test } from "node:test";
import { renderScript } from "../../components/render/manifests";
import { requireTool } from "../helpers/tools";

let dir: string;
let script: string;
let aptConfig: string;
const listsLock = () => path.join(dir, "lists", "lock");

before(() => {
    requireTool("apt-get");
    requireTool("flock");
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "k8s-lab-apt-"));
    for (const sub of ["lists/partial", "cache/archives/partial", "state", "sources.list.d"]) fs.mkdirSync(path.join(dir, sub), { recursive: true });
    fs.writeFileSync(path.join(dir, "status"), "");
    fs.writeFileSync(path.join(dir, "sources.list"), "");
    aptConfig = path.join(dir, "apt.conf");
    fs.writeFileSync(
        aptConfig,
        [
            `Dir::State "${dir}/state";`,
            `Dir::State::Lists "${dir}/lists";`,
            `Dir::State::status "${dir}/status";`,
            `Dir::Cache "${dir}/cache";`,
            `Dir::Etc::SourceList "${dir}/sources.list";`,
            `Dir::Etc::SourceParts "${dir}/sources.list.d";`,
            "",
        ].join("\n"),
    );
    script = path.join(dir, "node-prepare.sh");
    fs.writeFileSync(script, renderScript("node-prepare.sh"));
});

after(() => fs.rmSync(dir, { recursive: true, force: true }));

interface Finished {
    readonly status: number | null;
    readonly stdout: string;
    readonly stderr: string;
    /** Order of completion among the processes of one test. */
    readonly finishedAt: number;
}

let completions = 0;
function finished(child: ChildProcess): Promise<Finished> {
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (chunk) => (stdout += chunk));
    child.stderr!.on("data", (chunk) => (stderr += chunk));
    return new Promise((resolve) => child.on("close", (status) => resolve({ status, stdout, stderr, finishedAt: ++completions })));
}

/** A process that holds an fcntl lock on FILE (as apt and dpkg take theirs) for SECONDS, and says when it has it. */
async function holdFcntlLock(file: string, seconds: number): Promise<{ pid: number; done: Promise<Finished> }> {
    const program = `import fcntl, sys, time\nf = open(sys.argv[1], "w")\nfcntl.lockf(f, fcntl.LOCK_EX)\nprint("held", flush=True)\ntime.sleep(float(sys.argv[2]))\n`;
    const child = spawn("python3", ["-c", program, file, String(seconds)], { stdio: ["ignore", "pipe", "pipe"] });
    const done = finished(child);
    await new Promise<void>((resolve) => child.stdout!.on("data", (chunk) => String(chunk).includes("held") && resolve()));
    return { pid: child.pid!, done };
}

/** Starts `COMMAND` in bash with node-prepare.sh's functions defined (K8S_LAB_FUNCTIONS_ONLY=1). */
function startWithScriptFunctions(command: string, env: Record<string, string> = {}): { child: ChildProcess; done: Promise<Finished> } {
    const child = spawn("bash", ["-c", `source "$0"; ${command}`, script], {
        env: { ...process.env, K8S_LAB_FUNCTIONS_ONLY: "1", NODE_NAME: "k8s-control02", APT_CONFIG: aptConfig, APT_RETRY_SECONDS: "1", ...env },
        stdio: ["ignore", "pipe", "pipe"],
    });
    return { child, done: finished(child) };
}

function runWithScriptFunctions(command: string, env: Record<string, string> = {}): Promise<Finished> {
    return startWithScriptFunctions(command, env).done;
}

test("the real apt-get cannot take the lists lock while it is held: DPkg::Lock::Timeout does not cover it", async () => {
    const holder = await holdFcntlLock(listsLock(), 3);
    const plain = await runWithScriptFunctions("apt-get -o DPkg::Lock::Timeout=60 -q update");
    assert.notEqual(plain.status, 0);
    assert.match(plain.stderr, /Could not get lock .*lists\/lock/);
    await holder.done;
});

test("apt_get waits while another process holds apt's lists lock, then succeeds", async () => {
    const holder = await holdFcntlLock(listsLock(), 3);
    const result = await runWithScriptFunctions("apt_get update");
    const held = await holder.done;
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`\\[k8s-control02\\] apt's lock is held by process ${holder.pid} \\(python3\\): trying again in 1s`));
    assert.ok(held.finishedAt < result.finishedAt, "apt_get succeeded only after the lock was released");
});

test("apt_get gives up after APT_LOCK_WAIT_SECONDS with apt's own error", async () => {
    const holder = await holdFcntlLock(listsLock(), 5);
    const result = await runWithScriptFunctions("apt_get update", { APT_LOCK_WAIT_SECONDS: "2" });
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /Could not get lock/);
    assert.ok(result.finishedAt < (await holder.done).finishedAt, "it did not wait for the holder");
});

test("apt_get does not retry a failure that is not a lock", async () => {
    const result = await runWithScriptFunctions("apt_get install k8s-lab-no-such-package");
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /Unable to locate package k8s-lab-no-such-package/);
    assert.doesNotMatch(result.stdout, /trying again/);
});

test("the project's scripts take turns: apt_locked waits for another script's apt use on the node", async () => {
    // Another k8s-lab script (ha-endpoint-install.sh, say) inside apt_locked for 2 s; it says when it is in.
    const other = startWithScriptFunctions("apt_locked bash -c 'echo inside; sleep 2'");
    await new Promise<void>((resolve) => other.child.stdout!.on("data", (chunk) => String(chunk).includes("inside") && resolve()));
    const ours = await runWithScriptFunctions("apt_locked true");
    const theirs = await other.done;
    assert.equal(ours.status, 0, ours.stderr);
    assert.equal(theirs.status, 0, theirs.stderr);
    assert.ok(theirs.finishedAt < ours.finishedAt, "the second apt use started only after the first one ended");
});

test("node preparation holds containerd and runc, so unattended-upgrades never restarts the runtime; a re-run holds nothing again", async () => {
    // A stand-in apt-mark that keeps its holds in a file and records each call.
    const bin = path.join(dir, "bin");
    fs.mkdirSync(bin, { recursive: true });
    const holds = path.join(dir, "holds");
    const calls = path.join(dir, "apt-mark.calls");
    fs.writeFileSync(holds, "kubeadm\n");
    fs.writeFileSync(
        path.join(bin, "apt-mark"),
        `#!/bin/sh\necho "$*" >>"${calls}"\ncase "$1" in\n  showhold) cat "${holds}" ;;\n  hold) shift; for p in "$@"; do echo "$p" >>"${holds}"; done ;;\nesac\n`,
        { mode: 0o755 },
    );
    const env = { PATH: `${bin}:${process.env.PATH}` };
    const first = await runWithScriptFunctions("hold_runtime_packages", env);
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stdout, /containerd and runc held: unattended-upgrades leaves them alone/);
    assert.deepEqual(fs.readFileSync(holds, "utf8").split("\n").filter(Boolean).sort(), ["containerd", "kubeadm", "runc"]);
    const again = await runWithScriptFunctions("hold_runtime_packages", env);
    assert.equal(again.status, 0, again.stderr);
    assert.deepEqual(fs.readFileSync(calls, "utf8").split("\n").filter(Boolean), ["showhold", "hold containerd runc", "showhold"]);
});
