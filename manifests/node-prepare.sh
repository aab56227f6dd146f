#!/usr/bin/env bash
# Prepares an Ubuntu 24.04 node for kubeadm: swap off, kernel modules and sysctls, containerd with
# the systemd cgroup driver, kubelet/kubeadm/kubectl pinned from pkgs.k8s.io, nfs-common on
# workers, and the flannel VXLAN checksum-offload fix for VMware vmxnet3 NICs.
# Runs as root: sudo -n env NODE_NAME=... NODE_ROLE=... KUBERNETES_VERSION=... bash -s  (stdin).
#
# Environment:
#   NODE_NAME           the node's name, for progress lines                       (required)
#   NODE_ROLE           control-plane | worker                                    (required)
#   RUNS_WORKLOADS      true | false: the node runs pods, so it mounts NFS volumes (default:
#                       true on workers; the program sets it on schedulable control planes)
#   KUBERNETES_VERSION  patch version to install and hold, e.g. 1.33.4           (required)
#   CONTAINERD_VERSION, CONTAINERD_SHA256, RUNC_VERSION, RUNC_SHA256  the containerd and runc
#                       releases to install, each pinned by the sha256 of its download (set by the
#                       program for Kubernetes 1.36 and later, lib/containerd.sh); unset = Ubuntu's
#                       own containerd package (1.35 and older)
#   KUBERNETES_APT_KEY_FINGERPRINTS  space-separated fingerprints the pkgs.k8s.io signing key may
#                       have (default: the one pinned below; set it only when pkgs.k8s.io announces
#                       a new key and this program has not caught up)
#   HTTPS_PROXY         the lab's HTTP(S) proxy, http://host:port (optional): apt and containerd
#                       use it (files below), and curl reads it from the environment
#   NO_PROXY            what goes around the proxy: the cluster's own ranges and names (with HTTPS_PROXY)
#   PREPULL_IMAGES      space-separated images this node's add-on pods will run (optional), pulled
#                       after the Kubernetes images (prepull_images)
#   IMAGE_PULL_SECONDS  how long the pre-pull may take in all (default 600); a pull that fails or
#                       does not finish in time is logged and left to the kubelet, never fatal
#   APT_LOCK_WAIT_SECONDS   how long apt use waits for first boot and apt's locks (default 900)
#   APT_RETRY_SECONDS       pause between two tries while apt's locks are held   (default 5)
#   K8S_LAB_FUNCTIONS_ONLY  tests only: 1 defines the functions without running main
# Staged files: none. Secrets: none. Writes with HTTPS_PROXY (removes without it):
#   /etc/apt/apt.conf.d/90k8s-lab-proxy, /etc/systemd/system/containerd.service.d/10-k8s-lab-proxy.conf
# Idempotent: a re-run on a prepared node changes nothing, restarts nothing and succeeds. On a node
#   already in a cluster (issue 12) a new KUBERNETES_VERSION switches the repository only: the
#   packages, and a move from containerd 1.x to 2, are the upgrade steps' (kubernetes-upgrade-node.sh,
#   while the node is drained).
# Issue 14: it pre-pulls the images kubeadm init/join and the node's first pods need, so those steps
# no longer wait on downloads; on a template built with this script (README "A prepared template")
# it detects the pinned packages and images and only checks them.
#
# containerd (issue 12 item 2): up to Kubernetes 1.35, Ubuntu's own `containerd` package (1.7, main
# archive: security updates from Ubuntu, no third-party repository or key); from 1.36, which needs
# containerd 2, containerd's own release (CONTAINERD_VERSION, 2.3 LTS) and the runc it pins, both
# downloads checked against pinned sha256s (Ubuntu 24.04 has no containerd 2). Its config is
# containerd's default plus two edits, made for whichever config version the installed containerd
# writes (1.x: version 2, 2.x: version 3) and verified with `containerd config dump`.
set -euo pipefail
shopt -s inherit_errexit # a failure inside $(...) fails the caller too

# k8s-lab:include lib/common.sh
# k8s-lab:include lib/apt.sh
# k8s-lab:include lib/kubernetes-apt.sh
# k8s-lab:include lib/containerd.sh

readonly APT_PROXY_CONF="${TEST_ROOT}/etc/apt/apt.conf.d/90k8s-lab-proxy"
readonly CONTAINERD_PROXY_DROPIN="${TEST_ROOT}/etc/systemd/system/containerd.service.d/10-k8s-lab-proxy.conf"
readonly FLANNEL_UDEV_RULE=/etc/udev/rules.d/90-flannel-vxlan-tx-checksum-off.rules
# containerd's CRI socket, as kubeadm finds it (kubeadm's default CRI socket on Linux). crictl, which
# pulls through it, comes with kubeadm (its pkgs.k8s.io package depends on cri-tools).
readonly CRI_SOCKET=unix:///run/containerd/containerd.sock

# --- node steps ---

disable_swap() {
    if [ -n "$(swapon --show --noheadings)" ]; then
        log "turning swap off"
        swapoff -a
    fi
    if grep -Eq '^[^#].*[[:space:]]swap[[:space:]]' /etc/fstab; then
        log "disabling swap entries in /etc/fstab"
        sed -Ei '/^[^#].*[[:space:]]swap[[:space:]]/s/^/# disabled by k8s-vsphere-lab: /' /etc/fstab
    else
        log "swap is off"
    fi
}

load_kernel_modules() {
    if printf 'overlay\nbr_netfilter\n' | write_if_changed /etc/modules-load.d/k8s-lab.conf 0644; then
        log "kernel modules overlay, br_netfilter: loaded at boot from /etc/modules-load.d/k8s-lab.conf"
    fi
    modprobe overlay
    modprobe br_netfilter
    log "kernel modules overlay, br_netfilter loaded"
}

apply_sysctls() {
    if write_if_changed /etc/sysctl.d/99-k8s-lab.conf 0644 <<'EOF'; then
# Written by k8s-vsphere-lab node-prepare.sh: bridged pod traffic through iptables, IPv4 routing.
net.bridge.bridge-nf-call-iptables = 1
net.bridge.bridge-nf-call-ip6tables = 1
net.ipv4.ip_forward = 1
EOF
        log "sysctls written to /etc/sysctl.d/99-k8s-lab.conf"
    fi
    sysctl -q -p /etc/sysctl.d/99-k8s-lab.conf
    local name
    for name in net.bridge.bridge-nf-call-iptables net.ipv4.ip_forward; do
        [ "$(sysctl -n "$name")" = 1 ] || fail "sysctl $name is not 1 after applying /etc/sysctl.d/99-k8s-lab.conf"
    done
    log "sysctls bridge-nf-call-iptables and ip_forward are 1"
}

install_base_packages() {
    local wanted=(ca-certificates curl gpg conntrack socat ethtool)
    # containerd's release (1.36 and later) is installed by install_container_runtime instead.
    release_containerd || wanted+=(containerd)
    # Pods with NFS volumes need the mount helper on whichever node runs them.
    if [ "${RUNS_WORKLOADS:-}" = true ] || { [ -z "${RUNS_WORKLOADS:-}" ] && [ "$NODE_ROLE" = worker ]; }; then
        wanted+=(nfs-common)
    fi
    local missing=() package
    for package in "${wanted[@]}"; do
        package_installed "$package" || missing+=("$package")
    done
    if [ "${#missing[@]}" -eq 0 ]; then
        log "base packages present: ${wanted[*]}"
        return 0
    fi
    log "installing ${missing[*]}"
    apt_get update
    apt_get install --no-install-recommends "${missing[@]}"
}

# The container runtime is held like the Kubernetes packages: unattended-upgrades (on in Ubuntu's
# cloud image) skips held packages, so a security update never restarts containerd under running
# pods; upgrading it becomes a deliberate, drained step (README "Upgrading the container runtime").
hold_runtime_packages() {
    if release_containerd; then
        return 0 # not apt packages: install_release_containerd said so
    fi
    local held
    held="$(apt-mark showhold)"
    if grep -qx containerd <<<"$held" && grep -qx runc <<<"$held"; then
        log "containerd and runc held"
        return 0
    fi
    apt_locked apt-mark hold containerd runc >/dev/null
    log "containerd and runc held: unattended-upgrades leaves them alone"
}

install_kubernetes_packages() {
    local packages=(kubelet kubeadm kubectl) package up_to_date=1
    for package in "${packages[@]}"; do
        [[ "$(installed_version "$package")" == "${KUBERNETES_VERSION}-"* ]] || up_to_date=0
    done
    if [ "$up_to_date" = 1 ]; then
        log "kubelet, kubeadm, kubectl ${KUBERNETES_VERSION} present"
    else
        local current
        current="$(installed_version kubeadm)"
        # Issue 12: a node in a cluster moves to a new version through the upgrade steps
        # (kubernetes-upgrade-node.sh, drained and in order), never here.
        if [ -n "$current" ] && [ -f "${TEST_ROOT}/etc/kubernetes/kubelet.conf" ]; then
            log "kubeadm ${current} on a node in a cluster: the Kubernetes upgrade steps move it to ${KUBERNETES_VERSION}; packages left as they are"
            return 0
        fi
        apt_get update
        local apt_version
        apt_version="$(kubernetes_apt_version)"
        log "installing kubelet, kubeadm, kubectl ${apt_version}"
        apt_get install --no-install-recommends --allow-change-held-packages \
            "kubelet=${apt_version}" "kubeadm=${apt_version}" "kubectl=${apt_version}"
    fi
    apt_locked apt-mark hold "${packages[@]}" >/dev/null
    log "kubelet, kubeadm, kubectl held at ${KUBERNETES_VERSION}"
    systemctl enable -q kubelet
}

# configure_proxy: apt's and containerd's proxy from HTTPS_PROXY/NO_PROXY (issue 13 item 7), or
# neither when HTTPS_PROXY is unset. The values come from the environment and are checked here
# before they go into the files (the program checks them too). A changed containerd drop-in
# restarts containerd when it runs (its containers keep running under their shims).
configure_proxy() {
    local proxy="${HTTPS_PROXY:-}" no_proxy="${NO_PROXY:-}" changed=false
    if [ -n "$proxy" ]; then
        [[ "$proxy" =~ ^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?/?$ ]] || fail "HTTPS_PROXY must look like http://proxy.lab.example:3128 (no user or password)"
        [[ "$no_proxy" =~ ^[A-Za-z0-9.,*:/_-]*$ ]] || fail "NO_PROXY may hold names, addresses and CIDRs separated by commas only"
        log "downloads go through the proxy ${proxy}"
        printf '// Written by k8s-vsphere-lab node-prepare.sh (httpProxy).\nAcquire::http::Proxy "%s";\nAcquire::https::Proxy "%s";\n' "$proxy" "$proxy" |
            write_if_changed "$APT_PROXY_CONF" 0644 || true
        if printf '# Written by k8s-vsphere-lab node-prepare.sh (httpProxy, noProxy): image pulls through the proxy.\n[Service]\nEnvironment="HTTP_PROXY=%s" "HTTPS_PROXY=%s" "NO_PROXY=%s"\n' "$proxy" "$proxy" "$no_proxy" |
            write_if_changed "$CONTAINERD_PROXY_DROPIN" 0644; then
            changed=true
        fi
    else
        rm -f "$APT_PROXY_CONF"
        if [ -f "$CONTAINERD_PROXY_DROPIN" ]; then
            rm -f "$CONTAINERD_PROXY_DROPIN"
            changed=true
        fi
    fi
    if [ "$changed" = true ]; then
        systemctl daemon-reload
        if systemctl is-active --quiet containerd; then
            log "containerd's proxy settings changed: restarting containerd"
            systemctl restart containerd
        fi
    fi
}

# flannel's VXLAN device on VMware vmxnet3 NICs sends packets with bad checksums when tx checksum
# offload is on (flannel-io/flannel#1279, flannel's troubleshooting guide): pod traffic across
# nodes and to services is dropped. udev turns it off each time flannel creates flannel.1.
install_flannel_offload_fix() {
    if write_if_changed "$FLANNEL_UDEV_RULE" 0644 <<'EOF'; then
# Written by k8s-vsphere-lab node-prepare.sh: flannel VXLAN over vmxnet3 needs tx checksum offload off.
SUBSYSTEM=="net", ACTION=="add|change|move", ENV{INTERFACE}=="flannel.1", RUN+="/usr/sbin/ethtool -K flannel.1 tx-checksum-ip-generic off"
EOF
        log "udev rule ${FLANNEL_UDEV_RULE} installed"
        udevadm control --reload-rules
    else
        log "flannel.1 checksum-offload udev rule present"
    fi
    if ip link show flannel.1 >/dev/null 2>&1 && ethtool -k flannel.1 | grep -q '^tx-checksum-ip-generic: on'; then
        log "turning tx checksum offload off on flannel.1"
        ethtool -K flannel.1 tx-checksum-ip-generic off
    fi
}

# --- issue 14: image pre-pull and the prepared template ---

# kubernetes_images ROLE: the images kubeadm names for the pinned version (`kubeadm config images
# list`, the list `kubeadm config images pull` and init's/a control-plane join's preflight pull)
# that a node of ROLE runs: all of them on a control plane; on a worker only the pod sandbox
# (pause) and kube-proxy (a DaemonSet): a worker's `kubeadm join` pulls nothing (its preflight
# pulls images only for a control-plane join: cmd/kubeadm/app/cmd/phases/join/preflight.go).
kubernetes_images() {
    local images
    images="$(kubeadm config images list --kubernetes-version "v${KUBERNETES_VERSION}" 2>/dev/null)" || true
    [ -n "$images" ] || return 0
    if [ "$1" = control-plane ]; then
        echo "$images"
    else
        grep -E '/(pause|kube-proxy):' <<<"$images" || true
    fi
}

# image_present IMAGE: whether containerd's CRI image store holds IMAGE.
image_present() {
    crictl --runtime-endpoint "$CRI_SOCKET" inspecti "$1" >/dev/null 2>&1
}

# prepull_images: pulls (through containerd's CRI, so its proxy drop-in applies) every Kubernetes
# image of this node's role and every PREPULL_IMAGES entry not yet present. Bounded by
# IMAGE_PULL_SECONDS in all; a failed or late pull is logged and left to the kubelet (which pulls
# on demand), never failing preparation: a registry hiccup must not stop a node that can still work.
prepull_images() {
    local budget="${IMAGE_PULL_SECONDS:-600}" deadline images=() image present=0 pulled=0 failed=0
    [[ "$budget" =~ ^[0-9]+$ ]] || budget=600
    deadline=$((SECONDS + budget))
    mapfile -t images < <(kubernetes_images "$NODE_ROLE")
    [ "${#images[@]}" -gt 0 ] || log "warning: kubeadm named no images for v${KUBERNETES_VERSION}: nothing pre-pulled for Kubernetes"
    local extra extras=()
    read -ra extras <<<"${PREPULL_IMAGES:-}"
    for extra in "${extras[@]}"; do
        if [[ "$extra" =~ ^[A-Za-z0-9][A-Za-z0-9._/:@-]*$ ]]; then
            images+=("$extra")
        else
            log "warning: PREPULL_IMAGES entry '${extra}' is not an image reference: skipped"
        fi
    done
    for image in "${images[@]}"; do
        if image_present "$image"; then
            present=$((present + 1))
            continue
        fi
        local left=$((deadline - SECONDS))
        if [ "$left" -le 0 ]; then
            log "warning: image pre-pull took its ${budget}s: ${image} left to the kubelet"
            failed=$((failed + 1))
            continue
        fi
        if timeout "$left" crictl --runtime-endpoint "$CRI_SOCKET" pull "$image" >/dev/null 2>&1; then
            log "pulled ${image}"
            pulled=$((pulled + 1))
        else
            log "warning: could not pull ${image} now: left to the kubelet"
            failed=$((failed + 1))
        fi
    done
    log "images: ${present} present, ${pulled} pulled, ${failed} not pulled"
}

# detect_prepared_template: succeeds when this node came from a prepared template (README "A
# prepared template": a VM this script prepared with the same version, then generalized): the
# pinned kubelet, kubeadm and kubectl, containerd configured by this script, and every Kubernetes
# image of the role present. Then preparation only checks: the pkgs.k8s.io key and repository the
# template already has are kept, no apt list is fetched and nothing is pulled.
detect_prepared_template() {
    local package image
    if release_containerd; then
        release_containerd_installed || return 1
    else
        package_installed containerd || return 1
    fi
    for package in kubelet kubeadm kubectl; do
        [[ "$(installed_version "$package")" == "${KUBERNETES_VERSION}-"* ]] || return 1
    done
    [ -f "$CONTAINERD_CONFIG" ] && grep -qxF "$CONTAINERD_CONFIG_MARKER" "$CONTAINERD_CONFIG" || return 1
    local images=()
    mapfile -t images < <(kubernetes_images "$NODE_ROLE")
    [ "${#images[@]}" -gt 0 ] || return 1
    for image in "${images[@]}"; do
        image_present "$image" || return 1
    done
    log "prepared template: containerd, kubelet/kubeadm/kubectl ${KUBERNETES_VERSION} and the ${#images[@]} Kubernetes images are present; only checking"
}

# node_in_cluster: whether this node has joined a cluster (its kubelet has credentials).
node_in_cluster() { [ -f "${TEST_ROOT}/etc/kubernetes/kubelet.conf" ]; }

# install_container_runtime: containerd's release when the configuration names one
# (CONTAINERD_VERSION, Kubernetes 1.36 and later). A node already in a cluster that runs another
# containerd keeps it here: the upgrade's kubelet step moves it while the node is drained
# (kubernetes-upgrade-node.sh), never a preparation re-run under running pods.
install_container_runtime() {
    release_containerd || return 0
    if node_in_cluster && ! release_containerd_installed; then
        log "containerd $(containerd_version_of containerd) on a node in a cluster: the Kubernetes upgrade moves it to ${CONTAINERD_VERSION} while the node is drained; left as it is"
        return 0
    fi
    install_release_containerd
}

# require_containerd_for_kubernetes: fails when KUBERNETES_VERSION's kubelet cannot run on the
# node's containerd, before any Kubernetes package is installed. Kubernetes 1.35 is the last minor
# that supports containerd 1.x (containerd RELEASES.md "Kubernetes Support": 1.36 -> 2.3.0+,
# 2.2.0+). The program installs containerd 2 for 1.36 and later (install_container_runtime), so
# this stops a run without CONTAINERD_VERSION (the script run by hand) on a containerd 1.x node. A
# node in a cluster is the upgrade's to move (see install_container_runtime).
require_containerd_for_kubernetes() {
    local minor="${KUBERNETES_VERSION#*.}" version
    minor="${minor%%.*}"
    [ "$minor" -ge 36 ] || return 0
    version="$(containerd_version_of containerd)"
    if [ -z "$version" ] || [ "${version%%.*}" -lt 2 ]; then
        if node_in_cluster; then
            log "containerd ${version:-(none)} cannot run Kubernetes ${KUBERNETES_VERSION}: the upgrade moves this node to containerd 2 before its kubelet"
            return 0
        fi
        fail "kubernetesVersion ${KUBERNETES_VERSION} needs containerd 2.0 or later, and this node's containerd is ${version:-not installed}: Kubernetes 1.35 is the last minor that supports containerd 1.x. Run this script with CONTAINERD_VERSION, CONTAINERD_SHA256, RUNC_VERSION and RUNC_SHA256 (pulumi up passes them; npm run plan shows them in each node's prepare command), or set kubernetesVersion to a 1.35 release. Nothing Kubernetes was installed."
    fi
    log "containerd ${version} runs Kubernetes ${KUBERNETES_VERSION}"
}

main() {
    : "${NODE_NAME:?NODE_NAME is required}"
    : "${NODE_ROLE:?NODE_ROLE is required (control-plane or worker)}"
    : "${KUBERNETES_VERSION:?KUBERNETES_VERSION is required, e.g. 1.33.4}"
    case "$NODE_ROLE" in
        control-plane | worker) ;;
        *) fail "NODE_ROLE must be control-plane or worker, not ${NODE_ROLE}" ;;
    esac
    [[ "$KUBERNETES_VERSION" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "KUBERNETES_VERSION must look like 1.33.4, not ${KUBERNETES_VERSION}"
    [ "$(id -u)" = 0 ] || fail "run as root (sudo)"

    log "preparing ${NODE_ROLE} node for Kubernetes ${KUBERNETES_VERSION}"
    wait_for_first_boot
    configure_proxy
    disable_swap
    load_kernel_modules
    apply_sysctls
    local prepared_template=false
    detect_prepared_template && prepared_template=true
    install_base_packages
    install_container_runtime
    require_containerd_for_kubernetes
    hold_runtime_packages
    [ "$prepared_template" = true ] || add_kubernetes_repository
    install_kubernetes_packages
    configure_containerd
    install_flannel_offload_fix
    prepull_images
    log "node prepared"
}

if [ "${K8S_LAB_FUNCTIONS_ONLY:-}" != 1 ]; then
    main "$@"
fi
