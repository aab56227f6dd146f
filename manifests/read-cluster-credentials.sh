#!/usr/bin/env bash
# Prints one credential of the cluster from the first control plane, for the program to read as a
# secret: the discovery CA hash joins pin, the cluster CA certificate, or the admin kubeconfig.
# Runs as root: sudo -n env NODE_NAME=... WHAT=... bash -s  (this script on stdin), after
# kubeadm-init.sh. Read its stdout with logging off and mark it secret.
#
# Environment:
#   NODE_NAME               the node's name, for messages on stderr               (required)
#   WHAT                    ca-cert-hash | ca-cert | kubeconfig                    (required)
#   K8S_LAB_FUNCTIONS_ONLY  tests only: 1 defines the functions without running main
# Reads: /etc/kubernetes/pki/ca.crt, /etc/kubernetes/admin.conf (written by kubeadm init).
# Stdout: only the value asked for ("sha256:<64 hex>" and a newline, the PEM certificate, or the
#   kubeconfig, whose server is the controlPlaneEndpoint). Messages go to stderr.
# Idempotent: reads only.
set -euo pipefail
shopt -s inherit_errexit # a failure inside $(...) fails the caller too

readonly CA_CERT=/etc/kubernetes/pki/ca.crt
readonly ADMIN_KUBECONFIG=/etc/kubernetes/admin.conf

# Not lib/common.sh: its log() writes to stdout, which here must carry the credential alone.
note() { echo "[${NODE_NAME:-node}] $*" >&2; }
fail() {
    echo "[${NODE_NAME:-node}] error: $*" >&2
    exit 1
}

# ca_cert_hash CERT: "sha256:" + the hex SHA-256 of the DER SubjectPublicKeyInfo of CERT, the
# value `kubeadm join --discovery-token-ca-cert-hash` and JoinConfiguration.caCertHashes expect.
# `openssl pkey` (not `openssl rsa`) so an ECDSA cluster CA works too.
ca_cert_hash() {
    local digest
    digest="$(openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER | openssl dgst -sha256 -hex)"
    digest="${digest##* }"
    [[ "$digest" =~ ^[0-9a-f]{64}$ ]] || fail "could not hash the public key of $1"
    echo "sha256:${digest}"
}

require_file() {
    [ -s "$1" ] || fail "$1 is missing: run kubeadm-init.sh on this node first"
}

main() {
    : "${NODE_NAME:?NODE_NAME is required}"
    : "${WHAT:?WHAT is required: ca-cert-hash, ca-cert or kubeconfig}"
    case "$WHAT" in
        ca-cert-hash)
            require_file "$CA_CERT"
            ca_cert_hash "$CA_CERT"
            ;;
        ca-cert)
            require_file "$CA_CERT"
            cat "$CA_CERT"
            ;;
        kubeconfig)
            require_file "$ADMIN_KUBECONFIG"
            cat "$ADMIN_KUBECONFIG"
            ;;
        *) fail "WHAT must be ca-cert-hash, ca-cert or kubeconfig, not ${WHAT}" ;;
    esac
    note "printed ${WHAT}"
}

if [ "${K8S_LAB_FUNCTIONS_ONLY:-}" != 1 ]; then
    main "$@"
fi
