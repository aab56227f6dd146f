#!/usr/bin/env bash
# Takes a node out of the cluster, run on the first control plane: drains it, removes its etcd
# member (control planes), deletes its Node object. Tolerates a node or a cluster that is gone.
# Runs as root: sudo -n env NODE_NAME=... TARGET_NODE=... TARGET_ROLE=... bash -s  (stdin).
#
# Environment:
#   NODE_NAME               this node's name (node 0), for progress lines         (required)
#   TARGET_NODE             the node to remove                                    (required)
#   TARGET_ROLE             control-plane | worker                                (required)
#   TARGET_ADDRESS          the target's address: also finds an etcd member that never started
#                           and so has no name yet                                (optional)
#   REMOVE_STEP             drain | delete | all                                  (default all)
#                           The clean order around node-reset.sh on the target is:
#                           REMOVE_STEP=drain, then node-reset.sh, then REMOVE_STEP=delete.
#   DRAIN_TIMEOUT           kubectl drain --timeout                               (default 300s)
#   API_WAIT_SECONDS        how long to wait for the API before giving up         (default 60)
#   K8S_LAB_FUNCTIONS_ONLY  tests only: 1 defines the functions without running main
# Reads: /etc/kubernetes/admin.conf. Staged files: none. Secrets: none.
# Stdout: progress lines only. Idempotent: a node already gone prints so and succeeds; with no
#   cluster (no admin.conf) or no API within API_WAIT_SECONDS it prints why and exits 0.
set -euo pipefail
shopt -s inherit_errexit # a failure inside $(...) fails the caller too

# k8s-lab:include lib/common.sh

readonly ADMIN_KUBECONFIG=/etc/kubernetes/admin.conf

api_answers() {
    local deadline=$((SECONDS + API_WAIT_SECONDS))
    until kubectl get --raw=/readyz >/dev/null 2>&1; do
        [ "$SECONDS" -lt "$deadline" ] || return 1
        sleep 5
    done
}

# etcd_member_id NAME [ADDRESS]: reads `etcdctl member list` (simple format: ID, status, name,
# peer URLs, client URLs, learner) on stdin; prints the hex ID of the member named NAME, or whose
# peer URL is https://ADDRESS:2380.
etcd_member_id() {
    awk -F', ' -v name="$1" -v peer="${2:+https://$2:2380}" '
        $3 == name || (peer != "" && $4 == peer) { print $1; exit }'
}

drain_target() {
    if ! kubectl get node "$TARGET_NODE" >/dev/null 2>&1; then
        log "node ${TARGET_NODE} is not in the cluster: nothing to drain"
        return 0
    fi
    log "draining ${TARGET_NODE} (timeout ${DRAIN_TIMEOUT})"
    if ! kubectl drain "$TARGET_NODE" --ignore-daemonsets --delete-emptydir-data --timeout="$DRAIN_TIMEOUT" >/dev/null; then
        # The node is going away whatever happens: its remaining pods are rescheduled once the
        # Node object is deleted. Say so and go on rather than block the removal.
        log "warning: ${TARGET_NODE} did not drain within ${DRAIN_TIMEOUT}; continuing"
    fi
}

remove_etcd_member() {
    local members member_id
    members="$(etcdctl_on_node0 member list)" || fail "could not list etcd members through etcd-${NODE_NAME}: remove ${TARGET_NODE}'s member by hand before deleting more control planes"
    member_id="$(etcd_member_id "$TARGET_NODE" "${TARGET_ADDRESS:-}" <<<"$members")"
    if [ -z "$member_id" ]; then
        log "etcd has no member ${TARGET_NODE}"
        return 0
    fi
    log "removing etcd member ${TARGET_NODE} (${member_id})"
    etcdctl_on_node0 member remove "$member_id" >/dev/null
}

delete_target() {
    if [ "$TARGET_ROLE" = control-plane ]; then
        remove_etcd_member
    fi
    if kubectl get node "$TARGET_NODE" >/dev/null 2>&1; then
        log "deleting node ${TARGET_NODE}"
        kubectl delete node "$TARGET_NODE" --ignore-not-found >/dev/null
    else
        log "node ${TARGET_NODE} is already gone"
    fi
}

main() {
    : "${NODE_NAME:?NODE_NAME is required}"
    : "${TARGET_NODE:?TARGET_NODE is required}"
    : "${TARGET_ROLE:?TARGET_ROLE is required (control-plane or worker)}"
    REMOVE_STEP="${REMOVE_STEP:-all}"
    DRAIN_TIMEOUT="${DRAIN_TIMEOUT:-300s}"
    API_WAIT_SECONDS="${API_WAIT_SECONDS:-60}"
    case "$TARGET_ROLE" in
        control-plane | worker) ;;
        *) fail "TARGET_ROLE must be control-plane or worker, not ${TARGET_ROLE}" ;;
    esac
    case "$REMOVE_STEP" in
        drain | delete | all) ;;
        *) fail "REMOVE_STEP must be drain, delete or all, not ${REMOVE_STEP}" ;;
    esac
    [ "$TARGET_NODE" != "$NODE_NAME" ] || fail "node-remove.sh runs on ${NODE_NAME} and cannot remove ${NODE_NAME} itself"
    [ "$(id -u)" = 0 ] || fail "run as root (sudo)"

    if [ ! -f "$ADMIN_KUBECONFIG" ]; then
        log "no cluster on this node (${ADMIN_KUBECONFIG} is missing): nothing to remove"
        exit 0
    fi
    export KUBECONFIG="$ADMIN_KUBECONFIG"
    if ! api_answers; then
        log "the Kubernetes API did not answer within ${API_WAIT_SECONDS}s: cluster gone, leaving ${TARGET_NODE} as it is"
        exit 0
    fi

    log "removing ${TARGET_ROLE} ${TARGET_NODE} (step: ${REMOVE_STEP})"
    if [ "$REMOVE_STEP" != delete ]; then
        drain_target
    fi
    if [ "$REMOVE_STEP" != drain ]; then
        delete_target
    fi
    log "${TARGET_NODE}: ${REMOVE_STEP} done"
}

if [ "${K8S_LAB_FUNCTIONS_ONLY:-}" != 1 ]; then
    main "$@"
fi
