// Issue 15 item 5: the keyrings Helm verifies signed charts with, read by real gpg.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { ChartSigningKey, addonCharts } from "../../components/render/addonValues";
import { projectRoot } from "../../components/render/manifests";
import { requireTool } from "../helpers/tools";

const keyDir = path.join(projectRoot, "manifests", "chart-keys");
const signingKeys: readonly ChartSigningKey[] = Object.values(addonCharts).flatMap((source) => ("signingKey" in source ? [source.signingKey] : []));

/** Runs gpg with a throwaway home, so neither the machine's keys nor its config take part. */
function gpg(args: string[], input?: Buffer): { status: number | null; stdout: Buffer; stderr: string } {
    requireTool("gpg");
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "k8s-lab-gpg-"));
    try {
        const run = spawnSync("gpg", ["--batch", "--homedir", home, ...args], { input, timeout: 60_000 });
        return { status: run.status, stdout: run.stdout, stderr: run.stderr.toString() };
    } finally {
        fs.rmSync(home, { recursive: true, force: true });
    }
}

test("every signed chart's keyring is binary OpenPGP holding exactly its pinned key, unexpired", () => {
    assert.ok(signingKeys.length > 0);
    for (const key of signingKeys) {
        const file = path.join(keyDir, key.keyring);
        const bytes = fs.readFileSync(file);
        // Helm's provenance check reads the keyring with openpgp.ReadKeyRing: packets only. The
        // first must be a public-key packet (tag 6): 0x99 in the old format, 0xC6 in the new.
        assert.ok(bytes[0] === 0x99 || bytes[0] === 0xc6, `${key.keyring} starts with a public-key packet, not ${bytes.subarray(0, 16).toString("latin1")}`);
        const listed = gpg(["--with-colons", "--show-keys", file]);
        assert.equal(listed.status, 0, listed.stderr);
        const lines = listed.stdout.toString().split("\n").map((line) => line.split(":"));
        const primaries = lines.filter((f) => f[0] === "pub");
        assert.equal(primaries.length, 1, `${key.keyring} holds one key`);
        const fingerprint = lines.find((f) => f[0] === "fpr")?.[9];
        assert.equal(fingerprint, key.fingerprint, `${key.keyring}: the pinned fingerprint`);
        assert.ok(lines.some((f) => f[0] === "uid" && f[9] === key.signer), `${key.keyring}: user id ${key.signer}`);
        const [, validity, , , , , expires] = primaries[0];
        assert.notEqual(validity, "e", `${key.keyring} has expired`);
        assert.notEqual(validity, "r", `${key.keyring} is revoked`);
        if (expires !== "") assert.ok(Number(expires) * 1000 > Date.now(), `${key.keyring} expired on ${new Date(Number(expires) * 1000).toISOString()}`);
    }
});

test("each keyring is the publisher's armored key beside it, de-armored (so a key update is a reviewable .asc diff)", () => {
    for (const key of signingKeys) {
        const armored = path.join(keyDir, key.keyring.replace(/\.gpg$/, ".asc"));
        const dearmored = gpg(["--dearmor"], fs.readFileSync(armored));
        assert.equal(dearmored.status, 0, dearmored.stderr);
        assert.ok(dearmored.stdout.equals(fs.readFileSync(path.join(keyDir, key.keyring))), `${key.keyring} = gpg --dearmor ${path.basename(armored)}`);
    }
});

test("manifests/chart-keys holds the signed charts' keys and nothing else", () => {
    const expected = signingKeys.flatMap((key) => [key.keyring, key.keyring.replace(/\.gpg$/, ".asc")]).sort();
    assert.deepEqual(fs.readdirSync(keyDir).sort(), expected);
});
