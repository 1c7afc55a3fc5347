#!/usr/bin/env bash
# Build the vitad Raspberry Pi OS Lite (Bookworm, arm64) image with pi-gen.
#
#   sudo image-build/pi-gen/build.sh            -> image-build/build/pi-gen/deploy/*.img.xz
#   sudo image-build/pi-gen/build.sh --docker   same, inside pi-gen's Docker build container
#   image-build/pi-gen/build.sh --dry-run       check everything the build needs; print the plan
#
# Needs: Debian 12 / Ubuntu 22.04+ (amd64 or arm64) as root, ~25 GB free, internet (apt, the
# pi-gen clone, the Vosk model); on amd64 qemu-user-static + binfmt-support for the arm64 chroot.
# Takes ~60-90 min on 4 cores (most of it stage0-2 = Raspberry Pi OS Lite itself).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "${here}/../.." && pwd)"
build="${VITAD_IMAGE_BUILD_DIR:-${repo}/image-build/build}"
work="${build}/pi-gen"

# pi-gen pinned: the Raspberry Pi OS release tag on the arm64 branch, plus the commit it must
# resolve to (pi-gen.lock). A tag that moves, or a lock that does not match, stops the build.
PI_GEN_URL="https://github.com/RPi-Distro/pi-gen.git"
PI_GEN_REF="2024-11-19-raspios-bookworm-arm64"
lock="${here}/pi-gen.lock"
PI_GEN_COMMIT="$(sed -n 's/^commit=//p' "${lock}" 2>/dev/null || true)"

HOST_PACKAGES=(coreutils quilt parted qemu-user-static debootstrap zerofree zip dosfstools
               libarchive-tools libcap2-bin grep rsync xz-utils file git curl bc gpg pigz
               xxd arch-test kmod binfmt-support)

mode=build
docker=0
while [ $# -gt 0 ]; do
    case "$1" in
        --dry-run) mode=dry-run; shift ;;
        --docker) docker=1; shift ;;
        -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "build.sh: unknown argument: $1" >&2; exit 2 ;;
    esac
done

stage="${here}/stage-vitad"
stage_files=(
    prerun.sh EXPORT_IMAGE 00-install/00-packages-nr 00-install/00-run.sh
    00-install/00-run-chroot.sh 00-install/files/config.txt.vitad
    00-install/files/50-vitad-sshd.conf 00-install/files/authorized_keys.txt
    00-install/files/vitad-ssh-keys.service 00-install/files/vitad-ssh-keys
    00-install/files/vitad-readonly-root
)
# The repo subset copied into the image for install.sh (see stage_sources).
src_paths=(config systemd README.md image-build/install.sh
           image-build/constraints.txt image-build/models.sha256 image-build/README.md
           image-build/rootfs image-build/boot)

packages() {  # every apt package the image gets on top of Raspberry Pi OS Lite
    grep -Ev '^[[:space:]]*(#|$)' "${stage}/00-install/00-packages-nr"
    sed -n 's/^APT_PACKAGES=(\(.*\))$/\1/p' "${repo}/image-build/install.sh" | tr ' ' '\n'
}

check_files() {
    local f bad=0
    for f in "${stage_files[@]}"; do
        if [ -e "${stage}/${f}" ]; then echo "  file  stage-vitad/${f}"
        else echo "  MISSING stage-vitad/${f}" >&2; bad=1; fi
    done
    for f in "${src_paths[@]}"; do
        if [ -e "${repo}/${f}" ]; then echo "  src   ${f}"
        else echo "  MISSING ${f}" >&2; bad=1; fi
    done
    for f in prerun.sh 00-install/00-run.sh 00-install/files/vitad-ssh-keys \
             00-install/files/vitad-readonly-root; do
        [ -x "${stage}/${f}" ] || { echo "  NOT EXECUTABLE stage-vitad/${f}" >&2; bad=1; }
    done
    "${repo}/image-build/install.sh" --dry-run | sed 's/^/  install.sh: /' || bad=1
    return "${bad}"
}

# Resolve the packages against Debian bookworm arm64 with a private apt state (the host's apt
# configuration is not touched). Raspberry Pi's own archive is not consulted: every package
# here is a plain Debian one, which Raspberry Pi OS carries unchanged or rebuilt.
resolve_arm64() {
    local dir="${build}/cache/apt-arm64" opts
    mkdir -p "${dir}/lists/partial" "${dir}/archives/partial" "${dir}/etc/preferences.d"
    : > "${dir}/status"
    cat > "${dir}/etc/sources.list" <<SRC
deb [arch=arm64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${VITAD_DEBIAN_MIRROR:-http://deb.debian.org/debian} bookworm main
deb [arch=arm64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${VITAD_DEBIAN_MIRROR:-http://deb.debian.org/debian} bookworm-updates main
SRC
    opts=(-o "APT::Architecture=arm64" -o "APT::Architectures::=arm64"
          -o "Dir::Etc::SourceList=${dir}/etc/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
          -o "Dir::Etc::Preferences=/dev/null" -o "Dir::Etc::PreferencesParts=${dir}/etc/preferences.d"
          -o "Dir::State::Lists=${dir}/lists" -o "Dir::State::status=${dir}/status"
          -o "Dir::Cache=${dir}" -o "Dir::Cache::archives=${dir}/archives"
          -o "Debug::NoLocking=1" -o "APT::Sandbox::User=root")
    if [ -z "$(find "${dir}/lists" -name '*_Packages*' -mmin -1440 2>/dev/null)" ]; then
        apt-get "${opts[@]}" -q update >/dev/null
    fi
    # shellcheck disable=SC2046
    apt-get "${opts[@]}" install --simulate --no-install-recommends $(packages | sort -u) \
        > "${dir}/simulate.log"
    echo "  apt (bookworm arm64): $(grep -c '^Inst ' "${dir}/simulate.log") packages would be" \
         "installed into an empty root for: $(packages | sort -u | tr '\n' ' ')"
}

resolve_amd64_proxy() {
    local p bad=0
    for p in $(packages | sort -u); do
        if apt-cache policy "${p}" | grep -q 'Candidate: [0-9]'; then :; else
            echo "  MISSING apt package ${p}" >&2; bad=1; fi
    done
    echo "  apt (host architecture, as a proxy): every package has a candidate"
    return "${bad}"
}

stage_sources() {  # into the pi-gen checkout's copy of the stage, never into the repo
    local dest="${work}/stage-vitad/00-install/files"
    rm -rf "${dest}/vitad-src" "${dest}/wheelhouse"
    mkdir -p "${dest}/vitad-src/image-build"
    local p
    for p in "${src_paths[@]}"; do
        mkdir -p "${dest}/vitad-src/$(dirname "${p}")"
        cp -a "${repo}/${p}" "${dest}/vitad-src/${p}"
    done
    cp -a "${build}/wheelhouse-arm64" "${dest}/wheelhouse"
}

clone_pi_gen() {
    if [ ! -d "${work}/.git" ]; then
        git clone --depth 1 --branch "${PI_GEN_REF}" "${PI_GEN_URL}" "${work}"
    fi
    local head
    head="$(git -C "${work}" rev-parse HEAD)"
    if [ -z "${PI_GEN_COMMIT}" ]; then
        echo "build.sh: pi-gen ${PI_GEN_REF} is ${head}; recording it in ${lock} (commit it)"
        printf 'ref=%s\ncommit=%s\n' "${PI_GEN_REF}" "${head}" > "${lock}"
    elif [ "${head}" != "${PI_GEN_COMMIT}" ]; then
        echo "build.sh: pi-gen ${PI_GEN_REF} resolved to ${head}, expected ${PI_GEN_COMMIT}" >&2
        exit 1
    fi
}

if [ "${mode}" = dry-run ]; then
    echo "vitad Pi image plan (dry run)"
    echo "pi-gen: ${PI_GEN_URL} @ ${PI_GEN_REF} (commit ${PI_GEN_COMMIT:-not yet locked: recorded on the first build})"
    echo "stages: stage0 stage1 stage2 (Raspberry Pi OS Lite) + stage-vitad -> ${work}/deploy/"
    check_files
    if ! resolve_arm64; then
        echo "  (arm64 package lists unavailable; falling back to the host's apt-cache)"
        resolve_amd64_proxy
    fi
    "${repo}/image-build/scripts/wheelhouse.sh" --arch arm64 --out "${build}/wheelhouse-arm64" \
        | sed 's/^/  /'
    echo "  models: Vosk via 'vitad fetch-models' (sha256 pinned in vitad/asr/fetch.py); Piper" \
         "voice + openWakeWord from the wheels, checked against image-build/models.sha256"
    echo "dry run ok"
    exit 0
fi

[ "$(id -u)" = 0 ] || [ "${docker}" = 1 ] || { echo "build.sh: run as root" >&2; exit 1; }
avail_gb=$(( $(df --output=avail -k "$(dirname "${build}")" | tail -n 1) / 1024 / 1024 ))
[ "${avail_gb}" -ge 25 ] || { echo "build.sh: need ~25 GB free, have ${avail_gb} GB" >&2; exit 1; }
mkdir -p "${build}"
"${repo}/image-build/scripts/wheelhouse.sh" --arch arm64 --out "${build}/wheelhouse-arm64"
if [ "${docker}" = 0 ] && [ "$(dpkg --print-architecture)" != arm64 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${HOST_PACKAGES[@]}"
fi
clone_pi_gen
rm -rf "${work}/stage-vitad"
cp -a "${stage}" "${work}/stage-vitad"
stage_sources
cp "${here}/config" "${work}/config"
# pi-gen refuses DISABLE_FIRST_BOOT_USER_RENAME without a password; stage-vitad removes it.
printf 'FIRST_USER_PASS=%q\n' "$(head -c 24 /dev/urandom | base64 | tr -d '/+=')" >> "${work}/config"
start=$(date +%s)
if [ "${docker}" = 1 ]; then
    (cd "${work}" && ./build-docker.sh -c config)
else
    (cd "${work}" && ./build.sh -c config)
fi
echo "build.sh: done in $(( ($(date +%s) - start) / 60 )) min:"
find "${work}/deploy" -maxdepth 1 -type f -newermt "@${start}" -exec sha256sum {} +
