#!/usr/bin/env bash
# Installs the real tools the tests run (Debian packages): haproxy and keepalived check the rendered
# configs and run the failover test, shellcheck checks every script, iproute2 builds the test
# namespaces, openssl makes the test CA, cloud-init and netplan read every node's first-boot files,
# etcd-server and etcd-client run the real etcd snapshot test, gpg checks the apt signing-key pinning,
# apt (always present) runs the apt lock test. Installs only what is missing; fails with the fix if it can't.
set -euo pipefail

declare -A tool_package=(
    [haproxy]=haproxy
    [keepalived]=keepalived
    [shellcheck]=shellcheck
    [ip]=iproute2
    [openssl]=openssl
    [cloud-init]=cloud-init
    [netplan]=netplan.io
    [etcd]=etcd-server
    [etcdctl]=etcd-client
    [gpg]=gpg
)

missing=()
for tool in "${!tool_package[@]}"; do
    if ! command -v "$tool" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$tool" ]; then
        missing+=("${tool_package[$tool]}")
    fi
done

if [ "${#missing[@]}" -eq 0 ]; then
    echo "test tools: all present (${tool_package[*]})"
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
# The tests run haproxy, keepalived and the rest as binaries; their packages' services must not
# start. Debian's policy-rc.d hook (exit 101 = "action forbidden") stops invoke-rc.d and
# deb-systemd-invoke from starting any service during this install, so nothing is started and no
# daemon of the developer's own is stopped. An existing policy-rc.d is left as it is.
policy_hook=/usr/sbin/policy-rc.d
if [ ! -e "$policy_hook" ]; then
    printf '#!/bin/sh\n# Written by k8s-vsphere-lab scripts/install-test-tools.sh for the duration of one install.\nexit 101\n' >"$policy_hook"
    chmod 0755 "$policy_hook"
    trap 'rm -f "$policy_hook"' EXIT
fi
apt-get update -qq
# --no-install-recommends keeps it small.
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "test tools: installed ${missing[*]}"
