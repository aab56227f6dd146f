import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, test } from "node:test";
import { LabConfigError, parseLabConfig } from "../../components/config";
import { projectRoot, renderScript } from "../../components/render/manifests";
import { parseArguments, PlanResult, runPlan } from "../../scripts/plan";
import { secretRedactor } from "../../scripts/plan/files";
import { fullGraphEdges } from "../../scripts/plan/graph";
import { isAncestorOrSelf, PlanModel } from "../../scripts/plan/model";
import { estimateTimeline, formatDuration } from "../../scripts/plan/timeline";
import { secretValues } from "../helpers/pulumiMocks";
import { labConfigWith, mapConfigSource, secretPlaceholder } from "../helpers/stackConfig";

const labNodes = ["k8s-control01", "k8s-control02", "k8s-control03", "k8s-worker01", "k8s-worker02", "k8s-worker03"];
const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "plan-test-"));
let plan: PlanResult;
let model: PlanModel;

before(async () => {
    plan = await runPlan({ stack: "lab", outDir: path.join(workDir, "lab") });
    model = plan.artifacts.model;
});
after(() => fs.rmSync(workDir, { recursive: true, force: true }));

const read = (relative: string) => fs.readFileSync(path.join(plan.outDir, relative), "utf8");
const allFiles = (dir: string): string[] =>
    fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? allFiles(path.join(dir, e.name)) : [path.join(dir, e.name)]));

/** resources.txt rows with their tree parent (the nearest row above that is less indented). */
function treeRows(text: string): { type: string; name: string; parent?: { type: string; name: string } }[] {
    const rows: { depth: number; type: string; name: string; parent?: { type: string; name: string } }[] = [];
    for (const line of text.split("\n").filter((l) => l.startsWith(" +   "))) {
        const body = line.slice(5);
        const depth = body.search(/[a-z]/);
        const [type, name, plan] = body.slice(depth).split(/\s+/);
        assert.equal(plan, "create", line);
        const parent = [...rows].reverse().find((r) => r.depth < depth);
        rows.push({ depth, type, name, parent });
    }
    return rows;
}

test("resources.txt lists every VM under its NodeVm component, under the lab, under the stack", () => {
    const rows = treeRows(read("resources.txt"));
    assert.deepEqual(rows[0], { depth: 0, type: "pulumi:pulumi:Stack", name: "k8s-vsphere-lab-lab", parent: undefined });
    for (const node of labNodes) {
        const vm = rows.find((r) => r.name === `${node}-vm`);
        assert.ok(vm, `no row for ${node}-vm`);
        assert.equal(vm.type, "vsphere:index:VirtualMachine");
        assert.deepEqual({ type: vm.parent?.type, name: vm.parent?.name }, { type: "lab:index:NodeVm", name: node });
        const component = rows.find((r) => r.type === "lab:index:NodeVm" && r.name === node)!;
        assert.deepEqual(component.parent && { type: component.parent.type, name: component.parent.name }, { type: "lab:index:KubernetesLab", name: "lab" });
    }
    assert.equal(rows.length, model.resources.length + 1, "one row per registered resource plus the stack");
    assert.match(read("resources.txt"), new RegExp(`\\+ ${rows.length} to create`));
});

test("graph.mmd is a flowchart with a subgraph per component and an arrow for every recorded dependency", () => {
    const mermaid = read("graph.mmd");
    const lines = mermaid.trimEnd().split("\n");
    assert.equal(lines[0], "flowchart TB");
    const components = model.resources.filter((r) => !r.isStep);
    const subgraphs = lines.filter((l) => /^\s*subgraph \w+\["/.test(l));
    assert.equal(subgraphs.length, components.length);
    assert.equal(lines.filter((l) => l.trim() === "end").length, subgraphs.length, "every subgraph is closed");
    for (const component of components) {
        assert.ok(subgraphs.some((l) => l.includes(`${component.type.split(":").pop()} ${component.name}"]`)), `no subgraph for ${component.name}`);
    }
    const declared = new Set(lines.map((l) => /^\s*(?:subgraph )?([A-Za-z0-9_]+)[[({]/.exec(l)?.[1]).filter(Boolean));
    const arrows = lines.filter((l) => l.includes("-->")).map((l) => l.trim().split(" --> "));
    for (const [from, to] of arrows) {
        assert.ok(declared.has(from) && declared.has(to), `arrow ${from} --> ${to} names an undeclared node`);
    }
    assert.ok(arrows.some(([from, to]) => from === "r_lab_vsphere" && to === "r_k8s_control01_vm"), "the provider -> VM dependency is drawn");

    // Every dependency the engine would see is drawn: from it (or a component holding it) to the
    // dependent (or a component holding it), unless the tree itself implies it.
    const edges = fullGraphEdges(model);
    for (const dependent of model.resources) {
        for (const dependency of dependent.waitsFor) {
            if (isAncestorOrSelf(dependency, dependent) || isAncestorOrSelf(dependent, dependency)) continue;
            const drawn = edges.some((e) => isAncestorOrSelf(e.from, dependency) && isAncestorOrSelf(e.to, dependent));
            assert.ok(drawn, `${dependency.name} -> ${dependent.name} is not drawn`);
        }
    }
    assert.equal(arrows.length, edges.length);
});

test("graph.dot is a Graphviz digraph with a cluster per component", () => {
    const dot = read("graph.dot");
    assert.match(dot, /^\/\/.*\ndigraph plan \{\n/);
    assert.equal((dot.match(/\{/g) ?? []).length, (dot.match(/\}/g) ?? []).length, "braces balance");
    assert.equal((dot.match(/subgraph cluster_/g) ?? []).length, model.resources.filter((r) => !r.isStep).length);
    assert.match(dot, /r_lab_vsphere -> r_k8s_control01_vm;/);
});

test("files/ holds every staged file and streamed script of the program, as rendered, per node", () => {
    const redact = secretRedactor(model);
    const commands = model.resources.filter((r) => r.type === "command:remote:Command" && typeof r.record.inputs.stdin === "string");
    let checked = 0;
    for (const command of commands) {
        const { create, stdin } = command.record.inputs;
        const staged = /\/dev\/stdin\s+(\/\S+)\s*$/.exec(create ?? "");
        const isScript = /\bbash -s\s*$/.test(create ?? "");
        if (!staged && !isScript) continue;
        assert.ok(command.node, `${command.name} runs on no known node`);
        const nodeDir = path.join(plan.outDir, "files", command.node.name);
        const found = allFiles(nodeDir).filter((file) => fs.readFileSync(file, "utf8") === redact(stdin));
        assert.ok(found.length > 0, `${command.name}'s stdin is not in files/${command.node.name}/`);
        if (staged) {
            assert.ok(found.some((f) => f.endsWith(path.join(command.node!.name, staged[1]))), `${command.name} not at its node path ${staged[1]}`);
        } else {
            // What a node receives is the rendered script (shared helpers pasted in): compare with that.
            const manifest = fs.readdirSync(path.join(projectRoot, "manifests")).find((m) => m.endsWith(".sh") && renderScript(m) === stdin);
            assert.ok(manifest, `${command.name} streams a script that is not a manifests/ file`);
            assert.ok(found.some((f) => f.endsWith(path.join("scripts", manifest))), `${command.name} not named after ${manifest}`);
        }
        checked++;
    }
    // The VMs alone deliver nothing; once the program stages files, every node with commands has a folder.
    for (const node of new Set(commands.map((c) => c.node?.name))) {
        assert.ok(fs.existsSync(path.join(plan.outDir, "files", node!, "commands.txt")), `no commands.txt for ${node}`);
    }
    assert.equal(checked > 0, commands.length > 0);
});

test("files/<node>/cloud-init holds each VM's guestinfo meta-data and user-data, decoded, on unfolded lines", () => {
    const vms = model.resources.filter((r) => r.type === "vsphere:index/virtualMachine:VirtualMachine");
    assert.deepEqual(vms.map((vm) => vm.record.inputs.name), labNodes);
    for (const vm of vms) {
        const extraConfig = vm.record.inputs.extraConfig;
        for (const [key, file] of [["guestinfo.metadata", "meta-data"], ["guestinfo.userdata", "user-data"]]) {
            const text = read(`files/${vm.record.inputs.name}/cloud-init/${file}`);
            // As decoded, with the generated host key replaced by its placeholder.
            assert.equal(text, secretRedactor(model)(Buffer.from(extraConfig[key], "base64").toString("utf8")), `${vm.record.inputs.name} ${file}`);
        }
        // The SSH key on one line: the yaml package folds at 80 columns unless told not to.
        assert.match(read(`files/${vm.record.inputs.name}/cloud-init/user-data`), /^ {6}- ssh-ed25519 AAAA\S+ lab-admin@example$/m);
    }
});

test("files/cluster holds the values of every Helm release and every Kubernetes object", () => {
    for (const resource of model.resources) {
        if (resource.kind.kind === "chart") {
            assert.ok(fs.existsSync(path.join(plan.outDir, "files/cluster/helm", `${resource.name}.values.yaml`)), `no values for ${resource.name}`);
        } else if (resource.kind.kind === "manifest") {
            assert.ok(fs.existsSync(path.join(plan.outDir, "files/cluster/manifests", `${resource.name}.yaml`)), `no manifest for ${resource.name}`);
        }
    }
});

test("the timeline's critical path is a chain of dependencies, positive and no longer than the serial sum", () => {
    const { timeline } = plan.artifacts;
    assert.ok(timeline.totalSeconds > 0);
    assert.ok(timeline.totalSeconds <= timeline.serialSeconds);
    for (let i = 1; i < timeline.criticalPath.length; i++) {
        const { step, start } = timeline.criticalPath[i];
        const previous = timeline.criticalPath[i - 1];
        assert.ok(step.waitsFor.includes(previous.step), `${step.name} does not wait for ${previous.step.name}`);
        assert.equal(start, previous.finish);
    }
    assert.equal(timeline.criticalPath.at(-1)!.finish, timeline.totalSeconds);
    assert.match(read("timeline.txt"), /Estimated total \(critical path, \d+ steps\): \d+:\d\d/);
    assert.match(read("timeline.txt"), /serial sum\): \d+:\d\d/);
});

test("--duration overrides change the estimate; an unknown step is refused", () => {
    const args = parseArguments(["--stack", "lab", "--duration", "clone=1000"]);
    assert.deepEqual(args.durations, { clone: 1000 });
    const slower = estimateTimeline(model, args.durations);
    assert.equal(slower.totalSeconds, plan.artifacts.timeline.totalSeconds + 910, "every node's VM clone is on the way");
    assert.throws(() => parseArguments(["--duration", "coffee=5"]), /--duration coffee=5: write <step>=<seconds> with a step among clone, /);
});

// Issue 14 item 1: work off the critical path, and the figure before and after a prepared template.
test("issue 14: init and control-plane joins take their pre-pulled figures; a worker join keeps its own (it pulls nothing)", () => {
    const keysOf = (name: string) => model.resources.find((r) => r.name === name)!.kind.durations;
    assert.deepEqual(keysOf("k8s-control01-kubeadm-init"), ["init-prepulled"]);
    assert.deepEqual(keysOf("k8s-control02-kubeadm-join"), ["join-prepulled"]);
    assert.deepEqual(keysOf("k8s-worker01-kubeadm-join"), ["join"]);
    assert.deepEqual(keysOf("k8s-control01-vm"), ["clone", "boot"]);
    const { durations } = plan.artifacts.timeline;
    assert.ok(durations["init-prepulled"] < durations.init && durations["join-prepulled"] < durations.join);
});

test("issue 14: timeline.txt and the summary give the stock template's critical path and the prepared template's with linked clones", () => {
    const { timeline, preparedTimeline } = plan.artifacts;
    const text = read("timeline.txt");
    assert.match(text, new RegExp(`^Estimated total \\(critical path, \\d+ steps\\): ${formatDuration(timeline.totalSeconds)}$`, "m"));
    assert.match(text, new RegExp(`^Estimated total with a prepared template and linked clones \\(critical path, \\d+ steps\\): ${formatDuration(preparedTimeline.totalSeconds)}$`, "m"));
    assert.match(plan.summary, new RegExp(`critical path ${formatDuration(timeline.totalSeconds)} .*; ${formatDuration(preparedTimeline.totalSeconds)} from a prepared template with linked clones`));
    // The second estimate is the same graph with the prepared template's keys.
    assert.deepEqual(preparedTimeline.substitutions, { clone: "linked-clone", prepare: "prepare-prepared", "ha-install": "ha-install-prepared", chart: "chart-prepulled" });
    const vm = preparedTimeline.criticalPath.find((s) => s.step.name === "k8s-control01-vm")!;
    assert.equal(vm.seconds, preparedTimeline.durations["linked-clone"] + preparedTimeline.durations.boot);
    assert.match(text, /linked-clone \+ boot +k8s-control01-vm/);
    assert.ok(preparedTimeline.totalSeconds < timeline.totalSeconds);
    // Issue 14's targets (12:00 stock, 7:00 prepared) are not met with the table's figures: this
    // pins where the plan stands, so a change of the graph or the table shows here.
    assert.deepEqual([formatDuration(timeline.totalSeconds), formatDuration(preparedTimeline.totalSeconds)], ["13:58", "7:23"]);
});

test("issue 14: the prepared template's ha-install figure is no smaller than its recorded measurement", () => {
    // bench/results/ha-install.json: the sandbox run of ha-endpoint-install.sh with the packages in
    // place (test/ha/installScript.test.ts), recorded from a quiet machine.
    const recorded = JSON.parse(fs.readFileSync(path.join(projectRoot, "bench", "results", "ha-install.json"), "utf8"));
    assert.equal(recorded.machine.quiet, true);
    assert.ok(recorded.firstRun_s > 0);
    const figure = plan.artifacts.timeline.durations["ha-install-prepared"];
    assert.ok(figure >= recorded.firstRun_s, `ha-install-prepared=${figure} s is below the measured ${recorded.firstRun_s} s`);
    assert.ok(figure < plan.artifacts.timeline.durations["ha-install"], "no smaller than the step with apt");
    // The figure's comment names the measurement it rests on.
    const table = fs.readFileSync(path.join(projectRoot, "scripts", "plan", "timeline.ts"), "utf8");
    assert.match(table, /"ha-install-prepared"/);
    assert.ok(table.includes("bench/results/ha-install.json"), "timeline.ts does not name the measurement behind ha-install-prepared");
});

test("issue 14: a stack with linkedClones gets the linked-clone figure in its own estimate", async () => {
    const linked = await runPlan({ stack: "lab", outDir: path.join(workDir, "linked"), config: labConfigWith({ linkedClones: true, diskGb: undefined }) });
    const vm = linked.artifacts.model.resources.find((r) => r.name === "k8s-control01-vm")!;
    assert.equal(vm.kind.kind, "vm-linked");
    assert.equal(linked.artifacts.timeline.totalSeconds, plan.artifacts.timeline.totalSeconds - (plan.artifacts.timeline.durations.clone - plan.artifacts.timeline.durations["linked-clone"]));
});

test("a refused config fails the plan with the config error pulumi up shows, and writes nothing", async () => {
    const bad = labConfigWith({ controlPlanes: [{ name: "k8s-control01", address: "192.168.1.200" }, { name: "k8s-control02", address: "192.168.1.201" }] });
    const expected = (() => {
        try {
            parseLabConfig(mapConfigSource(bad));
        } catch (error) {
            return error as Error;
        }
        throw new Error("the config was accepted");
    })();
    const outDir = path.join(workDir, "refused");
    await assert.rejects(runPlan({ stack: "lab", outDir, config: bad }), (error: Error) => {
        assert.ok(error instanceof LabConfigError);
        assert.equal(error.message, expected.message);
        assert.match(error.message, /controlPlanes has 2 nodes/);
        return true;
    });
    assert.equal(fs.existsSync(outDir), false);
});

test("no secret reaches the plan: stack ciphertext and generated secrets appear only as placeholders", async () => {
    const ciphertext = "v1:c2VjcmV0LWNpcGhlcnRleHQtbmV2ZXItZGVjcnlwdGVk";
    const stackDir = path.join(workDir, "stacks");
    fs.mkdirSync(stackDir);
    const labFile = fs.readFileSync(path.join(projectRoot, "Pulumi.lab.yaml"), "utf8");
    fs.writeFileSync(path.join(stackDir, "Pulumi.sealed.yaml"), labFile.replace("config:\n", `config:\n  vsphere:password:\n    secure: ${ciphertext}\n`));
    const sealed = await runPlan({ stack: "sealed", stackDir, outDir: path.join(workDir, "sealed") });

    // Generated secrets (random values, SSH host private keys); a multi-line key also line by line,
    // since YAML block scalars re-indent it.
    const generated = sealed.artifacts.model.resources
        .filter((r) => r.type.startsWith("random:") || r.type.startsWith("tls:"))
        .flatMap((r) =>
            Object.entries(r.record.outputs)
                .filter(([field]) => !(field in r.record.inputs) && !/^public/.test(field))
                .map(([, value]) => value),
        )
        .filter((v): v is string => typeof v === "string" && v.length >= 4)
        .flatMap((v) => [v, ...v.split("\n").filter((line) => line.length >= 16 && !line.startsWith("-----"))]);
    assert.ok(generated.some((v) => v.includes("PRIVATE KEY")), "the host keys are among the generated secrets");
    const outputs = allFiles(sealed.outDir).map((file) => ({ file, text: fs.readFileSync(file, "utf8") }));
    for (const { file, text } of [...outputs, { file: "summary", text: sealed.summary }]) {
        assert.ok(!text.includes(ciphertext), `${file} holds the stack's ciphertext`);
        for (const value of generated) assert.ok(!text.includes(value), `${file} holds a generated secret value`);
    }
    // What the program sends as secret reaches files only through the placeholders.
    const secretTexts = sealed.artifacts.model.resources.flatMap((r) => secretValues(r.record.wireInputs));
    assert.ok(secretTexts.includes(secretPlaceholder("vsphere:password")), "the provider got the password placeholder");
    if (generated.length > 0) {
        assert.ok(outputs.some(({ text }) => /<secret [\w.-]+ generated by pulumi up>/.test(text)), "generated secrets show as named placeholders");
    }
    assert.match(sealed.summary, /pulumi up will need: pulumi config set --secret k8s-vsphere-lab:sshPrivateKey$/m);
    assert.doesNotMatch(sealed.summary, /--secret vsphere:password/, "the stack file sets the password");
});
