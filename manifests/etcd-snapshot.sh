#!/usr/bin/env bash
# Takes one etcd snapshot on a control plane, verifies it, keeps the newest SNAPSHOT_KEEP and,
# when NFS is configured, copies it to the share under the node's name (with the same retention
# there). Run by etcd-snapshot.service (started by etcd-snapshot.timer) as root, with the values
# below from /etc/k8s-lab/etcd-snapshot.env (written by etcd-snapshot-install.sh).
#
# Environment:
#   NODE_NAME            this node's name: progress lines, file names, the folder on the share (required)
#   SNAPSHOT_KEEP        how many snapshots of this node to keep, locally and on the share (default 8)
#   SNAPSHOT_DIR         where snapshots are written                (default /var/lib/etcd-snapshots)
#   ETCD_ENDPOINT        the local member's client URL               (default https://127.0.0.1:2379)
#   ETCD_CACERT          etcd's CA                         (default /etc/kubernetes/pki/etcd/ca.crt)
#   ETCD_CERT            a client certificate of etcd's CA  (default kubeadm's etcd healthcheck-client)
#   ETCD_KEY             its key                         (default kubeadm's etcd healthcheck-client)
#   ETCDCTL              etcdctl to take the snapshot with              (default etcdctl on PATH)
#   ETCDUTL              etcdutl to verify it with (etcd 3.6 dropped `etcdctl snapshot status`);
#                        when not found, `etcdctl snapshot status` (etcd <= 3.5)  (default etcdutl)
#   SNAPSHOT_TIMEOUT     seconds a snapshot may take before it counts as failed     (default 600)
#   NFS_SERVER           NFS server to copy the snapshot to; empty = no copy      (default empty)
#   NFS_PATH             the export on NFS_SERVER                                 (default empty)
#   NFS_MOUNT_OPTIONS    mount -o options for the share                     (default nfsvers=4.1)
#   NFS_MOUNT_POINT      where the share is mounted while copying (default /run/k8s-lab/etcd-snapshot-nfs)
#   K8S_LAB_FUNCTIONS_ONLY  tests only: 1 defines the functions without running main
# Writes: SNAPSHOT_DIR/etcd-snapshot-NODE_NAME-<UTC time>.db (0600), and on the share
#   <NFS_PATH>/etcd-snapshots/NODE_NAME/ the same file name.
# Stdout: progress lines only. A failed snapshot or verification leaves no file behind and exits
#   non-zero, so `systemctl status etcd-snapshot.service` (and the journal) show the failure.
set -euo pipefail
shopt -s inherit_errexit # a failure inside $(...) fails the caller too

# k8s-lab:include lib/common.sh

# snapshot_name NODE TIME: the file name of NODE's snapshot taken at TIME (UTC, sortable), e.g.
# etcd-snapshot-k8s-control01-20270101T000000Z.db. Names sort in time order.
snapshot_name() {
    echo "etcd-snapshot-$1-$2.db"
}

# prune_snapshots DIR NODE KEEP: deletes NODE's snapshots in DIR except the KEEP newest; other
# files (other nodes' snapshots, anything else) are left alone. Prints one line per deletion.
prune_snapshots() {
    local dir="$1" node="$2" keep="$3" file
    local -a snapshots=()
    mapfile -t snapshots < <(find "$dir" -maxdepth 1 -type f -name "etcd-snapshot-${node}-*.db" -printf '%f\n' | sort -r)
    for file in "${snapshots[@]:keep}"; do
        rm -f -- "${dir:?}/${file}"
        log "deleted old snapshot ${dir}/${file} (keeping ${keep})"
    done
}

# verify_snapshot FILE: checks FILE is a readable etcd snapshot (hash, revision, keys) with etcdutl,
# or with etcdctl where no etcdutl exists (etcd <= 3.5); prints its status line.
verify_snapshot() {
    local status
    if command -v "$ETCDUTL" >/dev/null 2>&1; then
        status="$("$ETCDUTL" snapshot status "$1" --write-out=json)" || return 1
    else
        status="$(ETCDCTL_API=3 "$ETCDCTL" snapshot status "$1" --write-out=json)" || return 1
    fi
    # {"hash":123,"revision":45,"totalKey":67,"totalSize":2048...}: a snapshot has a revision.
    [[ "$status" =~ \"revision\":([0-9]+) ]] || return 1
    echo "$status"
}

# take_snapshot: saves a snapshot of the local member to a temporary name, verifies it and only
# then gives it its final name; prints the final path.
take_snapshot() {
    local name partial status
    name="$(snapshot_name "$NODE_NAME" "$(date -u +%Y%m%dT%H%M%SZ)")"
    partial="${SNAPSHOT_DIR}/.${name}.partial"
    install -d -m 0700 "$SNAPSHOT_DIR"
    # A snapshot holds every Secret of the cluster: root-only from the first byte.
    # etcdctl retries an unreachable member without end: bounded by timeout.
    if ! (umask 077 && ETCDCTL_API=3 timeout "$SNAPSHOT_TIMEOUT" "$ETCDCTL" --endpoints="$ETCD_ENDPOINT" --cacert="$ETCD_CACERT" \
        --cert="$ETCD_CERT" --key="$ETCD_KEY" snapshot save "$partial" >/dev/null 2>"${partial}.err"); then
        echo "[${NODE_NAME}] error: etcdctl snapshot save from ${ETCD_ENDPOINT} failed:" >&2
        cat "${partial}.err" >&2
        rm -f -- "$partial" "${partial}.err" "${partial}.part"
        return 1
    fi
    rm -f -- "${partial}.err"
    if ! status="$(verify_snapshot "$partial")"; then
        rm -f -- "$partial"
        fail "the snapshot of ${ETCD_ENDPOINT} did not verify (snapshot status failed): no snapshot kept"
    fi
    mv -- "$partial" "${SNAPSHOT_DIR}/${name}"
    log "snapshot ${SNAPSHOT_DIR}/${name} verified: ${status}" >&2
    echo "${SNAPSHOT_DIR}/${name}"
}

# copy_to_share FILE: mounts NFS_SERVER:NFS_PATH, copies FILE to etcd-snapshots/NODE_NAME/ on it,
# prunes that folder to SNAPSHOT_KEEP and unmounts.
copy_to_share() {
    local file="$1" target
    install -d -m 0700 "$NFS_MOUNT_POINT"
    if ! mount -t nfs -o "$NFS_MOUNT_OPTIONS" "${NFS_SERVER}:${NFS_PATH}" "$NFS_MOUNT_POINT"; then
        fail "could not mount ${NFS_SERVER}:${NFS_PATH}: the snapshot stays in ${SNAPSHOT_DIR} only"
    fi
    target="${NFS_MOUNT_POINT}/etcd-snapshots/${NODE_NAME}"
    local copied=0
    if install -d -m 0700 "$target" && cp -- "$file" "${target}/.$(basename "$file").partial" &&
        mv -- "${target}/.$(basename "$file").partial" "${target}/$(basename "$file")"; then
        copied=1
        prune_snapshots "$target" "$NODE_NAME" "$SNAPSHOT_KEEP"
    fi
    umount "$NFS_MOUNT_POINT" || log "warning: could not unmount ${NFS_MOUNT_POINT}"
    [ "$copied" = 1 ] || fail "could not copy $(basename "$file") to ${NFS_SERVER}:${NFS_PATH}/etcd-snapshots/${NODE_NAME}"
    log "copied $(basename "$file") to ${NFS_SERVER}:${NFS_PATH}/etcd-snapshots/${NODE_NAME}/"
}

main() {
    : "${NODE_NAME:?NODE_NAME is required}"
    SNAPSHOT_KEEP="${SNAPSHOT_KEEP:-8}"
    SNAPSHOT_DIR="${SNAPSHOT_DIR:-/var/lib/etcd-snapshots}"
    ETCD_ENDPOINT="${ETCD_ENDPOINT:-https://127.0.0.1:2379}"
    ETCD_CACERT="${ETCD_CACERT:-/etc/kubernetes/pki/etcd/ca.crt}"
    ETCD_CERT="${ETCD_CERT:-/etc/kubernetes/pki/etcd/healthcheck-client.crt}"
    ETCD_KEY="${ETCD_KEY:-/etc/kubernetes/pki/etcd/healthcheck-client.key}"
    ETCDCTL="${ETCDCTL:-etcdctl}"
    SNAPSHOT_TIMEOUT="${SNAPSHOT_TIMEOUT:-600}"
    ETCDUTL="${ETCDUTL:-etcdutl}"
    NFS_SERVER="${NFS_SERVER:-}"
    NFS_PATH="${NFS_PATH:-}"
    NFS_MOUNT_OPTIONS="${NFS_MOUNT_OPTIONS:-nfsvers=4.1}"
    NFS_MOUNT_POINT="${NFS_MOUNT_POINT:-/run/k8s-lab/etcd-snapshot-nfs}"
    [[ "$SNAPSHOT_KEEP" =~ ^[1-9][0-9]*$ ]] || fail "SNAPSHOT_KEEP must be a whole number of at least 1, not '${SNAPSHOT_KEEP}'"
    [[ "$SNAPSHOT_TIMEOUT" =~ ^[1-9][0-9]*$ ]] || fail "SNAPSHOT_TIMEOUT must be a whole number of seconds, not '${SNAPSHOT_TIMEOUT}'"
    command -v "$ETCDCTL" >/dev/null 2>&1 || fail "${ETCDCTL} not found: run etcd-snapshot-install.sh (installs etcdctl and etcdutl)"

    # The timer and a manual `systemctl start` must not write the same folder at once.
    install -d -m 0700 "$SNAPSHOT_DIR"
    exec 9>"${SNAPSHOT_DIR}/.lock"
    flock --timeout 600 9 || fail "another snapshot held ${SNAPSHOT_DIR}/.lock for 10 minutes"

    local file
    file="$(take_snapshot)"
    prune_snapshots "$SNAPSHOT_DIR" "$NODE_NAME" "$SNAPSHOT_KEEP"
    if [ -n "$NFS_SERVER" ]; then
        [ -n "$NFS_PATH" ] || fail "NFS_SERVER is set but NFS_PATH is empty"
        copy_to_share "$file"
    fi
    log "etcd snapshot done: ${file}"
}

if [ "${K8S_LAB_FUNCTIONS_ONLY:-}" != 1 ]; then
    main "$@"
fi
