#!/usr/bin/env bash
# Makes sure a node can join right now: run on the first control plane before each join. The
# bootstrap token must exist and stay valid long enough (re-created with the same value when it
# expired or is about to), and for a control-plane join the certificates must be in the
# kubeadm-certs Secret (uploaded again with the same certificate key: kubeadm deletes them 2 h
# after each upload).
# Runs as root: sudo -n env NODE_NAME=... JOINING_NODE=... JOIN_ROLE=... bash -s  (stdin).
#
# Environment:
#   NODE_NAME               this node's name (node 0), for progress lines        (required)
#   JOINING_NODE            the node about to join, for progress lines            (required)
#   JOIN_ROLE               control-plane | worker                                (required)
#   TOKEN_MIN_VALID_SECONDS re-create the token when it has less left than this  (default 3600)
#   API_WAIT_SECONDS        how long to wait for the API to answer               (default 300)
#   K8S_LAB_FUNCTIONS_ONLY  tests only: 1 defines the functions without running main
# Staged files (root-only, 0600):
#   /etc/k8s-lab/kubeadm-init.yaml   the init config kubeadm-init.sh used: its bootstrapTokens and
#                                    certificateKey are the secrets, handed to kubeadm as --config,
#                                    so neither ever passes through the shell or a command line.
#                                    Only the token's public ID is read here.
# Writes: /var/log/k8s-lab/join-credentials.log (0600: `kubeadm token create` prints the token there).
# Stdout: progress lines only. Idempotent: a valid token and fresh certificates are left as they are
#   (the certificates are uploaded again on every control-plane refresh: that is the refresh).
set -euo pipefail
shopt -s inherit_errexit # a failure inside $(...) fails the caller too

# k8s-lab:include lib/common.sh

readonly INIT_CONFIG=/etc/k8s-lab/kubeadm-init.yaml
readonly ADMIN_KUBECONFIG=/etc/kubernetes/admin.conf

# bootstrap_token_id FILE: prints the public ID (the 6 characters before the dot) of the first
# bootstrap token in a kubeadm init config written by renderKubeadmInitConfig. The secret half is
# matched but never printed.
bootstrap_token_id() {
    local id
    id="$(sed -nE "/^[[:space:]]*(-[[:space:]]+)?token:[[:space:]]*[\"']?[a-z0-9]{6}\.[a-z0-9]{16}[\"']?[[:space:]]*$/{
        s/^[[:space:]]*(-[[:space:]]+)?token:[[:space:]]*[\"']?([a-z0-9]{6})\..*/\2/p
        q
    }" "$1")"
    [ -n "$id" ] || return 1
    echo "$id"
}

# seconds_until RFC3339_TIME: prints how many seconds from now (negative when past).
seconds_until() {
    echo $(($(date -d "$1" +%s) - $(date +%s)))
}

wait_for_api() {
    local deadline=$((SECONDS + API_WAIT_SECONDS))
    until kubectl get --raw=/readyz >/dev/null 2>&1; do
        [ "$SECONDS" -lt "$deadline" ] || fail "the Kubernetes API did not answer within ${API_WAIT_SECONDS}s"
        sleep 5
    done
}

# token_state ID: prints "missing", "forever" or the seconds the token has left.
token_state() {
    local found name expiration
    found="$(kubectl -n kube-system get secret "bootstrap-token-$1" --ignore-not-found \
        -o jsonpath='{.metadata.name}{" "}{.data.expiration}')"
    name="${found%% *}"
    if [ -z "$name" ]; then
        echo missing
        return 0
    fi
    expiration="${found#* }"
    if [ -z "$expiration" ]; then
        echo forever
        return 0
    fi
    seconds_until "$(echo "$expiration" | base64 -d)"
}

ensure_bootstrap_token() {
    local id state
    id="$(bootstrap_token_id "$INIT_CONFIG")" || fail "no bootstrap token in ${INIT_CONFIG}"
    state="$(token_state "$id")"
    case "$state" in
        forever)
            log "bootstrap token ${id} never expires"
            return 0
            ;;
        missing)
            log "bootstrap token ${id} is gone: creating it again from ${INIT_CONFIG}"
            ;;
        *)
            if [ "$state" -ge "$TOKEN_MIN_VALID_SECONDS" ]; then
                log "bootstrap token ${id} is valid for another $((state / 60)) min"
                return 0
            fi
            log "bootstrap token ${id} has $((state > 0 ? state / 60 : 0)) min left: creating it again from ${INIT_CONFIG}"
            # The ID is public; deleting by ID keeps the secret half off the command line.
            run_logged join-credentials kubeadm token delete "$id"
            ;;
    esac
    # kubeadm token create --config creates the InitConfiguration's bootstrapTokens (same value,
    # ttl counted from now) and prints the token: to the root-only log, not stdout.
    run_logged join-credentials kubeadm token create --config "$INIT_CONFIG"
    [ "$(token_state "$id")" != missing ] || fail "bootstrap token ${id} is still missing after kubeadm token create"
    log "bootstrap token ${id} created"
}

upload_certificates() {
    log "uploading control-plane certificates for ${JOINING_NODE} (kubeadm-certs Secret, 2 h)"
    # certificateKey comes from the InitConfiguration in the file, so the joining node's key matches.
    run_logged join-credentials kubeadm init phase upload-certs --upload-certs --skip-certificate-key-print --config "$INIT_CONFIG"
}

main() {
    : "${NODE_NAME:?NODE_NAME is required}"
    : "${JOINING_NODE:?JOINING_NODE is required}"
    : "${JOIN_ROLE:?JOIN_ROLE is required (control-plane or worker)}"
    TOKEN_MIN_VALID_SECONDS="${TOKEN_MIN_VALID_SECONDS:-3600}"
    API_WAIT_SECONDS="${API_WAIT_SECONDS:-300}"
    case "$JOIN_ROLE" in
        control-plane | worker) ;;
        *) fail "JOIN_ROLE must be control-plane or worker, not ${JOIN_ROLE}" ;;
    esac
    [ "$(id -u)" = 0 ] || fail "run as root (sudo)"
    [ -s "$ADMIN_KUBECONFIG" ] || fail "${ADMIN_KUBECONFIG} is missing: run kubeadm-init.sh on this node first"
    [ -s "$INIT_CONFIG" ] || fail "${INIT_CONFIG} is missing or empty: it must stay staged after kubeadm init"
    export KUBECONFIG="$ADMIN_KUBECONFIG"

    # Joins run in parallel (workers), so their refreshes reach this node at once: one at a time,
    # or two could each delete and re-create the same token.
    exec 9>/run/k8s-lab-join-refresh.lock
    flock --timeout 600 9 || fail "another join refresh held /run/k8s-lab-join-refresh.lock for 10 minutes"

    log "refreshing join credentials for ${JOIN_ROLE} ${JOINING_NODE}"
    wait_for_api
    ensure_bootstrap_token
    if [ "$JOIN_ROLE" = control-plane ]; then
        upload_certificates
    fi
    log "join credentials ready for ${JOINING_NODE}"
}

if [ "${K8S_LAB_FUNCTIONS_ONLY:-}" != 1 ]; then
    main "$@"
fi
