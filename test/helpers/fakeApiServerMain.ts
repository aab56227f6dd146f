/**
 * Command-line wrapper of the kube-apiserver stand-in, for tests that run it in another process
 * (e.g. inside a network namespace with `ip netns exec`):
 *
 *   node build/test/helpers/fakeApiServerMain.js --host <ip> --port <n> --cert <file> --key <file> [--git-version v1.33.4]
 *
 * Prints one line containing `listening` once it accepts connections. SIGUSR1 makes /readyz
 * answer 500, SIGUSR2 makes it ready again, SIGTERM/SIGINT close it and exit 0.
 */
import { startFakeApiServer } from "./fakeApiServer";

/** Parsed command line of the stand-in. */
export interface FakeApiServerCommandLine {
    host: string;
    port: number;
    certPath: string;
    keyPath: string;
    gitVersion?: string;
}

const usage =
    "usage: fakeApiServerMain.js --host <ip> --port <n> --cert <file> --key <file> [--git-version v1.33.4]";

/** Parses `--flag value` pairs; throws with the usage line on anything unknown or missing. */
export function parseFakeApiServerArgs(argv: readonly string[]): FakeApiServerCommandLine {
    const values = new Map<string, string>();
    for (let i = 0; i < argv.length; i += 2) {
        const flag = argv[i];
        const value = argv[i + 1];
        if (!["--host", "--port", "--cert", "--key", "--git-version"].includes(flag) || value === undefined) {
            throw new Error(`bad argument ${JSON.stringify(flag)}\n${usage}`);
        }
        values.set(flag, value);
    }
    for (const required of ["--host", "--port", "--cert", "--key"]) {
        if (!values.has(required)) throw new Error(`missing ${required}\n${usage}`);
    }
    const port = Number(values.get("--port"));
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
        throw new Error(`--port ${values.get("--port")} is not a port number\n${usage}`);
    }
    return {
        host: values.get("--host")!,
        port,
        certPath: values.get("--cert")!,
        keyPath: values.get("--key")!,
        gitVersion: values.get("--git-version"),
    };
}

async function main(): Promise<void> {
    const args = parseFakeApiServerArgs(process.argv.slice(2));
    const server = await startFakeApiServer(args);
    process.on("SIGUSR1", () => {
        server.setReady(false);
        console.log(`fake-apiserver ${server.url} not ready`);
    });
    process.on("SIGUSR2", () => {
        server.setReady(true);
        console.log(`fake-apiserver ${server.url} ready`);
    });
    const stop = () => {
        void server.close().then(() => process.exit(0));
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
    console.log(`fake-apiserver listening on ${server.url}`);
}

if (require.main === module) {
    main().catch((error: unknown) => {
        console.error(`fake-apiserver: ${error instanceof Error ? error.message : String(error)}`);
        process.exit(1);
    });
}
