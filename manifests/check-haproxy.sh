#!/usr/bin/env bash
# keepalived vrrp_script (see keepalived.conf): succeeds while haproxy listens on the API port in
# this node's network namespace. It judges haproxy itself, never the apiservers behind it: before
# `kubeadm init` no apiserver is up, yet some node must hold the VIP for init to reach the API.
# Usage: check-haproxy.sh <api-port> [<watch-ms>]   (runs as root: ss -p needs it to name the process)
#
# keepalived runs a vrrp_script at most once a second (keepalived 2.2.7, Debian 12 / Ubuntu 24.04,
# rejects `interval 0.2`: "vrrp script interval '0.2' must be between 1 and 4294"). To notice a
# dead haproxy well within that second, the script does not return at once: after the first check
# it keeps watching haproxy's listening processes for <watch-ms> (default 0: check once) and exits
# 1 as soon as haproxy is gone. The watch polls every 50 ms with shell builtins only (kill -0, read
# -t), so it forks nothing while haproxy is fine; ss runs again only when a watched process is gone
# (a crash, or a reload that handed the socket to a new process). A miss is confirmed by a second
# ss 50 ms later before the script fails, so one odd reading never moves the VIP.
set -euo pipefail

api_port="${1:?usage: check-haproxy.sh <api-port> [<watch-ms>]}"
watch_ms="${2:-0}"
if [[ ! "$api_port" =~ ^[0-9]+$ || ! "$watch_ms" =~ ^[0-9]+$ ]]; then
    echo "usage: check-haproxy.sh <api-port> [<watch-ms>] (numbers)" >&2
    exit 2
fi

# haproxy_pids: prints the pids of the haproxy processes listening on the API port (none: empty).
# ss lists only this network namespace's sockets; -p names the process that owns each one,
# e.g. users:(("haproxy",pid=1234,fd=7)).
haproxy_pids() {
    local listeners rest pids=""
    listeners="$(ss -H -l -t -n -p "sport = :${api_port}")" || return 1
    rest="$listeners"
    while [[ "$rest" =~ \"haproxy\",pid=([0-9]+) ]]; do
        pids+="${BASH_REMATCH[1]} "
        rest="${rest#*\"haproxy\",pid="${BASH_REMATCH[1]}"}"
    done
    echo "$pids"
}

# A pipe nobody writes to: `read -t` on it is a sleep without a fork.
exec {nap_fd}<> <(:)
nap() { read -r -t 0.05 -u "$nap_fd" _ || true; }

# still_listening: 0 while haproxy listens (and sets pids); a miss (or an ss error) counts only
# when a second look 50 ms later agrees.
still_listening() {
    local attempt
    for attempt in 1 2; do
        pids="$(haproxy_pids)" || pids=""
        [[ -n "$pids" ]] && return 0
        [[ "$attempt" == 1 ]] && nap
    done
    return 1
}

pids=""
if ! still_listening; then
    echo "haproxy is not listening on port ${api_port}" >&2
    exit 1
fi

# EPOCHREALTIME (bash 5) is a builtin clock: seconds.microseconds.
deadline_us=$(( ${EPOCHREALTIME/./} + watch_ms * 1000 ))
while (( ${EPOCHREALTIME/./} < deadline_us )); do
    nap
    gone=false
    for pid in $pids; do
        kill -0 "$pid" 2>/dev/null || gone=true
    done
    if [[ "$gone" == true ]] && ! still_listening; then
        echo "haproxy stopped listening on port ${api_port}" >&2
        exit 1
    fi
done
exit 0
