// Issue 12 item 3: the certificates' expiry, read from the admin kubeconfig (a real certificate
// made with openssl), and the stack output that shows it.
import assert from "node:assert/strict";
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { clientCertificateExpiry, daysUntil } from "../../components/render/kubeconfig";
import { evaluateProgram } from "../helpers/program";
import { mockKubeconfig, promiseOf } from "../helpers/pulumiMocks";
import { labConfigWith } from "../helpers/stackConfig";

/** The mocks' admin kubeconfig with its client certificate replaced (or removed). */
function kubeconfigWithClientCertificate(certificateData: string | undefined): string {
    const line = "    client-certificate-data: TU9DSy1DTElFTlQtQ0VSVA==\n";
    assert.ok(mockKubeconfig.includes(line), "the mocks' kubeconfig changed shape");
    return mockKubeconfig.replace(line, certificateData ? `    client-certificate-data: ${certificateData}\n` : "");
}

test("the client certificate's notAfter is read from the current user of the kubeconfig", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kubeconfig-expiry-"));
    try {
        const made = spawnSync("openssl", [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", path.join(dir, "admin.key"), "-out", path.join(dir, "admin.crt"), "-days", "20", "-subj", "/O=kubeadm:cluster-admins/CN=kubernetes-admin",
        ], { encoding: "utf8" });
        assert.equal(made.status, 0, made.stderr);
        const pem = fs.readFileSync(path.join(dir, "admin.crt"));
        const expiry = clientCertificateExpiry(kubeconfigWithClientCertificate(pem.toString("base64")));
        assert.ok(expiry, "no expiry read");
        assert.equal(expiry, new Date(new crypto.X509Certificate(pem).validTo).toISOString());
        assert.ok([19, 20].includes(daysUntil(expiry)), `${daysUntil(expiry)} days`);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
});

test("no certificate, or data that is not one, gives no expiry (the output says unknown)", () => {
    assert.equal(clientCertificateExpiry(kubeconfigWithClientCertificate(undefined)), undefined);
    assert.equal(clientCertificateExpiry(kubeconfigWithClientCertificate("TU9DSy1DTElFTlQtQ0VSVA==")), undefined);
    assert.equal(daysUntil("2026-12-11T00:00:00.000Z", new Date("2026-12-01T00:00:00Z")), 10);
});

test("the stack exports certificatesExpire, not as a secret (the mocks' kubeconfig holds no real certificate)", async () => {
    const { exports } = await evaluateProgram(labConfigWith());
    const output = exports.certificatesExpire as pulumi.Output<string>;
    assert.equal(await pulumi.isSecret(output), false);
    assert.equal(await promiseOf(output), "unknown");
});
