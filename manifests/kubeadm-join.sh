#!/usr/bin/env bash
# Joins this node to the cluster with `kubeadm join --config`, as a worker or as a further control
# plane (stacked etcd). Run join-credentials-mint.sh on the first control plane just before.
# Runs as root: sudo -n env NODE_NAME=... JOIN_ROLE=... bash -s  (this script on stdin).
#
# Environment:
#   NODE_NAME               the node's name, for progress lines                   (required)
#   JOIN_ROLE               control-plane | worker; must match the staged config  (required)
#   K8S_LAB_FUNCTIONS_ONLY  tests only: 1 defines the functions without running main
# Staged files (root-only, 0600):
#   /etc/k8s-lab/kubeadm-join.yaml   JoinConfiguration (renderKubeadmJoinConfig; holds the bootstrap
#                                    token and, for control planes, the certificate key)
# Writes: /var/log/k8s-lab/kubeadm-join.log (0600), /var/lib/k8s-lab/kubeadm-join.done once joined.
#   Removes the staged join config once joined (issue 15): its token and key were minted for this
#   join alone and are revoked after it, and no credential stays on the node.
# Stdout: progress lines only. Idempotent: a joined node prints "already joined".
# A node whose earlier join stopped half way (kubelet.conf without the done marker) is reset with
# `kubeadm reset --force` (which also takes a half-added etcd member out) and joined again. The node
# that ran kubeadm init (kubeadm-init.done) is refused, never reset.
set -euo pipefail
shopt -s inherit_errexit # a failure inside $(...) fails the caller too

# k8s-lab:include lib/common.sh

readonly JOIN_CONFIG="${TEST_ROOT}/etc/k8s-lab/kubeadm-join.yaml"

# join_config_role FILE: prints control-plane when the JoinConfiguration has a controlPlane
# section (a top-level key in the YAML renderKubeadmJoinConfig writes), else worker.
join_config_role() {
    if grep -q '^controlPlane:' "$1"; then
        echo control-plane
    else
        echo worker
    fi
}

# refuse_initialised_node: fails when this node ran kubeadm init (kubeadm-init.sh marked it): the
# half-finished-join reset below would destroy the cluster's first control plane. Never resets it.
refuse_initialised_node() {
    if step_done kubeadm-init; then
        fail "${NODE_NAME} ran kubeadm init: it is the cluster's first control plane, and joining would reset it. Nothing was changed; keep it first in controlPlanes (to build a new cluster, use a new stack)."
    fi
}

main() {
    : "${NODE_NAME:?NODE_NAME is required}"
    : "${JOIN_ROLE:?JOIN_ROLE is required (control-plane or worker)}"
    case "$JOIN_ROLE" in
        control-plane | worker) ;;
        *) fail "JOIN_ROLE must be control-plane or worker, not ${JOIN_ROLE}" ;;
    esac
    [ "$(id -u)" = 0 ] || fail "run as root (sudo)"

    if step_done kubeadm-join && [ -f /etc/kubernetes/kubelet.conf ]; then
        rm -f "$JOIN_CONFIG"
        log "already joined"
        exit 0
    fi
    refuse_initialised_node
    [ -s "$JOIN_CONFIG" ] || fail "${JOIN_CONFIG} is missing or empty: stage it before running this script"
    local staged_role
    staged_role="$(join_config_role "$JOIN_CONFIG")"
    [ "$staged_role" = "$JOIN_ROLE" ] || fail "JOIN_ROLE is ${JOIN_ROLE} but ${JOIN_CONFIG} is a ${staged_role} join"

    if [ -f /etc/kubernetes/kubelet.conf ]; then
        log "an earlier kubeadm join did not finish: resetting this node before trying again"
        run_logged kubeadm-join kubeadm reset --force
    fi
    log "joining the cluster as ${JOIN_ROLE} (log: ${LOG_DIR}/kubeadm-join.log)"
    run_logged kubeadm-join kubeadm join --config "$JOIN_CONFIG"
    mark_step_done kubeadm-join
    rm -f "$JOIN_CONFIG"
    log "joined as ${JOIN_ROLE}"
}

if [ "${K8S_LAB_FUNCTIONS_ONLY:-}" != 1 ]; then
    main "$@"
fi
