# shellcheck shell=bash
# lib/containerd.sh: a node's container runtime, shared by node-prepare.sh (a new node) and
# kubernetes-upgrade-node.sh (issue 12 item 2: a drained node moved from containerd 1.x to 2).
# Pasted in place of the including script's include line, after lib/common.sh and lib/apt.sh (it
# uses their log, fail, write_if_changed, apt_get and package_installed), like lib/common.sh.
# Reads KUBERNETES_VERSION and, from the program (components/render/containerd.ts):
#   CONTAINERD_VERSION  containerd release to run, e.g. 2.3.4, from containerd's GitHub release;
#                       unset or empty = Ubuntu's own `containerd` package (Kubernetes 1.35 and older)
#   CONTAINERD_SHA256   sha256 of containerd-<version>-linux-amd64.tar.gz  (with CONTAINERD_VERSION)
#   RUNC_VERSION        runc release containerd's tag pins, e.g. 1.4.3     (with CONTAINERD_VERSION)
#   RUNC_SHA256         sha256 of its runc.amd64                           (with CONTAINERD_VERSION)
#   HTTPS_PROXY, NO_PROXY  read by curl for the downloads (optional)
# The release install follows containerd's docs/getting-started.md: the tarball's bin/ under
# /usr/local, runc as /usr/local/sbin/runc, containerd.service in /usr/local/lib/systemd/system.

readonly CONTAINERD_CONFIG="${TEST_ROOT}/etc/containerd/config.toml"
readonly CONTAINERD_CONFIG_MARKER="# Managed by k8s-vsphere-lab node-prepare.sh: containerd's default config, SystemdCgroup = true, kubeadm's sandbox image."
readonly CONTAINERD_PREFIX="${TEST_ROOT}/usr/local"
readonly CONTAINERD_UNIT="${TEST_ROOT}/usr/local/lib/systemd/system/containerd.service"
readonly RUNC_BINARY="${TEST_ROOT}/usr/local/sbin/runc"

# --- containerd config.toml editing (pure functions on files: tested against sample configs) ---

# Prints the config version of a containerd config.toml (2 when the file does not say: 1.x's default).
containerd_config_version() {
    local version
    version="$(sed -nE '/^version[[:space:]]*=[[:space:]]*[0-9]+[[:space:]]*$/{s/[^0-9]//g;p;q}' "$1")"
    echo "${version:-2}"
}

# Prints the table holding the runc options for a config version.
runc_options_table() {
    case "$1" in
        2) echo 'plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options' ;;
        3) echo "plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options" ;;
        *) fail "containerd config version $1 is not supported (expected 2 or 3)" ;;
    esac
}

# Prints "<table> <key>" naming the CRI sandbox (pause) image for a config version.
sandbox_image_setting() {
    case "$1" in
        2) echo 'plugins."io.containerd.grpc.v1.cri" sandbox_image' ;;
        3) echo "plugins.'io.containerd.cri.v1.images'.pinned_images sandbox" ;;
        *) fail "containerd config version $1 is not supported (expected 2 or 3)" ;;
    esac
}

# set_toml_key FILE TABLE KEY VALUE: sets KEY = VALUE (VALUE is TOML: true, "text") inside
# [TABLE]: replaces the key where it is, adds it at the end of the table when the table lacks it
# (containerd 2.0/2.1 defaults omit SystemdCgroup), appends the table when the file lacks it.
# Headers are compared without blanks and quotes, so '...' and "..." spellings both match.
set_toml_key() {
    local file="$1" table="$2" key="$3" value="$4" edited
    edited="$(mktemp)"
    awk -v table="$table" -v key="$key" -v value="$value" '
        function bare(text) { gsub(/[[:space:]"\047]/, "", text); return text }
        function indent_of(text) { match(text, /^[[:space:]]*/); return substr(text, 1, RLENGTH) }
        function flush_blanks() { printf "%s", blanks; blanks = "" }
        BEGIN { target = bare("[" table "]") }
        /^[[:space:]]*$/ { blanks = blanks $0 "\n"; next }
        /^[[:space:]]*\[/ {
            if (inside && !done) { print key_indent key " = " value; done = 1 }
            flush_blanks()
            inside = (bare($0) == target)
            if (inside) { key_indent = indent_of($0) "  " }
            print; next
        }
        inside && !done && $0 ~ ("^[[:space:]]*" key "[[:space:]]*=") {
            flush_blanks()
            print indent_of($0) key " = " value; done = 1; next
        }
        { flush_blanks(); print }
        END {
            if (inside && !done) { print key_indent key " = " value; done = 1 }
            flush_blanks()
            if (!done) { print ""; print "[" table "]"; print "  " key " = " value }
        }
    ' "$file" >"$edited"
    cat "$edited" >"$file"
    rm -f "$edited"
}

# toml_key_value FILE TABLE KEY: prints the raw value of KEY inside [TABLE], or nothing.
toml_key_value() {
    awk -v table="$2" -v key="$3" '
        function bare(text) { gsub(/[[:space:]"\047]/, "", text); return text }
        BEGIN { target = bare("[" table "]") }
        /^[[:space:]]*\[/ { inside = (bare($0) == target); next }
        inside && $0 ~ ("^[[:space:]]*" key "[[:space:]]*=") {
            sub(/^[^=]*=[[:space:]]*/, ""); sub(/[[:space:]]+$/, ""); print; exit
        }
    ' "$1"
}

# configure_containerd_file FILE SANDBOX_IMAGE: the two edits kubeadm needs, for FILE's version.
configure_containerd_file() {
    local file="$1" sandbox_image="$2" version setting
    version="$(containerd_config_version "$file")"
    set_toml_key "$file" "$(runc_options_table "$version")" SystemdCgroup true
    setting="$(sandbox_image_setting "$version")"
    set_toml_key "$file" "${setting% *}" "${setting##* }" "\"${sandbox_image}\""
}

# containerd_dump_has_systemd_cgroup FILE: whether a `containerd config dump` output enables it.
containerd_dump_has_systemd_cgroup() {
    local version
    version="$(containerd_config_version "$1")"
    [ "$(toml_key_value "$1" "$(runc_options_table "$version")" SystemdCgroup)" = true ]
}

# --- which containerd, and installing containerd's release ---

# release_containerd: whether this configuration runs containerd's release (CONTAINERD_VERSION set)
# rather than Ubuntu's package.
release_containerd() { [ -n "${CONTAINERD_VERSION:-}" ]; }

# containerd_version_of COMMAND...: the version `COMMAND --version` reports ("containerd
# github.com/containerd/containerd 1.7.28 ..." or "... /v2 v2.3.4 ..."), without a leading v;
# nothing when it does not run.
containerd_version_of() {
    local version
    version="$("$@" --version 2>/dev/null | awk 'NR == 1 { print $3 }')" || true
    echo "${version#v}"
}

# runc_version_of BINARY: the version `BINARY --version` reports ("runc version 1.4.3"), or nothing.
runc_version_of() {
    "$1" --version 2>/dev/null | awk 'NR == 1 { print $3 }' || true
}

# release_containerd_installed: containerd CONTAINERD_VERSION, runc RUNC_VERSION and the unit are in place.
release_containerd_installed() {
    [ -f "$CONTAINERD_UNIT" ] &&
        [ "$(containerd_version_of "${CONTAINERD_PREFIX}/bin/containerd")" = "$CONTAINERD_VERSION" ] &&
        [ "$(runc_version_of "$RUNC_BINARY")" = "$RUNC_VERSION" ]
}

# download_verified URL SHA256 OUT: downloads URL to OUT (curl reads HTTPS_PROXY/NO_PROXY) and fails,
# having changed nothing, unless the file has the pinned SHA256.
download_verified() {
    local url="$1" sha256="$2" out="$3"
    log "downloading ${url}${HTTPS_PROXY:+ through ${HTTPS_PROXY}}"
    curl -fsSL --retry 5 -o "$out" "$url" || fail "could not download ${url}: nothing was changed"
    if ! echo "${sha256}  ${out}" | sha256sum --check --status; then
        fail "${url##*/} does not have the pinned sha256 ${sha256}: nothing was installed or changed"
    fi
    log "${url##*/}: sha256 verified"
}

# install_release_containerd: containerd CONTAINERD_VERSION and runc RUNC_VERSION from their
# releases, both downloads checked against their pinned sha256 before anything changes. Ubuntu's
# containerd and runc packages, if the node has them (a template prepared for 1.35, a node moved by
# the upgrade), are purged first: their unit stops the old daemon only (KillMode=process), so
# running containers keep running under their shims until the new containerd takes them over
# (containerd RELEASES.md "Upgrade Path": 1.7 to 2.3 is a tested, supported direct upgrade).
# Purged, not removed: debhelper's postrm masks a removed package's unit (containerd.service, the
# name of the release's unit too) and unmasks it only on purge (autoscripts/postrm-systemd). The
# caller (re)starts containerd, through configure_containerd. Idempotent.
install_release_containerd() {
    : "${CONTAINERD_SHA256:?CONTAINERD_SHA256 is required with CONTAINERD_VERSION}"
    : "${RUNC_VERSION:?RUNC_VERSION is required with CONTAINERD_VERSION}"
    : "${RUNC_SHA256:?RUNC_SHA256 is required with CONTAINERD_VERSION}"
    if release_containerd_installed; then
        log "containerd ${CONTAINERD_VERSION} and runc ${RUNC_VERSION} present (release downloads, not apt: unattended-upgrades leaves them alone)"
        return 0
    fi
    local work
    work="$(mktemp -d)"
    download_verified "https://github.com/containerd/containerd/releases/download/v${CONTAINERD_VERSION}/containerd-${CONTAINERD_VERSION}-linux-amd64.tar.gz" \
        "$CONTAINERD_SHA256" "${work}/containerd.tar.gz"
    download_verified "https://github.com/opencontainers/runc/releases/download/v${RUNC_VERSION}/runc.amd64" "$RUNC_SHA256" "${work}/runc.amd64"
    mkdir "${work}/tree"
    tar -xzf "${work}/containerd.tar.gz" -C "${work}/tree"
    [ -x "${work}/tree/bin/containerd" ] || fail "containerd-${CONTAINERD_VERSION}-linux-amd64.tar.gz has no bin/containerd: nothing was installed"

    local package ubuntu_packages=()
    for package in containerd runc; do
        if package_installed "$package"; then
            ubuntu_packages+=("$package")
        fi
    done
    if [ "${#ubuntu_packages[@]}" -gt 0 ]; then
        log "purging Ubuntu's ${ubuntu_packages[*]} (containerd ${CONTAINERD_VERSION} replaces them; running containers keep running)"
        apt_get purge --allow-change-held-packages "${ubuntu_packages[@]}" >/dev/null
    fi
    # install(1) writes each file anew (a new inode): a running shim keeps the binary it started with.
    install -d -m 0755 "${CONTAINERD_PREFIX}/bin"
    install -m 0755 "${work}/tree/bin/"* "${CONTAINERD_PREFIX}/bin/"
    install -D -m 0755 "${work}/runc.amd64" "$RUNC_BINARY"
    rm -rf -- "$work"
    write_if_changed "$CONTAINERD_UNIT" 0644 <<'UNIT' || true
# containerd's own unit (containerd v2.3.4 containerd.service), written by k8s-vsphere-lab.
[Unit]
Description=containerd container runtime
Documentation=https://containerd.io
After=network.target dbus.service

[Service]
ExecStartPre=-/sbin/modprobe overlay
ExecStart=/usr/local/bin/containerd

Type=notify
Delegate=yes
KillMode=process
Restart=always
RestartSec=5

LimitNPROC=infinity
LimitCORE=infinity
TasksMax=infinity
OOMScoreAdjust=-999

[Install]
WantedBy=multi-user.target
UNIT
    hash -r # `containerd` is /usr/local/bin/containerd from here on, not the purged package's
    systemctl daemon-reload
    # A mask left by a package removed (not purged) before would hide the release's unit.
    systemctl unmask -q containerd.service
    log "containerd ${CONTAINERD_VERSION} and runc ${RUNC_VERSION} installed from their releases"
}

# configure_containerd: containerd's config for kubeadm (the systemd cgroup driver, kubeadm's pause
# image for KUBERNETES_VERSION), containerd restarted when it changed, enabled and running, and what
# it reads checked with `containerd config dump`.
configure_containerd() {
    local sandbox_image candidate defaults
    sandbox_image="$(kubeadm config images list --kubernetes-version "v${KUBERNETES_VERSION}" 2>/dev/null | grep '/pause:' | head -n 1)"
    [ -n "$sandbox_image" ] || fail "kubeadm did not name a pause image for v${KUBERNETES_VERSION}"
    candidate="$(mktemp)"
    defaults="$(mktemp)"
    containerd config default >"$defaults"
    # The managed file is kept while it has the config version the installed containerd writes;
    # after a move from containerd 1.x (version 2) to 2.x (version 3) it is written anew.
    if [ -f "$CONTAINERD_CONFIG" ] && grep -qxF "$CONTAINERD_CONFIG_MARKER" "$CONTAINERD_CONFIG" &&
        [ "$(containerd_config_version "$CONTAINERD_CONFIG")" = "$(containerd_config_version "$defaults")" ]; then
        cp "$CONTAINERD_CONFIG" "$candidate"
    else
        log "writing containerd's default config (config version $(containerd_config_version "$defaults"))"
        { echo "$CONTAINERD_CONFIG_MARKER"; cat "$defaults"; } >"$candidate"
    fi
    rm -f "$defaults"
    configure_containerd_file "$candidate" "$sandbox_image"
    if write_if_changed "$CONTAINERD_CONFIG" 0644 <"$candidate"; then
        log "containerd config: SystemdCgroup = true, sandbox image ${sandbox_image} (config version $(containerd_config_version "$candidate")); restarting containerd"
        systemctl restart containerd
    else
        log "containerd config unchanged"
    fi
    rm -f "$candidate"
    systemctl enable -q --now containerd

    # A TOML edit on the wrong table is silently ignored by containerd: check what it really reads.
    local dump
    dump="$(mktemp)"
    containerd config dump >"$dump"
    if ! containerd_dump_has_systemd_cgroup "$dump"; then
        rm -f "$dump"
        fail "containerd does not read SystemdCgroup = true from ${CONTAINERD_CONFIG} (containerd config dump): the kubelet's systemd cgroup driver would not match"
    fi
    rm -f "$dump"
    log "containerd verified: runc uses the systemd cgroup driver"
}
