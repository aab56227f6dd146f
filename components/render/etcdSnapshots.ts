/**
 * What the etcd snapshots of a control plane (issue 12) are made of: the etcd tools to install and
 * etcd-snapshot.timer with the configured schedule. Pure functions, for components/etcdSnapshots.ts.
 */
import { EtcdSnapshotConfig } from "../config";
import { readManifest, renderTemplate } from "./manifests";

/** One etcd release tarball, etcd-v<version>-linux-amd64.tar.gz, pinned by its sha256. */
export interface EtcdToolsRelease {
    readonly version: string;
    readonly sha256: string;
}

/**
 * The etcd releases whose etcdctl and etcdutl the control planes get, by etcd minor. The sha256s
 * are those of the release tarballs as Kubespray pins them (kubernetes-sigs/kubespray
 * roles/kubespray_defaults/vars/main/checksums.yml, etcd_binary_checksums.amd64, at 46dbdd39).
 * The patch is kubeadm's own etcd image version of that minor (3.5.24-0, 3.6.5-0); any patch of
 * the same minor reads and restores that minor's snapshots.
 */
export const etcdToolsReleases: Readonly<Record<"3.5" | "3.6", EtcdToolsRelease>> = {
    "3.5": { version: "3.5.24", sha256: "042497e2ddcee06f22e5d486d81f58affa26b53ee423e2a6aaca3d3ea98c8191" },
    "3.6": { version: "3.6.5", sha256: "66bad39ed920f6fc15fd74adcb8bfd38ba9a6412f8c7852d09eb11670e88cac3" },
};

/**
 * The etcd tools matching the etcd kubeadm runs for a Kubernetes version: kubeadm's
 * SupportedEtcdVersion (cmd/kubeadm/app/constants/constants.go) maps 1.31-1.33 to etcd 3.5.x and
 * 1.34-1.36 to 3.6.x. A newer minor gets 3.6 (the install script warns if the image differs).
 */
export function etcdToolsFor(kubernetesVersion: string): EtcdToolsRelease {
    const minor = Number(/^1\.(\d+)\./.exec(kubernetesVersion)?.[1]);
    if (!Number.isInteger(minor)) {
        throw new Error(`etcdToolsFor: '${kubernetesVersion}' is not a Kubernetes version 1.<minor>.<patch>`);
    }
    return etcdToolsReleases[minor <= 33 ? "3.5" : "3.6"];
}

/** etcd-snapshot.timer with its OnCalendar schedule. */
export function renderEtcdSnapshotTimer(schedule: string): string {
    if (/[\r\n]/.test(schedule)) {
        throw new Error("an etcd snapshot schedule is one OnCalendar line");
    }
    return renderTemplate(readManifest("etcd-snapshot.timer"), { onCalendar: schedule });
}

/** The environment of etcd-snapshot-install.sh (besides NODE_NAME). */
export function etcdSnapshotInstallEnv(config: EtcdSnapshotConfig, kubernetesVersion: string): Record<string, string> {
    const tools = etcdToolsFor(kubernetesVersion);
    return {
        ETCD_TOOLS_VERSION: tools.version,
        ETCD_TOOLS_SHA256: tools.sha256,
        SNAPSHOT_KEEP: String(config.keep),
        NFS_SERVER: config.nfs?.server ?? "",
        NFS_PATH: config.nfs?.path ?? "",
        NFS_MOUNT_OPTIONS: config.nfs ? config.nfs.mountOptions.join(",") : "",
    };
}
