#!/usr/bin/env bash
# Issue 12 item 1: one node's own part of a Kubernetes upgrade, in the order of kubernetes.io's
# "Upgrading kubeadm clusters" (https://kubernetes.io/docs/tasks/administer-cluster/kubeadm/kubeadm-upgrade/,
# and "Upgrading Linux nodes" for workers):
#   UPGRADE_STEP=kubeadm  pkgs.k8s.io repository switched to the target's minor (one repository
#                         per minor), kubeadm unheld, installed at the exact version, held; then on
#                         the first control plane `kubeadm upgrade plan v<version>` (printed) and
#                         `kubeadm upgrade apply v<version> --yes`, on every other node
#                         `kubeadm upgrade node`;
#   UPGRADE_STEP=kubelet  (after node 0 drained this node) issue 12 item 2: when the target needs
#                         containerd's release (CONTAINERD_VERSION, Kubernetes 1.36 and later) and
#                         the node runs another containerd (Ubuntu's 1.7), the kubelet stopped and
#                         the node moved to it (lib/containerd.sh); then kubelet and kubectl
#                         unheld, installed at the exact version, held; systemd reloaded, kubelet
#                         restarted.
# node 0 drains the node between the two steps and uncordons it after (kubernetes-upgrade-drain.sh);
# the program chains the nodes (components/kubernetesUpgrade.ts).
# Runs as root: sudo -n env NODE_NAME=... NODE_ROLE=... KUBERNETES_VERSION=... bash -s  (stdin).
#
# Environment:
#   NODE_NAME            this node's name                                         (required)
#   NODE_ROLE            control-plane | worker                                   (required)
#   FIRST_CONTROL_PLANE  true on node 0 (kubeadm upgrade apply), else false       (default false)
#   KUBERNETES_VERSION   the target, 1.<minor>.<patch>                            (required)
#   UPGRADE_STEP         kubeadm | kubelet                                        (required)
#   KUBERNETES_APT_KEY_FINGERPRINTS  as for node-prepare.sh (optional)
#   CONTAINERD_VERSION, CONTAINERD_SHA256, RUNC_VERSION, RUNC_SHA256  as for node-prepare.sh: the
#                        containerd the target runs on (unset: Ubuntu's package, nothing moved)
#   APT_LOCK_WAIT_SECONDS   how long apt use waits for apt's locks                (default 900)
#   APT_RETRY_SECONDS       pause between two tries while apt's locks are held    (default 5)
#   K8S_LAB_FUNCTIONS_ONLY  tests only: 1 defines the functions without running main
# With a proxy, the program passes HTTPS_PROXY/NO_PROXY as for node-prepare.sh: curl (the signing
#   key) reads them, apt uses the proxy file node-prepare.sh wrote.
# Reads: /etc/kubernetes/kubelet.conf (the node is in a cluster), the control-plane static pod
#   manifests. Logs: /var/log/k8s-lab/kubernetes-upgrade.log. Secrets: none.
# Idempotent: a node already at the target (its kubelet package and, on a control plane, the
#   images of its kube-apiserver, kube-controller-manager and kube-scheduler static pods) is
#   skipped with a log line, so a new cluster's run and a re-run after a failure touch nothing
#   done; `kubeadm upgrade` itself is idempotent (same page, "Recovering from a failure state").
set -euo pipefail
shopt -s inherit_errexit # a failure inside $(...) fails the caller too

# k8s-lab:include lib/common.sh
# k8s-lab:include lib/apt.sh
# k8s-lab:include lib/kubernetes-apt.sh
# k8s-lab:include lib/containerd.sh

readonly KUBELET_KUBECONFIG="${TEST_ROOT}/etc/kubernetes/kubelet.conf"
readonly STATIC_POD_DIR="${TEST_ROOT}/etc/kubernetes/manifests"
readonly CONTROL_PLANE_COMPONENTS="kube-apiserver kube-controller-manager kube-scheduler"

# package_at_target PACKAGE: whether dpkg has PACKAGE at KUBERNETES_VERSION (1.34.2-1.1).
package_at_target() {
    [[ "$(installed_version "$1")" == "${KUBERNETES_VERSION}-"* ]]
}

# static_pods_at_target: whether every control-plane static pod manifest runs the target's image.
static_pods_at_target() {
    local component
    for component in $CONTROL_PLANE_COMPONENTS; do
        grep -Eq "image: .*/${component}:v${KUBERNETES_VERSION//./\\.}\$" "${STATIC_POD_DIR}/${component}.yaml" 2>/dev/null || return 1
    done
}

# node_at_target: the kubelet package at the target and, on a control plane, its static pods.
node_at_target() {
    package_at_target kubelet || return 1
    [ "$NODE_ROLE" != control-plane ] || static_pods_at_target
}

# install_at_target PACKAGE...: unhold, install at the exact target version, hold again.
install_at_target() {
    local apt_version
    apt_version="$(kubernetes_apt_version)"
    log "installing $* ${apt_version}"
    apt_locked apt-mark unhold "$@" >/dev/null
    local pinned=() package
    for package in "$@"; do pinned+=("${package}=${apt_version}"); done
    apt_get install --no-install-recommends "${pinned[@]}" >/dev/null
    apt_locked apt-mark hold "$@" >/dev/null
    log "$* held at ${KUBERNETES_VERSION}"
}

upgrade_kubeadm() {
    add_kubernetes_repository
    if package_at_target kubeadm; then
        log "kubeadm ${KUBERNETES_VERSION} present"
    else
        apt_get update >/dev/null
        install_at_target kubeadm
    fi
    if [ "${FIRST_CONTROL_PLANE:-false}" = true ]; then
        # The plan is the last check before anything in the cluster changes: it refuses what
        # kubeadm cannot upgrade, and its table (what moves from which version) belongs in the log.
        log "kubeadm upgrade plan v${KUBERNETES_VERSION}:"
        kubeadm upgrade plan "v${KUBERNETES_VERSION}" 2>&1 | sed "s/^/[${NODE_NAME}]   /" ||
            fail "kubeadm upgrade plan v${KUBERNETES_VERSION} refused the upgrade (its output above): nothing in the cluster was changed"
        log "kubeadm upgrade apply v${KUBERNETES_VERSION} (control plane and cluster add-ons; renews the control-plane certificates)"
        run_logged kubernetes-upgrade kubeadm upgrade apply "v${KUBERNETES_VERSION}" --yes ||
            fail "kubeadm upgrade apply v${KUBERNETES_VERSION} failed on ${NODE_NAME}; it is idempotent: fix the cause and run pulumi up again"
    else
        log "kubeadm upgrade node"
        run_logged kubernetes-upgrade kubeadm upgrade node ||
            fail "kubeadm upgrade node failed on ${NODE_NAME}; it is idempotent: fix the cause and run pulumi up again"
    fi
    log "kubeadm upgrade done"
}

# move_container_runtime: on this drained node, containerd's release in place of the containerd it
# runs, before the kubelet that needs it (Kubernetes 1.36's kubelet does not run on containerd
# 1.x). containerd names 1.7 (LTS) to 2.3 (LTS) a tested, supported direct upgrade (RELEASES.md
# "Upgrade Path"): the kubelet is stopped, Ubuntu's containerd and runc are replaced by the
# pinned, verified release, the config is written anew for containerd 2 (config version 3) and
# containerd restarted; the containers still on the node (static pods, DaemonSets) keep running
# under their shims and the new containerd takes them over. A failure leaves the node cordoned
# with its kubelet stopped; pulumi up runs the step again and it goes on from where it stopped.
move_container_runtime() {
    release_containerd || return 0
    if release_containerd_installed; then
        log "containerd ${CONTAINERD_VERSION} present"
        return 0
    fi
    log "moving this drained node from containerd $(containerd_version_of containerd) to ${CONTAINERD_VERSION}: Kubernetes ${KUBERNETES_VERSION} needs containerd 2"
    systemctl stop kubelet
    install_release_containerd
    log "restarting containerd as ${CONTAINERD_VERSION}"
    systemctl enable -q containerd
    systemctl restart containerd
    configure_containerd
    log "containerd $(containerd_version_of containerd) running"
}

upgrade_kubelet() {
    if package_at_target kubelet && package_at_target kubectl; then
        log "kubelet and kubectl ${KUBERNETES_VERSION} present"
        return 0
    fi
    add_kubernetes_repository
    apt_get update >/dev/null
    move_container_runtime
    install_at_target kubelet kubectl
    systemctl daemon-reload
    systemctl restart kubelet
    log "kubelet ${KUBERNETES_VERSION} restarted"
}

main() {
    : "${NODE_NAME:?NODE_NAME is required}"
    : "${NODE_ROLE:?NODE_ROLE is required (control-plane or worker)}"
    : "${KUBERNETES_VERSION:?KUBERNETES_VERSION is required, e.g. 1.35.0}"
    : "${UPGRADE_STEP:?UPGRADE_STEP is required (kubeadm or kubelet)}"
    case "$NODE_ROLE" in
        control-plane | worker) ;;
        *) fail "NODE_ROLE must be control-plane or worker, not ${NODE_ROLE}" ;;
    esac
    case "$UPGRADE_STEP" in
        kubeadm | kubelet) ;;
        *) fail "UPGRADE_STEP must be kubeadm or kubelet, not ${UPGRADE_STEP}" ;;
    esac
    [[ "$KUBERNETES_VERSION" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "KUBERNETES_VERSION must look like 1.35.0, not ${KUBERNETES_VERSION}"
    [ "$(id -u)" = 0 ] || fail "run as root (sudo)"
    [ -f "$KUBELET_KUBECONFIG" ] || fail "${NODE_NAME} is not in a cluster (${KUBELET_KUBECONFIG} is missing): nothing to upgrade"

    if node_at_target; then
        log "already at Kubernetes ${KUBERNETES_VERSION}: skipping the ${UPGRADE_STEP} step"
        return 0
    fi
    log "upgrading ${NODE_ROLE} to Kubernetes ${KUBERNETES_VERSION}: ${UPGRADE_STEP} step"
    case "$UPGRADE_STEP" in
        kubeadm) upgrade_kubeadm ;;
        kubelet) upgrade_kubelet ;;
    esac
}

if [ "${K8S_LAB_FUNCTIONS_ONLY:-}" != 1 ]; then
    main "$@"
fi
