#!/usr/bin/env bash
# Initialises the cluster on the first control plane with `kubeadm init --upload-certs`.
# Runs as root: sudo -n env NODE_NAME=... bash -s  (this script on stdin), after node-prepare.sh
# and after the HA endpoint answers (kubeadm talks to the API through controlPlaneEndpoint).
#
# Environment:
#   NODE_NAME               the node's name, for progress lines                   (required)
#   K8S_LAB_FUNCTIONS_ONLY  tests only: 1 defines the functions without running main
# Staged files (root-only, 0600):
#   /etc/k8s-lab/kubeadm-init.yaml   InitConfiguration + ClusterConfiguration + KubeletConfiguration
#                                    (renderKubeadmInitConfig; holds the bootstrap token and the
#                                    certificate key)
# Writes: /var/log/k8s-lab/kubeadm-init.log (0600; kubeadm's output goes there, never to stdout,
#   with token and key printing turned off), /var/lib/k8s-lab/kubeadm-init.done once init has succeeded.
# Stdout: progress lines only. Idempotent: an initialised node prints "already initialised".
# A node whose earlier init stopped half way (admin.conf without the done marker) is reset with
# `kubeadm reset --force` and initialised again: no cluster can exist yet at that point.
set -euo pipefail
shopt -s inherit_errexit # a failure inside $(...) fails the caller too

readonly INIT_CONFIG=/etc/k8s-lab/kubeadm-init.yaml
readonly LOG_DIR=/var/log/k8s-lab
readonly STATE_DIR=/var/lib/k8s-lab
readonly DONE_MARKER="${STATE_DIR}/kubeadm-init.done"

log() { echo "[${NODE_NAME:-node}] $*"; }
fail() {
    echo "[${NODE_NAME:-node}] error: $*" >&2
    exit 1
}

# Hides bootstrap tokens and 64-hex-digit keys in text read on stdin.
redact_secrets() {
    sed -E -e 's/[a-z0-9]{6}\.[a-z0-9]{16}/<redacted-token>/g' -e 's/[0-9a-fA-F]{64}/<redacted-key>/g'
}

# run_logged LOG_NAME COMMAND...: runs COMMAND with its output appended to a root-only log; on
# failure prints the log's last lines, secrets redacted, to stderr.
run_logged() {
    local log_file="${LOG_DIR}/$1.log"
    shift
    install -d -m 0700 "$LOG_DIR"
    (umask 077 && echo "=== $(date -Is) $*" >>"$log_file")
    if ! "$@" >>"$log_file" 2>&1; then
        echo "[${NODE_NAME:-node}] error: '${*:1:2}' failed; last lines of ${log_file} (secrets redacted):" >&2
        tail -n 25 "$log_file" | redact_secrets >&2
        return 1
    fi
}

main() {
    : "${NODE_NAME:?NODE_NAME is required}"
    [ "$(id -u)" = 0 ] || fail "run as root (sudo)"

    if [ -f "$DONE_MARKER" ] && [ -f /etc/kubernetes/admin.conf ]; then
        log "already initialised"
        exit 0
    fi
    [ -s "$INIT_CONFIG" ] || fail "${INIT_CONFIG} is missing or empty: stage it before running this script"

    if [ -f /etc/kubernetes/admin.conf ]; then
        log "an earlier kubeadm init did not finish: resetting this node before trying again"
        run_logged kubeadm-init kubeadm reset --force
    fi
    log "pulling control-plane images"
    run_logged kubeadm-init kubeadm config images pull --config "$INIT_CONFIG"
    log "running kubeadm init (log: ${LOG_DIR}/kubeadm-init.log)"
    # --skip-*-print (allowed with --config) keep the token and the key out of even the root-only log.
    run_logged kubeadm-init kubeadm init --config "$INIT_CONFIG" --upload-certs --skip-token-print --skip-certificate-key-print
    install -d -m 0700 "$STATE_DIR"
    touch "$DONE_MARKER"
    log "control plane initialised"
}

if [ "${K8S_LAB_FUNCTIONS_ONLY:-}" != 1 ]; then
    main "$@"
fi
