#!/usr/bin/env bash
# Runs manifests/ha-endpoint-install.sh for real, but sealed off: meant to run as
#   ip netns exec <ns> unshare --mount --uts --propagation private run-install-sandbox.sh <work-dir> <install-script>
# /etc is an overlay (writes land in <work-dir>), /run is a private tmpfs, systemctl and apt-get are
# stand-ins (next to this file), the network is the test's namespace. <work-dir> holds the files
# to stage: haproxy.cfg, keepalived.conf, check-haproxy.sh and broken-haproxy.cfg.
# Prints "=== <step>" markers and "exit=<code>" after each run, for the test to read.
set -euo pipefail

work="$1"
install_script="$2"
stubs="$(cd "$(dirname "$0")" && pwd)"

# Its own UTS namespace: the host name is the node's, as on the VM (the scripts check it).
hostname "$NODE_NAME"
mkdir -p "$work/etc-upper" "$work/etc-work"
mount -t overlay overlay -o "lowerdir=/etc,upperdir=$work/etc-upper,workdir=$work/etc-work" /etc
mount -t tmpfs tmpfs /run
install -d -o haproxy -g haproxy /run/haproxy   # Debian's tmpfiles.d does this at boot

export SANDBOX_CALLS="$work/systemctl-calls.log" SANDBOX_LOG="$work/daemons.log"
export PATH="$stubs:$PATH"
export NODE_NAME VIP API_PORT
stop_daemons() {
    local pidfile
    for pidfile in /run/keepalived.pid /run/haproxy.pid; do
        if [ -s "$pidfile" ]; then kill "$(head -n1 "$pidfile")" 2>/dev/null || true; fi
    done
}
trap stop_daemons EXIT

stage() { install -D -m 0600 "$work/$1" "/etc/k8s-lab/$2"; }
# run_install STEP: one run of the install script; prints its exit code and its wall time
# (took_ms: the plan's ha-install-prepared figure rests on first-run's, issue 14).
run_install() {
    echo "=== $1"
    echo "=== $1" >>"$SANDBOX_CALLS"
    local code=0 started="$EPOCHREALTIME"
    bash -s <"$install_script" 2>&1 || code=$?
    echo "exit=$code"
    echo "took_ms=$(((${EPOCHREALTIME/./} - ${started/./}) / 1000))"
}

stage haproxy.cfg haproxy.cfg
stage keepalived.conf keepalived.conf
stage check-haproxy.sh check-haproxy.sh
run_install first-run
run_install second-run
echo "=== modes"
stat -c '%a %U %n' /etc/keepalived/keepalived.conf /etc/keepalived/check-haproxy.sh /etc/haproxy/haproxy.cfg

stage broken-haproxy.cfg haproxy.cfg
run_install broken-haproxy
if cmp -s "$work/haproxy.cfg" /etc/haproxy/haproxy.cfg; then echo "live-haproxy-config=unchanged"; else echo "live-haproxy-config=changed"; fi

stage haproxy.cfg haproxy.cfg
API_PORT=8443 VIP_WAIT_SECONDS=3 run_install nothing-on-port
VIP=10.213.8.101 VIP_WAIT_SECONDS=3 run_install vip-not-held
# The reload step's run: its config hash is recorded root-only (under a test root, not the host's /var).
K8S_LAB_TEST_ROOT="$work/test-root" CONFIG_HASH=0123456789abcdef run_install reload-step
echo "=== config-record"
stat -c '%a %U' "$work/test-root/var/lib/k8s-lab/ha-endpoint.config"
cat "$work/test-root/var/lib/k8s-lab/ha-endpoint.config"
