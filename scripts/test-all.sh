#!/usr/bin/env bash
# The one command that runs every test on a fresh machine (and in CI):
#   bash scripts/test-all.sh
# Installs what the tests need (npm packages from package-lock.json; haproxy, keepalived,
# shellcheck, iproute2, openssl, cloud-init, netplan.io and etcd from Debian's packages), type-checks, then runs the unit and
# render tests (npm test), the real failover test in network namespaces (npm run test:ha, root)
# and the etcd tests (snapshots, the certificate renewal's health wait) against a real etcd on
# loopback (npm run test:etcd).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== installing test tools (Debian packages)"
bash scripts/install-test-tools.sh

echo "== installing npm packages (npm ci)"
npm ci --no-audit --no-fund --loglevel=error

echo "== type-checking (tsc --noEmit)"
npx --no-install tsc -p tsconfig.json --noEmit

echo "== unit and render tests (npm test)"
npm test

echo "== HA failover test in network namespaces (npm run test:ha)"
if [ "$(id -u)" -ne 0 ]; then
    echo "error: the HA failover test builds network namespaces and needs root: run 'sudo bash scripts/test-all.sh'" >&2
    exit 1
fi
npm run test:ha

echo "== etcd tests against a real 3-member etcd: snapshots, renewal health wait (npm run test:etcd)"
npm run test:etcd

echo "== all tests passed"
