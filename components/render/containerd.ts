/**
 * Issue 12 item 2: which containerd a node runs for a Kubernetes version, and the environment that
 * carries the choice to node-prepare.sh and kubernetes-upgrade-node.sh (manifests/lib/containerd.sh).
 * Pure data and functions; the facts behind them are in test/fixtures/SOURCES.md ("containerd").
 *
 * - Kubernetes 1.35 is the last minor that runs on containerd 1.x; 1.36 needs 2.x (containerd
 *   RELEASES.md "Kubernetes Support": 1.35 -> 2.2.0+, 2.1.5+, 1.7.28+; 1.36 -> 2.3.0+, 2.2.0+).
 *   Up to 1.35 a node keeps Ubuntu 24.04's own `containerd` package (1.7, main archive, security
 *   updates from Ubuntu): clusters made before this change see no runtime change on a re-run.
 * - From 1.36 on a node gets containerd's own release: containerd 2.3 (LTS, supported to April
 *   2028, and the one release containerd names as a tested direct upgrade from 1.7: RELEASES.md
 *   "Upgrade Path") with the runc its release pins (script/setup/runc-version), both downloaded
 *   from their GitHub releases and checked against the sha256s below, installed as containerd's
 *   getting-started guide says (docs/getting-started.md: the tarball under /usr/local, runc as
 *   /usr/local/sbin/runc, containerd.service). Ubuntu 24.04's archive has no containerd 2, and
 *   Docker's containerd.io repository publishes no version that could be pinned from here.
 */

/** A pinned download: its version and the sha256 of the file. */
export interface PinnedRelease {
    readonly version: string;
    readonly sha256: string;
}

/** containerd's release for Kubernetes 1.36 and later: the tarball and runc, each pinned. */
export interface UpstreamContainerd {
    /** containerd-<version>-linux-amd64.tar.gz. */
    readonly containerd: PinnedRelease;
    /** runc.amd64 of the runc release containerd's tag pins. */
    readonly runc: PinnedRelease;
}

/**
 * containerd 2.3.4 and runc 1.4.3 (containerd v2.3.4's script/setup/runc-version). The sha256s are
 * those Kubespray pins (kubernetes-sigs/kubespray roles/kubespray_defaults/vars/main/checksums.yml,
 * containerd_archive_checksums.amd64 and runc_checksums.amd64, at 46dbdd39, the commit the etcd
 * tools' pins come from too).
 */
export const upstreamContainerd: UpstreamContainerd = {
    containerd: { version: "2.3.4", sha256: "9d68969855fbf676cdb8ed758e420fb048d61f984f61de3e53eddfebe484d168" },
    runc: { version: "1.4.3", sha256: "f6ae8efc0fa40079e1475e97cbe9d1bd3f106a28d6af78a11d9f1bd565515e60" },
};

/** The first Kubernetes minor that needs containerd 2 (1.35 is the last that supports 1.x). */
export const CONTAINERD2_FROM_MINOR = 36;

/**
 * The newest Kubernetes minor the pinned containerd is chosen for: 1.37, the newest released minor
 * on 2026-12-07. containerd's support table (read at its 2026-08-22 snapshot, before 1.37 was
 * released) stops at 1.36; 2.3 is the LTS release containerd keeps for the Kubernetes releases of
 * its two years. A newer minor is refused at preview until this table is brought forward.
 */
export const NEWEST_SUPPORTED_MINOR = 37;

/** The Kubernetes minor of a 1.<minor>.<patch> version. */
export function kubernetesMinor(kubernetesVersion: string): number {
    const minor = Number(/^1\.(\d+)\.\d+$/.exec(kubernetesVersion)?.[1]);
    if (!Number.isInteger(minor)) {
        throw new Error(`kubernetesMinor: '${kubernetesVersion}' is not a Kubernetes version 1.<minor>.<patch>`);
    }
    return minor;
}

/** The containerd a node runs for a Kubernetes version: Ubuntu's package, or containerd's release. */
export type ContainerdChoice = { readonly source: "ubuntu" } | ({ readonly source: "upstream" } & UpstreamContainerd);

export function containerdFor(kubernetesVersion: string): ContainerdChoice {
    return kubernetesMinor(kubernetesVersion) >= CONTAINERD2_FROM_MINOR ? { source: "upstream", ...upstreamContainerd } : { source: "ubuntu" };
}

/**
 * The environment of node-prepare.sh and kubernetes-upgrade-node.sh naming the containerd. None for
 * Ubuntu's package (the scripts' default without CONTAINERD_VERSION), so the commands of a cluster
 * on 1.35 or older are the same as before and nothing runs again on them.
 */
export function containerdEnv(kubernetesVersion: string): Record<string, string> {
    const choice = containerdFor(kubernetesVersion);
    if (choice.source === "ubuntu") {
        return {};
    }
    return {
        CONTAINERD_VERSION: choice.containerd.version,
        CONTAINERD_SHA256: choice.containerd.sha256,
        RUNC_VERSION: choice.runc.version,
        RUNC_SHA256: choice.runc.sha256,
    };
}
