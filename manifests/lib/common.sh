# shellcheck shell=bash
# lib/common.sh: helpers shared by the node scripts under manifests/. Never run, sourced or copied
# to a node on its own: renderScript (components/render/manifests.ts) pastes this text in place of
# a script's include line, right after its `set -euo pipefail` and `shopt -s inherit_errexit`, so
# each node receives one self-contained script. Hence no shebang and no `set` line here: the
# including script's options hold. Reads NODE_NAME (each including script documents it) and:
#   K8S_LAB_TEST_ROOT       tests only, unset on nodes: a folder the node paths below (logs, step
#                           markers; a script's own staged files and locks) are moved under, so
#                           behaviour tests with stand-in commands never touch the machine's /var

readonly TEST_ROOT="${K8S_LAB_TEST_ROOT:-}"
# Root-only folder of the logs run_logged writes (kubeadm prints secrets into them).
readonly LOG_DIR="${TEST_ROOT}/var/log/k8s-lab"
# Folder of the markers that record a finished step: kubeadm-init.sh and kubeadm-join.sh write
# <step>.done once their step has succeeded, node-reset.sh removes them.
readonly STATE_DIR="${TEST_ROOT}/var/lib/k8s-lab"

# log MESSAGE...: one progress line on stdout, prefixed with the node's name.
log() { echo "[${NODE_NAME:-node}] $*"; }

# fail MESSAGE...: an error line on stderr, prefixed with the node's name; exits the script with 1.
fail() {
    echo "[${NODE_NAME:-node}] error: $*" >&2
    exit 1
}

# redact_secrets: copies stdin to stdout with bootstrap tokens (abcdef.0123456789abcdef) and
# 64-hex-digit keys (certificate keys) replaced by <redacted-token> and <redacted-key>.
redact_secrets() {
    sed -E -e 's/[a-z0-9]{6}\.[a-z0-9]{16}/<redacted-token>/g' -e 's/[0-9a-fA-F]{64}/<redacted-key>/g'
}

# run_logged LOG_NAME COMMAND...: runs COMMAND with its stdout and stderr appended to the root-only
# ${LOG_DIR}/LOG_NAME.log (after a "=== <time> <command>" line); on failure prints the log's last
# 25 lines, secrets redacted, to stderr and returns 1.
run_logged() {
    local log_file="${LOG_DIR}/$1.log"
    shift
    install -d -m 0700 "$LOG_DIR"
    (umask 077 && echo "=== $(date -Is) $*" >>"$log_file")
    if ! "$@" >>"$log_file" 2>&1; then
        echo "[${NODE_NAME:-node}] error: '${*:1:2}' failed; last lines of ${log_file} (secrets redacted):" >&2
        tail -n 25 "$log_file" | redact_secrets >&2
        return 1
    fi
}

# wait_for_api: returns once the API answers /readyz (kubectl with the caller's KUBECONFIG); fails
# after API_WAIT_SECONDS (the including script documents and defaults it).
wait_for_api() {
    local deadline=$((SECONDS + API_WAIT_SECONDS))
    until kubectl get --raw=/readyz >/dev/null 2>&1; do
        [ "$SECONDS" -lt "$deadline" ] || fail "the Kubernetes API did not answer within ${API_WAIT_SECONDS}s"
        sleep 5
    done
}

# local_apiserver_ready ADDRESS PORT: this node's own apiserver (not another one behind the VIP)
# answers /readyz at ADDRESS:PORT, its certificate checked against the cluster CA (kubeadm puts the
# advertise address in it: cmd/kubeadm/app/util/pkiutil, GetAPIServerAltNames).
local_apiserver_ready() {
    curl -fsS --noproxy '*' --max-time 5 --cacert "${TEST_ROOT}/etc/kubernetes/pki/ca.crt" "https://$1:$2/readyz" >/dev/null 2>&1
}

# step_done STEP: succeeds when STEP (kubeadm-init, kubeadm-join) has succeeded on this node before.
step_done() { [ -f "${STATE_DIR}/$1.done" ]; }

# mark_step_done STEP: records that STEP has succeeded, for step_done.
mark_step_done() {
    install -d -m 0700 "$STATE_DIR"
    touch "${STATE_DIR}/$1.done"
}

# write_if_changed PATH MODE: writes stdin to PATH when it differs; succeeds only if it wrote.
write_if_changed() {
    local path="$1" mode="$2" staged
    staged="$(mktemp)"
    cat >"$staged"
    if [ -f "$path" ] && cmp -s "$staged" "$path"; then
        rm -f "$staged"
        return 1
    fi
    install -D -m "$mode" "$staged" "$path"
    rm -f "$staged"
}

# etcdctl_on_node0 ARGS...: etcdctl through this node's etcd static pod, with the caller's
# KUBECONFIG (the etcd image ships etcdctl; the pod mounts the certificates from
# /etc/kubernetes/pki/etcd). Used on the first control plane by node-remove.sh and
# kubernetes-upgrade-cluster.sh.
etcdctl_on_node0() {
    kubectl -n kube-system exec "etcd-${NODE_NAME}" -- etcdctl \
        --endpoints=https://127.0.0.1:2379 \
        --cacert=/etc/kubernetes/pki/etcd/ca.crt \
        --cert=/etc/kubernetes/pki/etcd/server.crt \
        --key=/etc/kubernetes/pki/etcd/server.key \
        "$@"
}

# check_own_node: fails unless this host is the node the script was meant for (hostname, or its
# first label, = NODE_NAME), before anything is changed: the address in the stack config may
# reach another machine (a node renamed with its address kept, a VM holding another's address).
check_own_node() {
    : "${NODE_NAME:?NODE_NAME is required}"
    local host
    host="$(hostname)"
    if [ "$host" != "$NODE_NAME" ] && [ "${host%%.*}" != "$NODE_NAME" ]; then
        fail "this host is '${host}', not ${NODE_NAME}: the address given for ${NODE_NAME} reaches another machine. Nothing was changed; check the node's name and address in controlPlanes/workers (a node renamed with its address kept, or a VM holding another node's address)."
    fi
}

# Issue 11: every node script (this text is pasted into each) checks its host first.
if [ "${K8S_LAB_FUNCTIONS_ONLY:-}" != 1 ]; then
    check_own_node
fi
