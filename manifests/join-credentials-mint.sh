#!/usr/bin/env bash
# Mints the credentials of one join, run on the first control plane just before that node joins:
# a new bootstrap token for it alone, and for a control-plane join a new certificate key with the
# control-plane certificates uploaded under it (the kubeadm-certs Secret). Nothing is reused:
# every join has its own token, and join-credentials-revoke.sh deletes them all (and the
# kubeadm-certs Secret) once the joins of a `pulumi up` are done.
# Runs as root: sudo -n env NODE_NAME=... JOINING_NODE=... JOIN_ROLE=... bash -s  (stdin).
#
# Environment:
#   NODE_NAME               this node's name (node 0)                             (required)
#   JOINING_NODE            the node about to join (named in the token's description) (required)
#   JOIN_ROLE               control-plane | worker                                (required)
#   KUBERNETES_VERSION      the cluster's version, e.g. 1.34.2: without it in the upload-certs
#                           config kubeadm would look up "stable" on dl.k8s.io   (control-plane)
#   TOKEN_TTL               lifetime of the token, a Go duration: the bound if revoking never
#                           happens (a failed `pulumi up`)                        (default 2h0m0s)
#   API_WAIT_SECONDS        how long to wait for the API to answer               (default 300)
#   K8S_LAB_FUNCTIONS_ONLY  tests only: 1 defines the functions without running main
# Reads: /etc/kubernetes/admin.conf, /etc/kubernetes/pki (kubeadm's upload-certs).
# Stdout: exactly one line, the credentials as JSON: {"token":"...","certificateKey":"..."} (the
#   key empty for a worker). The command that runs this script keeps stdout secret and unlogged.
#   Progress lines go to stderr. Neither the token nor the key is written to a log or a command line:
#   the key reaches kubeadm in a 0600 file under /run that is removed on exit.
set -euo pipefail
shopt -s inherit_errexit # a failure inside $(...) fails the caller too

# k8s-lab:include lib/common.sh

readonly ADMIN_KUBECONFIG="${TEST_ROOT}/etc/kubernetes/admin.conf"
# Locks (and the mint's short-lived upload-certs config): tmpfs on a node.
readonly RUN_DIR="${TEST_ROOT}/run"
# The prefix of every token this program creates: join-credentials-revoke.sh deletes those only.
readonly TOKEN_DESCRIPTION_PREFIX="k8s-vsphere-lab"

# new_token: creates a bootstrap token for JOINING_NODE and prints it (only) on stdout.
new_token() {
    local token
    # kubeadm token create prints the token and nothing else on stdout; its stderr (warnings) goes
    # to the log, which so never sees the token.
    install -d -m 0700 "$LOG_DIR"
    token="$(kubeadm token create --ttl "$TOKEN_TTL" \
        --description "${TOKEN_DESCRIPTION_PREFIX}: join of ${JOINING_NODE}" \
        --groups system:bootstrappers:kubeadm:default-node-token \
        --usages signing,authentication 2>>"${LOG_DIR}/join-credentials.log")" || fail "kubeadm token create failed: see ${LOG_DIR}/join-credentials.log"
    [[ "$token" =~ ^[a-z0-9]{6}\.[a-z0-9]{16}$ ]] || fail "kubeadm token create did not print a bootstrap token"
    echo "$token"
}

# new_certificate_key: uploads the control-plane certificates under a new key and prints the key.
new_certificate_key() {
    local key config
    key="$(kubeadm certs certificate-key)"
    [[ "$key" =~ ^[0-9a-f]{64}$ ]] || fail "kubeadm certs certificate-key did not print a 64-hex-digit key"
    # --certificate-key would put the key on a command line (ps shows it to every local user):
    # kubeadm reads it from an InitConfiguration file instead, removed when this script exits.
    config="$(umask 077 && mktemp "${RUN_DIR}/k8s-lab-upload-certs.XXXXXX")"
    # shellcheck disable=SC2064 # the file name is fixed now, on purpose
    trap "rm -f '${config}'" EXIT
    # The CRI socket named, as in the program's own kubeadm configs: no runtime detection.
    printf 'apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\ncertificateKey: "%s"\nnodeRegistration:\n  criSocket: unix:///var/run/containerd/containerd.sock\n---\napiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nkubernetesVersion: "v%s"\n' \
        "$key" "${KUBERNETES_VERSION#v}" >"$config"
    run_logged join-credentials kubeadm init phase upload-certs --upload-certs --skip-certificate-key-print --config "$config"
    echo "$key"
}

main() {
    : "${NODE_NAME:?NODE_NAME is required}"
    : "${JOINING_NODE:?JOINING_NODE is required}"
    : "${JOIN_ROLE:?JOIN_ROLE is required (control-plane or worker)}"
    TOKEN_TTL="${TOKEN_TTL:-2h0m0s}"
    API_WAIT_SECONDS="${API_WAIT_SECONDS:-300}"
    case "$JOIN_ROLE" in
        control-plane | worker) ;;
        *) fail "JOIN_ROLE must be control-plane or worker, not ${JOIN_ROLE}" ;;
    esac
    if [ "$JOIN_ROLE" = control-plane ]; then
        : "${KUBERNETES_VERSION:?KUBERNETES_VERSION is required for a control-plane join}"
    fi
    [ "$(id -u)" = 0 ] || fail "run as root (sudo)"
    [ -s "$ADMIN_KUBECONFIG" ] || fail "${ADMIN_KUBECONFIG} is missing: run kubeadm-init.sh on this node first"
    export KUBECONFIG="$ADMIN_KUBECONFIG"

    # stdout carries the credentials only: progress lines go to stderr from here on.
    exec 3>&1 1>&2
    # Control-plane joins mint one after another anyway; workers at once: uploads one at a time.
    exec 9>"${RUN_DIR}/k8s-lab-join-credentials.lock"
    flock --timeout 600 9 || fail "another join held ${RUN_DIR}/k8s-lab-join-credentials.lock for 10 minutes"

    log "minting join credentials for ${JOIN_ROLE} ${JOINING_NODE}"
    wait_for_api
    local token key=""
    token="$(new_token)"
    if [ "$JOIN_ROLE" = control-plane ]; then
        log "uploading control-plane certificates for ${JOINING_NODE} under a new key (kubeadm-certs Secret)"
        key="$(new_certificate_key)"
    fi
    printf '{"token":"%s","certificateKey":"%s"}\n' "$token" "$key" >&3
    log "join credentials ready for ${JOINING_NODE} (token valid ${TOKEN_TTL} unless revoked sooner)"
}

if [ "${K8S_LAB_FUNCTIONS_ONLY:-}" != 1 ]; then
    main "$@"
fi
