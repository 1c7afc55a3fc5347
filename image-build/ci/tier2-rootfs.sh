#!/usr/bin/env bash
# Tier 2 - install into a real Debian 12 root file system (~2-3 min warm, +1 min for the first
# debootstrap): debootstrap --variant=minbase bookworm (cached), then image-build/install.sh
# --root installs vitad offline from the wheelhouse exactly as the Pi image's stage does, and
# the result is checked from outside and from inside the chroot. Leaves the installed root at
# $VITAD_IMAGE_BUILD_DIR/tier2/rootfs for tier 3.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

rootfs="${IB_BUILD}/tier2/rootfs"
log="${IB_BUILD}/tier2/install.log"
trap 'chroot_umount_all' EXIT
t0=$(date +%s)

base="$(base_rootfs)"
ib_log "tier 2: base rootfs ${base} ($(( $(date +%s) - t0 )) s)"
wh="$(wheelhouse amd64)"
ib_log "tier 2: wheelhouse ${wh} ($(( $(date +%s) - t0 )) s)"

rm -rf "${IB_BUILD}/tier2"
mkdir -p "${IB_BUILD}/tier2"
cp -a "${base}" "${rootfs}"
apt_cache_in "${rootfs}"

install_vitad() {
    "${IB_DIR}/install.sh" --root "${rootfs}" --wheelhouse "${wh}" --no-models
}
ib_log "tier 2: install.sh --root (Vosk download skipped: no internet in CI; the image build runs it)"
t1=$(date +%s)
install_vitad > "${log}" 2>&1 || { tail -40 "${log}"; exit 1; }
apt_cache_out "${rootfs}"
grep '^install.sh' "${log}" | tail -n 4 | sed 's/^/    /'
ib_log "tier 2: installed in $(( $(date +%s) - t1 )) s"

R="${rootfs}"
# Owners by number: the rootfs's vitad uid/gid need not exist on the host.
vitad_ids="$(awk -F: '$1 == "vitad" {print $3 ":" $4}' "${R}/etc/passwd")"
mode_owner() { [ "$(stat -c '%a %u:%g' "${R}$1")" = "$2" ]; }
ib_log "tier 2: layout"
check "vitad.service enabled (multi-user.target.wants symlink)" \
    test "$(readlink "${R}/etc/systemd/system/multi-user.target.wants/vitad.service")" = /etc/systemd/system/vitad.service
check "vitad-boot-config.service enabled" \
    test -L "${R}/etc/systemd/system/multi-user.target.wants/vitad-boot-config.service"
check "user vitad: system account, nologin, home /var/lib/vitad" \
    grep -Eq '^vitad:x:[0-9]{3}:[0-9]+:[^:]*:/var/lib/vitad:/usr/sbin/nologin$' "${R}/etc/passwd"
for g in audio video render input; do
    check "vitad is in group ${g}" grep -Eq "^${g}:[^:]*:[0-9]+:(.*,)?vitad(,.*)?$" "${R}/etc/group"
done
check "/opt/vitad/venv 755 root:root" mode_owner /opt/vitad/venv "755 0:0"
check "/etc/vitad 755 root:root" mode_owner /etc/vitad "755 0:0"
check "/etc/vitad/vitad.toml 644 root:root" mode_owner /etc/vitad/vitad.toml "644 0:0"
check "/var/lib/vitad 750 vitad:vitad" mode_owner /var/lib/vitad "750 ${vitad_ids}"
check "/var/cache/vitad 750 vitad:vitad" mode_owner /var/cache/vitad "750 ${vitad_ids}"
check "/usr/share/vitad/models 755 root:root" mode_owner /usr/share/vitad/models "755 0:0"
check "boot-config script 755" mode_owner /opt/vitad/libexec/vitad_boot_config.py "755 0:0"
check "model manifest lists the Piper voice and wake models" \
    grep -q 'en_US-joe-medium.onnx$' "${R}/usr/share/vitad/models/MANIFEST.sha256"
check "model manifest hashes match the files" \
    bash -c "cd '${R}' && grep -v '^#' usr/share/vitad/models/MANIFEST.sha256 | sed 's|  /|  ./|' | sha256sum -c --quiet -"
check "journald size limit drop-in" grep -q '^SystemMaxUse=' "${R}/etc/systemd/journald.conf.d/50-vitad.conf"
check "watchdog drop-in RuntimeWatchdogSec=14s" \
    grep -q '^RuntimeWatchdogSec=14s$' "${R}/etc/systemd/system.conf.d/50-vitad-watchdog.conf"
check "node_exporter drop-in: textfile folder = vitad's, 127.0.0.1:9100 by default" bash -c \
    "grep -q 'textfile.directory=/var/lib/node_exporter/textfile_collector' '${R}/etc/systemd/system/prometheus-node-exporter.service.d/50-vitad.conf' \
     && grep -qx 'VITAD_NODE_EXPORTER_ARGS=--web.listen-address=127.0.0.1:9100' '${R}/etc/vitad/node-exporter.env'"
check "node_exporter enabled; textfile folder 755 vitad:vitad" bash -c \
    "test -L '${R}/etc/systemd/system/multi-user.target.wants/prometheus-node-exporter.service' \
     && test \"\$(stat -c '%a %u:%g' '${R}/var/lib/node_exporter/textfile_collector')\" = '755 ${vitad_ids}'"
check "sshd installed and enabled (operators and Ansible come in over SSH)" \
    test -x "${R}/usr/sbin/sshd" -a -L "${R}/etc/systemd/system/multi-user.target.wants/ssh.service"
check "venv pins equal constraints.txt" bash -c "diff <(grep -Ev '^(#|$)' '${IB_DIR}/constraints.txt' | tr A-Z_ a-z- | sort) \
    <(chroot '${R}' /opt/vitad/venv/bin/python3 -m pip freeze --exclude-editable 2>/dev/null | grep -Eiv '^vitad( @|==)' | tr A-Z_ a-z- | sort)"

verify_out="$(systemd-analyze verify --recursive-errors=no --man=no --root="${R}" \
    "${R}/etc/systemd/system/vitad.service" "${R}/etc/systemd/system/vitad-boot-config.service" 2>&1 || true)"
check "systemd-analyze verify --root=rootfs: clean for both units" test -z "${verify_out}"
[ -z "${verify_out}" ] || printf "    %s\n" "${verify_out}"

ib_log "tier 2: inside the chroot"
chroot_mount "${R}"
check "vitad check-config /etc/vitad/vitad.toml" in_chroot "${R}" /opt/vitad/venv/bin/vitad check-config /etc/vitad/vitad.toml
rm -f "${R}/tmp/hello.wav"
check "vitad say Hello --output /tmp/hello.wav" in_chroot "${R}" /opt/vitad/venv/bin/vitad say "Hello" \
    --output /tmp/hello.wav --cache-dir /tmp/tts-cache
check "hello.wav is 0.3-5 s of non-silent 16-bit audio" wav_nonsilent "${R}/tmp/hello.wav"
asound_err="$(in_chroot "${R}" aplay -L 2>&1 >/dev/null || true)"
check "/etc/asound.conf parses (aplay -L, no ALSA errors)" test -z "${asound_err}"
check "degraded start works: pocketsphinx fallback importable" in_chroot "${R}" /opt/vitad/venv/bin/python3 -c 'import pocketsphinx, vosk, onnxruntime, pygame'

# The boot override, run the way the unit runs it (a valid then an invalid file).
mkdir -p "${R}/boot/firmware"
sed 's/Bubbles Laundromat/Tier Two Wash/' "${IB_DIR}/boot/vitad.toml" > "${R}/boot/firmware/vitad.toml"
in_chroot "${R}" /opt/vitad/venv/bin/python3 /opt/vitad/libexec/vitad_boot_config.py --no-system \
    --errors /tmp/boot-errors.txt 2>&1 | sed 's/^/    /'
check "boot override applied to /etc/vitad/vitad.toml" grep -q '^name = "Tier Two Wash"' "${R}/etc/vitad/vitad.toml"
check "merged config passes check-config" in_chroot "${R}" /opt/vitad/venv/bin/vitad check-config /etc/vitad/vitad.toml
good_sum="$(sha256sum < "${R}/etc/vitad/vitad.toml")"
printf '[wake]\nthreshold = 7\n' > "${R}/boot/firmware/vitad.toml"
in_chroot "${R}" /opt/vitad/venv/bin/python3 /opt/vitad/libexec/vitad_boot_config.py --no-system \
    --errors /tmp/boot-errors.txt --errors /boot/firmware/vitad-config-errors.txt 2>&1 \
    | sed 's/^/    /'
check "invalid override: last good config kept" test "$(sha256sum < "${R}/etc/vitad/vitad.toml")" = "${good_sum}"
check "invalid override: problem written for the operator" grep -q 'wake.threshold' "${R}/boot/firmware/vitad-config-errors.txt"
rm -rf "${R}/boot/firmware" "${R}/tmp/boot-errors.txt" "${R}/tmp/hello.wav" "${R}/tmp/tts-cache"
chroot_umount_all

ib_log "tier 2: idempotency, uninstall, purge, reinstall"
snapshot() { (cd "${R}" && find etc/vitad etc/systemd opt/vitad usr/share/vitad etc/passwd etc/group \
    -type f ! -name '*.pyc' -print0 | sort -z | xargs -0 sha256sum) | sha256sum; }
before="$(snapshot)"
install_vitad > "${log}.2" 2>&1 || { tail -20 "${log}.2"; IB_FAILS=$((IB_FAILS + 1)); }
check "second install.sh run reports nothing changed" grep -q 'done (nothing changed)' "${log}.2"
check "second run left every installed file identical" test "$(snapshot)" = "${before}"
echo "keep me" > "${R}/var/lib/vitad/marker"
"${IB_DIR}/install.sh" --root "${R}" --uninstall > "${log}.3" 2>&1 || IB_FAILS=$((IB_FAILS + 1))
check "uninstall: venv and unit gone" test ! -e "${R}/opt/vitad" -a ! -e "${R}/etc/systemd/system/vitad.service"
check "uninstall: unit no longer enabled" test ! -L "${R}/etc/systemd/system/multi-user.target.wants/vitad.service"
check "uninstall: /var/lib/vitad data and /etc/vitad kept" test -f "${R}/var/lib/vitad/marker" -a -f "${R}/etc/vitad/vitad.toml"
check "uninstall: user kept" grep -q '^vitad:' "${R}/etc/passwd"
"${IB_DIR}/install.sh" --root "${R}" --uninstall --purge > "${log}.4" 2>&1 || IB_FAILS=$((IB_FAILS + 1))
check "purge: data, config and user removed" test ! -e "${R}/var/lib/vitad" -a ! -e "${R}/etc/vitad"
check "purge: user removed" bash -c "! grep -q '^vitad:' '${R}/etc/passwd'"
install_vitad > "${log}.5" 2>&1 || { tail -20 "${log}.5"; IB_FAILS=$((IB_FAILS + 1)); }
check "reinstall after purge works" test -x "${R}/opt/vitad/venv/bin/vitad"
apt_cache_out "${R}"

[ "${IB_FAILS}" = 0 ] || { echo "tier 2: ${IB_FAILS} check(s) failed" >&2; exit 1; }
echo "tier 2: all checks passed in $(( $(date +%s) - t0 )) s (rootfs: ${R}, $(du -sh "${R}" | cut -f1))"
