// Issue 11 item 4: the HA endpoint's steps under mocks (components/haEndpoint.ts). Each control
// plane's install runs once, when it is created, and kubeadm waits for it; a changed config rolls
// over the running control planes through their reload steps, one after another in config order.
// What a change of the control planes runs is the change matrix's row
// (test/unit/changeMatrix.test.ts); the install script itself runs for real in test/ha/.
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { evaluateProgram } from "../helpers/program";
import { MockRecorder } from "../helpers/pulumiMocks";
import { labConfigWith } from "../helpers/stackConfig";

const command = "command:remote:Command";
const controlPlanes = ["k8s-control01", "k8s-control02", "k8s-control03"];

describe("the HA endpoint's install and reload steps", () => {
    let recorder: MockRecorder;
    before(async () => {
        ({ recorder } = await evaluateProgram(labConfigWith()));
    });
    const install = (node: string) => recorder.named(`lab-ha-${node}-ha-install`, command);
    const reload = (node: string) => recorder.named(`lab-ha-${node}-ha-reload`, command);

    test("the install runs when created and is never replaced by a config change (no triggers); the reload runs only on a change, with the config's hash", () => {
        for (const node of controlPlanes) {
            assert.match(install(node).inputs.create, /NODE_NAME='[\w-]+' VIP='192\.168\.1\.220' API_PORT='443' bash -s$/, node);
            assert.equal(install(node).inputs.triggers, undefined, node);
            assert.equal(reload(node).inputs.create, undefined, node);
            assert.match(reload(node).inputs.update, /VIP='192\.168\.1\.220' API_PORT='443' CONFIG_HASH='[0-9a-f]{16}' bash -s$/, node);
            assert.equal(reload(node).inputs.stdin, install(node).inputs.stdin, "the same install script");
            assert.ok(recorder.dependsOn(reload(node), install(node)), node);
            assert.ok(recorder.dependsOn(reload(node), recorder.named(`lab-ha-${node}-file-keepalived.conf`, command)), node);
        }
    });

    test("the reloads roll in config order, and the config hash is a secret (it is a hash of keepalived.conf, which holds the VRRP password)", () => {
        assert.ok(recorder.dependsOn(reload("k8s-control02"), reload("k8s-control01")));
        assert.ok(recorder.dependsOn(reload("k8s-control03"), reload("k8s-control02")));
        assert.ok(!recorder.dependsOn(reload("k8s-control01"), reload("k8s-control02")));
        const wire = JSON.stringify(reload("k8s-control01").wireInputs.update);
        assert.match(wire, /1b47061264138c4ac30d75fd1eb44270/, "the update command is sent as a secret");
    });

    test("kubeadm init waits for every install, and for no reload (a first pulumi up does not wait for them)", () => {
        const init = recorder.named("k8s-control01-kubeadm-init", command);
        for (const node of controlPlanes) {
            assert.ok(recorder.dependsOn(init, install(node)), node);
            assert.ok(!recorder.dependsOn(init, reload(node)), node);
        }
    });
});
