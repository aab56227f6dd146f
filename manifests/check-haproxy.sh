#!/usr/bin/env bash
# keepalived vrrp_script (see keepalived.conf): succeeds while haproxy listens on the API port in
# this node's network namespace. It judges haproxy itself, never the apiservers behind it: before
# `kubeadm init` no apiserver is up, yet some node must hold the VIP for init to reach the API.
# Usage: check-haproxy.sh <api-port>     (runs as root: ss -p needs it to name the process)
set -euo pipefail

api_port="${1:?usage: check-haproxy.sh <api-port>}"

# ss lists only this network namespace's sockets; -p names the process that owns each one.
listeners="$(ss -H -l -t -n -p "sport = :${api_port}")"
if [[ "$listeners" == *'"haproxy"'* ]]; then
    exit 0
fi
echo "haproxy is not listening on port ${api_port}" >&2
exit 1
