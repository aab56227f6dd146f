// Issue 12 item 2: which containerd a node runs for a Kubernetes version (components/render/containerd.ts)
// and how the choice reaches the node scripts: node preparation and the upgrade's node steps get the
// release's pinned version and sha256s from 1.36 on, and nothing (Ubuntu's package) up to 1.35, so
// the commands of a cluster on 1.35 or older do not change. The scripts' behaviour is tested in
// test/render/containerdForKubernetes.test.ts and test/render/kubernetesUpgrade.test.ts.
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { CONTAINERD2_FROM_MINOR, containerdEnv, containerdFor, NEWEST_SUPPORTED_MINOR, upstreamContainerd } from "../../components/render/containerd";
import { evaluateProgram } from "../helpers/program";
import { MockRecorder, RecordedResource } from "../helpers/pulumiMocks";
import { labConfigWith } from "../helpers/stackConfig";

const command = "command:remote:Command";
const nodes = ["k8s-control01", "k8s-control02", "k8s-control03", "k8s-worker01", "k8s-worker02", "k8s-worker03"];

test("up to 1.35 Ubuntu's package (no environment); from 1.36 containerd 2.3.4 and runc 1.4.3, each with a sha256", () => {
    assert.equal(CONTAINERD2_FROM_MINOR, 36);
    for (const version of ["1.31.0", "1.34.2", "1.35.9"]) {
        assert.deepEqual(containerdFor(version), { source: "ubuntu" }, version);
        assert.deepEqual(containerdEnv(version), {}, version);
    }
    for (const version of ["1.36.0", "1.37.1"]) {
        assert.equal(containerdFor(version).source, "upstream", version);
        assert.deepEqual(containerdEnv(version), {
            CONTAINERD_VERSION: "2.3.4",
            CONTAINERD_SHA256: "9d68969855fbf676cdb8ed758e420fb048d61f984f61de3e53eddfebe484d168",
            RUNC_VERSION: "1.4.3",
            RUNC_SHA256: "f6ae8efc0fa40079e1475e97cbe9d1bd3f106a28d6af78a11d9f1bd565515e60",
        });
    }
    for (const pin of [upstreamContainerd.containerd, upstreamContainerd.runc]) {
        assert.match(pin.version, /^\d+\.\d+\.\d+$/);
        assert.match(pin.sha256, /^[0-9a-f]{64}$/);
    }
    assert.ok(NEWEST_SUPPORTED_MINOR >= CONTAINERD2_FROM_MINOR);
    assert.throws(() => containerdFor("v1.37.1"), /not a Kubernetes version/);
});

const runsScript = (r: RecordedResource) => (r.inputs.create ?? r.inputs.update) as string;

describe("the lab stack (Kubernetes 1.37.1): the release reaches every node's preparation and the upgrade steps", () => {
    let recorder: MockRecorder;
    const cmd = (name: string) => recorder.named(name, command);
    before(async () => {
        ({ recorder } = await evaluateProgram(labConfigWith({})));
    });
    test("every node's preparation names containerd 2.3.4 and runc 1.4.3 with their sha256s", () => {
        for (const node of nodes) {
            assert.match(
                runsScript(cmd(`${node}-prepare`)),
                / KUBERNETES_VERSION='1\.37\.1' .*CONTAINERD_VERSION='2\.3\.4' CONTAINERD_SHA256='9d68969855fbf676cdb8ed758e420fb048d61f984f61de3e53eddfebe484d168' RUNC_VERSION='1\.4\.3' RUNC_SHA256='f6ae8efc0fa40079e1475e97cbe9d1bd3f106a28d6af78a11d9f1bd565515e60'/,
                node,
            );
        }
    });
    test("each node's kubelet upgrade step can move it (the same four values), and the preflight knows the version it moves to", () => {
        for (const node of nodes) {
            assert.match(runsScript(cmd(`${node}-upgrade-kubelet`)), /CONTAINERD_VERSION='2\.3\.4' CONTAINERD_SHA256='[0-9a-f]{64}' RUNC_VERSION='1\.4\.3' RUNC_SHA256='[0-9a-f]{64}'/, node);
        }
        assert.match(runsScript(cmd("lab-kubernetes-upgrade-preflight")), /CONTAINERD_VERSION='2\.3\.4'/);
    });
});

describe("a stack on Kubernetes 1.35: nothing about containerd in any command (Ubuntu's package, as before)", () => {
    let recorder: MockRecorder;
    before(async () => {
        ({ recorder } = await evaluateProgram(labConfigWith({ kubernetesVersion: "1.35.9" })));
    });
    test("no command names CONTAINERD_ or RUNC_", () => {
        const scripts = recorder.ofType(command).map(runsScript).filter((text) => typeof text === "string");
        assert.ok(scripts.some((text) => text.includes("KUBERNETES_VERSION='1.35.9'")));
        for (const text of scripts) assert.doesNotMatch(text, /CONTAINERD_|RUNC_/);
    });
});
