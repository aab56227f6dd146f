/**
 * etcd snapshots on a control plane (issue 12): etcd-snapshot.sh with its systemd service and
 * timer, staged and installed once the node is an etcd member.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { EtcdSnapshotConfig } from "./config";
import { etcdSnapshotInstallEnv, renderEtcdSnapshotTimer } from "./render/etcdSnapshots";
import { readManifest, renderScript } from "./render/manifests";
import { contentHash, NodeConnection, runScript, stageFile } from "./remoteScript";

/** Arguments of {@link installEtcdSnapshots}. */
export interface EtcdSnapshotArgs {
    readonly connection: NodeConnection;
    readonly config: EtcdSnapshotConfig;
    readonly kubernetesVersion: string;
    /** The node's kubeadm init or join: snapshots need a member. */
    readonly member: pulumi.Resource;
    /** Issue 13 item 7: HTTPS_PROXY/NO_PROXY for the etcd tools' download. */
    readonly proxyEnv?: Readonly<Record<string, string>>;
}

/**
 * Stages etcd-snapshot.sh, .service and .timer on a control plane and runs
 * etcd-snapshot-install.sh, which installs etcdctl/etcdutl, enables the timer and takes a first
 * snapshot. A changed unit or schedule runs the install again; a changed snapshot script is just
 * rewritten (the service runs the staged file). Returns the install command.
 */
export function installEtcdSnapshots(name: string, args: EtcdSnapshotArgs, parent: pulumi.Resource): command.remote.Command {
    const files = [
        { fileName: "etcd-snapshot.sh", content: renderScript("etcd-snapshot.sh") },
        { fileName: "etcd-snapshot.service", content: readManifest("etcd-snapshot.service") },
        { fileName: "etcd-snapshot.timer", content: renderEtcdSnapshotTimer(args.config.schedule) },
    ];
    const staged = files.map((file) => stageFile(`${name}-file-${file.fileName}`, { node: args.connection, ...file }, { parent }));
    return runScript(
        `${name}-etcd-snapshots`,
        {
            node: args.connection,
            script: "etcd-snapshot-install.sh",
            env: { ...etcdSnapshotInstallEnv(args.config, args.kubernetesVersion), ...(args.proxyEnv ?? {}) },
            triggers: files.slice(1).map((file) => contentHash(file.content)),
        },
        { parent, dependsOn: [args.member, ...staged] },
    );
}
