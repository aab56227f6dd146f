/**
 * The two ways anything reaches a node, shared by every component that runs remote commands:
 *  - stageFile: a file lands root-only (0600) under /etc/k8s-lab/, its content on stdin (so a
 *    secret file never appears on a command line or in a log);
 *  - runScript: a static script of manifests/ runs as root with `bash -s`, the script text on
 *    stdin and non-secret values as environment variables (`sudo -n env K='v' ...`).
 * Never remote.Command's `environment`: it needs sshd's AcceptEnv and fails on a stock server.
 */
import * as crypto from "crypto";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { renderScript } from "./render/manifests";

/** SSH access to one node, as every remote command of that node uses it. */
export interface NodeConnection {
    /** The node's name, for resource names and progress lines. */
    readonly nodeName: string;
    /** The connection: address, admin user, private key (secret). */
    readonly connection: command.types.input.remote.ConnectionArgs;
    /** The node's VM: files staged on the node need no clean-up when it is deleted too. */
    readonly vm: pulumi.Resource;
}

/** SSH settings for a node: retries while a fresh clone boots and starts sshd. */
export function sshConnection(
    host: pulumi.Input<string>,
    user: string,
    privateKey: pulumi.Input<string>,
    hostKey: pulumi.Input<string>,
): command.types.input.remote.ConnectionArgs {
    return {
        host,
        user,
        privateKey: pulumi.secret(privateKey),
        // The node's own host key (NodeVm): pulumi-command accepts no other (ssh.FixedHostKey).
        hostKey,
        // A clone may take minutes from "guest network up" to a running sshd: retry for ~10 minutes.
        dialErrorLimit: 60,
        perDialTimeout: 10,
    };
}

/** Where staged files land on a node. */
export const stagingDirectory = "/etc/k8s-lab";

/** A value quoted for a POSIX shell word: the only way config values enter command text. */
export function shellQuote(value: string): string {
    return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** `sudo -n env A='x' B='y' bash <script>`: runs a script as root with these (quoted) variables. */
function rootBashCommandLine(env: Readonly<Record<string, string>>, script: string): string {
    const assignments = Object.entries(env).map(([key, value]) => {
        if (!/^[A-Z][A-Z0-9_]*$/.test(key)) {
            throw new Error(`environment variable name '${key}' must be upper case letters, digits and _`);
        }
        return `${key}=${shellQuote(value)}`;
    });
    return ["sudo", "-n", "env", ...assignments, "bash", script].join(" ");
}

/** `sudo -n env A='x' B='y' bash -s`: runs the script on stdin as root with these variables. */
export function scriptCommandLine(env: Readonly<Record<string, string>>): string {
    return rootBashCommandLine(env, "-s");
}

/** Options shared by every remote command: no previous output in the environment (needs AcceptEnv). */
const commonArgs = { addPreviousOutputInEnv: false } as const;

/** A short content hash: replaces a command when a file or script it depends on changes. */
export function contentHash(text: pulumi.Input<string>): pulumi.Output<string> {
    return pulumi.output(text).apply((t) => crypto.createHash("sha256").update(t).digest("hex").slice(0, 16));
}

/** Arguments of {@link runScript}. */
export interface RunScriptArgs {
    readonly node: NodeConnection;
    /** File name under manifests/, e.g. "node-prepare.sh". */
    readonly script: string;
    /** Non-secret values for the script (an output too, e.g. a renewal round); NODE_NAME is added. */
    readonly env?: Readonly<Record<string, pulumi.Input<string>>>;
    /** Replace the command (run it again) when any of these change, e.g. hashes of staged files. */
    readonly triggers?: pulumi.Input<unknown>[];
    /** stdout holds a secret: no logging, stdout marked secret. */
    readonly secretOutput?: boolean;
    /**
     * Run only when the command's inputs change, never when it is created (pulumi-command: no
     * `create` runs nothing and opens no SSH session; `update` runs on a change). For steps that
     * act on a change of the cluster, e.g. an upgrade: a new node is already as wanted.
     */
    readonly onChangeOnly?: boolean;
    /**
     * Replace the command with its node's VM (default true), so a rebuilt node runs it again. Off
     * for a step that must not depend on that VM (replaceWith is also a dependency).
     */
    readonly replaceWithNodeVm?: boolean;
}

/**
 * A remote command running a manifests/ script as root on create. Its stdin is the rendered script
 * text (renderScript: includes pasted in), so a change to the script or to a file it includes shows
 * in `pulumi preview` as a diff of that command and runs the (idempotent) script again.
 */
export function runScript(name: string, args: RunScriptArgs, opts: pulumi.CustomResourceOptions): command.remote.Command {
    return new command.remote.Command(
        name,
        {
            ...commonArgs,
            connection: args.node.connection,
            [args.onChangeOnly ? "update" : "create"]: pulumi.output({ NODE_NAME: args.node.nodeName, ...args.env }).apply(scriptCommandLine),
            stdin: renderScript(args.script),
            triggers: args.triggers,
            logging: args.secretOutput ? "none" : "stdoutAndStderr",
        },
        // Issue 11: a run-once step is replaced with its node's VM, so a rebuilt node is prepared and joined again.
        pulumi.mergeOptions(opts, { replaceWith: args.replaceWithNodeVm === false ? [] : [args.node.vm], ...(args.secretOutput ? { additionalSecretOutputs: ["stdout", "stderr"] } : {}) }),
    );
}

/** Arguments of {@link runScriptOnDelete}. */
export interface RunScriptOnDeleteArgs {
    readonly node: NodeConnection;
    /** The script, staged on the node beforehand with {@link stageFile} (its resource). */
    readonly stagedScript: command.remote.Command;
    /** The staged script's file name under /etc/k8s-lab/. */
    readonly stagedScriptName: string;
    /** Non-secret values for the script; NODE_NAME is added. */
    readonly env?: Readonly<Record<string, string>>;
}

/**
 * A command that does nothing on create and runs a staged script when it is deleted: the clean-up
 * half of a step (drain, reset, delete the Node object). remote.Command's stdin belongs to create,
 * so the delete script is a file staged on the node before, and the command depends on it (the
 * file outlives the command). Input changes update it in place (no create command runs), so a new
 * SSH key or script never triggers the delete.
 */
export function runScriptOnDelete(name: string, args: RunScriptOnDeleteArgs, opts: pulumi.CustomResourceOptions): command.remote.Command {
    return new command.remote.Command(
        name,
        {
            ...commonArgs,
            connection: args.node.connection,
            delete: rootBashCommandLine({ NODE_NAME: args.node.nodeName, ...args.env }, `${stagingDirectory}/${args.stagedScriptName}`),
            logging: "stdoutAndStderr",
        },
        pulumi.mergeOptions(opts, { dependsOn: [args.stagedScript] }),
    );
}

/** Arguments of {@link stageFile}. */
export interface StageFileArgs {
    readonly node: NodeConnection;
    /** File name under /etc/k8s-lab/. */
    readonly fileName: string;
    /** The content; a secret stays a secret (stdin is stored encrypted in state). */
    readonly content: pulumi.Input<string>;
}

/**
 * Writes a file root-only (0600) to /etc/k8s-lab/<fileName> on a node, content on stdin. Changing
 * the content rewrites it; deleting the resource removes it.
 */
export function stageFile(name: string, args: StageFileArgs, opts: pulumi.CustomResourceOptions): command.remote.Command {
    if (!/^[A-Za-z0-9._-]+$/.test(args.fileName)) {
        throw new Error(`staged file name '${args.fileName}' must be letters, digits, '.', '_' or '-'`);
    }
    const target = `${stagingDirectory}/${args.fileName}`;
    const write = `sudo -n install -D -m 0600 -o root -g root /dev/stdin ${target}`;
    return new command.remote.Command(
        name,
        {
            ...commonArgs,
            connection: args.node.connection,
            create: write,
            update: write,
            delete: `sudo -n rm -f ${target}`,
            stdin: args.content,
            logging: "stderr",
        },
        // Its delete undoes its create: on a replacement, remove first, then write. Nothing to
        // remove when the whole VM goes.
        pulumi.mergeOptions(opts, { deleteBeforeReplace: true, deletedWith: args.node.vm, replaceWith: [args.node.vm] }),
    );
}
