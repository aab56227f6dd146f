import * as fs from "fs";
import * as https from "https";
import type { AddressInfo, Socket } from "net";

/** Options of {@link startFakeApiServer}. */
export interface FakeApiServerOptions {
    /** Address to listen on (127.0.0.1, or an address inside the test's own network namespace). */
    readonly host: string;
    /** TCP port; 0 picks a free one (read it back from `port`). */
    readonly port: number;
    /** PEM file of the server certificate. */
    readonly certPath: string;
    /** PEM file of the server private key. */
    readonly keyPath: string;
    /** What `/version` reports as gitVersion; default "v1.33.4". */
    readonly gitVersion?: string;
    /** Whether /readyz and /healthz answer 200 from the start; default true. */
    readonly ready?: boolean;
}

/** A running HTTPS stand-in for kube-apiserver. */
export interface FakeApiServer {
    /** Base URL, e.g. `https://127.0.0.1:34567` (no trailing slash). */
    readonly url: string;
    /** The port it listens on (the real one when 0 was asked for). */
    readonly port: number;
    /** Makes /readyz and /healthz answer 200 "ok" (true) or 500 (false). */
    setReady(ready: boolean): void;
    /** Number of HTTP requests answered so far (any path). */
    readonly requestCount: number;
    /**
     * Stops like kube-apiserver (Go's http.Server.Shutdown): no new connections, idle ones
     * closed, requests in progress answered; a connection that has not sent its request yet
     * (also one in its TLS handshake) gets `graceMs` (default 5000, Go's rule for new
     * connections) to send it, then is dropped.
     */
    close(graceMs?: number): Promise<void>;
}

/** `/version` body in kube-apiserver's shape, derived from a gitVersion like v1.33.4. */
export function versionInfo(gitVersion: string): Record<string, string> {
    const match = /^v(\d+)\.(\d+)\./.exec(gitVersion);
    return {
        major: match ? match[1] : "",
        minor: match ? match[2] : "",
        gitVersion,
        gitCommit: "0000000000000000000000000000000000000000",
        gitTreeState: "clean",
        buildDate: "2025-08-12T00:00:00Z",
        goVersion: "go1.24.5",
        compiler: "gc",
        platform: "linux/amd64",
    };
}

/**
 * Starts an HTTPS stand-in for kube-apiserver: `/readyz` and `/healthz` (and `/livez`) answer
 * 200 "ok", or 500 with a failed-check body when not ready; `/version` answers JSON like
 * kube-apiserver's; anything else 404. Resolves once it listens.
 */
export async function startFakeApiServer(opts: FakeApiServerOptions): Promise<FakeApiServer> {
    const gitVersion = opts.gitVersion ?? "v1.33.4";
    let ready = opts.ready ?? true;
    let requestCount = 0;
    let closing = false;

    const server = https.createServer(
        { cert: fs.readFileSync(opts.certPath), key: fs.readFileSync(opts.keyPath) },
        (request, response) => {
            requestCount++;
            if (closing) response.setHeader("Connection", "close");
            const pathname = new URL(request.url ?? "/", "https://fake-apiserver").pathname;
            if (pathname === "/readyz" || pathname === "/healthz" || pathname === "/livez") {
                const body = ready ? "ok" : `[-]etcd failed: reason withheld\n${pathname.slice(1)} check failed`;
                response.writeHead(ready ? 200 : 500, { "Content-Type": "text/plain; charset=utf-8" });
                response.end(body);
            } else if (pathname === "/version") {
                response.writeHead(200, { "Content-Type": "application/json" });
                response.end(JSON.stringify(versionInfo(gitVersion), null, 2));
            } else {
                response.writeHead(404, { "Content-Type": "application/json" });
                response.end(JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", reason: "NotFound", code: 404 }));
            }
        },
    );

    // Every TCP connection, also one still in its TLS handshake: closeAllConnections() only knows
    // the HTTP ones, and a handshake left half-done (a health check cut off by a stop) would hold
    // close() open until tls.Server's handshakeTimeout (120 s). That stalled scenario f once; so
    // close() drops whatever is left after its grace period.
    const sockets = new Set<Socket>();
    server.on("connection", (socket: Socket) => {
        sockets.add(socket);
        socket.once("close", () => sockets.delete(socket));
    });

    await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(opts.port, opts.host, () => {
            server.off("error", reject);
            resolve();
        });
    });
    const port = (server.address() as AddressInfo).port;
    const hostInUrl = opts.host.includes(":") ? `[${opts.host}]` : opts.host;

    return {
        url: `https://${hostInUrl}:${port}`,
        port,
        setReady(value: boolean) {
            ready = value;
        },
        get requestCount() {
            return requestCount;
        },
        close(graceMs = 5_000) {
            closing = true;
            return new Promise<void>((resolve) => {
                const dropTheRest = setTimeout(() => {
                    for (const socket of sockets) socket.destroy();
                }, graceMs);
                server.close(() => {
                    clearTimeout(dropTheRest);
                    resolve();
                });
                // Idle keep-alive connections go now; a request in progress is answered first
                // (its response says Connection: close). Dropping those too reset a request in
                // flight through haproxy when two apiservers stopped (scenario f, HA loop run 1).
                server.closeIdleConnections();
            });
        },
    };
}
