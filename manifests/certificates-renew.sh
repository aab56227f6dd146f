#!/usr/bin/env bash
# Renews this control plane's kubeadm certificates in a renewal round, then restarts its static
# pods one at a time so each reads its new certificate (issue 12 item 3). A round is the time the
# stack decided to renew (providers/certificateRenewal.ts, renewCertificatesBefore); certificates
# issued after it (a node that joined later, or one this round already renewed) are left alone.
# kubeadm's procedure: `kubeadm certs renew all`, then restart the control-plane pods; a static pod
# restarts when its manifest leaves /etc/kubernetes/manifests and comes back, each move seen within
# the kubelet's fileCheckFrequency (20 s)
# (https://kubernetes.io/docs/tasks/administer-cluster/kubeadm/kubeadm-certs/#manual-certificate-renewal).
# pulumi up runs it on the control planes one after another, so etcd and the API keep a majority.
# Runs as root: sudo -n env NODE_NAME=... RENEW_ROUND=... ADVERTISE_ADDRESS=... ... bash -s  (stdin).
#
# Environment:
#   NODE_NAME               this node's name                                        (required)
#   RENEW_ROUND             the round's time (ISO 8601), or "initial": nothing to renew yet (required)
#   ADVERTISE_ADDRESS       this node's address: its apiserver answers /readyz there (required)
#   API_SERVER_BIND_PORT    the port the node's own apiserver binds (kubeadm's bindPort) (required)
#   POD_WAIT_SECONDS        how long each pod may take to stop or to run again       (default 180)
#   ETCD_WAIT_SECONDS       how long to wait for every etcd member to be healthy before renewing
#                           (default 900: a control plane's resize or reboot ends within it)
#   ETCD_ENDPOINT           this node's etcd client URL (default https://127.0.0.1:2379, kubeadm's)
#   CRI_ENDPOINT            containerd's socket   (default unix:///run/containerd/containerd.sock)
#   K8S_LAB_FUNCTIONS_ONLY  tests only: 1 defines the functions without running main
# Reads: /etc/kubernetes/pki/apiserver.crt (its expiry stands for the node's leaf certificates:
#   kubeadm makes and renews them together), /etc/kubernetes/pki/ca.crt, and etcd's CA, server and
#   health-check client certificates under /etc/kubernetes/pki/etcd. Secrets: none printed.
# Stdout: progress lines only. Idempotent: a re-run of a round finds the certificates newer than
#   it, and a run that stopped half-way puts every manifest back (at its exit, or the next run's start).
set -euo pipefail
shopt -s inherit_errexit # a failure inside $(...) fails the caller too

# k8s-lab:include lib/common.sh

readonly KUBERNETES_DIR="${TEST_ROOT}/etc/kubernetes"
readonly MANIFEST_DIR="${KUBERNETES_DIR}/manifests"
# Outside the kubelet's manifest folder, root-only: a manifest here is a stopped static pod.
readonly PAUSED_DIR="${KUBERNETES_DIR}/manifests-paused-for-renewal"
readonly API_SERVER_CERT="${KUBERNETES_DIR}/pki/apiserver.crt"
# kubeadm's etcd pod mounts this folder at the same path, so etcdctl inside it finds the files here.
readonly ETCD_PKI_DIR="${KUBERNETES_DIR}/pki/etcd"
# etcd first, then the apiserver, whose /readyz also checks etcd: one member restarts at a time.
readonly STATIC_PODS="etcd kube-apiserver kube-controller-manager kube-scheduler"

# certificate_date start|end: when the apiserver certificate starts or ends being valid (openssl's text).
certificate_date() {
    openssl x509 -noout "-$1date" -in "$API_SERVER_CERT" | sed 's/^not[A-Za-z]*=//'
}

# issued_before_round ROUND: succeeds when the apiserver certificate was issued over a day before
# ROUND (ISO 8601). The day of margin: kubeadm backdates a new certificate's start by minutes, and
# the workstation's clock that set the round differs from this node's; a round comes only when the
# certificates are months old, and one issued within the day is fresh anyway.
issued_before_round() {
    [ "$(date -u -d "$(certificate_date start)" +%s)" -lt "$(($(date -u -d "$1" +%s) - 86400))" ]
}

# pod_running NAME: succeeds while the static pod's container NAME runs.
pod_running() {
    [ -n "$(crictl --runtime-endpoint "$CRI_ENDPOINT" ps --state running --name "^$1\$" -q 2>/dev/null)" ]
}

# pod_stopped NAME: succeeds once no container NAME runs.
pod_stopped() { ! pod_running "$1"; }

# wait_until WHAT COMMAND...: polls COMMAND every 2 s; fails naming WHAT after POD_WAIT_SECONDS.
wait_until() {
    local what="$1" deadline=$((SECONDS + POD_WAIT_SECONDS))
    shift
    until "$@"; do
        [ "$SECONDS" -lt "$deadline" ] || fail "${what} within ${POD_WAIT_SECONDS}s; the renewed certificates are in place, see journalctl -u kubelet and 'crictl ps -a'. Re-run pulumi up to continue."
        sleep 2
    done
}

# etcd_certificates_unusable: etcd's server or health-check client certificate has expired (or is
# missing): etcdctl cannot connect then, so the members' health cannot be asked.
etcd_certificates_unusable() {
    local certificate
    for certificate in server healthcheck-client; do
        openssl x509 -noout -checkend 0 -in "${ETCD_PKI_DIR}/${certificate}.crt" >/dev/null 2>&1 || return 0
    done
    return 1
}

# etcd_cluster_healthy: every etcd member answers its health check, asked by etcdctl inside this
# node's etcd container (the etcd image ships etcdctl): no apiserver and no etcdctl on the node needed.
# `exec --sync` runs it through the CRI's ExecSync, bounded by --timeout, and exits non-zero when
# etcdctl does (cri-tools cmd/crictl/exec.go).
etcd_cluster_healthy() {
    local container
    container="$(crictl --runtime-endpoint "$CRI_ENDPOINT" ps --state running --name '^etcd$' -q 2>/dev/null | head -n 1)"
    [ -n "$container" ] || return 1
    crictl --runtime-endpoint "$CRI_ENDPOINT" exec --sync --timeout 30 "$container" etcdctl --endpoints="$ETCD_ENDPOINT" \
        --cacert="${ETCD_PKI_DIR}/ca.crt" --cert="${ETCD_PKI_DIR}/healthcheck-client.crt" \
        --key="${ETCD_PKI_DIR}/healthcheck-client.key" endpoint health --cluster >/dev/null 2>&1
}

# wait_for_healthy_etcd: waits, up to ETCD_WAIT_SECONDS, until every etcd member is healthy. This
# node's member restarts next; with another member down (a control plane being resized or
# rebooted in the same pulumi up), that would lose etcd's quorum. Asked before anything is renewed,
# so a timeout leaves the node as it was and the next pulumi up runs the whole renewal; the next
# control plane's renewal asks again, so it also waits for this member to be back. Once etcd's own
# certificates have expired etcdctl cannot connect: the renewal then goes on without asking (the
# cluster is down anyway, and only the renewal brings it back).
wait_for_healthy_etcd() {
    if etcd_certificates_unusable; then
        log "etcd's certificates have expired (or are missing): its members' health cannot be asked; renewing without that check"
        return 0
    fi
    local deadline=$((SECONDS + ETCD_WAIT_SECONDS)) announced=false
    until etcd_cluster_healthy; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            fail "etcd is not healthy on every member (etcdctl endpoint health --cluster) after ${ETCD_WAIT_SECONDS}s: restarting this node's member now could lose etcd's quorum. Nothing was renewed or restarted here; bring the other members back (a resize or reboot in progress ends on its own) and run pulumi up again."
        fi
        if [ "$announced" = false ]; then
            log "waiting for every etcd member to be healthy (up to ${ETCD_WAIT_SECONDS}s) before this one restarts ..."
            announced=true
        fi
        sleep 5
    done
    log "etcd: every member is healthy"
}

# restore_paused_manifests: puts back any manifest this run took out (on every exit).
restore_paused_manifests() {
    local manifest
    for manifest in "$PAUSED_DIR"/*.yaml; do
        [ -e "$manifest" ] || continue
        mv -f "$manifest" "$MANIFEST_DIR/"
        log "put $(basename "$manifest") back"
    done
}

# restart_static_pod NAME: stops the pod by moving its manifest out, starts it by moving it back.
restart_static_pod() {
    local name="$1"
    [ -f "${MANIFEST_DIR}/${name}.yaml" ] || fail "${MANIFEST_DIR}/${name}.yaml is missing: is this a control plane?"
    mv "${MANIFEST_DIR}/${name}.yaml" "${PAUSED_DIR}/"
    wait_until "${name} did not stop" pod_stopped "$name"
    mv "${PAUSED_DIR}/${name}.yaml" "${MANIFEST_DIR}/"
    wait_until "${name} did not run again" pod_running "$name"
    if [ "$name" = kube-apiserver ]; then
        wait_until "kube-apiserver did not answer /readyz on ${ADVERTISE_ADDRESS}" local_apiserver_ready "$ADVERTISE_ADDRESS" "$API_SERVER_BIND_PORT"
    fi
    log "${name} restarted"
}

main() {
    : "${RENEW_ROUND:?RENEW_ROUND is required}"
    : "${ADVERTISE_ADDRESS:?ADVERTISE_ADDRESS is required}"
    : "${API_SERVER_BIND_PORT:?API_SERVER_BIND_PORT is required}"
    POD_WAIT_SECONDS="${POD_WAIT_SECONDS:-180}"
    CRI_ENDPOINT="${CRI_ENDPOINT:-unix:///run/containerd/containerd.sock}"
    ETCD_WAIT_SECONDS="${ETCD_WAIT_SECONDS:-900}"
    ETCD_ENDPOINT="${ETCD_ENDPOINT:-https://127.0.0.1:2379}"
    if [ "$RENEW_ROUND" != initial ] && ! date -u -d "$RENEW_ROUND" +%s >/dev/null 2>&1; then
        fail "RENEW_ROUND must be an ISO 8601 time or 'initial', not ${RENEW_ROUND}"
    fi
    [ "$(id -u)" = 0 ] || fail "run as root (sudo)"
    [ -s "$API_SERVER_CERT" ] || fail "${API_SERVER_CERT} is missing: this node has not run kubeadm init or a control-plane join"

    # A run cut off while a manifest was out: put it back before anything else.
    install -d -m 0700 "$PAUSED_DIR"
    restore_paused_manifests
    if [ "$RENEW_ROUND" = initial ]; then
        log "certificates valid until $(certificate_date end): no renewal round yet"
        return 0
    fi
    if ! issued_before_round "$RENEW_ROUND"; then
        log "certificates issued $(certificate_date start), after the renewal round of ${RENEW_ROUND}: nothing to renew (valid until $(certificate_date end))"
        return 0
    fi

    log "renewal round of ${RENEW_ROUND}: renewing certificates valid until $(certificate_date end)"
    wait_for_healthy_etcd
    run_logged certs-renew kubeadm certs renew all
    trap restore_paused_manifests EXIT
    local pod
    for pod in $STATIC_PODS; do
        restart_static_pod "$pod"
    done
    trap - EXIT
    if issued_before_round "$RENEW_ROUND"; then
        fail "kubeadm certs renew all ran, but ${API_SERVER_CERT} is still the one issued $(certificate_date start)"
    fi
    log "certificates renewed: valid until $(certificate_date end)"
}

if [ "${K8S_LAB_FUNCTIONS_ONLY:-}" != 1 ]; then
    main "$@"
fi
