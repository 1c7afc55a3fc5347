#!/usr/bin/env bash
# Shared helpers for the image-build CI tiers (sourced, not run).
# shellcheck shell=bash

IB_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
IB_DIR="${IB_REPO}/image-build"
# Everything big (debootstrap cache, wheelhouse, rootfs, disk images) lives here, gitignored.
IB_BUILD="${VITAD_IMAGE_BUILD_DIR:-${IB_DIR}/build}"
IB_MIRROR="${VITAD_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
IB_FAILS=0

ib_log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*"; }

# bg_start RCFILE COMMAND...: run COMMAND in the background ($! is its job) and keep its exit
# status in RCFILE; bg_wait PID RCFILE returns that status once it has finished. `wait PID`
# alone is not enough: bash forgets a finished job's status when its PID is handed to a new
# process, and pid_max 32768 wraps during an arm64 build ("wait: pid N is not a child of this
# shell", exit 127, although the job had succeeded minutes before).
bg_start() {
    local rc_file=$1
    shift
    rm -f "${rc_file}"
    # The EXIT trap records the status however the subshell ends (set -e included).
    ( trap 'echo $? > "'"${rc_file}"'"' EXIT; "$@" ) &
}
bg_wait() {
    wait "$1" 2>/dev/null || true
    [ -s "$2" ] || { echo "bg_wait: no exit status in $2 (job $1 killed?)" >&2; return 1; }
    return "$(cat "$2")"
}

# check DESCRIPTION COMMAND...: run an assertion, report it, count failures (never exits).
check() {
    local what="$1"; shift
    if "$@" >/dev/null 2>&1; then
        echo "  ok   ${what}"
    else
        echo "  FAIL ${what}"
        IB_FAILS=$((IB_FAILS + 1))
    fi
}

# check_shown DESCRIPTION TAIL_LINES COMMAND...: like check, also shows the output's last lines.
check_shown() {
    local what="$1" lines="$2" out rc=0; shift 2
    out="$("$@" 2>&1)" || rc=$?
    if [ "${rc}" = 0 ]; then echo "  ok   ${what}"; else echo "  FAIL ${what}"; IB_FAILS=$((IB_FAILS + 1)); fi
    printf '%s\n' "${out}" | tail -n "${lines}" | sed 's/^/    /'
}

# need_cmd CMD PACKAGE: install a Debian package when its command is missing. One apt at a
# time (flock): .ci/image-tiers runs the arm64 image build alongside tiers 1-3.
need_cmd() {
    command -v "$1" >/dev/null 2>&1 && return 0
    ib_log "installing $2 (for $1)" >&2
    (
        flock 9
        command -v "$1" >/dev/null 2>&1 && exit 0
        if [ -z "${IB_APT_UPDATED:-}" ]; then apt-get update -q >/dev/null; fi
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$2" >/dev/null
    ) 9> "${TMPDIR:-/tmp}/vitad-image-build-apt.lock"
    IB_APT_UPDATED=1
}

# base_rootfs: path of a cached `debootstrap --variant=minbase bookworm` tree (built once).
base_rootfs() {
    local cache="${IB_BUILD}/cache/bookworm-minbase-amd64"
    if [ ! -x "${cache}/usr/bin/env" ]; then
        need_cmd debootstrap debootstrap
        rm -rf "${cache}.tmp"
        mkdir -p "${IB_BUILD}/cache"
        ib_log "debootstrap --variant=minbase bookworm (${IB_MIRROR}) -> ${cache}" >&2
        debootstrap --variant=minbase bookworm "${cache}.tmp" "${IB_MIRROR}" \
            > "${IB_BUILD}/cache/debootstrap.log" 2>&1 \
            || { tail -20 "${IB_BUILD}/cache/debootstrap.log" >&2; return 1; }
        mv "${cache}.tmp" "${cache}"
    fi
    printf '%s' "${cache}"
}

# wheelhouse ARCH: path of the offline wheelhouse (vitad wheel + constraints.txt pins).
wheelhouse() {
    local out="${IB_BUILD}/wheelhouse-$1"
    "${IB_DIR}/scripts/wheelhouse.sh" --arch "$1" --out "${out}" >&2
    printf '%s' "${out}"
}

# Keep downloaded .debs between runs (apt inside the throw-away rootfs). IB_APT_CACHE: another
# folder (the arm64 image build has its own, as it runs alongside tiers 2-3 in .ci/image-tiers).
apt_cache_in() {
    local cache="${IB_APT_CACHE:-${IB_BUILD}/cache/apt-archives}"
    mkdir -p "${cache}" "$1/var/cache/apt/archives"
    find "${cache}" -maxdepth 1 -name '*.deb' -exec cp -n -t "$1/var/cache/apt/archives" {} +
}
apt_cache_out() {
    local cache="${IB_APT_CACHE:-${IB_BUILD}/cache/apt-archives}"
    mkdir -p "${cache}"
    find "$1/var/cache/apt/archives" -maxdepth 1 -name '*.deb' -exec cp -n -t "${cache}" {} +
    rm -f "$1"/var/cache/apt/archives/*.deb
}

# chroot mounts with guaranteed cleanup: chroot_mount ROOT ... chroot_umount_all (in a trap).
IB_MOUNTS=()
chroot_mount() {
    local root="$1"
    mount -t proc proc "${root}/proc"; IB_MOUNTS+=("${root}/proc")
    mount --bind /dev "${root}/dev"; IB_MOUNTS+=("${root}/dev")
}
chroot_umount_all() {
    local i
    for (( i=${#IB_MOUNTS[@]}-1; i>=0; i-- )); do
        umount "${IB_MOUNTS[$i]}" 2>/dev/null || umount -l "${IB_MOUNTS[$i]}" 2>/dev/null || true
    done
    IB_MOUNTS=()
}
in_chroot() {
    local root="$1"; shift
    chroot "${root}" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin \
        HOME=/root LANG=C.UTF-8 "$@"
}

# arm64_binfmt: let this host run arm64 programs (qemu-user-static through binfmt_misc), as the
# arm64 image build and tier 4 need. Returns 1 when the kernel/container cannot do it.
arm64_binfmt() {
    need_cmd qemu-aarch64-static qemu-user-static || return 1
    need_cmd update-binfmts binfmt-support || return 1
    if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
        mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null || return 1
    fi
    if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
        update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || return 1
    fi
    grep -qx enabled /proc/sys/fs/binfmt_misc/qemu-aarch64 2>/dev/null
}

# wav_nonsilent FILE: a 0.3-5 s, 16-bit WAV whose peak is above 1000 (prints length and peak).
wav_nonsilent() {
    python3 - "$1" <<'PY'
import array, sys, wave
with wave.open(sys.argv[1]) as w:
    assert w.getsampwidth() == 2, w.getsampwidth()
    frames = w.readframes(w.getnframes())
    seconds = w.getnframes() / w.getframerate()
samples = array.array("h", frames)
peak = max(abs(s) for s in samples)
print(f"{seconds:.2f} s, peak {peak}")
assert 0.3 < seconds < 5 and peak > 1000
PY
}
