import * as pulumi from "@pulumi/pulumi";

// A Pulumi dynamic provider runs in a separate process from a serialized copy of its methods
// (closure serialization). So everything the methods use lives in plain function declarations
// below that take only their arguments and `require` Node modules inside themselves: they
// serialize as their own source text, without dragging module-level objects along.

/** What {@link waitForApiServerReady} needs. */
export interface WaitForApiServerReadyInputs {
    /** Base URL of the API, e.g. `https://k8s-api.lab.local:443` (no path; a trailing slash is ignored). */
    readonly url: string;
    /** PEM of the cluster CA: the only CA trusted for this server. */
    readonly caCertificate: string;
    /**
     * Name the server's certificate must carry (TLS SNI and hostname check) when the URL dials an
     * address: the API's DNS name, so it only has to be in the certificate, not in the LAN's DNS.
     */
    readonly serverName?: string;
    /** How long to keep trying before failing, in seconds. */
    readonly timeoutSeconds: number;
    /** Pause between attempts in milliseconds; default 2000. */
    readonly pollIntervalMs?: number;
}

/** What the API server reported once it was ready. */
export interface ApiServerVersion {
    /** `gitVersion` of `/version`, e.g. `v1.33.4`. */
    readonly gitVersion: string;
}

/**
 * Polls `${url}/readyz` until it answers 200, verifying TLS against exactly `caCertificate`, then
 * reads `/version` and returns its gitVersion. Each request has its own short timeout. Every
 * failure (refused, TLS, 500, timeout) is retried until `timeoutSeconds`; then it throws an
 * error naming the URL, the time waited and the last HTTP status or error. A certificate error
 * is retried too (a previous cluster may still hold the address for a moment) but is reported
 * as one.
 *
 * Self-contained on purpose: the dynamic provider's serialized methods call it.
 */
export async function waitForApiServerReady(inputs: WaitForApiServerReadyInputs): Promise<ApiServerVersion> {
    const https = require("https") as typeof import("https");
    const baseUrl = inputs.url.replace(/\/+$/, "");
    const pollIntervalMs = inputs.pollIntervalMs ?? 2000;
    const perRequestTimeoutMs = 5000;
    const startedAt = Date.now();
    const deadline = startedAt + inputs.timeoutSeconds * 1000;
    let lastProblem = "no answer yet";
    let attempts = 0;

    /** One GET trusting only the given CA; resolves with status and (bounded) body, rejects on network/TLS errors. */
    function get(path: string, timeoutMs: number): Promise<{ status: number; body: string }> {
        return new Promise((resolve, reject) => {
            const request = https.get(
                `${baseUrl}${path}`,
                // `ca` replaces the default trust store: only the cluster CA is trusted.
                // `servername`: Node checks the certificate against it instead of the URL's host.
                {
                    ca: inputs.caCertificate,
                    ...(inputs.serverName ? { servername: inputs.serverName } : {}),
                    agent: false,
                    timeout: timeoutMs,
                    headers: { Accept: "application/json, */*" },
                },
                (response) => {
                    let body = "";
                    response.setEncoding("utf8");
                    response.on("data", (chunk: string) => {
                        if (body.length < 65536) body += chunk;
                    });
                    response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
                    response.on("error", reject);
                },
            );
            request.on("timeout", () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
            request.on("error", reject);
        });
    }

    /** Names an error so a certificate problem reads as one, not as a generic failure. */
    function describeError(error: unknown): string {
        const err = error as NodeJS.ErrnoException;
        const code = err && typeof err.code === "string" ? err.code : "";
        const message = err && typeof err.message === "string" ? err.message : String(error);
        if (/CERT|UNABLE_TO_(GET|VERIFY)|SELF_SIGNED|ERR_TLS/.test(code)) {
            return `TLS certificate error (${code}: ${message}): the server's certificate is not valid for this URL under the given CA`;
        }
        return code ? `${code}: ${message}` : message;
    }

    /** First line of a body, short, for error messages. */
    function excerpt(body: string): string {
        const text = body.trim().split("\n").slice(0, 3).join(" | ");
        return text.length > 200 ? `${text.slice(0, 200)}...` : text;
    }

    while (true) {
        attempts++;
        const remainingMs = deadline - Date.now();
        const timeoutMs = Math.max(100, Math.min(perRequestTimeoutMs, remainingMs));
        try {
            const ready = await get("/readyz", timeoutMs);
            if (ready.status === 200) {
                const version = await get("/version", timeoutMs);
                if (version.status === 200) {
                    let gitVersion: unknown;
                    try {
                        gitVersion = (JSON.parse(version.body) as { gitVersion?: unknown }).gitVersion;
                    } catch {
                        gitVersion = undefined;
                    }
                    if (typeof gitVersion === "string" && gitVersion !== "") {
                        return { gitVersion };
                    }
                    lastProblem = `/version answered 200 without a gitVersion: ${excerpt(version.body)}`;
                } else {
                    lastProblem = `/version answered HTTP ${version.status}: ${excerpt(version.body)}`;
                }
            } else {
                lastProblem = `/readyz answered HTTP ${ready.status}: ${excerpt(ready.body)}`;
            }
        } catch (error) {
            lastProblem = describeError(error);
        }
        const now = Date.now();
        if (now >= deadline) {
            const waited = ((now - startedAt) / 1000).toFixed(1);
            throw new Error(
                `Kubernetes API at ${baseUrl} was not ready after ${waited} s ` +
                    `(timeout ${inputs.timeoutSeconds} s, ${attempts} attempts); last problem: ${lastProblem}`,
            );
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(pollIntervalMs, deadline - now)));
    }
}

/** Inputs of the dynamic provider, as Pulumi hands them over (plain values, or the unknown marker in a preview). */
export interface ApiServerReadyProviderInputs {
    url: string;
    caCertificate: string;
    /** TLS server name; absent: the URL's host. */
    serverName?: string;
    timeoutSeconds: number;
    /** Only for tests; the resource does not set it. */
    pollIntervalMs?: number;
}

/** State of the dynamic resource: its inputs (so `diff` can compare them) plus what was read. */
export interface ApiServerReadyProviderOutputs extends ApiServerReadyProviderInputs {
    gitVersion: string;
}

/** Validates and normalizes the inputs; values still unknown (a preview) are left alone. */
function checkApiServerReadyInputs(news: Record<string, unknown>): pulumi.dynamic.CheckResult<ApiServerReadyProviderInputs> {
    // Pulumi's marker for a value not known yet (preview): validate only what is known.
    const unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
    const failures: pulumi.dynamic.CheckFailure[] = [];
    const inputs: Record<string, unknown> = { ...news };

    const url = news.url;
    if (url !== unknown) {
        let parsed: URL | undefined;
        try {
            parsed = typeof url === "string" ? new URL(url) : undefined;
        } catch {
            parsed = undefined;
        }
        if (!parsed) {
            failures.push({ property: "url", reason: `url ${JSON.stringify(url)} is not a URL: use https://<api endpoint>:<port>` });
        } else if (parsed.protocol !== "https:") {
            failures.push({ property: "url", reason: `url ${url} must start with https:// (the API is checked over TLS against the cluster CA)` });
        } else if ((parsed.pathname !== "/" && parsed.pathname !== "") || parsed.search !== "" || parsed.hash !== "") {
            failures.push({ property: "url", reason: `url ${url} must be the API base URL without a path or query, e.g. https://${parsed.host}` });
        } else {
            inputs.url = `${parsed.protocol}//${parsed.host}`;
        }
    }

    const caCertificate = news.caCertificate;
    if (caCertificate !== unknown && (typeof caCertificate !== "string" || !caCertificate.includes("-----BEGIN CERTIFICATE-----"))) {
        failures.push({ property: "caCertificate", reason: "caCertificate must be the cluster CA certificate in PEM (-----BEGIN CERTIFICATE-----)" });
    }

    const serverName = news.serverName;
    if (serverName !== undefined && serverName !== unknown && (typeof serverName !== "string" || !/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/.test(serverName))) {
        failures.push({ property: "serverName", reason: `serverName ${JSON.stringify(serverName)} must be a DNS name like k8s.lab.example` });
    }

    const timeoutSeconds = news.timeoutSeconds === undefined ? 600 : news.timeoutSeconds;
    if (timeoutSeconds !== unknown && (typeof timeoutSeconds !== "number" || !Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0)) {
        failures.push({ property: "timeoutSeconds", reason: `timeoutSeconds ${JSON.stringify(timeoutSeconds)} must be a number of seconds greater than 0` });
    }
    inputs.timeoutSeconds = timeoutSeconds;

    const pollIntervalMs = news.pollIntervalMs;
    if (pollIntervalMs !== undefined && pollIntervalMs !== unknown && (typeof pollIntervalMs !== "number" || !(pollIntervalMs > 0))) {
        failures.push({ property: "pollIntervalMs", reason: `pollIntervalMs ${JSON.stringify(pollIntervalMs)} must be a number of milliseconds greater than 0` });
    }

    return { inputs: inputs as unknown as ApiServerReadyProviderInputs, failures };
}

/** Waits for the API and returns the resource state. */
async function waitAndDescribe(inputs: ApiServerReadyProviderInputs): Promise<ApiServerReadyProviderOutputs> {
    const { gitVersion } = await waitForApiServerReady({
        url: inputs.url,
        caCertificate: inputs.caCertificate,
        serverName: inputs.serverName,
        timeoutSeconds: inputs.timeoutSeconds,
        pollIntervalMs: inputs.pollIntervalMs,
    });
    const outputs: ApiServerReadyProviderOutputs = {
        url: inputs.url,
        caCertificate: inputs.caCertificate,
        timeoutSeconds: inputs.timeoutSeconds,
        gitVersion,
    };
    if (inputs.serverName !== undefined) outputs.serverName = inputs.serverName;
    if (inputs.pollIntervalMs !== undefined) outputs.pollIntervalMs = inputs.pollIntervalMs;
    return outputs;
}

/**
 * The dynamic provider behind {@link ApiServerReady}: `create` and `update` wait until the API
 * answers; nothing is ever replaced or deleted (there is nothing to delete: it only observes).
 */
export const apiServerReadyProvider: pulumi.dynamic.ResourceProvider<ApiServerReadyProviderInputs, ApiServerReadyProviderOutputs> = {
    async check(_olds, news) {
        return checkApiServerReadyInputs(news as unknown as Record<string, unknown>);
    },

    async diff(_id, olds, news) {
        const watched = ["url", "caCertificate", "serverName", "timeoutSeconds"] as const;
        const changed = watched.filter((key) => olds[key] !== news[key]);
        return { changes: changed.length > 0, replaces: [], deleteBeforeReplace: false };
    },

    async create(inputs) {
        const outs = await waitAndDescribe(inputs);
        return { id: outs.url, outs };
    },

    async update(_id, _olds, news) {
        return { outs: await waitAndDescribe(news) };
    },
};

/** Arguments of {@link ApiServerReady}. */
export interface ApiServerReadyArgs {
    /** Base URL of the API through the HA endpoint, e.g. `https://k8s-api.lab.local:443` (https only, no path). */
    readonly url: pulumi.Input<string>;
    /** Cluster CA certificate (PEM) the API server's certificate must chain to; stored as a secret. */
    readonly caCertificate: pulumi.Input<string>;
    /** The name the API's certificate is checked against when url dials the VIP (the API's DNS name). */
    readonly serverName?: pulumi.Input<string>;
    /** Seconds to keep polling `/readyz` before `pulumi up` fails; default 600. */
    readonly timeoutSeconds?: pulumi.Input<number>;
}

/**
 * Completes once the Kubernetes API answers `/readyz` with 200 at `url`, over TLS verified with
 * the cluster CA. Everything that talks to the API depends on it, so nothing races the
 * control plane's start-up.
 */
export class ApiServerReady extends pulumi.dynamic.Resource {
    // `declare`: the values are set by the base constructor; a class field (ES2022) would reset them.
    /** The API base URL that answered (normalized: no trailing slash). */
    declare public readonly url: pulumi.Output<string>;
    /** `gitVersion` the API server reported on `/version`, e.g. `v1.33.4`. */
    declare public readonly gitVersion: pulumi.Output<string>;
    /** The CA certificate the server was verified with (secret). */
    declare public readonly caCertificate: pulumi.Output<string>;

    constructor(name: string, args: ApiServerReadyArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            apiServerReadyProvider,
            name,
            {
                url: args.url,
                caCertificate: pulumi.secret(args.caCertificate),
                serverName: args.serverName,
                timeoutSeconds: args.timeoutSeconds ?? 600,
                gitVersion: undefined,
            },
            pulumi.mergeOptions(opts, { additionalSecretOutputs: ["caCertificate"] }),
            "lab",
            "ApiServerReady",
        );
    }
}
