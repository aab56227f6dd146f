#!/usr/bin/env bash
# Installs etcd snapshots on one control plane, after it is an etcd member: etcdctl and etcdutl on
# the host, the environment file of etcd-snapshot.sh, etcd-snapshot.service and .timer (enabled),
# then takes a first snapshot so a broken setup fails `pulumi up` instead of failing silently.
# Runs as root: sudo -n env NODE_NAME=... ETCD_TOOLS_VERSION=... ... bash -s  (this script on stdin).
#
# Why a download: etcd runs as kubeadm's static pod, and the host has no etcdctl. The etcd image's
# own etcdctl cannot verify or restore a snapshot from etcd 3.6 on (Kubernetes 1.34+): etcd 3.6
# moved `snapshot status` and `snapshot restore` to etcdutl, which registry.k8s.io/etcd does not
# ship (kubernetes cluster/images/etcd/Makefile installs etcd and etcdctl only). So the host gets
# the etcd release tarball of the same etcd minor as kubeadm's etcd image, pinned by its sha256
# (the program's table in components/etcdSnapshots.ts), and keeps etcdctl + etcdutl from it.
#
# Environment:
#   NODE_NAME            this node's name, for progress lines and the snapshots' names   (required)
#   ETCD_TOOLS_VERSION   etcd release whose etcdctl/etcdutl to install, e.g. 3.6.5       (required)
#   ETCD_TOOLS_SHA256    sha256 of etcd-v<version>-linux-amd64.tar.gz                   (required)
#   SNAPSHOT_KEEP        snapshots to keep, locally and on the share                     (required)
#   NFS_SERVER           copy snapshots to this NFS server; empty = local only         (default empty)
#   NFS_PATH             its export                                                   (default empty)
#   NFS_MOUNT_OPTIONS    mount -o options for the share                         (default nfsvers=4.1)
#   HTTPS_PROXY          the lab's proxy for the download (curl reads it)         (optional)
#   NO_PROXY             what bypasses it                                         (optional)
#   APT_LOCK_WAIT_SECONDS  how long apt use waits for apt's locks                (default 900)
#   APT_RETRY_SECONDS    pause between two tries while apt's locks are held       (default 5)
#   K8S_LAB_ROOT         tests only: a folder put in front of every path written  (default empty)
#   K8S_LAB_FUNCTIONS_ONLY  tests only: 1 defines the functions without running main
# Staged files (root-only, 0600, written before this script runs):
#   /etc/k8s-lab/etcd-snapshot.sh        the snapshot script the service runs
#   /etc/k8s-lab/etcd-snapshot.service   -> /etc/systemd/system/etcd-snapshot.service
#   /etc/k8s-lab/etcd-snapshot.timer     -> /etc/systemd/system/etcd-snapshot.timer
# Writes: /etc/k8s-lab/etcd-snapshot.env (0600), /usr/local/lib/k8s-lab/etcd-v<version>/ with
#   /usr/local/bin/etcdctl and etcdutl linked to it.
# Idempotent: tools already installed are not downloaded again; units and the environment file
#   are rewritten and the timer restarted (a new schedule takes effect).
set -euo pipefail
shopt -s inherit_errexit # a failure inside $(...) fails the caller too

# k8s-lab:include lib/common.sh
# k8s-lab:include lib/apt.sh

# env_line KEY VALUE: one line of a systemd EnvironmentFile, the value double-quoted. Refuses what
# such a line cannot carry as plain text (quotes, backslashes, newlines).
env_line() {
    case "$2" in
        *'"'* | *\\* | *$'\n'*) fail "$1 '$2' has a quote, backslash or newline: not allowed in ${ENV_FILE}" ;;
    esac
    printf '%s="%s"\n' "$1" "$2"
}

# timer_schedule FILE: the OnCalendar= value of a timer unit.
timer_schedule() {
    sed -n 's/^OnCalendar=//p' "$1" | head -n 1
}

# image_etcd_minor MANIFEST: the etcd minor (3.6) of kubeadm's etcd static pod image, or nothing.
image_etcd_minor() {
    [ -f "$1" ] || return 0
    sed -nE 's#^[[:space:]]*image:[[:space:]]*[^[:space:]]*/etcd:v?([0-9]+\.[0-9]+)\..*#\1#p' "$1" | head -n 1
}

install_etcd_tools() {
    local dir="${ROOT}/usr/local/lib/k8s-lab/etcd-v${ETCD_TOOLS_VERSION}" work tarball url running
    running="$(image_etcd_minor "${ROOT}/etc/kubernetes/manifests/etcd.yaml")"
    if [ -n "$running" ] && [ "$running" != "${ETCD_TOOLS_VERSION%.*}" ]; then
        log "warning: kubeadm runs etcd ${running}.x, the tools are ${ETCD_TOOLS_VERSION}: snapshots still work, restore with the matching etcdutl"
    fi
    if [ -x "${dir}/etcdctl" ] && [ -x "${dir}/etcdutl" ]; then
        log "etcdctl and etcdutl ${ETCD_TOOLS_VERSION} already installed"
    else
        url="https://github.com/etcd-io/etcd/releases/download/v${ETCD_TOOLS_VERSION}/etcd-v${ETCD_TOOLS_VERSION}-linux-amd64.tar.gz"
        work="$(mktemp -d)"
        tarball="${work}/etcd.tar.gz"
        log "downloading etcd ${ETCD_TOOLS_VERSION} (etcdctl, etcdutl) from ${url}${HTTPS_PROXY:+ through ${HTTPS_PROXY}}${NO_PROXY:+ (not for ${NO_PROXY})}"
        curl -fsSL --retry 5 -o "$tarball" "$url" || fail "could not download ${url}"
        if ! echo "${ETCD_TOOLS_SHA256}  ${tarball}" | sha256sum --check --status; then
            rm -rf -- "$work"
            fail "etcd-v${ETCD_TOOLS_VERSION}-linux-amd64.tar.gz does not have the pinned sha256 ${ETCD_TOOLS_SHA256}: not installed"
        fi
        tar -xzf "$tarball" -C "$work" --strip-components=1 \
            "etcd-v${ETCD_TOOLS_VERSION}-linux-amd64/etcdctl" "etcd-v${ETCD_TOOLS_VERSION}-linux-amd64/etcdutl"
        install -d -m 0755 "$dir"
        install -m 0755 "${work}/etcdctl" "${work}/etcdutl" "$dir/"
        rm -rf -- "$work"
    fi
    install -d -m 0755 "${ROOT}/usr/local/bin"
    ln -sfn "${dir#"$ROOT"}/etcdctl" "${ROOT}/usr/local/bin/etcdctl"
    ln -sfn "${dir#"$ROOT"}/etcdutl" "${ROOT}/usr/local/bin/etcdutl"
}

ensure_nfs_client() {
    if command -v mount.nfs >/dev/null 2>&1 || [ -x /sbin/mount.nfs ]; then
        return 0
    fi
    log "installing nfs-common (snapshots are copied to ${NFS_SERVER})"
    # Through lib/apt.sh: serialized with the node's other apt use, retried while apt is locked.
    run_logged etcd-snapshot-install apt_get install --no-install-recommends nfs-common
}

write_env_file() {
    local tools="/usr/local/lib/k8s-lab/etcd-v${ETCD_TOOLS_VERSION}"
    (
        umask 077
        {
            echo "# Written by etcd-snapshot-install.sh (k8s-lab): the values of etcd-snapshot.sh."
            env_line NODE_NAME "$NODE_NAME"
            env_line SNAPSHOT_KEEP "$SNAPSHOT_KEEP"
            env_line ETCDCTL "${tools}/etcdctl"
            env_line ETCDUTL "${tools}/etcdutl"
            env_line NFS_SERVER "$NFS_SERVER"
            env_line NFS_PATH "$NFS_PATH"
            env_line NFS_MOUNT_OPTIONS "$NFS_MOUNT_OPTIONS"
        } >"${ENV_FILE}.new"
    )
    mv -- "${ENV_FILE}.new" "$ENV_FILE"
}

main() {
    : "${NODE_NAME:?NODE_NAME is required}"
    : "${ETCD_TOOLS_VERSION:?ETCD_TOOLS_VERSION is required}"
    : "${ETCD_TOOLS_SHA256:?ETCD_TOOLS_SHA256 is required}"
    : "${SNAPSHOT_KEEP:?SNAPSHOT_KEEP is required}"
    NFS_SERVER="${NFS_SERVER:-}"
    NFS_PATH="${NFS_PATH:-}"
    NFS_MOUNT_OPTIONS="${NFS_MOUNT_OPTIONS:-nfsvers=4.1}"
    ROOT="${K8S_LAB_ROOT:-}"
    local staged="${ROOT}/etc/k8s-lab" units="${ROOT}/etc/systemd/system" file schedule
    ENV_FILE="${staged}/etcd-snapshot.env"
    [[ "$ETCD_TOOLS_VERSION" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "ETCD_TOOLS_VERSION '${ETCD_TOOLS_VERSION}' is not <major>.<minor>.<patch>"
    [[ "$ETCD_TOOLS_SHA256" =~ ^[0-9a-f]{64}$ ]] || fail "ETCD_TOOLS_SHA256 is not 64 hex digits"
    [[ "$SNAPSHOT_KEEP" =~ ^[1-9][0-9]*$ ]] || fail "SNAPSHOT_KEEP must be a whole number of at least 1, not '${SNAPSHOT_KEEP}'"
    [ -n "$ROOT" ] || [ "$(id -u)" = 0 ] || fail "run as root (sudo)"
    for file in etcd-snapshot.sh etcd-snapshot.service etcd-snapshot.timer; do
        [ -s "${staged}/${file}" ] || fail "${staged}/${file} is missing or empty: stage it before running this script"
    done
    schedule="$(timer_schedule "${staged}/etcd-snapshot.timer")"
    systemd-analyze calendar "$schedule" >/dev/null 2>&1 ||
        fail "OnCalendar=${schedule} is not a systemd calendar expression: fix the stack config key etcdSnapshotSchedule (see: man systemd.time)"

    install_etcd_tools
    if [ -n "$NFS_SERVER" ]; then
        ensure_nfs_client
    fi
    write_env_file
    install -d -m 0755 "$units"
    install -m 0644 "${staged}/etcd-snapshot.service" "${staged}/etcd-snapshot.timer" "$units/"
    systemctl daemon-reload
    systemctl enable etcd-snapshot.timer
    systemctl restart etcd-snapshot.timer
    log "etcd-snapshot.timer enabled (OnCalendar=${schedule}, keep ${SNAPSHOT_KEEP}${NFS_SERVER:+, copies to ${NFS_SERVER}:${NFS_PATH}})"
    log "taking a first snapshot (systemctl start etcd-snapshot.service)"
    if ! systemctl start etcd-snapshot.service; then
        fail "the first etcd snapshot failed: see journalctl -u etcd-snapshot.service on ${NODE_NAME}"
    fi
    log "etcd snapshots installed"
}

if [ "${K8S_LAB_FUNCTIONS_ONLY:-}" != 1 ]; then
    main "$@"
fi
