# shellcheck shell=bash
# lib/apt.sh: first-boot wait and serialized apt use, shared by the node scripts that install
# packages (node-prepare.sh, ha-endpoint-install.sh). Pasted in place of the including script's
# include line, after lib/common.sh (it uses log and fail), like lib/common.sh.

# One lock for every apt/dpkg use of this project's scripts on a node: ha-endpoint-install.sh and
# node-prepare.sh run at the same time on a control plane, and apt's own locks make the loser
# fail at once, not wait (DPkg::Lock::Timeout covers the dpkg frontend lock only, not
# /var/lib/apt/lists/lock that `apt-get update` takes).
readonly APT_SERIAL_LOCK=/run/lock/k8s-lab-apt.lock
# How long apt use waits for apt's locks (cloud-init, apt-daily, unattended-upgrades, a user).
APT_LOCK_WAIT_SECONDS="${APT_LOCK_WAIT_SECONDS:-900}"
# Pause between two tries while apt's locks are held.
APT_RETRY_SECONDS="${APT_RETRY_SECONDS:-5}"

# wait_for_first_boot: returns once cloud-init has finished (it may run apt itself) and the
# apt-daily and apt-daily-upgrade runs systemd starts on a fresh clone (unattended-upgrades) are
# over, bounded by APT_LOCK_WAIT_SECONDS; apt_locked still retries on a lock taken later.
wait_for_first_boot() {
    if command -v cloud-init >/dev/null; then
        log "waiting for cloud-init to finish"
        local status=0
        timeout "$APT_LOCK_WAIT_SECONDS" cloud-init status --wait >/dev/null || status=$?
        case "$status" in
            0) ;;
            124) fail "cloud-init did not finish within ${APT_LOCK_WAIT_SECONDS}s: see 'cloud-init status --long' and /var/log/cloud-init.log" ;;
            2) log "warning: cloud-init finished with recoverable errors (see: cloud-init status --long)" ;;
            *) fail "cloud-init failed (exit $status): see /var/log/cloud-init-output.log" ;;
        esac
    fi
    command -v systemctl >/dev/null || return 0
    local unit started=$SECONDS
    for unit in apt-daily.service apt-daily-upgrade.service; do
        while systemctl is-active --quiet "$unit"; do
            if ((SECONDS - started >= APT_LOCK_WAIT_SECONDS)); then
                log "warning: ${unit} still running after ${APT_LOCK_WAIT_SECONDS}s; apt use will wait for its locks"
                return 0
            fi
            log "waiting for ${unit} (apt's daily run) to finish"
            sleep "$APT_RETRY_SECONDS"
        done
    done
}

# apt_locked COMMAND...: runs an apt or dpkg COMMAND (apt-get, apt-mark) under APT_SERIAL_LOCK,
# and again every APT_RETRY_SECONDS while it fails because someone else holds apt's locks, for
# at most APT_LOCK_WAIT_SECONDS. Other failures are not retried. Its stderr is passed on.
apt_locked() {
    local started=$SECONDS
    {
        flock -w "$APT_LOCK_WAIT_SECONDS" 9 ||
            fail "${APT_SERIAL_LOCK} was held for ${APT_LOCK_WAIT_SECONDS}s by another k8s-lab script (see: fuser -v ${APT_SERIAL_LOCK})"
        apt_retry_while_locked "$started" "$@"
    } 9>>"$APT_SERIAL_LOCK"
}

# apt_retry_while_locked STARTED COMMAND...: apt_locked's retry loop (STARTED: $SECONDS at the start).
apt_retry_while_locked() {
    local started="$1" errors status holder
    shift
    errors="$(mktemp)"
    while :; do
        status=0
        "$@" 2>"$errors" || status=$?
        if [ "$status" != 0 ] && grep -qE '^E: (Could not get lock|Unable to acquire the dpkg frontend lock|Unable to lock)' "$errors" &&
            ((SECONDS - started < APT_LOCK_WAIT_SECONDS)); then
            holder="$(grep -m 1 -oE 'held by process [0-9]+( \([^)]*\))?' "$errors" || echo 'held by another process')"
            log "apt's lock is ${holder}: trying again in ${APT_RETRY_SECONDS}s"
            sleep "$APT_RETRY_SECONDS"
            continue
        fi
        cat "$errors" >&2
        rm -f "$errors"
        return "$status"
    done
}

# apt_get ARGS...: non-interactive `apt-get -y -q ARGS...` through apt_locked.
apt_get() {
    apt_locked env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=60 -y -q "$@"
}

# package_installed PACKAGE: whether dpkg has PACKAGE installed.
package_installed() {
    # shellcheck disable=SC2016 # ${Status} is dpkg-query's field, not a shell variable
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}
