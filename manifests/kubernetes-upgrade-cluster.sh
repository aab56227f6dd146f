#!/usr/bin/env bash
# Issue 12 item 1: the cluster's part of a Kubernetes upgrade, run on the first control plane with
# its admin kubeconfig (through the API; workers have no credentials to drain themselves):
#   UPGRADE_STEP=preflight  before any node changes: the target at most one minor above the
#                           running control plane (the kubeadm-config ClusterConfiguration) and not
#                           below it, every kubelet within the skew policy's three minors of it,
#                           every node Ready, etcd healthy with one member per control plane;
#   UPGRADE_STEP=drain      TARGET_NODE cordoned and drained, respecting PodDisruptionBudgets
#                           (evictions, never --disable-eviction), within DRAIN_TIMEOUT;
#   UPGRADE_STEP=uncordon   after the node's kubelet restart: TARGET_NODE Ready with the target's
#                           kubelet version within READY_WAIT_SECONDS, then uncordoned.
# Order per node, from kubernetes.io "Upgrading kubeadm clusters"
# (https://kubernetes.io/docs/tasks/administer-cluster/kubeadm/kubeadm-upgrade/): kubeadm upgrade
# (kubernetes-upgrade-node.sh UPGRADE_STEP=kubeadm) -> drain -> kubelet and kubectl
# (UPGRADE_STEP=kubelet) -> uncordon; "If you are performing a minor version upgrade for any
# kubelet, you must first drain the node".
# Runs as root: sudo -n env NODE_NAME=... UPGRADE_STEP=... KUBERNETES_VERSION=... bash -s  (stdin).
#
# Environment:
#   NODE_NAME               this node's name (node 0)                             (required)
#   KUBERNETES_VERSION      the target, 1.<minor>.<patch>                         (required)
#   UPGRADE_STEP            preflight | drain | uncordon                          (required)
#   CONTROL_PLANES          preflight: the control planes' names, space-separated (required there)
#   WORKERS                 preflight: the workers' names, space-separated        (default none)
#   CONTAINERD_VERSION      preflight: the containerd release the nodes' kubelet steps move a node
#                           on containerd 1.x to (Kubernetes 1.36 and later; set by the program)
#   TARGET_NODE             drain, uncordon: the node                             (required there)
#   TARGET_ROLE             drain, uncordon: control-plane | worker, for the log  (required there)
#   DRAIN_TIMEOUT           kubectl drain --timeout                               (default 600s)
#   READY_WAIT_SECONDS      how long uncordon waits for Ready at the target       (default 300)
#   API_WAIT_SECONDS        how long to wait for the API to answer                (default 300)
#   K8S_LAB_FUNCTIONS_ONLY  tests only: 1 defines the functions without running main
# Reads: /etc/kubernetes/admin.conf. Secrets: none. Stdout: progress lines.
# Idempotent: with every node at the target, preflight checks nothing more and succeeds (a new
#   cluster, whose nodes are not Ready before the CNI); drain skips a node already at the target;
#   uncordon uncordons only a node this script drained (annotation k8s-vsphere-lab/upgrading), so a
#   node someone cordoned by hand stays cordoned.
set -euo pipefail
shopt -s inherit_errexit # a failure inside $(...) fails the caller too

# k8s-lab:include lib/common.sh
# k8s-lab:include lib/node-table.sh

readonly ADMIN_KUBECONFIG="${TEST_ROOT}/etc/kubernetes/admin.conf"
readonly DRAINED_ANNOTATION=k8s-vsphere-lab/upgrading
# lib/node-table.sh's columns 3 and 4: the kubelet version, and the annotation this script marks a drained node with.
readonly NODE_TABLE_FIELD=.status.nodeInfo.kubeletVersion NODE_TABLE_ANNOTATION="$DRAINED_ANNOTATION"

# container_runtimes: one line per Node: "<name> <container runtime>", e.g. "k8s-worker01 containerd://1.7.28".
container_runtimes() {
    kubectl get nodes -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.status.nodeInfo.containerRuntimeVersion}{"\n"}{end}'
}

# minor_of VERSION: the minor of v1.34.2 or 1.34.2.
minor_of() {
    local version="${1#v}"
    version="${version#*.}"
    echo "${version%%.*}"
}

# version_below A B: whether version A (1.34.2) is lower than B.
version_below() {
    [ "$1" != "$2" ] && [ "$(printf '%s\n%s\n' "${1#v}" "${2#v}" | sort -V | head -n 1)" = "${1#v}" ]
}

# control_plane_version: the cluster's kubernetesVersion, from kubeadm's ClusterConfiguration (v1.34.2).
control_plane_version() {
    kubectl -n kube-system get configmap kubeadm-config -o jsonpath='{.data.ClusterConfiguration}' |
        sed -nE 's/^kubernetesVersion:[[:space:]]*"?(v?[0-9.]+)"?[[:space:]]*$/\1/p' | head -n 1
}

# target_at_version: TARGET_NODE's kubelet reports the target. That alone decides the drain: the
# node's kubeadm step (its static pods) runs before and stops the roll when it fails, and only a
# kubelet upgrade needs the node drained (kubernetes.io, same page). The API's mirror pods are not
# asked: a control plane that has just joined may not have them yet.
target_at_version() {
    [ "$(node_field "$TARGET_NODE" 3)" = "v${KUBERNETES_VERSION}" ]
}

preflight() {
    : "${CONTROL_PLANES:?CONTROL_PLANES is required for the preflight}"
    local target="v${KUBERNETES_VERSION}" running table node line behind=()
    running="$(control_plane_version)"
    [ -n "$running" ] || fail "could not read the control plane's version from the kubeadm-config ConfigMap: nothing was changed"
    running="v${running#v}"
    table="$(node_table)"
    for node in $CONTROL_PLANES ${WORKERS:-}; do
        line="$(awk -v name="$node" '$1 == name' <<<"$table")"
        [ -n "$line" ] || fail "node ${node} is not in the cluster: the upgrade needs every node of the config joined; nothing was changed"
        [ "$(cut -d' ' -f3 <<<"$line")" = "$target" ] || behind+=("$node")
    done
    if [ "$running" = "$target" ] && [ "${#behind[@]}" -eq 0 ]; then
        log "every node runs Kubernetes ${target}: nothing to upgrade"
        return 0
    fi

    if version_below "$target" "$running"; then
        fail "lab:kubernetesVersion ${KUBERNETES_VERSION} is below the control plane's ${running}: kubeadm cannot downgrade; set ${running#v} or a later patch of it. Nothing was changed."
    fi
    local running_minor target_minor
    running_minor="$(minor_of "$running")"
    target_minor="$(minor_of "$target")"
    if [ "$target_minor" -gt $((running_minor + 1)) ]; then
        fail "lab:kubernetesVersion ${KUBERNETES_VERSION} skips a minor: the control plane runs ${running}, so the allowed targets are 1.${running_minor}.x and 1.$((running_minor + 1)).x (one minor per upgrade). Nothing was changed."
    fi
    local not_ready=() too_old=() name ready kubelet
    while read -r name ready kubelet _; do
        [ "$ready" = True ] || not_ready+=("$name")
        # Version skew policy: a kubelet may be up to three minors older than kube-apiserver.
        [ "$(minor_of "$kubelet")" -ge $((target_minor - 3)) ] || too_old+=("${name} (${kubelet})")
    done <<<"$table"
    [ "${#not_ready[@]}" -eq 0 ] || fail "nodes not Ready: ${not_ready[*]}; an upgrade drains nodes one after another and needs every node Ready first. Fix them and run pulumi up again; nothing was changed."
    [ "${#too_old[@]}" -eq 0 ] || fail "kubelets more than three minors below ${target} (the version skew policy): ${too_old[*]}. Nothing was changed."
    # Kubernetes 1.35 is the last minor that supports containerd 1.x (containerd RELEASES.md
    # "Kubernetes Support": 1.36 -> 2.3.0+, 2.2.0+). With CONTAINERD_VERSION (the program passes it
    # for 1.36 and later) each node's kubelet step moves a node on another containerd to that
    # release while it is drained (kubernetes-upgrade-node.sh); without it the roll must not begin.
    if [ "$target_minor" -ge 36 ]; then
        local old_runtime=() runtime
        while read -r name runtime; do
            case "$runtime" in
                containerd://1.*) old_runtime+=("${name} (${runtime#containerd://})") ;;
            esac
        done < <(container_runtimes)
        if [ "${#old_runtime[@]}" -gt 0 ] && [ -z "${CONTAINERD_VERSION:-}" ]; then
            fail "lab:kubernetesVersion ${KUBERNETES_VERSION} needs containerd 2.0 or later on every node (Kubernetes 1.35 is the last minor that supports containerd 1.x); these nodes run containerd 1.x: ${old_runtime[*]}, and this run names no containerd to move them to (CONTAINERD_VERSION). Run the upgrade through pulumi up, which passes it, or stay on 1.35. Nothing was changed."
        fi
        [ "${#old_runtime[@]}" -eq 0 ] || log "nodes on containerd 1.x, each moved to containerd ${CONTAINERD_VERSION} while drained, before its kubelet: ${old_runtime[*]}"
    fi

    local members count=0 expected
    members="$(etcdctl_on_node0 member list)" || fail "could not list the etcd members through etcd-${NODE_NAME}: nothing was changed"
    count="$(grep -c ', started, ' <<<"$members" || true)"
    expected="$(wc -w <<<"$CONTROL_PLANES")"
    [ "$count" -eq "$expected" ] || fail "etcd has ${count} started members, the config ${expected} control planes: fix etcd (etcdctl member list) before upgrading; nothing was changed."
    etcdctl_on_node0 endpoint health --cluster >/dev/null 2>&1 || fail "etcd is not healthy on every member (etcdctl endpoint health --cluster): fix it before upgrading; nothing was changed."
    log "preflight passed: control plane ${running} -> ${target}; every node Ready; etcd healthy (${count} members); nodes to upgrade: ${behind[*]:-none (control plane only)}"
}

drain() {
    if target_at_version; then
        log "${TARGET_NODE} already at Kubernetes v${KUBERNETES_VERSION}: not drained"
        return 0
    fi
    kubectl annotate node "$TARGET_NODE" --overwrite "${DRAINED_ANNOTATION}=v${KUBERNETES_VERSION}" >/dev/null
    log "draining ${TARGET_ROLE} ${TARGET_NODE} (PodDisruptionBudgets respected, timeout ${DRAIN_TIMEOUT})"
    if ! kubectl drain "$TARGET_NODE" --ignore-daemonsets --delete-emptydir-data --timeout="$DRAIN_TIMEOUT" >/dev/null; then
        fail "${TARGET_NODE} did not drain within ${DRAIN_TIMEOUT}: a PodDisruptionBudget allows no eviction now, or a pod has no controller (kubectl get pdb -A; kubectl get pods -A --field-selector spec.nodeName=${TARGET_NODE}). ${TARGET_NODE} stays cordoned and nothing after it was touched; fix it and run pulumi up again."
    fi
    log "${TARGET_NODE} drained"
}

uncordon() {
    if [ "$(node_field "$TARGET_NODE" 4)" = - ]; then
        target_at_version || fail "${TARGET_NODE} is not at Kubernetes v${KUBERNETES_VERSION} and was not drained by an upgrade: run pulumi up again"
        log "${TARGET_NODE} already at Kubernetes v${KUBERNETES_VERSION} and not drained by an upgrade: left as it is"
        return 0
    fi
    local deadline=$((SECONDS + READY_WAIT_SECONDS))
    until [ "$(node_field "$TARGET_NODE" 2)" = True ] && [ "$(node_field "$TARGET_NODE" 3)" = "v${KUBERNETES_VERSION}" ]; do
        [ "$SECONDS" -lt "$deadline" ] ||
            fail "${TARGET_NODE} is not Ready with kubelet v${KUBERNETES_VERSION} after ${READY_WAIT_SECONDS}s (journalctl -u kubelet on it): it stays cordoned and nothing after it was touched; fix it and run pulumi up again."
        sleep 5
    done
    kubectl uncordon "$TARGET_NODE" >/dev/null
    kubectl annotate node "$TARGET_NODE" "${DRAINED_ANNOTATION}-" >/dev/null
    log "${TARGET_ROLE} ${TARGET_NODE} Ready at v${KUBERNETES_VERSION} and uncordoned"
}

main() {
    : "${NODE_NAME:?NODE_NAME is required}"
    : "${KUBERNETES_VERSION:?KUBERNETES_VERSION is required, e.g. 1.35.0}"
    : "${UPGRADE_STEP:?UPGRADE_STEP is required (preflight, drain or uncordon)}"
    DRAIN_TIMEOUT="${DRAIN_TIMEOUT:-600s}"
    READY_WAIT_SECONDS="${READY_WAIT_SECONDS:-300}"
    API_WAIT_SECONDS="${API_WAIT_SECONDS:-300}"
    [[ "$KUBERNETES_VERSION" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "KUBERNETES_VERSION must look like 1.35.0, not ${KUBERNETES_VERSION}"
    case "$UPGRADE_STEP" in
        preflight) ;;
        drain | uncordon)
            : "${TARGET_NODE:?TARGET_NODE is required for ${UPGRADE_STEP}}"
            : "${TARGET_ROLE:?TARGET_ROLE is required for ${UPGRADE_STEP} (control-plane or worker)}"
            case "$TARGET_ROLE" in
                control-plane | worker) ;;
                *) fail "TARGET_ROLE must be control-plane or worker, not ${TARGET_ROLE}" ;;
            esac
            ;;
        *) fail "UPGRADE_STEP must be preflight, drain or uncordon, not ${UPGRADE_STEP}" ;;
    esac
    [ "$(id -u)" = 0 ] || fail "run as root (sudo)"
    [ -s "$ADMIN_KUBECONFIG" ] || fail "${ADMIN_KUBECONFIG} is missing: run kubeadm-init.sh on this node first"
    export KUBECONFIG="$ADMIN_KUBECONFIG"
    wait_for_api
    "$UPGRADE_STEP"
}

if [ "${K8S_LAB_FUNCTIONS_ONLY:-}" != 1 ]; then
    main "$@"
fi
