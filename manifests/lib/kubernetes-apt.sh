# shellcheck shell=bash
# lib/kubernetes-apt.sh: the pkgs.k8s.io repository (one per minor, its signing key pinned) and the
# Kubernetes packages' versions, shared by node-prepare.sh (a new node) and
# kubernetes-upgrade-node.sh (issue 12: a running node moved to a new version). Pasted in place of
# the including script's include line, after lib/common.sh and lib/apt.sh (it uses their log,
# fail and write_if_changed), like lib/common.sh.
# Reads KUBERNETES_VERSION (1.<minor>.<patch>) and KUBERNETES_APT_KEY_FINGERPRINTS (optional).

readonly KUBERNETES_KEYRING="${TEST_ROOT}/etc/apt/keyrings/kubernetes-apt-keyring.gpg"
readonly KUBERNETES_APT_LIST="${TEST_ROOT}/etc/apt/sources.list.d/kubernetes.list"
# The pkgs.k8s.io signing key ("isv:kubernetes OBS Project", rsa2048 from 2022-08-25), the same key for
# every minor's repository; its expiry is extended now and then (it lapsed on 2024-11-02 until
# re-signed: kubernetes/kubernetes#128609, kubernetes/release#3818), so it is fetched on every
# run, checked against this fingerprint and the keyring refreshed when it changed.
readonly KUBERNETES_APT_KEY_PINNED_FINGERPRINT=DE15B14486CD377B9E876E1A234654DA9A296436

# verify_signing_key ARMORED_KEY FINGERPRINTS OUT: writes ARMORED_KEY's binary keyring to OUT when its
# primary key's fingerprint is one of FINGERPRINTS (space-separated); fails naming both otherwise.
verify_signing_key() {
    local armored="$1" accepted="$2" out="$3" gnupg_home fingerprint
    gnupg_home="$(mktemp -d)"
    fingerprint="$(GNUPGHOME="$gnupg_home" gpg --batch --show-keys --with-colons "$armored" 2>/dev/null |
        awk -F: '$1 == "fpr" { print $10; exit }')" || true
    if [ -z "$fingerprint" ]; then
        rm -rf "$gnupg_home"
        fail "the downloaded pkgs.k8s.io signing key is not an OpenPGP key"
    fi
    case " ${accepted} " in
        *" ${fingerprint} "*) ;;
        *)
            rm -rf "$gnupg_home"
            fail "the pkgs.k8s.io signing key has fingerprint ${fingerprint}, expected ${accepted}: refusing to trust it (if pkgs.k8s.io announced a new key, set KUBERNETES_APT_KEY_FINGERPRINTS)"
            ;;
    esac
    GNUPGHOME="$gnupg_home" gpg --batch --yes --dearmor -o "$out" "$armored"
    rm -rf "$gnupg_home"
}

add_kubernetes_repository() {
    local minor="${KUBERNETES_VERSION%.*}"
    local url="https://pkgs.k8s.io/core:/stable:/v${minor}/deb/"
    local accepted="${KUBERNETES_APT_KEY_FINGERPRINTS:-$KUBERNETES_APT_KEY_PINNED_FINGERPRINT}"
    local armored keyring
    armored="$(mktemp)"
    keyring="$(mktemp)"
    if curl -fsSL --retry 5 -o "$armored" "${url}Release.key"; then
        verify_signing_key "$armored" "$accepted" "$keyring"
        if write_if_changed "$KUBERNETES_KEYRING" 0644 <"$keyring"; then
            log "pkgs.k8s.io signing key ${accepted} verified and installed"
        else
            log "pkgs.k8s.io signing key verified, unchanged"
        fi
    elif [ -s "$KUBERNETES_KEYRING" ]; then
        log "pkgs.k8s.io signing key could not be refreshed; keeping the installed one"
    else
        rm -f "$armored" "$keyring"
        fail "could not download ${url}Release.key (no signing key installed yet)"
    fi
    rm -f "$armored" "$keyring"
    if echo "deb [signed-by=${KUBERNETES_KEYRING}] ${url} /" | write_if_changed "$KUBERNETES_APT_LIST" 0644; then
        log "apt repository pkgs.k8s.io v${minor} added"
    else
        log "apt repository pkgs.k8s.io v${minor} present"
    fi
}

# installed_version PACKAGE: the dpkg version of PACKAGE (1.34.2-1.1), or nothing.
installed_version() {
    # shellcheck disable=SC2016 # ${Version} is dpkg-query's field, not a shell variable
    dpkg-query -W -f='${Version}' "$1" 2>/dev/null || true
}

# kubernetes_apt_version: the apt version of kubeadm KUBERNETES_VERSION in the configured
# repository (1.34.2-1.1); fails naming the repository when it has none (run apt_get update first).
kubernetes_apt_version() {
    local apt_version
    apt_version="$(apt-cache madison kubeadm | awk -F'|' -v want="${KUBERNETES_VERSION}-" '
        { version = $2; gsub(/[[:space:]]/, "", version) }
        index(version, want) == 1 { print version; exit }')"
    [ -n "$apt_version" ] || fail "kubeadm ${KUBERNETES_VERSION} is not in the pkgs.k8s.io v${KUBERNETES_VERSION%.*} repository"
    echo "$apt_version"
}
