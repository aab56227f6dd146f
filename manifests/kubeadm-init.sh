#!/usr/bin/env bash
# Initialises the cluster on the first control plane with `kubeadm init`.
# Runs as root: sudo -n env NODE_NAME=... bash -s  (this script on stdin), after node-prepare.sh
# and after the HA endpoint answers (kubeadm talks to the API through controlPlaneEndpoint).
#
# Environment:
#   NODE_NAME               the node's name, for progress lines                   (required)
#   K8S_LAB_FUNCTIONS_ONLY  tests only: 1 defines the functions without running main
# Staged files (root-only, 0600):
#   /etc/k8s-lab/kubeadm-init.yaml   InitConfiguration + ClusterConfiguration + KubeletConfiguration
#                                    (renderKubeadmInitConfig; no secret: kubeadm generates the
#                                    init's bootstrap token, which join-credentials-revoke.sh
#                                    deletes, and uploads no certificates: each control-plane join
#                                    gets its own certificate key from join-credentials-mint.sh)
# Writes: /var/log/k8s-lab/kubeadm-init.log (0600; kubeadm's output goes there, never to stdout,
#   with token printing turned off), /var/lib/k8s-lab/kubeadm-init.done once init has succeeded.
# Stdout: progress lines only. Idempotent: an initialised node prints "already initialised".
# A node whose earlier init stopped half way (admin.conf without the done marker) is reset with
# `kubeadm reset --force` and initialised again: no cluster can exist yet at that point. A node that
# joined the cluster (kubeadm-join.done) is refused, never reset.
set -euo pipefail
shopt -s inherit_errexit # a failure inside $(...) fails the caller too

# k8s-lab:include lib/common.sh

readonly INIT_CONFIG=/etc/k8s-lab/kubeadm-init.yaml

# refuse_joined_node: fails when this node joined the cluster (kubeadm-join.sh marked it): the
# half-finished-init reset below would take a working member out. Never resets it.
refuse_joined_node() {
    if step_done kubeadm-join; then
        fail "${NODE_NAME} already joined the cluster as a member: kubeadm init would reset it. Nothing was changed; the first entry of controlPlanes must stay the node that ran kubeadm init (to build a new cluster, use a new stack)."
    fi
}

main() {
    : "${NODE_NAME:?NODE_NAME is required}"
    [ "$(id -u)" = 0 ] || fail "run as root (sudo)"

    if step_done kubeadm-init && [ -f /etc/kubernetes/admin.conf ]; then
        log "already initialised"
        exit 0
    fi
    refuse_joined_node
    [ -s "$INIT_CONFIG" ] || fail "${INIT_CONFIG} is missing or empty: stage it before running this script"

    if [ -f /etc/kubernetes/admin.conf ]; then
        log "an earlier kubeadm init did not finish: resetting this node before trying again"
        run_logged kubeadm-init kubeadm reset --force
    fi
    # No `kubeadm config images pull` here (issue 14): node-prepare.sh pre-pulled the images, and
    # init's own preflight pulls only those still missing (ImagePullCheck with kubeadm's default
    # imagePullPolicy IfNotPresent: cmd/kubeadm/app/preflight/checks.go), from the images --config
    # names, so a failed pre-pull is still covered without asking the registry again.
    log "running kubeadm init (log: ${LOG_DIR}/kubeadm-init.log)"
    # --skip-token-print (allowed with --config) keeps the token out of even the root-only log.
    run_logged kubeadm-init kubeadm init --config "$INIT_CONFIG" --skip-token-print
    mark_step_done kubeadm-init
    log "control plane initialised"
}

if [ "${K8S_LAB_FUNCTIONS_ONLY:-}" != 1 ]; then
    main "$@"
fi
