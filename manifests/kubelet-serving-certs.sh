#!/usr/bin/env bash
# Makes the kubelet ask the cluster CA for its serving certificate (serverTLSBootstrap), for
# metrics-server to verify (issue 13). kubeadm writes the setting into the kubelet's config on
# every node of a cluster whose `kubeadm init` had it; this step adds it on a node that joined
# before (a cluster built without it, or a node joining such a cluster), and restarts the kubelet
# only then. kubelet-csr-approver approves the CSR the restarted kubelet sends.
# Runs as root: sudo -n env NODE_NAME=... bash -s  (this script on stdin), after the node joined.
#
# Environment:
#   NODE_NAME               this node's name; the script stops on any other host   (required)
#   KUBELET_CONFIG          the kubelet's config file      (default /var/lib/kubelet/config.yaml)
#   K8S_LAB_FUNCTIONS_ONLY  tests only: 1 defines the functions without running main
# Idempotent: a config that already has `serverTLSBootstrap: true` is left alone, no restart.
set -euo pipefail
shopt -s inherit_errexit # a failure inside $(...) fails the caller too

# k8s-lab:include lib/common.sh

# enable_server_tls_bootstrap FILE: sets the top-level serverTLSBootstrap key of FILE to true;
# prints "changed" when it did, nothing when it was already so.
enable_server_tls_bootstrap() {
    local file="$1"
    if grep -qx 'serverTLSBootstrap: true' "$file"; then
        return 0
    fi
    if grep -q '^serverTLSBootstrap:' "$file"; then
        sed -i 's/^serverTLSBootstrap:.*$/serverTLSBootstrap: true/' "$file"
    else
        # kubeadm's file ends with a newline; a file that does not gets one first.
        [ -z "$(tail -c 1 "$file")" ] || echo >>"$file"
        echo 'serverTLSBootstrap: true' >>"$file"
    fi
    echo changed
}

main() {
    local config="${KUBELET_CONFIG:-/var/lib/kubelet/config.yaml}"
    [ -s "$config" ] || fail "${config} is missing: the node has not joined the cluster"
    if [ "$(enable_server_tls_bootstrap "$config")" = changed ]; then
        log "serverTLSBootstrap turned on in ${config}; restarting the kubelet (its pods keep running)"
        systemctl restart kubelet
    else
        log "the kubelet already requests CA-signed serving certificates"
    fi
}

if [ "${K8S_LAB_FUNCTIONS_ONLY:-}" != 1 ]; then
    main "$@"
fi
