// Issue 15 item 6: the least-privilege vCenter role covers every vSphere call the program makes.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as YAML from "yaml";
import * as fs from "fs";
import * as path from "path";
import { projectRoot } from "../../components/render/manifests";
import { vsphereGrants, vsphereTokenGrants } from "../../providers/vspherePrivileges";
import { evaluateProgram } from "../helpers/program";
import { labConfigWith } from "../helpers/stackConfig";

/** Every vSphere type token the program registers or invokes for these configs. */
async function vsphereTokensUsed(configs: Record<string, unknown>[]): Promise<Set<string>> {
    const tokens = new Set<string>();
    for (const changes of configs) {
        const { recorder } = await evaluateProgram(labConfigWith(changes));
        for (const resource of recorder.resources) if (/^(vsphere:|pulumi:providers:vsphere$)/.test(resource.type)) tokens.add(resource.type);
        for (const invoke of recorder.invokes) if (invoke.token.startsWith("vsphere:")) tokens.add(invoke.token);
    }
    return tokens;
}

const variants = [{}, { vsphereCluster: "", vsphereResourcePool: "esxi01.lab/Resources", controlPlaneAntiAffinity: false }, { linkedClones: true, diskGb: undefined }];

test("every vSphere resource and lookup the program uses is covered by a grant, and every grant is used", async () => {
    const used = await vsphereTokensUsed(variants);
    assert.ok(used.has("vsphere:index/virtualMachine:VirtualMachine"), "the test would prove nothing");
    const uncovered = [...used].filter((token) => !(token in vsphereTokenGrants));
    assert.deepEqual(uncovered, [], "add these to providers/vspherePrivileges.ts (and the privileges they need)");
    assert.deepEqual(Object.keys(vsphereTokenGrants).filter((token) => !used.has(token)), [], "tokens listed but never used");
    const granted = new Set(Object.values(vsphereTokenGrants).flat());
    assert.deepEqual(Object.keys(vsphereGrants).filter((grant) => !granted.has(grant as keyof typeof vsphereGrants)), [], "grants no call needs");
});

test("privilege IDs are vSphere API names, each custom role has some, and no grant hands out administration", () => {
    for (const grant of Object.values(vsphereGrants)) {
        assert.equal(grant.role === "Read-only", grant.privileges.length === 0, `${grant.object}: Read-only has no custom privileges, a custom role has some`);
        for (const privilege of grant.privileges) {
            assert.match(privilege, /^(Datastore|Network|Resource|VirtualMachine|Host\.Inventory)\.[A-Za-z]+(\.[A-Za-z]+)?$/, privilege);
            assert.doesNotMatch(privilege, /^(Authorization|Global|Sessions\.TerminateSession|Host\.Config|Folder\.Delete)/, privilege);
        }
    }
});

test("the lab stack file logs in as a least-privilege user and verifies the vCenter's certificate", () => {
    const stack = YAML.parse(fs.readFileSync(path.join(projectRoot, "Pulumi.lab.yaml"), "utf8")).config;
    assert.notEqual(stack["vsphere:user"], "administrator@vsphere.local");
    assert.equal(stack["vsphere:allowUnverifiedSsl"], false);
});
