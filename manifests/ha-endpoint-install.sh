#!/usr/bin/env bash
# Installs the Kubernetes API HA endpoint on one control-plane node: haproxy (API port -> every
# kube-apiserver :6443) and keepalived (holds the VIP with unicast VRRP, tracks haproxy).
# Runs as root: sudo -n env NODE_NAME=... VIP=... API_PORT=... bash -s  (this script on stdin).
#
# Environment:
#   NODE_NAME          the node's name: this host must be called so (checked first) (required)
#   VIP                the API virtual IP                                  (required)
#   API_PORT           the port haproxy listens on, behind the VIP         (required)
#   VIP_WAIT_SECONDS   how long to wait for this node's haproxy and VIP:API_PORT (default 180)
#   CONFIG_HASH        the reload step's hash of the staged files (components/haEndpoint.ts: in its
#                      command line, so a new config runs it again); recorded root-only in
#                      /var/lib/k8s-lab/ha-endpoint.config once this node serves it (optional)
#   APT_LOCK_WAIT_SECONDS  how long apt use waits for first boot and apt's locks (default 900)
#   APT_RETRY_SECONDS  pause between two tries while apt's locks are held   (default 5)
#   K8S_LAB_FUNCTIONS_ONLY  tests only: 1 skips lib/common.sh's host check
# Staged files (root-only, 0600, written before this script runs):
#   /etc/k8s-lab/haproxy.cfg        -> /etc/haproxy/haproxy.cfg
#   /etc/k8s-lab/keepalived.conf    -> /etc/keepalived/keepalived.conf (0600: VRRP password)
#   /etc/k8s-lab/check-haproxy.sh   -> /etc/keepalived/check-haproxy.sh (0700, keepalived's check)
# Idempotent: a re-run with the same files changes nothing and restarts nothing.
# No sysctl is needed: haproxy binds the API port on all addresses, not the VIP itself.
set -euo pipefail
shopt -s inherit_errexit # a failure inside $(...) fails the caller too

# k8s-lab:include lib/common.sh
# k8s-lab:include lib/apt.sh

: "${NODE_NAME:?NODE_NAME is required}"
: "${VIP:?VIP is required}"
: "${API_PORT:?API_PORT is required}"
VIP_WAIT_SECONDS="${VIP_WAIT_SECONDS:-180}"

staged=/etc/k8s-lab

for file in haproxy.cfg keepalived.conf check-haproxy.sh; do
    if [ ! -s "$staged/$file" ]; then
        echo "[${NODE_NAME}] error: $staged/$file is missing or empty: stage it before running this script" >&2
        exit 1
    fi
done

# 1. Packages, once cloud-init and apt's first-boot runs are done; apt use is serialized with
# node-prepare.sh, which runs at the same time on this node (lib/common.sh apt_locked).
if package_installed haproxy && package_installed keepalived; then
    log "haproxy and keepalived already installed"
else
    wait_for_first_boot
    log "installing haproxy and keepalived ..."
    apt_get update -qq
    apt_get install -qq haproxy keepalived >/dev/null
fi

# install_if_changed <source> <target> <mode>: installs root-owned and returns 0 only if the target changed.
install_if_changed() {
    local source="$1" target="$2" mode="$3"
    if [ -f "$target" ] && cmp -s "$source" "$target" \
        && [ "$(stat -c '%a %U' "$target")" = "${mode#0} root" ]; then
        return 1
    fi
    install -D -o root -g root -m "$mode" "$source" "$target"
}

# 2. keepalived's check script first: the keepalived config test needs it in place.
keepalived_changed=false
haproxy_changed=false
if install_if_changed "$staged/check-haproxy.sh" /etc/keepalived/check-haproxy.sh 0700; then
    log "installed /etc/keepalived/check-haproxy.sh"
    keepalived_changed=true
fi

# 3. Validate the new configs before they replace the running ones.
log "checking haproxy.cfg ..."
if ! haproxy_errors="$(haproxy -c -f "$staged/haproxy.cfg" 2>&1)"; then
    echo "[${NODE_NAME}] error: haproxy rejects $staged/haproxy.cfg; the running config is unchanged:" >&2
    echo "$haproxy_errors" >&2
    exit 1
fi
log "checking keepalived.conf ..."
if ! keepalived_errors="$(keepalived --config-test -f "$staged/keepalived.conf" 2>&1)"; then
    # keepalived names lines and keywords, never the auth_pass value.
    echo "[${NODE_NAME}] error: keepalived rejects $staged/keepalived.conf; the running config is unchanged:" >&2
    echo "$keepalived_errors" >&2
    exit 1
fi

# 4. Put them in place.
if install_if_changed "$staged/haproxy.cfg" /etc/haproxy/haproxy.cfg 0644; then
    log "installed /etc/haproxy/haproxy.cfg"
    haproxy_changed=true
fi
if install_if_changed "$staged/keepalived.conf" /etc/keepalived/keepalived.conf 0600; then
    log "installed /etc/keepalived/keepalived.conf (root-only)"
    keepalived_changed=true
fi

# 5. A crashed keepalived would leave the VIP behind unmanaged: have systemd restart it.
restart_dropin=/etc/systemd/system/keepalived.service.d/10-k8s-lab-restart.conf
restart_dropin_text="$(printf '%s\n' '[Service]' 'Restart=always' 'RestartSec=2s')"
if [ "$(cat "$restart_dropin" 2>/dev/null)" != "$restart_dropin_text" ]; then
    log "keepalived: restart on failure (systemd drop-in)"
    install -d -m 0755 "$(dirname "$restart_dropin")"
    printf '%s\n' "$restart_dropin_text" >"$restart_dropin"
    systemctl daemon-reload
    keepalived_changed=true
fi

# 6. Enable both; (re)start only what changed or what is not running.
# haproxy first: keepalived holds the VIP only where haproxy listens.
systemctl enable --quiet haproxy keepalived
if [ "$haproxy_changed" = true ]; then
    log "reloading haproxy ..."
    systemctl reload-or-restart haproxy
elif ! systemctl is-active --quiet haproxy; then
    log "starting haproxy ..."
    systemctl start haproxy
else
    log "haproxy unchanged and running"
fi
if [ "$keepalived_changed" = true ]; then
    # A reload (SIGHUP: the unit's ExecReload) re-reads the config and keeps each VRRP instance's
    # state, so the holder keeps the VIP while every control plane takes a new config at once (a
    # control plane added or removed changes every node's peer list); a restart on all of them
    # together dropped the VIP. Not running yet: started. Tested in the failover test, scenario j.
    log "reloading keepalived (or starting it) ..."
    systemctl reload-or-restart keepalived
elif ! systemctl is-active --quiet keepalived; then
    log "starting keepalived ..."
    systemctl start keepalived
else
    log "keepalived unchanged and running"
fi

# 7. Done only when this node's own haproxy listens on the API port (the check keepalived tracks,
# so this node can hold the VIP) and the endpoint answers: some node holds the VIP and its haproxy
# accepts. The first part matters in a roll of a new config over the control planes: another
# node's haproxy behind the VIP would answer even if this one's had died after its reload.
deadline=$((SECONDS + VIP_WAIT_SECONDS))
until /etc/keepalived/check-haproxy.sh "$API_PORT" >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then
        echo "[${NODE_NAME}] error: haproxy on this node does not listen on port ${API_PORT} within ${VIP_WAIT_SECONDS}s: check 'journalctl -u haproxy' here; a roll of a new config stops at this node" >&2
        exit 1
    fi
    sleep 1
done
log "haproxy on this node listens on port ${API_PORT}"
log "waiting for ${VIP}:${API_PORT} to answer TCP (up to ${VIP_WAIT_SECONDS}s) ..."
# shellcheck disable=SC2016 # $1 and $2 expand in the inner bash (values passed as arguments)
until timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$VIP" "$API_PORT" 2>/dev/null; do
    if [ "$SECONDS" -ge "$deadline" ]; then
        echo "[${NODE_NAME}] error: ${VIP}:${API_PORT} did not answer TCP within ${VIP_WAIT_SECONDS}s: check 'journalctl -u keepalived -u haproxy' on the control planes" >&2
        exit 1
    fi
    sleep 1
done
log "API endpoint ${VIP}:${API_PORT} answers"
if [ -n "${CONFIG_HASH:-}" ]; then
    # Which config this node serves, for a person comparing nodes after a roll (root-only: it is a
    # hash of keepalived.conf, which holds the VRRP password). Never printed.
    install -d -m 0700 "$STATE_DIR"
    (umask 077 && printf '%s\n' "$CONFIG_HASH" >"${STATE_DIR}/ha-endpoint.config")
    log "recorded the config this node serves in ${STATE_DIR}/ha-endpoint.config"
fi
