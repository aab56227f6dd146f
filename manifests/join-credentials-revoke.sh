#!/usr/bin/env bash
# Closes the join window, run on the first control plane once the joins of a `pulumi up` are done:
# deletes every bootstrap token this program created (kubeadm init's and each join's: their
# description starts with "k8s-vsphere-lab"; tokens made by hand are kept) and the kubeadm-certs
# Secret (the control-plane certificates uploaded for joins, encrypted with a certificate key).
# A later join mints its own credentials again (join-credentials-mint.sh).
# Runs as root: sudo -n env NODE_NAME=... bash -s  (stdin).
#
# Environment:
#   NODE_NAME               this node's name (node 0)                             (required)
#   API_WAIT_SECONDS        how long to wait for the API to answer               (default 300)
#   K8S_LAB_FUNCTIONS_ONLY  tests only: 1 defines the functions without running main
# Reads: /etc/kubernetes/admin.conf. Secrets: none printed (only the tokens' public IDs).
# Stdout: progress lines only. Idempotent: nothing left to delete prints so.
set -euo pipefail
shopt -s inherit_errexit # a failure inside $(...) fails the caller too

# k8s-lab:include lib/common.sh

readonly ADMIN_KUBECONFIG="${TEST_ROOT}/etc/kubernetes/admin.conf"
# Locks (and the mint's short-lived upload-certs config): tmpfs on a node.
readonly RUN_DIR="${TEST_ROOT}/run"
readonly TOKEN_DESCRIPTION_PREFIX="k8s-vsphere-lab"

# lab_token_ids: prints the public ID of each bootstrap token whose description starts with
# TOKEN_DESCRIPTION_PREFIX, one per line. Reads the token Secrets' names and descriptions only.
lab_token_ids() {
    local name description
    kubectl -n kube-system get secrets --field-selector type=bootstrap.kubernetes.io/token \
        -o go-template='{{range .items}}{{.metadata.name}}{{" "}}{{index .data "description"}}{{"\n"}}{{end}}' |
        while read -r name description; do
            [ -n "$name" ] || continue
            if printf '%s' "$description" | base64 -d 2>/dev/null | grep -q "^${TOKEN_DESCRIPTION_PREFIX}"; then
                echo "${name#bootstrap-token-}"
            fi
        done
}

main() {
    : "${NODE_NAME:?NODE_NAME is required}"
    API_WAIT_SECONDS="${API_WAIT_SECONDS:-300}"
    [ "$(id -u)" = 0 ] || fail "run as root (sudo)"
    [ -s "$ADMIN_KUBECONFIG" ] || fail "${ADMIN_KUBECONFIG} is missing: run kubeadm-init.sh on this node first"
    export KUBECONFIG="$ADMIN_KUBECONFIG"
    # Not while a mint is uploading certificates for a join still under way.
    exec 9>"${RUN_DIR}/k8s-lab-join-credentials.lock"
    flock --timeout 600 9 || fail "a join held ${RUN_DIR}/k8s-lab-join-credentials.lock for 10 minutes"

    wait_for_api
    local ids id deleted=0
    ids="$(lab_token_ids)"
    for id in $ids; do
        # The ID is public: deleting by ID keeps the secret half off the command line.
        run_logged join-credentials kubeadm token delete "$id"
        deleted=$((deleted + 1))
    done
    log "deleted ${deleted} bootstrap token(s) this program created"
    if [ -n "$(kubectl -n kube-system get secret kubeadm-certs --ignore-not-found -o name)" ]; then
        run_logged join-credentials kubectl -n kube-system delete secret kubeadm-certs
        log "deleted the kubeadm-certs Secret (uploaded control-plane certificates)"
    else
        log "no kubeadm-certs Secret left"
    fi
}

if [ "${K8S_LAB_FUNCTIONS_ONLY:-}" != 1 ]; then
    main "$@"
fi
