#!/usr/bin/env bash
# Installs the real tools the tests run (Debian packages): haproxy and keepalived check the rendered
# configs and run the failover test, shellcheck checks every script, iproute2 builds the test
# namespaces, openssl makes the test CA. Installs only what is missing; fails with the fix if it can't.
set -euo pipefail

declare -A tool_package=(
    [haproxy]=haproxy
    [keepalived]=keepalived
    [shellcheck]=shellcheck
    [ip]=iproute2
    [openssl]=openssl
    [etcd]=etcd-server
    [etcdctl]=etcd-client
)

missing=()
for tool in "${!tool_package[@]}"; do
    if ! command -v "$tool" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$tool" ]; then
        missing+=("${tool_package[$tool]}")
    fi
done

if [ "${#missing[@]}" -eq 0 ]; then
    echo "test tools: all present (haproxy keepalived shellcheck iproute2 openssl etcd-server etcd-client)"
    exit 0
fi

echo "test tools: installing ${missing[*]} from Debian's packages"
if [ "$(id -u)" -ne 0 ]; then
    echo "error: installing ${missing[*]} needs root; run as root or: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: apt-get not found; install these packages with your system's package manager: ${missing[*]}" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# --no-install-recommends keeps it small; keepalived/haproxy are used as binaries only, their
# system services are stopped and disabled right after so they don't hold ports.
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
for service in haproxy keepalived; do
    if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$service" 2>/dev/null; then
        systemctl stop "$service" || true
    fi
    pkill -x "$service" 2>/dev/null || true
done
echo "test tools: installed ${missing[*]}"
