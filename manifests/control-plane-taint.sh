#!/usr/bin/env bash
# Sets the control planes' NoSchedule taint to match controlPlaneSchedulable, through the API, on
# the first control plane after every control plane has joined. kubeadm sets the taint only when a
# node registers, so without this a change of the key would never reach running control planes.
# Runs as root: sudo -n env NODE_NAME=... SCHEDULABLE=... CONTROL_PLANES=... bash -s  (stdin).
#
# Environment:
#   NODE_NAME               this node's name (node 0)                             (required)
#   SCHEDULABLE             true: no taint (workloads run there); false: NoSchedule (required)
#   CONTROL_PLANES          the control planes' node names, space-separated       (required)
#   API_WAIT_SECONDS        how long to wait for the API to answer               (default 300)
#   K8S_LAB_FUNCTIONS_ONLY  tests only: 1 defines the functions without running main
# Reads: /etc/kubernetes/admin.conf. Secrets: none.
# Stdout: progress lines only. Idempotent: `kubectl taint --overwrite`, and removing a taint that
#   is not there is not an error.
set -euo pipefail
shopt -s inherit_errexit # a failure inside $(...) fails the caller too

# k8s-lab:include lib/common.sh

readonly ADMIN_KUBECONFIG="${TEST_ROOT}/etc/kubernetes/admin.conf"
readonly TAINT=node-role.kubernetes.io/control-plane

main() {
    : "${NODE_NAME:?NODE_NAME is required}"
    : "${SCHEDULABLE:?SCHEDULABLE is required (true or false)}"
    : "${CONTROL_PLANES:?CONTROL_PLANES is required}"
    API_WAIT_SECONDS="${API_WAIT_SECONDS:-300}"
    case "$SCHEDULABLE" in
        true | false) ;;
        *) fail "SCHEDULABLE must be true or false, not ${SCHEDULABLE}" ;;
    esac
    [ "$(id -u)" = 0 ] || fail "run as root (sudo)"
    [ -s "$ADMIN_KUBECONFIG" ] || fail "${ADMIN_KUBECONFIG} is missing: run kubeadm-init.sh on this node first"
    export KUBECONFIG="$ADMIN_KUBECONFIG"
    wait_for_api

    local node
    for node in $CONTROL_PLANES; do
        if [ "$SCHEDULABLE" = true ]; then
            # "not found" when it is already gone: that is the state wanted.
            if ! kubectl taint nodes "$node" "${TAINT}:NoSchedule-" >/dev/null 2>&1; then
                kubectl get node "$node" >/dev/null || fail "control plane ${node} is not a Node of the cluster"
            fi
            log "${node}: schedulable (no ${TAINT} taint)"
        else
            kubectl taint nodes "$node" "${TAINT}=:NoSchedule" --overwrite >/dev/null
            log "${node}: ${TAINT}:NoSchedule"
        fi
    done
}

if [ "${K8S_LAB_FUNCTIONS_ONLY:-}" != 1 ]; then
    main "$@"
fi
