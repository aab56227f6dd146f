import * as fs from "fs";
import * as path from "path";
import { requireTool, runTool } from "./tools";

/** A throwaway certificate authority made for one test run. */
export interface TestCa {
    /** PEM file of the CA certificate. */
    readonly caCertPath: string;
    /** PEM file of the CA private key (unencrypted). */
    readonly caKeyPath: string;
    /** The CA certificate as PEM text (what a client passes as `ca:`). */
    readonly caCertPem: string;
}

/** A server certificate and its key, signed by a {@link TestCa}. */
export interface ServerCertificate {
    /** PEM file of the server certificate (leaf only). */
    readonly serverCertPath: string;
    /** PEM file of the server private key (unencrypted). */
    readonly serverKeyPath: string;
}

/** A test CA together with one server certificate it signed. */
export interface TestPki extends TestCa, ServerCertificate {}

/** Options of {@link createTestCa}. */
export interface TestCaOptions {
    /** Subject common name of the CA; default "k8s-lab-test-ca". */
    readonly commonName?: string;
    /** File name prefix inside the folder, so several CAs can share one folder; default "ca". */
    readonly fileName?: string;
}

/** Options of {@link createServerCertificate} and {@link createTestPki}. */
export interface ServerCertificateOptions {
    /** Subject common name; default "kube-apiserver". */
    readonly commonName?: string;
    /** DNS names for subjectAltName; default ["localhost"]. */
    readonly dnsNames?: readonly string[];
    /** IP addresses for subjectAltName; default ["127.0.0.1"]. */
    readonly ipAddresses?: readonly string[];
    /** File name prefix inside the folder, so several servers can share one folder; default "server". */
    readonly fileName?: string;
    /** extendedKeyUsage; default ["serverAuth"]. etcd peers need both (a peer is client and server). */
    readonly extendedKeyUsage?: readonly ("serverAuth" | "clientAuth")[];
}

/** Validity of every test certificate: a short one, these live for one test run. */
const validityDays = 2;

/** Runs Debian's openssl; throws with openssl's own message when it fails. */
function openssl(args: string[]): void {
    requireTool("openssl");
    const result = runTool("openssl", args);
    if (result.error || result.status !== 0) {
        throw new Error(`openssl ${args[0]} failed: ${result.error?.message ?? result.stderr.trim()}`);
    }
}

/** Names a subject common name may use inside `-subj` without escaping. */
function checkCommonName(commonName: string): string {
    if (!/^[A-Za-z0-9 .:_-]+$/.test(commonName)) {
        throw new Error(`test certificate common name ${JSON.stringify(commonName)} has characters -subj would misread`);
    }
    return commonName;
}

/**
 * Makes a new self-signed CA (EC P-256, basicConstraints CA:TRUE) in `dir`. Call it twice with
 * different `fileName`s to get a second, unrelated CA (for wrong-CA tests).
 */
export function createTestCa(dir: string, opts: TestCaOptions = {}): TestCa {
    fs.mkdirSync(dir, { recursive: true });
    const fileName = opts.fileName ?? "ca";
    const caCertPath = path.join(dir, `${fileName}.crt`);
    const caKeyPath = path.join(dir, `${fileName}.key`);
    // Our own config file, so the result does not depend on /etc/ssl/openssl.cnf defaults.
    const configPath = path.join(dir, `${fileName}.cnf`);
    fs.writeFileSync(
        configPath,
        [
            "[req]",
            "distinguished_name = dn",
            "x509_extensions = v3_ca",
            "prompt = no",
            "[dn]",
            `CN = ${checkCommonName(opts.commonName ?? "k8s-lab-test-ca")}`,
            "[v3_ca]",
            "basicConstraints = critical, CA:TRUE",
            "keyUsage = critical, keyCertSign, cRLSign, digitalSignature",
            "subjectKeyIdentifier = hash",
            "",
        ].join("\n"),
    );
    openssl([
        "req", "-x509", "-config", configPath,
        "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", caKeyPath, "-out", caCertPath, "-days", String(validityDays),
    ]);
    return { caCertPath, caKeyPath, caCertPem: fs.readFileSync(caCertPath, "utf8") };
}

/**
 * Makes a server key and certificate signed by `ca`, with subjectAltName from `dnsNames` and
 * `ipAddresses` and extendedKeyUsage serverAuth. Several servers (one per apiserver stand-in)
 * can be signed by the same CA by giving each a different `fileName`.
 */
export function createServerCertificate(dir: string, ca: TestCa, opts: ServerCertificateOptions = {}): ServerCertificate {
    fs.mkdirSync(dir, { recursive: true });
    const fileName = opts.fileName ?? "server";
    const dnsNames = opts.dnsNames ?? ["localhost"];
    const ipAddresses = opts.ipAddresses ?? ["127.0.0.1"];
    for (const name of dnsNames) {
        if (!/^[A-Za-z0-9*.-]+$/.test(name)) throw new Error(`test certificate DNS name ${JSON.stringify(name)} is not a host name`);
    }
    for (const ip of ipAddresses) {
        if (!/^[0-9a-fA-F:.]+$/.test(ip)) throw new Error(`test certificate IP ${JSON.stringify(ip)} is not an IP address`);
    }
    const altNames = [...dnsNames.map((name) => `DNS:${name}`), ...ipAddresses.map((ip) => `IP:${ip}`)];
    if (altNames.length === 0) throw new Error("a test server certificate needs at least one DNS name or IP address");

    const serverKeyPath = path.join(dir, `${fileName}.key`);
    const serverCertPath = path.join(dir, `${fileName}.crt`);
    const csrPath = path.join(dir, `${fileName}.csr`);
    const configPath = path.join(dir, `${fileName}.cnf`);
    fs.writeFileSync(
        configPath,
        [
            "[req]",
            "distinguished_name = dn",
            "prompt = no",
            "[dn]",
            `CN = ${checkCommonName(opts.commonName ?? "kube-apiserver")}`,
            "[v3_server]",
            "basicConstraints = critical, CA:FALSE",
            "keyUsage = critical, digitalSignature",
            `extendedKeyUsage = ${(opts.extendedKeyUsage ?? ["serverAuth"]).join(", ")}`,
            "authorityKeyIdentifier = keyid",
            `subjectAltName = ${altNames.join(", ")}`,
            "",
        ].join("\n"),
    );
    openssl([
        "req", "-new", "-config", configPath,
        "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", serverKeyPath, "-out", csrPath,
    ]);
    openssl([
        "x509", "-req", "-in", csrPath, "-CA", ca.caCertPath, "-CAkey", ca.caKeyPath, "-CAcreateserial",
        "-days", String(validityDays), "-extfile", configPath, "-extensions", "v3_server", "-out", serverCertPath,
    ]);
    return { serverCertPath, serverKeyPath };
}

/**
 * Makes a throwaway CA and one server certificate it signed, in `dir` (ca.crt, ca.key,
 * server.crt, server.key by default). Defaults: CN kube-apiserver, SAN localhost + 127.0.0.1.
 */
export function createTestPki(dir: string, opts: ServerCertificateOptions = {}): TestPki {
    const ca = createTestCa(dir);
    return { ...ca, ...createServerCertificate(dir, ca, opts) };
}

/**
 * Makes a second CA that signed nothing the test servers use: a client trusting only it must
 * refuse their certificates. Written as `<fileName>.crt/.key` (default "unrelated-ca").
 */
export function createUnrelatedCa(dir: string, fileName = "unrelated-ca"): TestCa {
    return createTestCa(dir, { commonName: "k8s-lab-unrelated-test-ca", fileName });
}
