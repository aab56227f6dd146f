import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import { renderScript } from "../../components/render/manifests";
import { evaluateProgram } from "../helpers/program";
import { mockCaCertHash, mockKubeconfig, MockRecorder, plainValues, promiseOf, RecordedResource, secretValues } from "../helpers/pulumiMocks";
import { labConfigWith } from "../helpers/stackConfig";

const command = "command:remote:Command";
const controlPlanes = ["k8s-control01", "k8s-control02", "k8s-control03"];
const workers = ["k8s-worker01", "k8s-worker02", "k8s-worker03"];
const joiners = [...controlPlanes.slice(1), ...workers];
const addressOf: Record<string, string> = {
    "k8s-control01": "192.168.1.200",
    "k8s-control02": "192.168.1.201",
    "k8s-control03": "192.168.1.202",
    "k8s-worker01": "192.168.1.210",
    "k8s-worker02": "192.168.1.211",
    "k8s-worker03": "192.168.1.212",
};

let recorder: MockRecorder;
let programExports: Record<string, unknown>;
before(async () => {
    ({ recorder, exports: programExports } = await evaluateProgram(labConfigWith()));
});

const cmd = (name: string) => recorder.named(name, command);
const secretOf = (name: string) => recorder.named(name).outputs;
/** What node 0's mint step printed for `node`'s join (the mocks answer each mint with its own). */
const minted = (node: string) => JSON.parse(cmd(`${node}-join-credentials`).outputs.stdout) as { token: string; certificateKey: string };
const hostOf = (r: RecordedResource) => r.inputs.connection.host as string;

describe("cluster secrets", () => {
    test("the VRRP password has keepalived's format; no join credential is generated in the program (issue 15)", async () => {
        const { password } = await tokenKeyPassword();
        assert.match(password, /^[A-Za-z0-9]{8}$/);
        const generated = recorder.resources.filter((r) => r.type.startsWith("random:")).map((r) => r.name).sort();
        assert.deepEqual(generated, ["lab-secrets-encryption-key", "lab-secrets-keepalived-password"]);
    });
});

async function tokenKeyPassword() {
    const keepalived = cmd("lab-ha-k8s-control01-file-keepalived.conf").inputs.stdin as string;
    return { password: /auth_pass\s+(\S+)/.exec(keepalived)![1] };
}

describe("wiring: credentials flow from node 0 to every join", () => {
    test("node 0's init config carries the endpoint and subnets, and no credential (kubeadm makes the init's token)", async () => {
        const staged = cmd("k8s-control01-file-kubeadm-init.yaml");
        const [initConfiguration, clusterConfiguration] = YAML.parseAllDocuments(staged.inputs.stdin).map((d) => d.toJS());
        assert.equal(initConfiguration.bootstrapTokens[0].token, undefined);
        assert.equal(initConfiguration.certificateKey, undefined);
        assert.deepEqual(secretValues(staged.wireInputs.stdin), [], "nothing secret in it: its changes show in a preview");
        assert.equal(clusterConfiguration.controlPlaneEndpoint, "k8s.lab.example:443");
        assert.deepEqual(clusterConfiguration.apiServer.certSANs, ["192.168.1.220", "k8s.lab.example"]);
        assert.equal(clusterConfiguration.networking.podSubnet, "10.244.0.0/16");
        assert.equal(clusterConfiguration.networking.serviceSubnet, "10.96.0.0/12");
        assert.equal(clusterConfiguration.kubernetesVersion, "v1.37.1");
    });

    for (const node of joiners) {
        test(`${node} joins with its own minted token, node 0's CA hash${node.includes("control") ? " and its own certificate key" : ""}`, () => {
            const staged = cmd(`${node}-file-kubeadm-join.yaml`);
            assert.equal(hostOf(staged), addressOf[node]);
            const join = YAML.parse(staged.inputs.stdin);
            assert.equal(join.kind, "JoinConfiguration");
            assert.equal(join.discovery.bootstrapToken.token, minted(node).token);
            for (const other of joiners.filter((n) => n !== node)) assert.notEqual(minted(other).token, minted(node).token, `${node} shares ${other}'s token`);
            assert.ok(recorder.dependsOn(staged, cmd(`${node}-join-credentials`)));
            assert.ok(secretValues(staged.wireInputs.stdin).some((text) => text.includes(minted(node).token)), "the join config is sent as a secret");
            assert.deepEqual(join.discovery.bootstrapToken.caCertHashes, [mockCaCertHash]);
            assert.equal(join.discovery.bootstrapToken.apiServerEndpoint, "k8s.lab.example:443");
            if (node.includes("control")) {
                assert.match(minted(node).certificateKey, /^[0-9a-f]{64}$/);
                assert.equal(join.controlPlane.certificateKey, minted(node).certificateKey);
            } else {
                assert.equal(join.controlPlane, undefined);
            }
            // The CA hash is read on node 0 after init: the join config depends on that read.
            assert.ok(recorder.dependsOn(staged, cmd("k8s-control01-read-ca-cert-hash")));
        });
    }
});

describe("wiring: order", () => {
    test("the HA endpoint on every control plane precedes kubeadm init", () => {
        for (const node of controlPlanes) {
            assert.ok(recorder.dependsOn(cmd("k8s-control01-kubeadm-init"), cmd(`lab-ha-${node}-ha-install`)), node);
        }
        assert.ok(recorder.dependsOn(cmd("k8s-control01-kubeadm-init"), cmd("k8s-control01-prepare")));
    });

    test("control-plane joins form a chain: control02 after init, control03 after control02", () => {
        assert.ok(recorder.dependsOn(cmd("k8s-control02-kubeadm-join"), cmd("k8s-control01-kubeadm-init")));
        assert.ok(recorder.dependsOn(cmd("k8s-control03-kubeadm-join"), cmd("k8s-control02-kubeadm-join")));
        assert.ok(!recorder.dependsOn(cmd("k8s-control02-kubeadm-join"), cmd("k8s-control03-kubeadm-join")));
    });

    test("workers depend on node 0 and the endpoint, but not on each other", () => {
        for (const worker of workers) {
            const join = cmd(`${worker}-kubeadm-join`);
            assert.ok(recorder.dependsOn(join, cmd("k8s-control01-kubeadm-init")), worker);
            assert.ok(recorder.dependsOn(join, cmd("lab-ha-k8s-control02-ha-install")), worker);
            for (const other of workers.filter((w) => w !== worker)) {
                assert.ok(!recorder.dependsOn(join, cmd(`${other}-kubeadm-join`)), `${worker} waits for ${other}`);
                assert.ok(!recorder.dependsOn(join, cmd(`${other}-prepare`)), `${worker} waits for ${other}'s preparation`);
            }
            // ...nor on the other control planes' joins: workers start as soon as node 0 is up.
            assert.ok(!recorder.dependsOn(join, cmd("k8s-control02-kubeadm-join")), worker);
        }
    });

    test("ApiServerReady waits for node 0 and checks the VIP endpoint with the cluster CA, the API's name as TLS server name", () => {
        const ready = recorder.named("lab-api-ready");
        // Dialled by address: the DNS name need not resolve on the workstation, only be in the certificate.
        assert.equal(ready.inputs.url, "https://192.168.1.220:443");
        assert.equal(ready.inputs.serverName, "k8s.lab.example");
        assert.ok(recorder.dependsOn(ready, cmd("k8s-control01-kubeadm-init")));
        assert.ok(recorder.dependsOn(ready, cmd("k8s-control01-read-ca-cert")));
        assert.equal(typeof ready.wireInputs.caCertificate, "object", "the CA reaches ApiServerReady as a secret");
    });
});

describe("late joins and scale-in", () => {
    for (const node of joiners) {
        const role = node.includes("control") ? "control-plane" : "worker";
        test(`${node}: its credentials are minted on node 0 right before its join, secret and unlogged, once`, () => {
            const mint = cmd(`${node}-join-credentials`);
            assert.equal(hostOf(mint), addressOf["k8s-control01"]);
            assert.equal(mint.inputs.stdin, renderScript("join-credentials-mint.sh"));
            assert.match(mint.inputs.create, new RegExp(`JOINING_NODE='${node}' JOIN_ROLE='${role}' KUBERNETES_VERSION='1.37.1'`));
            assert.equal(mint.inputs.logging, "none");
            assert.ok(mint.additionalSecretOutputs.includes("stdout") && mint.additionalSecretOutputs.includes("stderr"));
            assert.ok(recorder.dependsOn(cmd(`${node}-kubeadm-join`), mint));
            // No later edit mints again or writes a token back to the node (issue 15); a rebuilt node does.
            for (const step of [mint, cmd(`${node}-file-kubeadm-join.yaml`)]) {
                for (const input of ["connection", "create", "update", "stdin"]) assert.ok(step.ignoreChanges.includes(input), `${step.name} ignores ${input}`);
                assert.ok(step.replaceWith.includes(recorder.named(`${node}-vm`).urn), `${step.name} is replaced with ${node}'s VM`);
            }
        });

        test(`${node}: removal drains (node 0), resets (the node), then deletes the Node object (node 0)`, () => {
            const drain = cmd(`${node}-drain`);
            const reset = cmd(`${node}-reset`);
            const forget = cmd(`${node}-forget`);
            const join = cmd(`${node}-kubeadm-join`);
            assert.equal(hostOf(drain), addressOf["k8s-control01"]);
            assert.equal(hostOf(reset), addressOf[node]);
            assert.equal(hostOf(forget), addressOf["k8s-control01"]);
            assert.match(drain.inputs.delete, /REMOVE_STEP='drain' .*bash \/etc\/k8s-lab\/node-remove\.sh$/);
            assert.match(forget.inputs.delete, /REMOVE_STEP='delete' .*bash \/etc\/k8s-lab\/node-remove\.sh$/);
            assert.match(drain.inputs.delete, new RegExp(`TARGET_NODE='${node}' TARGET_ROLE='${role}' TARGET_ADDRESS='${addressOf[node]}'`));
            assert.match(reset.inputs.delete, /bash \/etc\/k8s-lab\/node-reset\.sh$/);
            for (const cleanUp of [drain, reset, forget]) {
                assert.equal(cleanUp.inputs.create, undefined, `${cleanUp.name} must do nothing on create`);
            }
            // Pulumi deletes dependents first: drain -> reset -> join -> forget.
            assert.ok(recorder.dependsOn(drain, reset));
            assert.ok(recorder.dependsOn(reset, join));
            assert.ok(recorder.dependsOn(join, forget));
            // The delete scripts are staged before, and outlive, the commands that run them.
            assert.ok(recorder.dependsOn(reset, cmd(`${node}-file-node-reset.sh`)));
            assert.ok(recorder.dependsOn(drain, cmd("k8s-control01-file-node-remove.sh")));
        });

        test(`${node}: destroying the whole stack skips its drain, reset and delete (deletedWith node 0's init)`, () => {
            const init = cmd("k8s-control01-kubeadm-init");
            for (const step of ["drain", "reset", "forget"]) {
                assert.equal(cmd(`${node}-${step}`).deletedWith, init.urn, step);
            }
        });
    }

    test("staged files are removed before they are rewritten on replacement, and skipped when the VM goes", () => {
        const staged = recorder.ofType(command).filter((r) => r.name.includes("-file-"));
        assert.ok(staged.length >= 20);
        for (const file of staged) {
            assert.equal(file.deleteBeforeReplace, true, file.name);
            assert.match(file.inputs.create, /^sudo -n install -D -m 0600 -o root -g root \/dev\/stdin \/etc\/k8s-lab\/[A-Za-z0-9._-]+$/);
            const vm = recorder.named(`${file.name.replace(/^lab-ha-/, "").split("-file-")[0]}-vm`);
            assert.equal(file.deletedWith, vm.urn, file.name);
        }
    });
});

describe("remote commands", () => {
    test("every script runs from manifests/ on stdin, values as quoted env vars, never remote `environment`", () => {
        const scripts = recorder.ofType(command).filter((r) => typeof r.inputs.create === "string" && r.inputs.create.endsWith("bash -s"));
        assert.ok(scripts.length >= 20);
        for (const script of scripts) {
            assert.match(script.inputs.create, /^sudo -n env NODE_NAME='[a-z0-9-]+'( [A-Z][A-Z0-9_]*='[^']*')* bash -s$/, script.name);
            assert.match(script.inputs.stdin, /^#!\/usr\/bin\/env bash\n/, script.name);
        }
        for (const r of recorder.ofType(command)) {
            assert.equal(r.inputs.environment, undefined, `${r.name} uses environment (needs sshd AcceptEnv)`);
            assert.equal(r.inputs.addPreviousOutputInEnv, false, `${r.name} would send its previous output as environment`);
        }
    });

    test("credential reads on node 0 log nothing and mark their output secret", async () => {
        for (const what of ["ca-cert-hash", "ca-cert", "kubeconfig"]) {
            const read = cmd(`k8s-control01-read-${what}`);
            assert.equal(read.inputs.logging, "none", what);
            assert.ok(read.additionalSecretOutputs.includes("stdout") && read.additionalSecretOutputs.includes("stderr"), what);
            assert.match(read.inputs.create, new RegExp(`WHAT='${what}'`));
        }
    });

    test("every remote command connects as the admin user with the private key as a secret", () => {
        const placeholder = "<secret k8s-vsphere-lab:sshPrivateKey from the stack's encrypted config>";
        for (const r of recorder.ofType(command)) {
            assert.equal(r.inputs.connection.user, "svc_mgmt");
            assert.equal(r.inputs.connection.privateKey, placeholder);
            assert.ok(secretValues(r.wireInputs).includes(placeholder), `${r.name}: private key not sent as a secret`);
        }
    });
});

describe("behind a proxy (issue 13 item 7)", () => {
    test("node preparation and the etcd tools' download get HTTPS_PROXY, and NO_PROXY with the cluster's own ranges", async () => {
        assert.doesNotMatch(cmd("k8s-control01-prepare").inputs.create, /PROXY/, "no proxy: no variable");
        const { recorder: proxied } = await evaluateProgram(labConfigWith({ httpProxy: "http://proxy.lab.example:3128", noProxy: [".lab.example"] }));
        const noProxy = ".lab.example,localhost,127.0.0.1,192.168.1.0/24,10.244.0.0/16,10.96.0.0/12,192.168.1.220,k8s.lab.example,.svc,.cluster.local";
        for (const step of ["k8s-control01-prepare", "k8s-worker02-prepare", "k8s-control02-etcd-snapshots"]) {
            const create = proxied.named(step, command).inputs.create as string;
            assert.ok(create.includes("HTTPS_PROXY='http://proxy.lab.example:3128'"), `${step}: ${create}`);
            assert.ok(create.includes(`NO_PROXY='${noProxy}'`), `${step}: ${create}`);
        }
        ({ recorder } = await evaluateProgram(labConfigWith()));
    });
});

describe("controlPlaneSchedulable reaches running control planes (issue 11)", () => {
    test("node 0 sets the taint of every control plane after their joins", () => {
        const taint = cmd("k8s-control01-control-plane-taint");
        assert.equal(hostOf(taint), addressOf["k8s-control01"]);
        assert.match(taint.inputs.create, /SCHEDULABLE='false' CONTROL_PLANES='k8s-control01 k8s-control02 k8s-control03'/);
        for (const node of controlPlanes.slice(1)) assert.ok(recorder.dependsOn(taint, cmd(`${node}-kubeadm-join`)), node);
        assert.ok(!recorder.dependsOn(recorder.named("lab-addons-flannel"), taint), "the add-ons do not wait for it");
    });
});

describe("two control planes removed at once leave etcd one after another (issue 11)", () => {
    test("control03's reset depends on control02's: the engine deletes control03's first, control02's only after it", () => {
        const [reset02, reset03] = [cmd("k8s-control02-reset"), cmd("k8s-control03-reset")];
        assert.ok(recorder.dependsOn(reset03, reset02), "control03's reset must wait for control02's (delete order: dependents first)");
        assert.ok(!recorder.dependsOn(reset02, reset03), "a cycle");
        // Workers' resets are not chained: they hold no etcd member.
        assert.ok(!recorder.dependsOn(cmd("k8s-worker02-reset"), cmd("k8s-worker01-reset")));
    });
});

describe("join credentials are revoked once the joins are done (issue 15)", () => {
    test("node 0 runs join-credentials-revoke.sh after init and every join, replaced when the set of joins changes", () => {
        const revoke = cmd("k8s-control01-join-credentials-revoke");
        assert.equal(hostOf(revoke), addressOf["k8s-control01"]);
        assert.equal(revoke.inputs.stdin, renderScript("join-credentials-revoke.sh"));
        for (const node of joiners) assert.ok(recorder.dependsOn(revoke, cmd(`${node}-kubeadm-join`)), node);
        assert.ok(recorder.dependsOn(revoke, cmd("k8s-control01-kubeadm-init")));
        assert.equal((revoke.inputs.triggers as unknown[]).length, 1 + joiners.length, "one trigger per init/join step");
    });

    test("adding a worker replaces the revoke step (it runs again after the new join)", async () => {
        const before = (cmd("k8s-control01-join-credentials-revoke").inputs.triggers as unknown[]).length;
        const { recorder: grown } = await evaluateProgram(
            labConfigWith({ workers: [...workers.map((name) => ({ name, address: addressOf[name] })), { name: "k8s-worker04", address: "192.168.1.213" }] }),
        );
        const revoke = grown.named("k8s-control01-join-credentials-revoke", command);
        assert.equal((revoke.inputs.triggers as unknown[]).length, before + 1);
        assert.ok(grown.dependsOn(revoke, grown.named("k8s-worker04-kubeadm-join", command)));
        ({ recorder } = await evaluateProgram(labConfigWith())); // the other tests read the lab's graph
    });
});

describe("secrets stay secret", () => {
    test("no secret value appears in any non-secret input of any resource", async () => {
        const { password } = await tokenKeyPassword();
        const secrets = {
            ...Object.fromEntries(joiners.map((node) => [`${node}'s minted token`, minted(node).token])),
            ...Object.fromEntries(controlPlanes.slice(1).map((node) => [`${node}'s minted certificate key`, minted(node).certificateKey])),
            "keepalived password": password,
            "etcd encryption key": secretOf("lab-secrets-encryption-key").base64 as string,
            "SSH private key": "<secret k8s-vsphere-lab:sshPrivateKey from the stack's encrypted config>",
            "vCenter password": "<secret vsphere:password from the stack's encrypted config>",
            kubeconfig: mockKubeconfig.trim(),
            "CA hash": mockCaCertHash,
        };
        const sent = recorder.resources.flatMap((r) => secretValues(r.wireInputs));
        const leaks: string[] = [];
        for (const [what, value] of Object.entries(secrets)) {
            if (what !== "kubeconfig") {
                assert.ok(sent.some((s) => s.includes(value)), `${what} is never sent as a secret: the test would prove nothing`);
            }
            for (const r of recorder.resources) {
                for (const { path } of plainValues(r.wireInputs).filter(({ value: plain }) => plain.includes(value))) {
                    leaks.push(`${what} in ${r.name}.${path}`);
                }
            }
        }
        assert.deepEqual(leaks, []);
    });

    test("the kubeconfig output is secret, dials the VIP and checks the certificate against the API's DNS name", async () => {
        const kubeconfig = programExports.kubeconfig as pulumi.Output<string>;
        assert.equal(await pulumi.isSecret(kubeconfig), true);
        const cluster = YAML.parse(await promiseOf(kubeconfig)).clusters[0].cluster;
        assert.equal(cluster.server, "https://192.168.1.220:443");
        assert.equal(cluster["tls-server-name"], "k8s.lab.example");
        assert.equal(cluster["certificate-authority-data"], "TU9DSy1DQS1DRVJU", "the rest is kubeadm's admin.conf");
    });

    test("without apiDnsName the kubeconfig dials the VIP with no tls-server-name", async () => {
        const { exports } = await evaluateProgram(labConfigWith({ apiDnsName: undefined }));
        const cluster = YAML.parse(await promiseOf(exports.kubeconfig as pulumi.Output<string>)).clusters[0].cluster;
        assert.equal(cluster.server, "https://192.168.1.220:443");
        assert.equal("tls-server-name" in cluster, false);
        ({ recorder } = await evaluateProgram(labConfigWith()));
    });

    test("the stack exports apiEndpoint and every node with its role and address", async () => {
        assert.equal(await promiseOf(programExports.apiEndpoint as pulumi.Output<string>), "https://k8s.lab.example:443");
        const nodes = await promiseOf(programExports.nodes as pulumi.Output<{ name: string; role: string; address: string }[]>);
        assert.deepEqual(
            nodes.map((n) => `${n.name} ${n.role} ${n.address}`),
            [...controlPlanes, ...workers].map((n) => `${n} ${n.includes("control") ? "control-plane" : "worker"} ${addressOf[n]}`),
        );
    });
});

describe("other topologies", () => {
    test("one control plane: init only, no control-plane joins, workers still join", async () => {
        const { recorder: single } = await evaluateProgram(
            labConfigWith({ controlPlanes: [{ name: "k8s-control01", address: "192.168.1.200" }] }),
        );
        assert.equal(single.ofType("lab:index:ControlPlaneNode").length, 1);
        assert.equal(single.ofType(command).filter((r) => r.name.endsWith("-ha-install")).length, 1);
        assert.equal(single.ofType(command).filter((r) => /^k8s-worker0\d-kubeadm-join$/.test(r.name)).length, 3);
        ({ recorder } = await evaluateProgram(labConfigWith()));
    });

    test("schedulable control planes: init and joins carry no NoSchedule taint", async () => {
        const { recorder: schedulable } = await evaluateProgram(labConfigWith({ controlPlaneSchedulable: true }));
        const init = YAML.parseAllDocuments(schedulable.named("k8s-control01-file-kubeadm-init.yaml").inputs.stdin).map((d) => d.toJS());
        assert.deepEqual(init[0].nodeRegistration.taints, []);
        const join = YAML.parse(schedulable.named("k8s-control02-file-kubeadm-join.yaml").inputs.stdin);
        assert.deepEqual(join.nodeRegistration.taints, []);
        // They run pods, so they get the NFS mount helper like workers.
        assert.match(schedulable.named("k8s-control02-prepare").inputs.create, /RUNS_WORKLOADS='true'/);
        // (the recorder is one per process: evaluate the lab again before looking at its defaults)
        ({ recorder } = await evaluateProgram(labConfigWith()));
        assert.match(recorder.named("k8s-control02-prepare").inputs.create, /RUNS_WORKLOADS='false'/);
        assert.match(recorder.named("k8s-worker01-prepare").inputs.create, /RUNS_WORKLOADS='true'/);
    });

    test("the API name reaches every node's /etc/hosts through cloud-init", () => {
        for (const node of [...controlPlanes, ...workers]) {
            const vm = recorder.named(`${node}-vm`);
            const userdata = Buffer.from(vm.inputs.extraConfig["guestinfo.userdata"], "base64").toString("utf8");
            const hosts = YAML.parse(userdata).write_files.find((f: { path: string }) => f.path === "/etc/cloud/templates/hosts.debian.tmpl");
            assert.match(hosts.content, /^192\.168\.1\.220 k8s\.lab\.example$/m, node);
        }
    });
});
