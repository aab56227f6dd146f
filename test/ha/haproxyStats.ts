import * as net from "net";

/** One backend server as a running haproxy sees it. */
export interface ServerState {
    /** The server's name in haproxy.cfg (the control plane's name). */
    readonly name: string;
    /** haproxy's status: "UP", "DOWN", "UP 1/2" (going down), "DOWN 1/2" (coming up), ... */
    readonly status: string;
}

/**
 * Backend servers of `backend` read from haproxy's admin socket (`show stat`), or null when the
 * socket does not answer (haproxy not running). Bounded by a short timeout.
 */
export function backendServers(socketPath: string, backend = "kube-apiserver"): Promise<ServerState[] | null> {
    return new Promise((resolve) => {
        let output = "";
        const socket = net.connect(socketPath);
        const timer = setTimeout(() => socket.destroy(), 2_000);
        socket.on("connect", () => socket.end("show stat\n"));
        socket.on("data", (chunk) => (output += chunk.toString("utf8")));
        socket.on("error", () => undefined);
        socket.on("close", () => {
            clearTimeout(timer);
            const lines = output.split("\n");
            if (!lines[0]?.startsWith("# ")) return resolve(null);
            const header = lines[0].slice(2).split(",");
            const column = (name: string) => header.indexOf(name);
            const servers = lines
                .slice(1)
                .map((line) => line.split(","))
                .filter((fields) => fields[column("pxname")] === backend && !["BACKEND", "FRONTEND"].includes(fields[column("svname")]))
                .map((fields) => ({ name: fields[column("svname")], status: fields[column("status")] }));
            resolve(servers);
        });
    });
}
