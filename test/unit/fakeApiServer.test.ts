import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "child_process";
import * as fs from "fs";
import * as https from "https";
import * as net from "net";
import * as os from "os";
import * as tls from "tls";
import * as path from "path";
import { createTestPki, TestPki } from "../helpers/testPki";
import { startFakeApiServer } from "../helpers/fakeApiServer";

let workDir: string;
let pki: TestPki;

before(() => {
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), "fake-apiserver-"));
    pki = createTestPki(workDir, { dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"] });
});

after(() => {
    fs.rmSync(workDir, { recursive: true, force: true });
});

/** One GET against the stand-in, trusting only the test CA. */
function get(url: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
        const request = https.get(url, { ca: pki.caCertPem, agent: false, timeout: 2000 }, (response) => {
            let body = "";
            response.setEncoding("utf8");
            response.on("data", (chunk: string) => (body += chunk));
            response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
        });
        request.on("timeout", () => request.destroy(new Error("request timed out")));
        request.on("error", reject);
    });
}

test("fake apiserver answers readyz, version and 404 over TLS signed by the test CA", async () => {
    const server = await startFakeApiServer({
        host: "127.0.0.1", port: 0, certPath: pki.serverCertPath, keyPath: pki.serverKeyPath, gitVersion: "v1.33.4",
    });
    try {
        assert.notEqual(server.port, 0);
        assert.deepEqual(await get(`${server.url}/readyz`), { status: 200, body: "ok" });
        const version = await get(`${server.url}/version`);
        assert.equal(version.status, 200);
        const info = JSON.parse(version.body) as Record<string, string>;
        assert.deepEqual([info.major, info.minor, info.gitVersion], ["1", "33", "v1.33.4"]);
        assert.equal((await get(`${server.url}/api`)).status, 404);
        server.setReady(false);
        assert.equal((await get(`${server.url}/readyz`)).status, 500);
        assert.equal((await get(`${server.url}/healthz`)).status, 500);
        assert.equal(server.requestCount, 5);
    } finally {
        await server.close();
    }
});

test("fake apiserver command line prints listening, follows SIGUSR1/SIGUSR2 and exits 0 on SIGTERM", async () => {
    const child = spawn(process.execPath, [
        path.join(__dirname, "..", "helpers", "fakeApiServerMain.js"),
        "--host", "127.0.0.1", "--port", "0", "--cert", pki.serverCertPath, "--key", pki.serverKeyPath,
    ], { stdio: ["ignore", "pipe", "inherit"] });
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    try {
        const url = await new Promise<string>((resolve, reject) => {
            let output = "";
            child.stdout!.setEncoding("utf8");
            child.stdout!.on("data", (chunk: string) => {
                output += chunk;
                const match = /listening on (https:\/\/\S+)/.exec(output);
                if (match) resolve(match[1]);
            });
            child.on("exit", () => reject(new Error(`exited before listening: ${output}`)));
        });
        assert.equal((await get(`${url}/readyz`)).status, 200);
        child.kill("SIGUSR1");
        await waitForStatus(`${url}/readyz`, 500);
        child.kill("SIGUSR2");
        await waitForStatus(`${url}/readyz`, 200);
        child.kill("SIGTERM");
        assert.equal(await exited, 0);
    } finally {
        if (child.exitCode === null) child.kill("SIGKILL");
    }
});

/** Polls until the URL answers the status (signals are delivered asynchronously). */
async function waitForStatus(url: string, status: number): Promise<void> {
    let last = 0;
    for (let attempt = 0; attempt < 50; attempt++) {
        last = (await get(url)).status;
        if (last === status) return;
        await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.fail(`${url} answered ${last}, expected ${status}`);
}

test("close() returns at once even with a connection still in its TLS handshake", { timeout: 10_000 }, async () => {
    const server = await startFakeApiServer({
        host: "127.0.0.1", port: 0, certPath: pki.serverCertPath, keyPath: pki.serverKeyPath,
    });
    // A bare TCP connection that never sends a ClientHello: without the socket tracking,
    // close() waited for tls.Server's 120 s handshake timeout (scenario f of the HA test once
    // took 103 s this way).
    const silent = net.connect(server.port, "127.0.0.1");
    await new Promise<void>((resolve) => silent.once("connect", () => resolve()));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = Date.now();
    await server.close(300);
    assert.ok(Date.now() - started < 2_000, `close() took ${Date.now() - started} ms`);
    silent.destroy();
});

// A real kube-apiserver answers the requests it has started before it exits (Go's
// http.Server.Shutdown). Dropping them made one request through haproxy fail with ECONNRESET in
// the HA test's scenario f (two apiservers stopped), in run 1 of a 10-run loop.
test("close() answers a request in progress before it stops", { timeout: 10_000 }, async () => {
    const server = await startFakeApiServer({
        host: "127.0.0.1", port: 0, certPath: pki.serverCertPath, keyPath: pki.serverKeyPath,
    });
    const client = tls.connect({ host: "127.0.0.1", port: server.port, ca: fs.readFileSync(pki.caCertPath), servername: "localhost" });
    await new Promise<void>((resolve, reject) => client.once("secureConnect", () => resolve()).once("error", reject));
    let answer = "";
    client.setEncoding("utf8");
    client.on("data", (chunk: string) => (answer += chunk));
    const ended = new Promise<void>((resolve) => client.once("close", () => resolve()));
    client.write("GET /version HTTP/1.1\r\nHost: localhost\r\n"); // the request has begun
    await new Promise((resolve) => setTimeout(resolve, 100));
    const closed = server.close(2_000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    client.write("\r\n");
    await ended;
    await closed;
    assert.match(answer, /^HTTP\/1\.1 200/);
    assert.match(answer, /connection: close/i);
    assert.match(answer, /"gitVersion"/);
});
