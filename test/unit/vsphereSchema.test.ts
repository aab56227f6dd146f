import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { before, test } from "node:test";
import { projectRoot } from "../../components/render/manifests";
import { evaluateProgram } from "../helpers/program";
import { MockRecorder } from "../helpers/pulumiMocks";
import { labConfigWith } from "../helpers/stackConfig";

/** pulumi-vsphere v4.17.0's schema.json, the subset the lab uses (copied from ../shared/reference). */
const schema = JSON.parse(fs.readFileSync(path.join(projectRoot, "test/fixtures/vsphere-v4.17.0-schema-subset.json"), "utf8"));

interface SchemaProperty {
    type?: string;
    $ref?: string;
    items?: SchemaProperty;
    additionalProperties?: SchemaProperty;
}

/** Problems of a value against a schema property: unknown names in nested objects, wrong primitive types. */
function check(where: string, value: unknown, property: SchemaProperty): string[] {
    if (value === undefined || value === null) return [];
    if (property.$ref) {
        const typeName = property.$ref.replace("#/types/", "");
        const type = schema.types[typeName];
        if (!type) return [`${where}: schema type ${typeName} missing from the fixture`];
        return checkObject(where, value, type.properties);
    }
    switch (property.type) {
        case "array":
            return Array.isArray(value) ? value.flatMap((item, i) => check(`${where}[${i}]`, item, property.items!)) : [`${where}: expected an array`];
        case "object":
            return typeof value === "object"
                ? Object.entries(value as object).flatMap(([k, v]) => check(`${where}.${k}`, v, property.additionalProperties ?? {}))
                : [`${where}: expected an object`];
        case "integer":
            return Number.isInteger(value) ? [] : [`${where}: expected an integer, got ${JSON.stringify(value)}`];
        case "number":
            return typeof value === "number" ? [] : [`${where}: expected a number`];
        case "boolean":
            return typeof value === "boolean" ? [] : [`${where}: expected a boolean, got ${JSON.stringify(value)}`];
        case "string":
            return typeof value === "string" ? [] : [`${where}: expected a string, got ${JSON.stringify(value)}`];
        default:
            return [];
    }
}

function checkObject(where: string, value: unknown, properties: Record<string, SchemaProperty>): string[] {
    if (typeof value !== "object" || value === null || Array.isArray(value)) return [`${where}: expected an object`];
    return Object.entries(value).flatMap(([name, child]) =>
        name in properties ? check(`${where}.${name}`, child, properties[name]) : [`${where}.${name}: not a property of the schema`],
    );
}

let recorder: MockRecorder;
before(async () => {
    ({ recorder } = await evaluateProgram(labConfigWith()));
});

test("every VirtualMachine input the lab sends is a property of the v4.17.0 schema, with its type", () => {
    const resource = schema.resources["vsphere:index/virtualMachine:VirtualMachine"];
    const vms = recorder.ofType("vsphere:index/virtualMachine:VirtualMachine");
    assert.equal(vms.length, 6);
    for (const vm of vms) {
        assert.deepEqual(checkObject(vm.name, vm.inputs, resource.inputProperties), []);
        for (const required of resource.requiredInputs ?? []) {
            assert.ok(required in vm.inputs, `${vm.name} lacks required input ${required}`);
        }
    }
});

// Issue 13 item 6: the DRS rule keeping the control planes apart.
test("the control planes' anti-affinity rule uses the v4.17.0 schema's names and lists exactly the control-plane VMs", () => {
    const resource = schema.resources["vsphere:index/computeClusterVmAntiAffinityRule:ComputeClusterVmAntiAffinityRule"];
    const [rule, ...others] = recorder.ofType("vsphere:index/computeClusterVmAntiAffinityRule:ComputeClusterVmAntiAffinityRule");
    assert.ok(rule, "no anti-affinity rule on a compute cluster with 3 control planes");
    assert.equal(others.length, 0);
    assert.deepEqual(checkObject(rule.name, rule.inputs, resource.inputProperties), []);
    for (const required of resource.requiredInputs ?? []) assert.ok(required in rule.inputs, `the rule lacks required input ${required}`);
    const controlPlaneIds = recorder
        .ofType("vsphere:index/virtualMachine:VirtualMachine")
        .filter((vm) => vm.inputs.name.includes("control"))
        .map((vm) => `${vm.name}-id`);
    assert.deepEqual([...rule.inputs.virtualMachineIds].sort(), controlPlaneIds.sort());
    assert.equal(rule.inputs.computeClusterId, "getComputeCluster-Lab");
    assert.equal(rule.inputs.mandatory, false);
});

test("no anti-affinity rule with one control plane, or with controlPlaneAntiAffinity off", async () => {
    for (const changes of [{ controlPlanes: [{ name: "k8s-control01", address: "192.168.1.200" }] }, { controlPlaneAntiAffinity: false }]) {
        const { recorder: other } = await evaluateProgram(labConfigWith(changes));
        assert.equal(other.ofType("vsphere:index/computeClusterVmAntiAffinityRule:ComputeClusterVmAntiAffinityRule").length, 0, JSON.stringify(changes));
    }
    ({ recorder } = await evaluateProgram(labConfigWith()));
});

test("every invoke uses a function token and argument names of the v4.17.0 schema", () => {
    const vsphereInvokes = recorder.invokes.filter((i) => i.token.startsWith("vsphere:"));
    assert.deepEqual(
        [...new Set(vsphereInvokes.map((i) => i.token))].sort(),
        [
            "vsphere:index/getComputeCluster:getComputeCluster",
            "vsphere:index/getDatacenter:getDatacenter",
            "vsphere:index/getDatastore:getDatastore",
            "vsphere:index/getNetwork:getNetwork",
            "vsphere:index/getVirtualMachine:getVirtualMachine",
        ],
    );
    for (const invoke of vsphereInvokes) {
        const fn = schema.functions[invoke.token];
        assert.ok(fn, `${invoke.token} is not a function of the schema`);
        assert.deepEqual(checkObject(invoke.token, invoke.inputs, fn.inputs.properties), []);
        for (const required of fn.inputs.required ?? []) {
            assert.ok(required in invoke.inputs, `${invoke.token} lacks required ${required}`);
        }
    }
});

test("the lab reads only outputs the schema declares for the template lookup", () => {
    const outputs = schema.functions["vsphere:index/getVirtualMachine:getVirtualMachine"].outputs.properties;
    for (const name of ["uuid", "guestId", "firmware", "scsiType", "networkInterfaceTypes", "disks"]) {
        assert.ok(name in outputs, `getVirtualMachine has no output ${name}`);
    }
});

test("the provider is configured with the schema's config variable names", () => {
    const provider = recorder.ofType("pulumi:providers:vsphere")[0];
    const variables = schema.config.variables;
    for (const name of Object.keys(provider.inputs).filter((k) => k !== "version")) {
        assert.ok(name in variables, `provider input ${name} is not a vsphere config variable`);
    }
});

test("resource-pool placement looks up the pool instead of a cluster", async () => {
    const { recorder: pool } = await evaluateProgram(labConfigWith({ vsphereCluster: "", vsphereResourcePool: "esxi01.lab/Resources", controlPlaneAntiAffinity: false }));
    const tokens = pool.invokes.map((i) => i.token);
    assert.ok(tokens.includes("vsphere:index/getResourcePool:getResourcePool"));
    assert.ok(!tokens.includes("vsphere:index/getComputeCluster:getComputeCluster"));
    const fn = schema.functions["vsphere:index/getResourcePool:getResourcePool"];
    const invoke = pool.invokes.find((i) => i.token === "vsphere:index/getResourcePool:getResourcePool")!;
    assert.deepEqual(checkObject(invoke.token, invoke.inputs, fn.inputs.properties), []);
});
