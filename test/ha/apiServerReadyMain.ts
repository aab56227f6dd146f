/**
 * Runs the program's own ApiServerReady wait (providers/apiServerReady.ts) from inside the
 * failover test's client namespace and prints its result as one JSON line:
 *
 *   node build/test/ha/apiServerReadyMain.js --url https://<vip>:<port> --ca <file> --timeout-seconds 20
 */
import * as fs from "fs";
import { waitForApiServerReady } from "../../providers/apiServerReady";

function argument(name: string): string {
    const index = process.argv.indexOf(name);
    const value = index >= 0 ? process.argv[index + 1] : undefined;
    if (value === undefined) throw new Error(`missing ${name}: apiServerReadyMain.js --url <url> --ca <file> --timeout-seconds <n>`);
    return value;
}

async function main(): Promise<void> {
    const result = await waitForApiServerReady({
        url: argument("--url"),
        caCertificate: fs.readFileSync(argument("--ca"), "utf8"),
        timeoutSeconds: Number(argument("--timeout-seconds")),
        pollIntervalMs: 500,
    });
    console.log(JSON.stringify(result));
}

if (require.main === module) {
    main().catch((error: unknown) => {
        console.error(`apiServerReady: ${error instanceof Error ? error.message : String(error)}`);
        process.exit(1);
    });
}
