/**
 * The failover test's client, run inside the client namespace:
 *
 *   node build/test/ha/probeMain.js --url https://<vip>:<port>/version --ca <file> --interval-ms 100 --max-requests 2000
 *
 * Starts one GET every interval (each on a new TLS connection, trusting only the test CA, with a
 * short timeout) and prints one JSON line per finished request:
 * `{"sentAt":<ms>,"doneAt":<ms>,"ok":<bool>,"detail":"..."}` (epoch ms). Stops after
 * --max-requests or on SIGTERM, waits for requests in flight, prints `{"done":true}` and exits.
 */
import * as fs from "fs";
import * as https from "https";

/** One finished request, as printed. */
export interface ProbeResult {
    readonly sentAt: number;
    readonly doneAt: number;
    readonly ok: boolean;
    readonly detail: string;
}

const requestTimeoutMs = 1500;

function argument(name: string): string {
    const index = process.argv.indexOf(name);
    const value = index >= 0 ? process.argv[index + 1] : undefined;
    if (value === undefined) {
        throw new Error(`missing ${name}: probeMain.js --url <url> --ca <file> --interval-ms <n> --max-requests <n>`);
    }
    return value;
}

function probeOnce(url: string, ca: string): Promise<ProbeResult> {
    const sentAt = Date.now();
    return new Promise((resolve) => {
        let settled = false;
        const finish = (ok: boolean, detail: string) => {
            if (settled) return;
            settled = true;
            resolve({ sentAt, doneAt: Date.now(), ok, detail });
        };
        const request = https.get(url, { ca, agent: false, timeout: requestTimeoutMs }, (response) => {
            let body = "";
            response.setEncoding("utf8");
            response.on("data", (chunk: string) => (body += chunk));
            response.on("end", () => {
                const good = response.statusCode === 200 && body.includes("gitVersion");
                finish(good, good ? "200" : `HTTP ${response.statusCode}`);
            });
            response.on("error", (error) => finish(false, error.message));
        });
        request.on("timeout", () => request.destroy(new Error(`no answer within ${requestTimeoutMs} ms`)));
        request.on("error", (error: NodeJS.ErrnoException) => finish(false, error.code ?? error.message));
    });
}

async function main(): Promise<void> {
    const url = argument("--url");
    const ca = fs.readFileSync(argument("--ca"), "utf8");
    const intervalMs = Number(argument("--interval-ms"));
    const maxRequests = Number(argument("--max-requests"));
    let stopping = false;
    process.on("SIGTERM", () => (stopping = true));

    const inFlight: Promise<void>[] = [];
    for (let sent = 0; sent < maxRequests && !stopping; sent++) {
        inFlight.push(probeOnce(url, ca).then((result) => void process.stdout.write(`${JSON.stringify(result)}\n`)));
        await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
    await Promise.all(inFlight);
    process.stdout.write(`${JSON.stringify({ done: true })}\n`);
}

if (require.main === module) {
    main().catch((error: unknown) => {
        console.error(`probe: ${error instanceof Error ? error.message : String(error)}`);
        process.exit(1);
    });
}
