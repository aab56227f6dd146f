#!/usr/bin/env bash
# Undoes kubeadm on this node before its VM is deleted: `kubeadm reset --force` (on a control
# plane its remove-etcd-member phase also takes this node's member out of etcd, while the cluster
# is reachable), then the clean-up kubeadm reset leaves to the admin: CNI config, CNI interfaces,
# iptables/IPVS rules. Tolerates an unreachable API and an already reset node.
# Runs as root: sudo -n env NODE_NAME=... bash -s  (this script on stdin).
#
# Environment:
#   NODE_NAME               the node's name, for progress lines                   (required)
#   RESET_TIMEOUT_SECONDS   upper bound for kubeadm reset (it retries an absent API) (default 600)
#   K8S_LAB_FUNCTIONS_ONLY  tests only: 1 defines the functions without running main
# Staged files: none read. Writes: /var/log/k8s-lab/kubeadm-reset.log (0600); removes the done
#   markers of kubeadm-init.sh and kubeadm-join.sh so the node could be set up again.
# Stdout: progress lines only. Idempotent: a reset node prints "already reset" and succeeds.
set -euo pipefail
shopt -s inherit_errexit # a failure inside $(...) fails the caller too

# k8s-lab:include lib/common.sh

# Whether kubeadm left anything on this node: kubeconfigs, static pods or etcd data.
kubeadm_state_present() {
    [ -e /etc/kubernetes/kubelet.conf ] || [ -e /etc/kubernetes/admin.conf ] ||
        compgen -G '/etc/kubernetes/manifests/*.yaml' >/dev/null || [ -d /var/lib/etcd/member ]
}

reset_kubeadm() {
    if ! command -v kubeadm >/dev/null; then
        log "kubeadm is not installed: nothing to reset"
        return 0
    fi
    if ! kubeadm_state_present; then
        log "kubeadm: already reset"
        return 0
    fi
    log "running kubeadm reset (log: ${LOG_DIR}/kubeadm-reset.log)"
    if ! run_logged kubeadm-reset timeout "$RESET_TIMEOUT_SECONDS" kubeadm reset --force; then
        log "warning: kubeadm reset did not finish cleanly; cleaning up what it leaves anyway"
    fi
}

clean_cni() {
    if compgen -G '/etc/cni/net.d/*' >/dev/null; then
        log "removing CNI configuration in /etc/cni/net.d"
        rm -rf /etc/cni/net.d/*
    fi
    local link
    for link in cni0 flannel.1 vxlan.calico; do
        if ip link show "$link" >/dev/null 2>&1; then
            log "deleting interface ${link}"
            ip link delete "$link" || log "warning: could not delete ${link}"
        fi
    done
}

clean_packet_filters() {
    if command -v iptables >/dev/null; then
        log "flushing iptables rules left by kube-proxy and the CNI"
        if ! { iptables -F && iptables -t nat -F && iptables -t mangle -F && iptables -X; }; then
            log "warning: could not flush every iptables table"
        fi
    fi
    if command -v ipvsadm >/dev/null; then
        log "clearing IPVS tables"
        ipvsadm --clear || log "warning: could not clear the IPVS tables"
    fi
}

main() {
    : "${NODE_NAME:?NODE_NAME is required}"
    RESET_TIMEOUT_SECONDS="${RESET_TIMEOUT_SECONDS:-600}"
    [ "$(id -u)" = 0 ] || fail "run as root (sudo)"

    reset_kubeadm
    clean_cni
    clean_packet_filters
    rm -f "${STATE_DIR}/kubeadm-init.done" "${STATE_DIR}/kubeadm-join.done"
    log "node reset"
}

if [ "${K8S_LAB_FUNCTIONS_ONLY:-}" != 1 ]; then
    main "$@"
fi
