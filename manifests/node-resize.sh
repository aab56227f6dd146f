#!/usr/bin/env bash
# Issue 11 item 4: the cluster's part of a node resize (a cpus/memoryMb change), run on the first
# control plane (the second one for the first one's own steps) with its admin kubeconfig (workers
# have no credentials to drain themselves). A
# resize power-cycles the node's VM: vSphere applies a CPU or memory change to a VM without hot-add
# only when it is off (terraform-provider-vsphere, vsphere/virtual_machine_config_structure.go:
# expandCPUCountConfig, expandMemorySizeConfig). The program (components/nodeResizeRoll.ts) runs,
# for each resized node in turn:
#   RESIZE_STEP=drain   before the VM is touched: every other node Ready and, for a control plane, etcd
#                       healthy with one started member per control plane (so the member that goes
#                       down is the only one); then the node's boot id is recorded in an annotation
#                       (k8s-vsphere-lab/resizing) and the node is cordoned and drained, respecting
#                       PodDisruptionBudgets (evictions, never --disable-eviction), within DRAIN_TIMEOUT;
#   RESIZE_STEP=return  while vSphere shuts the VM down, resizes and starts it: waits, within
#                       READY_WAIT_SECONDS, until the node reports another boot id (it was power-
#                       cycled) and is Ready and, for a control plane, etcd is healthy on every
#                       member again; then uncordons it and logs its new capacity.
# The next node's drain waits for this node's return, so at most one node is ever down.
# The steps also run when only this script's text changes (a new program version): a change of any
# input of theirs runs them. RESIZE_ID says whether the node's VM really changes size: the drain
# drains only for an id whose return has not finished yet (recorded in the kube-system ConfigMap
# k8s-vsphere-lab-resizes, which outlives a rebuilt node's Node object), and never for none.
# Runs as root: sudo -n env NODE_NAME=... RESIZE_STEP=... TARGET_NODE=... bash -s  (stdin).
#
# Environment:
#   NODE_NAME               the control plane this runs on (never the target, but in a one-control-plane lab) (required)
#   RESIZE_STEP             drain | return                                        (required)
#   TARGET_NODE             the node being resized                                (required)
#   TARGET_ROLE             control-plane | worker                                (required)
#   TARGET_CPUS             the new vCPU count, for the log and the change        (required)
#   TARGET_MEMORY_MB        the new memory in MB, for the log and the change      (required)
#   CONTROL_PLANE_COUNT     the control planes in the config: etcd's members      (required)
#   RESIZE_ID               the resize guard's id of the node's latest size change; empty when its
#                           size never changed (providers/resizeGuard.ts)         (required, may be empty)
#   DRAIN_TIMEOUT           kubectl drain --timeout                               (default 600s)
#   READY_WAIT_SECONDS      how long return waits for the power-cycled node       (default 900)
#   API_WAIT_SECONDS        how long to wait for the API to answer                (default 300)
#   ETCD_WAIT_SECONDS       how long a control plane's drain waits for etcd to be healthy on every
#                           member (default 300: a certificate renewal restarts one for seconds)
#   K8S_LAB_FUNCTIONS_ONLY  tests only: 1 defines the functions without running main
# Reads: /etc/kubernetes/admin.conf. Secrets: none. Stdout: progress lines.
# Idempotent: drain skips a node that is not in the cluster (not joined yet) and re-drains a node
# it drained before without recording a new boot id; return leaves a node alone that no resize
# drained (no annotation), so a node someone cordoned by hand stays cordoned.
set -euo pipefail
shopt -s inherit_errexit # a failure inside $(...) fails the caller too

# k8s-lab:include lib/common.sh
# k8s-lab:include lib/node-table.sh

readonly ADMIN_KUBECONFIG="${TEST_ROOT}/etc/kubernetes/admin.conf"
readonly RESIZING_ANNOTATION=k8s-vsphere-lab/resizing
# Node name -> id of its latest resize whose return finished.
readonly RESIZES_CONFIGMAP=k8s-vsphere-lab-resizes
# lib/node-table.sh's columns 3 and 4: the boot id, and the annotation this script marks a drained node with.
readonly NODE_TABLE_FIELD=.status.nodeInfo.bootID NODE_TABLE_ANNOTATION="$RESIZING_ANNOTATION"

# etcd_healthy: one started etcd member per control plane, and every member answers its health check.
etcd_healthy() {
    local members count
    members="$(etcdctl_on_node0 member list 2>/dev/null)" || return 1
    count="$(grep -c ', started, ' <<<"$members" || true)"
    [ "$count" -eq "$CONTROL_PLANE_COUNT" ] || return 1
    etcdctl_on_node0 endpoint health --cluster >/dev/null 2>&1
}

# finished_resize NODE: the id of NODE's latest resize whose return finished, or nothing. NODE is a
# checked DNS label (main), so it is safe inside the template.
finished_resize() {
    kubectl -n kube-system get configmap "$RESIZES_CONFIGMAP" --ignore-not-found \
        -o "go-template={{with .data}}{{with index . \"$1\"}}{{.}}{{end}}{{end}}"
}

# record_finished_resize: records RESIZE_ID as TARGET_NODE's finished resize (both checked in main).
record_finished_resize() {
    if ! kubectl -n kube-system get configmap "$RESIZES_CONFIGMAP" >/dev/null 2>&1; then
        kubectl -n kube-system create configmap "$RESIZES_CONFIGMAP" >/dev/null
    fi
    kubectl -n kube-system patch configmap "$RESIZES_CONFIGMAP" --type merge \
        -p "{\"data\":{\"${TARGET_NODE}\":\"${RESIZE_ID}\"}}" >/dev/null
}

# wait_for_etcd_before_drain: waits, up to ETCD_WAIT_SECONDS, for etcd_healthy before a control
# plane goes down, rather than refusing at once: a certificate renewal in the same pulumi up
# restarts one member for seconds (certificates-renew.sh waits for this node likewise).
wait_for_etcd_before_drain() {
    local deadline=$((SECONDS + ETCD_WAIT_SECONDS)) announced=false
    until etcd_healthy; do
        [ "$SECONDS" -lt "$deadline" ] ||
            fail "etcd is not healthy with ${CONTROL_PLANE_COUNT} started members after ${ETCD_WAIT_SECONDS}s (etcdctl member list; endpoint health --cluster): taking control plane ${TARGET_NODE} down now could lose etcd's quorum. Fix etcd and run pulumi up again; ${TARGET_NODE} was not touched."
        if [ "$announced" = false ]; then
            log "waiting for etcd to be healthy with ${CONTROL_PLANE_COUNT} started members (up to ${ETCD_WAIT_SECONDS}s) before draining ${TARGET_NODE} ..."
            announced=true
        fi
        sleep 5
    done
}

drain() {
    if [ -z "$RESIZE_ID" ]; then
        log "${TARGET_NODE} was never resized (it keeps the size it was created with): nothing to drain"
        return 0
    fi
    if [ "$(finished_resize "$TARGET_NODE")" = "$RESIZE_ID" ]; then
        log "${TARGET_NODE}'s resize to ${TARGET_CPUS} vCPU, ${TARGET_MEMORY_MB} MB (${RESIZE_ID}) is done already: nothing to drain"
        return 0
    fi
    local table line
    table="$(node_table)"
    line="$(awk -v name="$TARGET_NODE" '$1 == name' <<<"$table")"
    if [ -z "$line" ]; then
        log "${TARGET_NODE} is not in the cluster (not joined yet): nothing to drain before its resize"
        return 0
    fi
    if [ "$(cut -d' ' -f4 <<<"$line")" = - ]; then
        local not_ready=() name ready
        while read -r name ready _; do
            [ "$name" = "$TARGET_NODE" ] || [ "$ready" = True ] || not_ready+=("$name")
        done <<<"$table"
        [ "${#not_ready[@]}" -eq 0 ] ||
            fail "nodes not Ready: ${not_ready[*]}; resizing ${TARGET_NODE} takes it down, and a resize needs every other node Ready first. Fix them and run pulumi up again; ${TARGET_NODE} was not touched."
        [ "$TARGET_ROLE" != control-plane ] || wait_for_etcd_before_drain
        kubectl annotate node "$TARGET_NODE" --overwrite "${RESIZING_ANNOTATION}=$(cut -d' ' -f3 <<<"$line")" >/dev/null
    else
        log "${TARGET_NODE} was drained for a resize before and has not come back yet: draining it again"
    fi
    log "draining ${TARGET_ROLE} ${TARGET_NODE} before its resize to ${TARGET_CPUS} vCPU, ${TARGET_MEMORY_MB} MB (PodDisruptionBudgets respected, timeout ${DRAIN_TIMEOUT})"
    if ! kubectl drain "$TARGET_NODE" --ignore-daemonsets --delete-emptydir-data --timeout="$DRAIN_TIMEOUT" >/dev/null; then
        fail "${TARGET_NODE} did not drain within ${DRAIN_TIMEOUT}: a PodDisruptionBudget allows no eviction now, or a pod has no controller (kubectl get pdb -A; kubectl get pods -A --field-selector spec.nodeName=${TARGET_NODE}). Its VM was not resized; ${TARGET_NODE} stays cordoned and no other node was touched. Fix it and run pulumi up again."
    fi
    log "${TARGET_NODE} drained: vSphere now shuts it down, resizes and starts it"
}

return_node() {
    local drained_boot
    drained_boot="$(node_field "$TARGET_NODE" 4)"
    if [ -z "$drained_boot" ] || [ "$drained_boot" = - ]; then
        log "${TARGET_NODE} was not drained for a resize: left as it is"
        return 0
    fi
    local deadline=$((SECONDS + READY_WAIT_SECONDS))
    log "waiting for ${TARGET_NODE} to be power-cycled by vSphere and Ready again (up to ${READY_WAIT_SECONDS}s)"
    until [ "$(node_field "$TARGET_NODE" 3)" != "$drained_boot" ] && [ "$(node_field "$TARGET_NODE" 2)" = True ]; do
        [ "$SECONDS" -lt "$deadline" ] ||
            fail "${TARGET_NODE} did not come back Ready from its resize within ${READY_WAIT_SECONDS}s (see the VM's update above in this pulumi up, and journalctl -u kubelet on the node): it stays cordoned and no other node was touched. Fix it and run pulumi up again."
        sleep 5
    done
    if [ "$TARGET_ROLE" = control-plane ]; then
        until etcd_healthy; do
            [ "$SECONDS" -lt "$deadline" ] ||
                fail "etcd is not healthy with ${CONTROL_PLANE_COUNT} started members ${READY_WAIT_SECONDS}s after ${TARGET_NODE}'s resize (etcdctl member list; endpoint health --cluster): ${TARGET_NODE} stays cordoned and no other node was touched. Fix etcd and run pulumi up again."
            sleep 5
        done
    fi
    kubectl uncordon "$TARGET_NODE" >/dev/null
    # Recorded before the annotation goes: a run cut off in between finds the node still marked
    # and records again, so a later run of the steps (a new script text) never drains it for this id.
    [ -z "$RESIZE_ID" ] || record_finished_resize
    kubectl annotate node "$TARGET_NODE" "${RESIZING_ANNOTATION}-" >/dev/null
    local capacity
    capacity="$(kubectl get node "$TARGET_NODE" -o jsonpath='{.status.capacity.cpu} vCPU, {.status.capacity.memory} memory')"
    log "${TARGET_ROLE} ${TARGET_NODE} Ready after its resize (${capacity}) and uncordoned"
}

main() {
    : "${RESIZE_STEP:?RESIZE_STEP is required (drain or return)}"
    : "${TARGET_NODE:?TARGET_NODE is required}"
    : "${TARGET_ROLE:?TARGET_ROLE is required (control-plane or worker)}"
    : "${TARGET_CPUS:?TARGET_CPUS is required}"
    : "${TARGET_MEMORY_MB:?TARGET_MEMORY_MB is required}"
    : "${CONTROL_PLANE_COUNT:?CONTROL_PLANE_COUNT is required}"
    [ "${RESIZE_ID+set}" = set ] || fail "RESIZE_ID is required (empty for a node that was never resized)"
    [[ "$TARGET_NODE" =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ ]] || fail "TARGET_NODE must be a node name (a DNS label), not ${TARGET_NODE}"
    [[ "$RESIZE_ID" =~ ^[0-9A-Za-z:.+-]*$ ]] || fail "RESIZE_ID must be an id from the resize guard (letters, digits, : . + -), not ${RESIZE_ID}"
    DRAIN_TIMEOUT="${DRAIN_TIMEOUT:-600s}"
    READY_WAIT_SECONDS="${READY_WAIT_SECONDS:-900}"
    API_WAIT_SECONDS="${API_WAIT_SECONDS:-300}"
    ETCD_WAIT_SECONDS="${ETCD_WAIT_SECONDS:-300}"
    case "$TARGET_ROLE" in
        control-plane | worker) ;;
        *) fail "TARGET_ROLE must be control-plane or worker, not ${TARGET_ROLE}" ;;
    esac
    [[ "$CONTROL_PLANE_COUNT" =~ ^[1-9][0-9]*$ ]] || fail "CONTROL_PLANE_COUNT must be a positive number, not ${CONTROL_PLANE_COUNT}"
    [ "$(id -u)" = 0 ] || fail "run as root (sudo)"
    [ -s "$ADMIN_KUBECONFIG" ] || fail "${ADMIN_KUBECONFIG} is missing: the resize steps run on a control plane that is in the cluster (kubeadm init or join --control-plane writes it)"
    export KUBECONFIG="$ADMIN_KUBECONFIG"
    wait_for_api
    case "$RESIZE_STEP" in
        drain) drain ;;
        return) return_node ;;
        *) fail "RESIZE_STEP must be drain or return, not ${RESIZE_STEP}" ;;
    esac
}

if [ "${K8S_LAB_FUNCTIONS_ONLY:-}" != 1 ]; then
    main "$@"
fi
