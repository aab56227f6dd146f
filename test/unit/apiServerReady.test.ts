import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { createServerCertificate, createTestPki, createUnrelatedCa, TestCa, TestPki } from "../helpers/testPki";
import { loadSerializedProvider } from "../helpers/dynamicProvider";
import { FakeApiServer, startFakeApiServer } from "../helpers/fakeApiServer";
import {
    ApiServerReady,
    ApiServerReadyProviderInputs,
    apiServerReadyProvider,
    waitForApiServerReady,
} from "../../providers/apiServerReady";

// Only 127.0.0.1 is ever contacted: the stand-in listens there on a free port.
let workDir: string;
let pki: TestPki;
let unrelatedCa: TestCa;
let server: FakeApiServer;

before(async () => {
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), "apiserver-ready-"));
    pki = createTestPki(workDir, { dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"] });
    unrelatedCa = createUnrelatedCa(workDir);
    server = await startFakeApiServer({
        host: "127.0.0.1", port: 0, certPath: pki.serverCertPath, keyPath: pki.serverKeyPath, gitVersion: "v1.33.4",
    });
});

after(async () => {
    await server.close();
    fs.rmSync(workDir, { recursive: true, force: true });
});

/** Provider inputs for the stand-in, with short timings so the file runs in seconds. */
function inputs(overrides: Partial<ApiServerReadyProviderInputs> = {}): ApiServerReadyProviderInputs {
    return { url: server.url, caCertificate: pki.caCertPem, timeoutSeconds: 5, pollIntervalMs: 100, ...overrides };
}

test("create returns the URL as id and the server's gitVersion when the API is ready at once", async () => {
    server.setReady(true);
    const result = await apiServerReadyProvider.create(inputs());
    assert.equal(result.id, server.url);
    assert.equal(result.outs?.url, server.url);
    assert.equal(result.outs?.gitVersion, "v1.33.4");
});

test("create keeps polling while /readyz answers 500 and succeeds once it turns ready", async () => {
    server.setReady(false);
    const before = server.requestCount;
    const flip = setTimeout(() => server.setReady(true), 1000);
    try {
        const startedAt = Date.now();
        const result = await apiServerReadyProvider.create(inputs());
        assert.equal(result.outs?.gitVersion, "v1.33.4");
        assert.ok(Date.now() - startedAt >= 900, "returned before the server became ready");
        assert.ok(server.requestCount - before >= 5, "did not poll repeatedly while not ready");
    } finally {
        clearTimeout(flip);
        server.setReady(true);
    }
});

test("update waits for the API again and returns the new state", async () => {
    server.setReady(true);
    const result = await apiServerReadyProvider.update!(server.url, { ...inputs(), gitVersion: "v1.32.0" }, inputs({ timeoutSeconds: 7 }));
    assert.equal(result.outs?.gitVersion, "v1.33.4");
    assert.equal(result.outs?.timeoutSeconds, 7);
});

test("waiting fails with a certificate error and the URL when the server's certificate is not from the given CA", async () => {
    server.setReady(true);
    await assert.rejects(
        waitForApiServerReady({ url: server.url, caCertificate: unrelatedCa.caCertPem, timeoutSeconds: 0.5, pollIntervalMs: 100 }),
        (error: Error) => {
            assert.match(error.message, /TLS certificate error/);
            assert.match(error.message, /UNABLE_TO_VERIFY_LEAF_SIGNATURE|unable to verify/);
            assert.ok(error.message.includes(server.url), `URL missing from: ${error.message}`);
            return true;
        },
    );
});

test("with serverName the VIP is dialled by address and the certificate checked against the API's DNS name", async () => {
    // A certificate like kubeadm's for the lab: the DNS name, not 127.0.0.1 (the stand-in's "VIP").
    const nameOnly = createServerCertificate(workDir, pki, { dnsNames: ["k8s.lab.example"], ipAddresses: [], fileName: "name-only" });
    const named = await startFakeApiServer({ host: "127.0.0.1", port: 0, certPath: nameOnly.serverCertPath, keyPath: nameOnly.serverKeyPath, gitVersion: "v1.34.2" });
    try {
        named.setReady(true);
        const ready = await waitForApiServerReady({ url: named.url, serverName: "k8s.lab.example", caCertificate: pki.caCertPem, timeoutSeconds: 2, pollIntervalMs: 100 });
        assert.equal(ready.gitVersion, "v1.34.2");
        await assert.rejects(
            waitForApiServerReady({ url: named.url, caCertificate: pki.caCertPem, timeoutSeconds: 0.5, pollIntervalMs: 100 }),
            /TLS certificate error \(ERR_TLS_CERT_ALTNAME_INVALID/,
        );
    } finally {
        await named.close();
    }
});

test("waiting times out naming the URL, the time waited and the last status 500 when the API never gets ready", async () => {
    server.setReady(false);
    try {
        const startedAt = Date.now();
        await assert.rejects(
            waitForApiServerReady({ url: server.url, caCertificate: pki.caCertPem, timeoutSeconds: 0.8, pollIntervalMs: 100 }),
            (error: Error) => {
                assert.ok(error.message.includes(server.url), `URL missing from: ${error.message}`);
                assert.match(error.message, /not ready after 0\.[89]|not ready after 1\.\d s/);
                assert.match(error.message, /\/readyz answered HTTP 500/);
                return true;
            },
        );
        assert.ok(Date.now() - startedAt < 3000, "overran its timeout");
    } finally {
        server.setReady(true);
    }
});

test("waiting reports a refused connection when nothing listens", async () => {
    // A port that was free a moment ago: listen and close a server to learn one.
    const closed = await startFakeApiServer({ host: "127.0.0.1", port: 0, certPath: pki.serverCertPath, keyPath: pki.serverKeyPath });
    await closed.close();
    await assert.rejects(
        waitForApiServerReady({ url: closed.url, caCertificate: pki.caCertPem, timeoutSeconds: 0.3, pollIntervalMs: 100 }),
        /ECONNREFUSED/,
    );
});

test("check refuses a URL that is not https", async () => {
    const result = await apiServerReadyProvider.check!(inputs(), inputs({ url: "http://127.0.0.1:6443" }));
    assert.equal(result.failures?.length, 1);
    assert.equal(result.failures?.[0].property, "url");
    assert.match(result.failures![0].reason, /must start with https:\/\//);
});

test("check refuses a timeout that is not greater than 0 and a CA that is not PEM", async () => {
    const result = await apiServerReadyProvider.check!(inputs(), inputs({ timeoutSeconds: 0, caCertificate: "not a certificate" }));
    assert.deepEqual(result.failures?.map((failure) => failure.property).sort(), ["caCertificate", "timeoutSeconds"]);
});

test("check accepts good inputs, drops a trailing slash and defaults the timeout to 600 s", async () => {
    const news = { url: `${server.url}/`, caCertificate: pki.caCertPem } as ApiServerReadyProviderInputs;
    const result = await apiServerReadyProvider.check!(news, news);
    assert.deepEqual(result.failures, []);
    assert.equal(result.inputs?.url, server.url);
    assert.equal(result.inputs?.timeoutSeconds, 600);
});

test("check leaves values that are unknown in a preview unvalidated", async () => {
    const unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
    const news = { url: "https://k8s-api.lab.local:443", caCertificate: unknown, timeoutSeconds: 600 };
    const result = await apiServerReadyProvider.check!(news, news);
    assert.deepEqual(result.failures, []);
});

test("diff reports a change of url, CA or timeout and never a replacement", async () => {
    const olds = { ...inputs(), gitVersion: "v1.33.4" };
    const same = await apiServerReadyProvider.diff!(server.url, olds, inputs());
    assert.equal(same.changes, false);
    for (const changed of [
        inputs({ url: "https://127.0.0.1:1" }),
        inputs({ caCertificate: unrelatedCa.caCertPem }),
        inputs({ timeoutSeconds: 9 }),
    ]) {
        const diff = await apiServerReadyProvider.diff!(server.url, olds, changed);
        assert.equal(diff.changes, true);
        assert.deepEqual(diff.replaces, []);
    }
});

test("ApiServerReady serializes its provider, keeps the CA secret, and the serialized provider waits for the API", async () => {
    const registered: pulumi.runtime.MockResourceArgs[] = [];
    await pulumi.runtime.setMocks(
        {
            newResource(args) {
                registered.push(args);
                return { id: `${args.name}-id`, state: { ...args.inputs, gitVersion: "v1.33.4" } };
            },
            call(args) {
                return args.inputs;
            },
        },
        "lab",
        "test",
        false,
    );
    const ready = new ApiServerReady("api-ready", { url: server.url, caCertificate: pki.caCertPem, timeoutSeconds: 5 });
    const caIsSecret = await pulumi.isSecret(ready.caCertificate);
    const [url, gitVersion] = await new Promise<[string, string]>((resolve) =>
        pulumi.all([ready.url, ready.gitVersion]).apply(resolve),
    );

    assert.equal(url, server.url);
    assert.equal(gitVersion, "v1.33.4");
    assert.equal(caIsSecret, true);
    assert.equal(registered.length, 1);
    assert.equal(registered[0].type, "pulumi-nodejs:dynamic/lab:ApiServerReady");
    // The engine receives the CA wrapped as a secret, not as plain text.
    const secretSignature = "1b47061264138c4ac30d75fd1eb44270";
    const caInput = registered[0].inputs.caCertificate as Record<string, unknown>;
    assert.equal(caInput[pulumi.runtime.specialSigKey], secretSignature);
    assert.equal(caInput.value, pki.caCertPem);

    const serialized = registered[0].inputs.__provider as string;
    assert.equal(typeof serialized, "string");
    const provider = loadSerializedProvider(serialized);
    const created = await provider.create(inputs());
    assert.equal(created.outs.gitVersion, "v1.33.4");
});
