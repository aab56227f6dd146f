#!/usr/bin/env bash
# Rewrites this control plane's kube-apiserver static pod manifest from the cluster's kubeadm
# config, so a change of the apiserver's flags (the oidc* keys, issue 13 item 1) reaches a running
# cluster; the graph runs it on one control plane at a time, node 0 first, each only after the
# previous one's apiserver answered again (components/apiServerReconfigure.ts).
# kubeadm's way ("Reconfiguring a kubeadm cluster", kubernetes.io/docs/tasks/administer-cluster/
# kubeadm/kubeadm-reconfigure/): `kubeadm init phase control-plane apiserver --config <file>` writes
# the manifest into /etc/kubernetes/manifests, the kubelet restarts the static pod, and on the node
# that holds the cluster's record `kubeadm init phase upload-config kubeadm --config <file>` updates
# the kubeadm-config ConfigMap, so later joins and `kubeadm upgrade` keep the flags.
# Runs as root: sudo -n env NODE_NAME=... ADVERTISE_ADDRESS=... bash -s  (this script on stdin),
# after this node's kubeadm init or join.
#
# Environment:
#   NODE_NAME               this node's name (its mirror pod is kube-apiserver-<name>)  (required)
#   ADVERTISE_ADDRESS       this node's address: its apiserver answers /readyz there   (required)
#   UPLOAD_CONFIG           true on node 0: also upload the ClusterConfiguration      (default false)
#   API_WAIT_SECONDS        how long to wait for the API before starting              (default 300)
#   APISERVER_WAIT_SECONDS  how long the new apiserver may take to answer /readyz     (default 300)
#   APISERVER_POLL_SECONDS  pause between two looks at it                             (default 5)
#   K8S_LAB_FUNCTIONS_ONLY  tests only: 1 defines the functions without running main
# Staged files (root-only, 0600):
#   /etc/k8s-lab/kubeadm-apiserver.yaml  InitConfiguration + ClusterConfiguration of this node
#                                        (renderKubeadmInitConfig with this node's name and address,
#                                        the cluster's settings as at init; no secret)
# Reads: /etc/kubernetes/admin.conf, /etc/kubernetes/pki/ca.crt. Secrets: none.
# Writes: /etc/kubernetes/manifests/kube-apiserver.yaml; the previous one is kept at
#   /var/lib/k8s-lab/kube-apiserver.yaml.before (outside the manifests folder: the kubelet runs
#   every file there), kubeadm's output at /var/log/k8s-lab/apiserver-reconfigure.log.
# Stdout: progress lines only. Idempotent: when the new manifest is the old one, nothing restarts
#   (so it runs harmlessly right after init or join, and again after a failed roll).
# On failure (the new apiserver does not answer in time) the previous manifest is put back, so the
#   node keeps serving with its old flags, the new one is kept at
#   /var/lib/k8s-lab/kube-apiserver.yaml.failed, and the script fails naming the node: the control
#   planes after it are not touched, and node 0's ConfigMap is updated only once its own apiserver
#   runs with the new flags.
set -euo pipefail
shopt -s inherit_errexit # a failure inside $(...) fails the caller too

# k8s-lab:include lib/common.sh

readonly CONFIG="${TEST_ROOT}/etc/k8s-lab/kubeadm-apiserver.yaml"
readonly MANIFEST="${TEST_ROOT}/etc/kubernetes/manifests/kube-apiserver.yaml"
readonly BACKUP="${STATE_DIR}/kube-apiserver.yaml.before"
readonly FAILED="${STATE_DIR}/kube-apiserver.yaml.failed"
readonly ADMIN_KUBECONFIG="${TEST_ROOT}/etc/kubernetes/admin.conf"
readonly API_SERVER_PORT=6443

# check_same_version: fails, changing nothing, when the running apiserver's image is not the
# version in the staged config: writing the manifest would upgrade (or downgrade) this apiserver
# alone, outside kubeadm upgrade.
check_same_version() {
    local running wanted
    running="$(grep -oE 'kube-apiserver:v[0-9]+\.[0-9]+\.[0-9]+' "$MANIFEST" | head -n 1 || true)"
    running="${running#kube-apiserver:}"
    wanted="$(sed -nE 's/^kubernetesVersion: "?(v[0-9]+\.[0-9]+\.[0-9]+)"?$/\1/p' "$CONFIG" | head -n 1)"
    [ -n "$wanted" ] || fail "${CONFIG} names no kubernetesVersion: stage the file rendered by the program"
    if [ "$running" != "$wanted" ]; then
        fail "kube-apiserver on ${NODE_NAME} runs ${running:-an unknown version}, the staged config is for ${wanted}: nothing was changed. Flags roll at the version the cluster runs: upgrade the cluster to ${wanted} first (or put kubernetesVersion back), then run pulumi up again."
    fi
}

# mirror_pod_state: "<config hash>|<Ready status>" of this node's kube-apiserver mirror pod, or ""
# when the API does not answer. The kubelet sets kubernetes.io/config.hash to the static pod's
# hash: kubeadm upgrade waits for it to change to know the kubelet restarted the pod
# (kubernetes/kubernetes cmd/kubeadm/app/util/apiclient/wait.go, WaitForStaticPodHashChange).
mirror_pod_state() {
    kubectl -n kube-system get pod "kube-apiserver-${NODE_NAME}" \
        -o jsonpath='{.metadata.annotations.kubernetes\.io/config\.hash}|{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null || true
}

# wait_for_mirror_pod_hash: prints the mirror pod's hash once it is readable; fails after API_WAIT_SECONDS.
wait_for_mirror_pod_hash() {
    local deadline=$((SECONDS + API_WAIT_SECONDS)) state
    while :; do
        state="$(mirror_pod_state)"
        if [ -n "${state%%|*}" ]; then
            echo "${state%%|*}"
            return 0
        fi
        [ "$SECONDS" -lt "$deadline" ] || fail "the mirror pod kube-apiserver-${NODE_NAME} was not readable within ${API_WAIT_SECONDS}s: is ${NODE_NAME} a control plane of the cluster? Nothing was changed."
        sleep "$APISERVER_POLL_SECONDS"
    done
}

# wait_for_new_apiserver OLD_HASH: succeeds once the kubelet runs the new static pod (hash changed),
# it is Ready and the apiserver answers /readyz; fails after APISERVER_WAIT_SECONDS. The hash first:
# until the kubelet has noticed the file, the old apiserver still answers /readyz.
wait_for_new_apiserver() {
    local old_hash="$1" deadline=$((SECONDS + APISERVER_WAIT_SECONDS)) state
    while :; do
        state="$(mirror_pod_state)"
        if [ -n "${state%%|*}" ] && [ "${state%%|*}" != "$old_hash" ] && [ "${state#*|}" = True ] && local_apiserver_ready "$ADVERTISE_ADDRESS" "$API_SERVER_PORT"; then
            return 0
        fi
        [ "$SECONDS" -lt "$deadline" ] || return 1
        sleep "$APISERVER_POLL_SECONDS"
    done
}

main() {
    : "${NODE_NAME:?NODE_NAME is required}"
    : "${ADVERTISE_ADDRESS:?ADVERTISE_ADDRESS is required}"
    UPLOAD_CONFIG="${UPLOAD_CONFIG:-false}"
    API_WAIT_SECONDS="${API_WAIT_SECONDS:-300}"
    APISERVER_WAIT_SECONDS="${APISERVER_WAIT_SECONDS:-300}"
    APISERVER_POLL_SECONDS="${APISERVER_POLL_SECONDS:-5}"
    [ "$(id -u)" = 0 ] || fail "run as root (sudo)"
    [ -s "$CONFIG" ] || fail "${CONFIG} is missing or empty: stage it before running this script"
    [ -s "$MANIFEST" ] || fail "${MANIFEST} is missing: ${NODE_NAME} is not a control plane yet (kubeadm-init.sh or kubeadm-join.sh first)"
    [ -s "$ADMIN_KUBECONFIG" ] || fail "${ADMIN_KUBECONFIG} is missing: ${NODE_NAME} is not a control plane yet"
    check_same_version
    export KUBECONFIG="$ADMIN_KUBECONFIG"
    wait_for_api
    local old_hash
    old_hash="$(wait_for_mirror_pod_hash)"

    install -d -m 0700 "$STATE_DIR"
    cp -p "$MANIFEST" "$BACKUP"
    log "writing kube-apiserver's static pod manifest from ${CONFIG} (previous one kept at ${BACKUP})"
    run_logged apiserver-reconfigure kubeadm init phase control-plane apiserver --config "$CONFIG"
    if cmp -s "$BACKUP" "$MANIFEST"; then
        log "kube-apiserver's manifest is unchanged: nothing to restart"
    else
        log "kube-apiserver's flags changed: waiting (up to ${APISERVER_WAIT_SECONDS}s) for the kubelet to restart it and for /readyz on ${ADVERTISE_ADDRESS}:${API_SERVER_PORT}"
        if ! wait_for_new_apiserver "$old_hash"; then
            cp -p "$MANIFEST" "$FAILED"
            cp -p "$BACKUP" "$MANIFEST"
            fail "kube-apiserver on ${NODE_NAME} did not answer /readyz with its new flags within ${APISERVER_WAIT_SECONDS}s. The previous manifest is back in place (the kubelet restarts the old apiserver); the new one is at ${FAILED}. The roll stopped at ${NODE_NAME}: the control planes after it are unchanged. See 'crictl ps -a --name kube-apiserver' and 'crictl logs <id>' on ${NODE_NAME}, fix the oidc* keys, and run pulumi up again."
        fi
        log "kube-apiserver answers /readyz with its new flags"
    fi
    if [ "$UPLOAD_CONFIG" = true ]; then
        run_logged apiserver-reconfigure kubeadm init phase upload-config kubeadm --config "$CONFIG"
        log "kubeadm-config ConfigMap updated: later joins and upgrades keep these flags"
    fi
}

if [ "${K8S_LAB_FUNCTIONS_ONLY:-}" != 1 ]; then
    main "$@"
fi
