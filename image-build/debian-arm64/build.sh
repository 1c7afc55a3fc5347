#!/usr/bin/env bash
# Build the vitad SD-card image for the Raspberry Pi 4 from Debian 12 arm64 packages only
# (no pi-gen, no GitHub, no Raspberry Pi apt archive), on an amd64 machine, as root:
#
#   image-build/debian-arm64/build.sh [--no-models] [--keep-img] [--no-xz | --xz-only]
#
#   --no-models  skip `vitad fetch-models` (the Vosk download: needs alphacephei.com);
#                vitad then runs on PocketSphinx until the model is fetched on the box
#   --keep-img   keep the uncompressed .img next to the .img.xz
#   --no-xz      stop at the .img (and its manifest); `--xz-only` later compresses that file
#   --xz-only    only compress the .img of an earlier --no-xz run into .img.xz + .sha256
#                (tier 4 does it while the very same image boots under qemu)
#
# Output in image-build/build/ (VITAD_IMAGE_BUILD_DIR): vitad-<version>-arm64.img.xz, its
# .sha256 and .manifest.txt (Debian packages, wheels, model sha256s, kernel).
#
# Steps: debootstrap minbase arm64 + packages.txt through qemu-user (binfmt), cached as a
# tarball keyed by the package list; image-build/install.sh --root runs unchanged in that arm64
# root, offline from the arm64 wheelhouse (cached, keyed by constraints.txt); first-boot and
# SSH units; then the disk image without loop or vfat mounts: mkfs.vfat + mcopy for the FAT
# boot partition (raspi-firmware's firmware, kernel, initrd, DTBs, config.txt, cmdline.txt,
# the operator's vitad.toml and authorized_keys.txt), `mkfs.ext4 -d` for the root, sfdisk for
# the MBR partition table, dd to put them together.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../ci/lib.sh
. "$(dirname "$0")/../ci/lib.sh"

here="${IB_DIR}/debian-arm64"
models=1
keep_img=0
xz_mode=both   # both | none (--no-xz) | only (--xz-only)
while [ $# -gt 0 ]; do
    case "$1" in
        --no-models) models=0; shift ;;
        --keep-img) keep_img=1; shift ;;
        --no-xz) xz_mode=none; shift ;;
        --xz-only) xz_mode=only; shift ;;
        -h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "build.sh: unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" = 0 ] || { echo "build.sh: run as root (debootstrap, chroot)" >&2; exit 1; }

# compress_image NAME: NAME.img -> NAME.img.xz + NAME.img.xz.sha256 (the .img goes unless
# --keep-img). -1: the fastest level that still fits a download; -3 took >8 min on 2 busy cores.
compress_image() {
    local name="$1" img="${IB_BUILD}/$1.img"
    rm -f "${img}.xz" "${img}.xz.part"
    xz -T0 -1 -c "${img}" > "${img}.xz.part"
    mv "${img}.xz.part" "${img}.xz"
    (cd "${IB_BUILD}" && sha256sum "${name}.img.xz" > "${name}.img.xz.sha256")
    [ "${keep_img}" = 1 ] || rm -f "${img}"
}
if [ "${xz_mode}" = only ]; then
    img="$(find "${IB_BUILD}" -maxdepth 1 -name 'vitad-*-arm64.img' | sort | tail -n 1)"
    [ -n "${img}" ] || { echo "build.sh --xz-only: no vitad-*-arm64.img in ${IB_BUILD} (run --no-xz first)" >&2; exit 1; }
    name="$(basename "${img}" .img)"
    ib_log "image: xz ${name}.img ($(du -h --apparent-size "${img}" | cut -f1))"
    compress_image "${name}"
    ib_log "image: done: ${IB_BUILD}/${name}.img.xz ($(du -h "${img}.xz" | cut -f1)), .sha256"
    exit 0
fi

BOOT_MIB=256        # FAT32 boot partition (firmware + kernel + initrd ~ 90 MB)
ROOT_SLACK_MIB=400  # free space in the root file system before the first-boot resize
ADMIN=vitadadmin
work="${IB_BUILD}/debian-arm64"
R="${work}/rootfs"
log="${work}/build.log"
t0=$(date +%s)
step() { ib_log "image: $* ($(( $(date +%s) - t0 )) s)"; }

need_cmd debootstrap debootstrap
need_cmd sfdisk fdisk
need_cmd mkfs.vfat dosfstools
need_cmd mcopy mtools
export MTOOLS_SKIP_CHECK=1   # images made by mkfs.vfat -C have no PC disk geometry
need_cmd mkfs.ext4 e2fsprogs
need_cmd xz xz-utils
need_cmd zstd zstd
arm64_binfmt || { echo "build.sh: this host cannot run arm64 programs (binfmt/qemu-user)" >&2; exit 1; }

mkdir -p "${work}" "${IB_BUILD}/cache"
: > "${log}"
trap 'chroot_umount_all' EXIT
trap 'exit 143' TERM INT   # so that the EXIT trap unmounts when .ci/image-tiers stops the build
# The arm64 .debs have their own cache: this build runs alongside tiers 2-3 (.ci/image-tiers).
export IB_APT_CACHE="${IB_BUILD}/cache/apt-archives-arm64"
# Full mounts for apt and the kernel hooks (install.sh mounts its own and undoes them).
chroot_mount_full() {
    chroot_mount "$1"
    mount -t sysfs sysfs "$1/sys"; IB_MOUNTS+=("$1/sys")
    mount --bind /dev/pts "$1/dev/pts"; IB_MOUNTS+=("$1/dev/pts")
}

# The arm64 wheelhouse (network-bound) downloads while debootstrap runs (CPU-bound).
bg_start "${work}/wheelhouse.rc" wheelhouse arm64 \
    > "${work}/wheelhouse.path" 2> "${work}/wheelhouse.log"
wh_pid=$!

# ---- 1. the Debian base: debootstrap + packages.txt, cached by its inputs ---------------------
packages="$(grep -Ev '^[[:space:]]*(#|$)' "${here}/packages.txt" | tr -s ' \n' '  ' | xargs)"
# One apt pass for the image: everything install.sh would apt-get must be in packages.txt.
read -ra install_apt <<<"$(sed -n 's/^APT_PACKAGES=(\(.*\))$/\1/p' "${IB_DIR}/install.sh")"
[ ${#install_apt[@]} -gt 0 ] || { echo "build.sh: no APT_PACKAGES line in install.sh" >&2; exit 1; }
for p in "${install_apt[@]}"; do
    case " ${packages} " in
        *" ${p} "*) ;;
        *) echo "build.sh: ${here}/packages.txt lacks ${p} (install.sh's APT_PACKAGES)" >&2; exit 1 ;;
    esac
done
# Bump BASE_RECIPE when step 1 below changes in a way that needs a new base.
BASE_RECIPE=3
base_key="$(printf 'bookworm arm64 minbase main,non-free-firmware recipe %s\n%s\n' "${BASE_RECIPE}" "${packages}" \
    | cat - "${here}/files/initramfs-modules" | sha256sum | cut -c1-16)"
base_tar="${IB_BUILD}/cache/debian-arm64-base-${base_key}.tar.zst"
if [ ! -s "${base_tar}" ]; then
    step "debootstrap bookworm arm64 minbase (cold: no cached base ${base_key})"
    tmp="${work}/base.tmp"
    rm -rf "${tmp}"
    debootstrap --variant=minbase --arch=arm64 --components=main,non-free-firmware \
        bookworm "${tmp}" "${IB_MIRROR}" >> "${log}" 2>&1 \
        || { tail -20 "${log}" >&2; exit 1; }
    cat > "${tmp}/etc/apt/sources.list" <<EOF
deb ${IB_MIRROR} bookworm main non-free-firmware
deb ${IB_MIRROR} bookworm-updates main non-free-firmware
deb ${IB_MIRROR%/debian}/debian-security bookworm-security main non-free-firmware
EOF
    # The kernel hooks of raspi-firmware fill /boot/firmware (the FAT partition later).
    mkdir -p "${tmp}/boot/firmware"
    # A small initramfs (see files/initramfs-modules): Debian's default takes 20+ min here.
    install -D -m 0644 "${here}/files/initramfs-modules" \
        "${tmp}/usr/share/initramfs-tools/modules.d/vitad-image"
    install -D -m 0644 /dev/stdin "${tmp}/etc/initramfs-tools/conf.d/vitad-image.conf" <<'EOF'
# vitad image: only the modules listed in /usr/share/initramfs-tools/modules.d/vitad-image
MODULES=list
COMPRESS=gzip
EOF
    # No manual pages, info pages, translations or docs (copyright files stay) in an appliance:
    # a smaller image and fewer files for dpkg to unpack under emulation.
    install -D -m 0644 /dev/stdin "${tmp}/etc/dpkg/dpkg.cfg.d/50-vitad-image-nodoc" <<'EOF'
# vitad image (image-build/debian-arm64/build.sh): no docs, manual pages or translations.
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/locale/*
path-include=/usr/share/locale/locale.alias
path-exclude=/usr/share/lintian/*
EOF
    # Build time only (removed below): no fsync per unpacked file (the build's own disk).
    echo force-unsafe-io > "${tmp}/etc/dpkg/dpkg.cfg.d/00-vitad-build-unsafe-io"
    # One initramfs, made once everything is installed: the kernel, udev, kmod and the firmware
    # each run or trigger update-initramfs otherwise (minutes each under qemu-user).
    apt_cache_in "${tmp}"
    chroot_mount_full "${tmp}"
    in_chroot "${tmp}" dpkg-divert --local --rename --divert /usr/sbin/update-initramfs.vitad-build \
        --add /usr/sbin/update-initramfs >> "${log}" 2>&1
    printf '#!/bin/sh\necho "update-initramfs: deferred by the vitad image build"\n' \
        > "${tmp}/usr/sbin/update-initramfs"
    chmod 0755 "${tmp}/usr/sbin/update-initramfs"
    cp -L /etc/resolv.conf "${tmp}/etc/resolv.conf"
    step "apt-get install packages.txt (one pass, no initramfs yet)"
    # shellcheck disable=SC2086  # the package list is meant to split
    { in_chroot "${tmp}" apt-get update -q \
        && in_chroot "${tmp}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
            --no-install-recommends -o Dpkg::Options::=--force-confdef \
            -o Dpkg::Options::=--force-confold ${packages}; } >> "${log}" 2>&1 \
        || { tail -30 "${log}" >&2; exit 1; }
    kver="$(find "${tmp}/boot" -maxdepth 1 -name 'vmlinuz-*' -printf '%f\n' | sed 's/^vmlinuz-//' | sort -V | tail -n 1)"
    [ -n "${kver}" ] || { echo "build.sh: no kernel in ${tmp}/boot after apt" >&2; exit 1; }
    step "initramfs for ${kver} (once)"
    rm -f "${tmp}/usr/sbin/update-initramfs"
    { in_chroot "${tmp}" dpkg-divert --local --rename --divert /usr/sbin/update-initramfs.vitad-build \
            --remove /usr/sbin/update-initramfs \
        && in_chroot "${tmp}" update-initramfs -c -k "${kver}"; } >> "${log}" 2>&1 \
        || { tail -30 "${log}" >&2; exit 1; }
    [ -s "${tmp}/boot/initrd.img-${kver}" ] || { echo "build.sh: update-initramfs made no initrd" >&2; exit 1; }
    rm -f "${tmp}/etc/dpkg/dpkg.cfg.d/00-vitad-build-unsafe-io"
    chroot_umount_all
    apt_cache_out "${tmp}"
    rm -rf "${tmp}"/var/lib/apt/lists/* "${tmp}/etc/resolv.conf"
    step "packing the base -> ${base_tar}"
    tar -C "${tmp}" --numeric-owner --xattrs -cf - . | zstd -q -T0 -1 -o "${base_tar}.part"
    mv "${base_tar}.part" "${base_tar}"
    # Cold: the tree just packed is the root (no unpacking it again).
    rm -rf "${R}"; mv "${tmp}" "${R}"
else
    step "base from cache ${base_tar}"
    rm -rf "${R}"; mkdir -p "${R}"
    zstd -q -dc "${base_tar}" | tar -C "${R}" --numeric-owner --xattrs -xf -
fi

# ---- 2. vitad, by the same installer as everywhere ---------------------------------------------
bg_wait "${wh_pid}" "${work}/wheelhouse.rc" || { cat "${work}/wheelhouse.log" >&2; exit 1; }
wh="$(cat "${work}/wheelhouse.path")"
step "wheelhouse ${wh} ($(find "${wh}" -name '*.whl' | wc -l) wheels)"
step "install.sh --root (arm64 chroot, qemu-user)$([ "${models}" = 1 ] || echo ', --no-models')"
# install.sh apt-gets only what its list has and packages.txt does not (none, ideally).
install_args=(--root "${R}" --wheelhouse "${wh}" --no-compile)
[ "${models}" = 1 ] || install_args+=(--no-models)
apt_cache_in "${R}"
# An empty /sys in the chroot (install.sh leaves an existing mount alone): with the host's
# /sys/devices/system/cpu, onnxruntime's cpuinfo (run by `vitad check-config`) crashes
# qemu-user 7.2 (SIGSEGV); without it, it just warns and uses generic arm64 kernels.
mount -t tmpfs -o size=1m,mode=0755 no-sysfs "${R}/sys"; IB_MOUNTS+=("${R}/sys")
"${IB_DIR}/install.sh" "${install_args[@]}" >> "${log}" 2>&1 || { tail -30 "${log}" >&2; exit 1; }
chroot_umount_all
apt_cache_out "${R}"
grep '^install.sh' "${log}" | tail -n 3 | sed 's/^/    /'
# The .pyc files pip would have compiled under qemu-user (minutes for scipy, scikit-learn,
# numpy...): bytecode does not depend on the CPU, so the host's Python compiles them when it is
# the same CPython version (same magic number), with the paths the box will see.
step "byte-compiling /opt/vitad/venv"
magic='import importlib.util; print(importlib.util.MAGIC_NUMBER.hex())'
if [ "$(python3 -c "${magic}" 2>/dev/null)" = "$(in_chroot "${R}" python3 -c "${magic}")" ]; then
    python3 -m compileall -q -j 0 -s "${R}" -p / "${R}/opt/vitad/venv/lib" >> "${log}" 2>&1 \
        || echo "build.sh: compileall reported files it cannot compile (see ${log})" >&2
else
    in_chroot "${R}" /opt/vitad/venv/bin/python3 -m compileall -q -j 0 /opt/vitad/venv/lib >> "${log}" 2>&1 \
        || echo "build.sh: compileall reported files it cannot compile (see ${log})" >&2
fi
rm -f "${R}/etc/resolv.conf"   # install.sh's copy of the host's; NetworkManager writes the box's

# ---- 3. what makes it an appliance image -----------------------------------------------------
step "image system files"
pigen="${IB_DIR}/pi-gen/stage-vitad/00-install/files"
install -m 0644 "${here}/files/raspi-firmware.default" "${R}/etc/default/raspi-firmware"
install -m 0644 "${here}/files/config.txt.custom" "${R}/etc/default/raspi-firmware-custom"
install -m 0644 "${here}/files/raspi-extra-cmdline" "${R}/etc/default/raspi-extra-cmdline"
install -D -m 0644 "${here}/files/vitad-watchdog.conf" "${R}/etc/modules-load.d/vitad-watchdog.conf"
install -D -m 0755 "${here}/files/vitad-firstboot" "${R}/opt/vitad/libexec/vitad-firstboot"
install -D -m 0644 "${here}/files/vitad-firstboot.service" "${R}/etc/systemd/system/vitad-firstboot.service"
# Key-only SSH with the keys from the boot partition: the Pi OS image's files, unchanged.
install -D -m 0644 "${pigen}/50-vitad-sshd.conf" "${R}/etc/ssh/sshd_config.d/50-vitad.conf"
install -D -m 0644 "${pigen}/vitad-ssh-keys.service" "${R}/etc/systemd/system/vitad-ssh-keys.service"
install -D -m 0755 "${pigen}/vitad-ssh-keys" "${R}/opt/vitad/libexec/vitad-ssh-keys"
printf '%s\n' "${ADMIN}" > "${R}/etc/vitad/admin-user"
echo vitad > "${R}/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tvitad\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' > "${R}/etc/hosts"
cat > "${R}/etc/fstab" <<'EOF'
# vitad Debian arm64 image: partitions by label (the same on an SD card and a qemu disk).
LABEL=vitadroot  /               ext4  defaults,noatime  0  1
LABEL=VITADBOOT  /boot/firmware  vfat  defaults,noatime,umask=0022  0  2
EOF
chroot_mount_full "${R}"
{
    if ! in_chroot "${R}" getent passwd "${ADMIN}" >/dev/null; then
        in_chroot "${R}" useradd --create-home --shell /bin/bash --groups sudo,adm,systemd-journal "${ADMIN}"
    fi
    # No password at all ('*': key logins still work); sudo without one, as on the Pi OS image.
    in_chroot "${R}" usermod -p '*' "${ADMIN}"
    install -d -m 0700 -o "$(in_chroot "${R}" id -u "${ADMIN}")" -g "$(in_chroot "${R}" id -g "${ADMIN}")" \
        "${R}/home/${ADMIN}/.ssh"
    printf '%s ALL=(ALL) NOPASSWD: ALL\n' "${ADMIN}" > "${R}/etc/sudoers.d/010_vitadadmin-nopasswd"
    chmod 0440 "${R}/etc/sudoers.d/010_vitadadmin-nopasswd"
    # Regenerate /boot/firmware (kernel, initrd, DTBs, config.txt, cmdline.txt) with our defaults.
    kver="$(find "${R}/boot" -maxdepth 1 -name 'vmlinuz-*' -printf '%f\n' | sed 's/^vmlinuz-//' | sort -V | tail -n 1)"
    # What raspi-firmware's postinst and kernel hook do, with this image's settings.
    cp "${R}"/usr/lib/raspi-firmware/* "${R}/boot/firmware/"
    in_chroot "${R}" env DEB_MAINT_PARAMS=configure /etc/kernel/postinst.d/z50-raspi-firmware "${kver}"
} >> "${log}" 2>&1 || { tail -30 "${log}" >&2; exit 1; }
chroot_umount_all
systemctl --root="${R}" enable vitad-firstboot.service vitad-ssh-keys.service ssh.service \
    NetworkManager.service systemd-timesyncd.service >> "${log}" 2>&1
# Each box makes its own identity at first boot: no SSH host keys, no machine-id in the image.
rm -f "${R}"/etc/ssh/ssh_host_*
: > "${R}/etc/machine-id"; rm -f "${R}/var/lib/dbus/machine-id"
rm -rf "${R}"/var/lib/apt/lists/* "${R}"/var/cache/apt/*.bin "${R}"/tmp/* "${R}"/root/.cache
# The operator's files on the FAT partition.
B="${R}/boot/firmware"
install -m 0644 "${IB_DIR}/boot/vitad.toml" "${B}/vitad.toml"
install -m 0644 "${pigen}/authorized_keys.txt" "${B}/authorized_keys.txt"
for f in config.txt cmdline.txt "vmlinuz-${kver}" "initrd.img-${kver}" bcm2711-rpi-4-b.dtb start4.elf; do
    [ -s "${B}/${f}" ] || { echo "build.sh: raspi-firmware did not produce ${f} in /boot/firmware" >&2; exit 1; }
done
grep -q 'root=LABEL=vitadroot' "${B}/cmdline.txt" \
    || { echo "build.sh: cmdline.txt has no root=LABEL=vitadroot: $(cat "${B}/cmdline.txt")" >&2; exit 1; }

# ---- 4. manifest ---------------------------------------------------------------------------
version="$(find "${wh}" -maxdepth 1 -name 'vitad-*.whl' -printf '%f\n' | sed -E 's/^vitad-([^-]+)-.*/\1/' | head -n 1)"
name="vitad-${version}-arm64"
site="$(find "${R}/opt/vitad/venv/lib" -maxdepth 2 -type d -name site-packages | head -n 1)"
manifest="${IB_BUILD}/${name}.manifest.txt"
{
    echo "# ${name}.img: Debian 12 (bookworm) arm64, built $(date -u +%Y-%m-%dT%H:%MZ) by image-build/debian-arm64/build.sh"
    echo "# vitad git: $(git -C "${IB_REPO}" describe --always --dirty 2>/dev/null || echo unknown)"
    echo "kernel ${kver}"
    echo "vosk-model $([ "${models}" = 1 ] && echo fetched || echo 'not included (--no-models): PocketSphinx until vitad fetch-models')"
    echo "## Debian packages (dpkg)"
    # shellcheck disable=SC2016  # dpkg-query's own field syntax
    dpkg-query --admindir="${R}/var/lib/dpkg" -W -f='${Package} ${Version} ${Architecture}\n' | sort
    echo "## Python wheels in /opt/vitad/venv"
    find "${site}" -maxdepth 1 -name '*.dist-info' -printf '%f\n' | sed -E 's/\.dist-info$//; s/-([^-]+)$/ \1/' | sort -f
    echo "## Model files (/usr/share/vitad/models/MANIFEST.sha256)"
    grep -v '^#' "${R}/usr/share/vitad/models/MANIFEST.sha256"
} > "${manifest}"

# ---- 5. the disk image: MBR, FAT32 boot, ext4 root - no loop or vfat mounts ------------------
step "disk image"
parts="${work}/parts"; rm -rf "${parts}"; mkdir -p "${parts}/bootfs"
mv "${B}"/* "${parts}/bootfs/"   # /boot/firmware stays in the root as the empty mount point
mkfs.vfat -F 32 -n VITADBOOT -C "${parts}/boot.img" $(( BOOT_MIB * 1024 )) >> "${log}"
mcopy -s -i "${parts}/boot.img" "${parts}/bootfs"/* ::/
root_mib=$(( $(du -s --block-size=1M "${R}" | cut -f1) * 110 / 100 + ROOT_SLACK_MIB ))
mkfs.ext4 -q -F -L vitadroot -d "${R}" "${parts}/root.img" "${root_mib}M"
img="${IB_BUILD}/${name}.img"
total_mib=$(( 4 + BOOT_MIB + root_mib ))
rm -f "${img}"; truncate -s "${total_mib}M" "${img}"
sfdisk -q "${img}" <<EOF
label: dos
unit: sectors
start=8192, size=$(( BOOT_MIB * 2048 )), type=c, bootable
start=$(( 8192 + BOOT_MIB * 2048 )), size=$(( root_mib * 2048 )), type=83
EOF
dd if="${parts}/boot.img" of="${img}" bs=1M seek=4 conv=notrunc,sparse status=none
dd if="${parts}/root.img" of="${img}" bs=1M seek=$(( 4 + BOOT_MIB )) conv=notrunc,sparse status=none
mv "${parts}/bootfs"/* "${B}/"
rm -rf "${parts}"

echo "image $(du -h --apparent-size "${img}" | cut -f1), sha256 $(sha256sum < "${img}" | cut -d' ' -f1)" >> "${manifest}"
rm -f "${img}.xz" "${img}.xz.sha256"   # an older build's, never next to this .img
if [ "${xz_mode}" = none ]; then
    step "done: ${img} ($(du -h --apparent-size "${img}" | cut -f1)), .manifest.txt (no xz: --no-xz)"
    exit 0
fi
step "xz ($(du -h --apparent-size "${img}" | cut -f1) image)"
compress_image "${name}"
step "done: ${IB_BUILD}/${name}.img.xz ($(du -h "${img}.xz" | cut -f1)), .sha256, .manifest.txt"
