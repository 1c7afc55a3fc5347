#!/bin/bash -e
# Host side of stage-vitad: stage the vitad sources + the arm64 wheelhouse inside the root
# file system for 00-run-chroot.sh, and set up the FAT boot partition (config.txt, cmdline.txt,
# the operator's vitad.toml and the authorized_keys hand-off).
# Variables from pi-gen: ROOTFS_DIR, FIRST_USER_NAME. From image-build/pi-gen/build.sh: files/
# holds vitad-src/ (repo subset) and wheelhouse/ (scripts/wheelhouse.sh --arch arm64).
set -euo pipefail

files="$(pwd)/files"
boot="${ROOTFS_DIR}/boot/firmware"
[ -d "${files}/vitad-src/image-build" ] || { echo "stage-vitad: run image-build/pi-gen/build.sh" >&2; exit 1; }

rm -rf "${ROOTFS_DIR}/tmp/vitad-src"
cp -a "${files}/vitad-src" "${ROOTFS_DIR}/tmp/vitad-src"
cp -a "${files}/wheelhouse" "${ROOTFS_DIR}/tmp/vitad-src/wheelhouse"
install -d -m 0755 "${ROOTFS_DIR}/etc/vitad"
printf '%s\n' "${FIRST_USER_NAME}" > "${ROOTFS_DIR}/etc/vitad/admin-user"

# Pi-only system files.
install -D -m 0644 "${files}/50-vitad-sshd.conf" "${ROOTFS_DIR}/etc/ssh/sshd_config.d/50-vitad.conf"
install -D -m 0644 "${files}/vitad-ssh-keys.service" \
    "${ROOTFS_DIR}/etc/systemd/system/vitad-ssh-keys.service"
install -D -m 0755 "${files}/vitad-ssh-keys" "${ROOTFS_DIR}/opt/vitad/libexec/vitad-ssh-keys"
install -D -m 0755 "${files}/vitad-readonly-root" "${ROOTFS_DIR}/opt/vitad/libexec/vitad-readonly-root"

# Boot partition: the operator's files, editable from any PC.
install -m 0644 "${files}/vitad-src/image-build/boot/vitad.toml" "${boot}/vitad.toml"
install -m 0644 "${files}/authorized_keys.txt" "${boot}/authorized_keys.txt"

# config.txt: KMS, forced HDMI, hardware watchdog (fed by systemd: RuntimeWatchdogSec=14s).
if ! grep -q '^# --- vitad ---' "${boot}/config.txt"; then
    cat "${files}/config.txt.vitad" >> "${boot}/config.txt"
fi
# cmdline.txt is one line: no console blanking, no cursor, quiet boot, HDMI on without a monitor.
for arg in consoleblank=0 vt.global_cursor_default=0 quiet loglevel=3 video=HDMI-A-1:1920x1080@60D; do
    if ! grep -qw -- "${arg}" "${boot}/cmdline.txt"; then
        sed -i "1 s|\$| ${arg}|" "${boot}/cmdline.txt"
    fi
done
