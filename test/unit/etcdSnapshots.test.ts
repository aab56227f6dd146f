import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { etcdToolsFor, etcdToolsReleases } from "../../components/render/etcdSnapshots";
import { evaluateProgram } from "../helpers/program";
import { MockRecorder } from "../helpers/pulumiMocks";
import { labConfigWith } from "../helpers/stackConfig";

const command = "command:remote:Command";
const controlPlanes = ["k8s-control01", "k8s-control02", "k8s-control03"];

describe("etcd snapshots in the graph (issue 12)", () => {
    let recorder: MockRecorder;
    before(async () => {
        ({ recorder } = await evaluateProgram(labConfigWith({ etcdSnapshotKeep: 5, etcdSnapshotSchedule: "daily" })));
    });
    const cmd = (name: string) => recorder.named(name, command);

    for (const node of controlPlanes) {
        test(`${node} installs its snapshot timer after it is an etcd member, with the staged script and units`, () => {
            const install = cmd(`${node}-etcd-snapshots`);
            const member = cmd(node === "k8s-control01" ? `${node}-kubeadm-init` : `${node}-kubeadm-join`);
            assert.ok(recorder.dependsOn(install, member), "after the init/join");
            for (const file of ["etcd-snapshot.sh", "etcd-snapshot.service", "etcd-snapshot.timer"]) {
                assert.ok(recorder.dependsOn(install, cmd(`${node}-file-${file}`)), file);
            }
            assert.match(cmd(`${node}-file-etcd-snapshot.timer`).inputs.stdin, /^OnCalendar=daily$/m);
            assert.match(install.inputs.create, /SNAPSHOT_KEEP='5'/);
            assert.match(install.inputs.create, /NFS_SERVER='192\.168\.1\.50' NFS_PATH='\/srv\/nfs\/k8s'/);
            assert.match(install.inputs.create, new RegExp(`ETCD_TOOLS_SHA256='${etcdToolsReleases["3.6"].sha256}'`));
        });
    }

    test("no worker gets a snapshot timer", () => {
        assert.deepEqual(recorder.ofType(command).filter((r) => r.name.endsWith("-etcd-snapshots")).map((r) => r.name).sort(), controlPlanes.map((node) => `${node}-etcd-snapshots`));
    });
});

test("etcd tools follow kubeadm's etcd minor: 3.5 up to Kubernetes 1.33, 3.6 from 1.34", () => {
    assert.equal(etcdToolsFor("1.33.4").version, etcdToolsReleases["3.5"].version);
    assert.equal(etcdToolsFor("1.34.2").version, etcdToolsReleases["3.6"].version);
    assert.match(etcdToolsFor("1.36.0").version, /^3\.6\./);
});

test("with nfs off, snapshots stay on the node", async () => {
    const { recorder } = await evaluateProgram(labConfigWith({ nfs: false }));
    assert.match(recorder.named("k8s-control01-etcd-snapshots", command).inputs.create, /NFS_SERVER='' NFS_PATH=''/);
});
