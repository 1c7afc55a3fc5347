#!/usr/bin/env bash
# Tier 4 - the arm64 SD image itself, booted. Builds image-build/debian-arm64 (cached base and
# wheelhouse; .ci/image-tiers runs that build alongside tiers 2-3 and says so with
# VITAD_TIER4_PREBUILT_RC), boots a byte-identical copy of the .img (sha256 in its manifest)
# under qemu-system-aarch64 -M virt -cpu cortex-a72 (software emulation) with the kernel, initrd
# and cmdline.txt taken from the image's own FAT boot partition, and meanwhile compresses that
# very .img into the .img.xz download (checked against its .sha256 and against the booted
# image's sha256 once the VM is off). systemd is PID 1. A probe unit (added to a copy of the
# image for CI only) reports on the serial console: first boot grew the root partition and
# made SSH host keys, the boot partition's vitad.toml and authorized_keys.txt were applied,
# vitad.service is active (Type=notify READY with no
# sound card and no display: degraded), `vitad health` answers, an i6300esb watchdog backs
# RuntimeWatchdogSec, `kill -STOP` -> "Watchdog timeout" -> restarted, and `vitad say` writes
# non-silent audio on arm64 (checked on the host after power-off).
# Exit 77 (skipped) only when this host cannot run arm64 code (no binfmt_misc / qemu).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

out="${IB_BUILD}/tier4"
console="${out}/console.log"
t0=$(date +%s)
if ! arm64_binfmt || ! need_cmd qemu-system-aarch64 qemu-system-arm; then
    echo "tier 4: SKIPPED - this host cannot run arm64 code (binfmt_misc with qemu-user-static" \
         "and qemu-system-aarch64 are needed); the arm64 image was NOT built or booted" >&2
    exit 77
fi
need_cmd mcopy mtools
export MTOOLS_SKIP_CHECK=1   # images made by mkfs.vfat -C have no PC disk geometry
need_cmd debugfs e2fsprogs
need_cmd sfdisk fdisk
need_cmd xz xz-utils

if [ -n "${VITAD_TIER4_PREBUILT_RC:-}" ]; then
    build_log="${VITAD_TIER4_BUILD_LOG:-?}"
    ib_log "tier 4: image built alongside tiers 2-3 by .ci/image-tiers (build.sh --no-models --no-xz, log ${build_log})"
    grep -a 'image: ' "${build_log}" 2>/dev/null | sed 's/^/    /' || true
    if [ "${VITAD_TIER4_PREBUILT_RC}" != 0 ]; then
        tail -n 30 "${build_log}" 2>/dev/null | sed 's/^/    build: /' >&2
        echo "tier 4: the arm64 image build failed (exit ${VITAD_TIER4_PREBUILT_RC}; log ${build_log})" >&2
        exit 1
    fi
    build_s="${VITAD_TIER4_BUILD_S:-?}"
else
    ib_log "tier 4: building the arm64 image (image-build/debian-arm64/build.sh --no-models --no-xz)"
    "${IB_DIR}/debian-arm64/build.sh" --no-models --no-xz
    build_s=$(( $(date +%s) - t0 ))
fi
srcimg="$(find "${IB_BUILD}" -maxdepth 1 -name 'vitad-*-arm64.img' | sort | tail -n 1)"
[ -n "${srcimg}" ] || { echo "tier 4: build.sh produced no vitad-*-arm64.img in ${IB_BUILD}" >&2; exit 1; }
name="$(basename "${srcimg}" .img)"
img_sha="$(sed -n 's/^image .*, sha256 \([0-9a-f]\{64\}\)$/\1/p' "${IB_BUILD}/${name}.manifest.txt")"
[ -n "${img_sha}" ] || { echo "tier 4: no image sha256 in ${IB_BUILD}/${name}.manifest.txt" >&2; exit 1; }
rm -rf "${out}"; mkdir -p "${out}"
img="${out}/disk.img"
cp --sparse=always "${srcimg}" "${img}"
check "the disk to boot is the built image, byte for byte (sha256 in its manifest)" \
    bash -c "[ \"\$(sha256sum < '${img}' | cut -d' ' -f1)\" = '${img_sha}' ]"
# The download (.img.xz + .sha256) of this very file, made while the copy boots: nice, so the
# VM comes first (xz uses the CPU the emulated guest leaves idle).
bg_start "${out}/xz.rc" nice -n 19 "${IB_DIR}/debian-arm64/build.sh" --xz-only \
    > "${out}/xz.log" 2>&1
xz_pid=$!
trap 'wait "${xz_pid}" 2>/dev/null || true' EXIT   # never leave a half-written .img.xz behind
check "image has an MBR with a bootable FAT32 (LBA) boot partition and a Linux root" \
    bash -c "sfdisk -d '${img}' | grep -Eq 'start= *8192,.*type=c, bootable' && sfdisk -d '${img}' | grep -q 'type=83'"

# part_offset N: byte offset of partition N of the image (sfdisk's JSON, 512-byte sectors).
part_offset() {
    sfdisk -J "${img}" | python3 -c "import json,sys; print(json.load(sys.stdin)['partitiontable']['partitions'][$1-1]['start']*512)"
}
boot_at="$(part_offset 1)"; root_at="$(part_offset 2)"
fat="${img}@@${boot_at}"
ext="${img}?offset=${root_at}"
root_size_before="$(sfdisk -J "${img}" | python3 -c "import json,sys; print(json.load(sys.stdin)['partitiontable']['partitions'][1]['size']*512)")"

# ---- what the VM needs from the image itself: kernel, initrd, command line -------------------
kernel="$(mdir -b -i "${fat}" :: | sed 's|^::/||' | grep -m1 '^vmlinuz-')"
initrd="$(mdir -b -i "${fat}" :: | sed 's|^::/||' | grep -m1 '^initrd.img-')"
mcopy -n -i "${fat}" "::${kernel}" "${out}/vmlinuz"
mcopy -n -i "${fat}" "::${initrd}" "${out}/initrd.img"
mcopy -n -i "${fat}" ::cmdline.txt "${out}/cmdline.txt"
mcopy -n -i "${fat}" ::vitad.toml "${out}/boot-vitad.toml"
ib_log "tier 4: image kernel ${kernel}, cmdline: $(cat "${out}/cmdline.txt")"

# ---- the operator's part, done the operator's way: files on the FAT partition -----------------
sed 's/^name = "Bubbles Laundromat"/name = "Tier Four Wash"/' "${out}/boot-vitad.toml" > "${out}/vitad.toml"
ssh-keygen -q -t ed25519 -N '' -C tier4@ci -f "${out}/admin_key" 2>/dev/null \
    || { need_cmd ssh-keygen openssh-client; ssh-keygen -q -t ed25519 -N '' -C tier4@ci -f "${out}/admin_key"; }
{ echo "# tier 4 key"; cat "${out}/admin_key.pub"; } > "${out}/authorized_keys.txt"
mcopy -o -i "${fat}" "${out}/vitad.toml" ::vitad.toml
mcopy -o -i "${fat}" "${out}/authorized_keys.txt" ::authorized_keys.txt

# ---- CI-only additions to this copy: the probe unit (and a bigger "SD card" to grow into) ------
cat > "${out}/probe" <<'PROBE'
#!/bin/bash
# Reports to the serial console what tier4-arm64.sh asserts, then powers off.
say() { echo "TIER4: $*"; }
show() { systemctl show -P "$1" vitad.service; }
vitad=/opt/vitad/venv/bin/vitad
state=inactive
for _ in $(seq 1 900); do state="$(systemctl is-active vitad.service)"; [ "${state}" = active ] && break; sleep 1; done
ready_us="$(show ActiveEnterTimestampMonotonic)"
say "vitad state=${state} type=$(show Type) watchdog_usec=$(show WatchdogUSec) ready_after_boot_s=$(( ready_us / 1000000 )) status=$(show StatusText)"
say "arch=$(uname -m) kernel=$(uname -r) pid1=$(cat /proc/1/comm)"
say "boot-config=$(systemctl is-active vitad-boot-config.service) shop=$(grep -m1 '^name' /etc/vitad/vitad.toml)"
say "firstboot=$(systemctl is-active vitad-firstboot.service) root_bytes=$(lsblk -bno SIZE "$(findmnt -no SOURCE /)") hostkey=$(ls /etc/ssh/ssh_host_ed25519_key.pub 2>/dev/null) ssh=$(systemctl is-active ssh.service)"
say "admin-keys=$(grep -c 'tier4@ci' /home/vitadadmin/.ssh/authorized_keys 2>/dev/null)"
say "runtime-watchdog=$(systemctl show -P RuntimeWatchdogUSec) device=$(cat /sys/class/watchdog/watchdog0/identity 2>/dev/null)"
health="$("${vitad}" health --timeout 30 2>&1)"; rc=$?
say "health rc=${rc} $(printf '%s' "${health}" | tr -d '\n' | cut -c1-400)"
# Healthy for longer than WatchdogSec before we break it: the restart below is ours.
sleep 30
say "stable state=$(systemctl is-active vitad.service) restarts=$(show NRestarts) status=$(show StatusText)"
pid="$(show MainPID)"; before="$(show NRestarts)"
say "kill -STOP ${pid}"
kill -STOP "${pid}"
newpid="${pid}"
for _ in $(seq 1 600); do
    newpid="$(show MainPID)"; state="$(systemctl is-active vitad.service)"
    [ "${newpid}" != "${pid}" ] && [ "${newpid}" != 0 ] && [ "${state}" = active ] && break
    sleep 1
done
say "after-stop state=${state} pid=${newpid} restarts=$(show NRestarts) before=${before}"
journalctl -u vitad.service --no-pager -o short-monotonic | grep -iE 'watchdog|READY|degraded|Started|Main process' | tail -n 12 | sed 's/^/TIER4-journal: /'
# After the watchdog test: a TCG-speed synthesis must not compete with the daemon's loops.
t=$(date +%s)
if runuser -u vitad -- "${vitad}" say "Your laundry is ready." --output /var/lib/vitad/tier4-say.wav \
        --cache-dir /var/tmp/tier4-tts >/dev/null 2>&1; then
    say "say ok in $(( $(date +%s) - t )) s: $(stat -c %s /var/lib/vitad/tier4-say.wav) bytes"
else
    say "say FAILED"
fi
say "DONE"
sync
systemctl poweroff
PROBE
cat > "${out}/probe.service" <<'UNIT'
[Unit]
Description=tier 4 probe (CI only)
After=vitad.service
[Service]
Type=oneshot
ExecStart=/usr/local/bin/vitad-tier4-probe
StandardOutput=tty
StandardError=tty
TTYPath=/dev/ttyAMA0
[Install]
WantedBy=multi-user.target
UNIT
debugfs -w -f - "${ext}" > "${out}/debugfs.log" 2>&1 <<EOF
write ${out}/probe usr/local/bin/vitad-tier4-probe
sif usr/local/bin/vitad-tier4-probe mode 0100755
write ${out}/probe.service etc/systemd/system/vitad-tier4-probe.service
symlink etc/systemd/system/multi-user.target.wants/vitad-tier4-probe.service /etc/systemd/system/vitad-tier4-probe.service
symlink etc/systemd/system/serial-getty@ttyAMA0.service /dev/null
EOF
check "probe added to the copy (debugfs)" \
    bash -c "debugfs -R 'stat usr/local/bin/vitad-tier4-probe' '${ext}' 2>/dev/null | grep -q 'Mode:  0755'"
truncate -s +1G "${img}"   # the "SD card" is bigger than the image: first boot grows into it

# ---- boot ---------------------------------------------------------------------------------
limit="${VITAD_TIER4_BOOT_LIMIT:-1500}"
ib_log "tier 4: booting the image (qemu-system-aarch64 -M virt -cpu cortex-a72, TCG, limit ${limit} s)"
t1=$(date +%s)
rc=0
timeout "${limit}" qemu-system-aarch64 -M virt -cpu cortex-a72 -accel tcg,thread=multi -smp 2 -m 2048 \
    -no-reboot -kernel "${out}/vmlinuz" -initrd "${out}/initrd.img" \
    -append "$(cat "${out}/cmdline.txt") console=ttyAMA0 panic=-1" \
    -drive "file=${img},format=raw,if=virtio" -device i6300esb \
    -nic none -display none -monitor none -serial "file:${console}" > "${out}/qemu.log" 2>&1 &
qemu_pid=$!
# Progress while it runs (the boot takes minutes under emulation).
seen=0
while kill -0 "${qemu_pid}" 2>/dev/null; do
    sleep 15
    n="$(grep -ac 'TIER4: ' "${console}" 2>/dev/null || true)"
    if [ "${n:-0}" != "${seen}" ]; then
        grep -a 'TIER4: ' "${console}" | tail -n +"$(( seen + 1 ))" | sed "s/^/    [+$(( $(date +%s) - t1 )) s] /"
        seen="${n}"
    elif [ "${seen}" = 0 ]; then
        ib_log "tier 4: booting... $(( $(date +%s) - t1 )) s, console: $(tail -c 2000 "${console}" 2>/dev/null | tr -d '\r' | grep -a . | tail -n 1 | cut -c1-90)"
    fi
done
wait "${qemu_pid}" || rc=$?
vm_s=$(( $(date +%s) - t1 ))
ib_log "tier 4: VM ran ${vm_s} s (qemu exit ${rc}$([ "${rc}" = 124 ] && echo ': time limit'))"
[ "${rc}" = 0 ] || tail -n 30 "${console}" | sed 's/^/    console: /'
grep -a 'TIER4' "${console}" | sed 's/^/    /' || true

check "booted arm64 with systemd as PID 1" grep -aq 'TIER4: arch=aarch64 .*pid1=systemd' "${console}"
check "vitad.service active under systemd (Type=notify: READY sent)" grep -aq 'TIER4: vitad state=active type=notify' "${console}"
check "watchdog armed (WatchdogUSec=20s)" grep -aqE 'TIER4: vitad .*watchdog_usec=20s' "${console}"
check "degraded start: no sound card/display, reported in the journal" \
    grep -aqiE 'TIER4-journal: .*degraded' "${console}"
check "boot-partition vitad.toml applied" grep -aq 'TIER4: boot-config=active shop=name = "Tier Four Wash"' "${console}"
check "first boot: root partition grown to the bigger card, SSH host keys made, sshd up" \
    bash -c "grep -a 'TIER4: firstboot=active' '${console}' | grep -qE 'hostkey=/etc/ssh/ssh_host_ed25519_key.pub ssh=active' \
        && [ \"\$(grep -aoE 'root_bytes=[0-9]+' '${console}' | cut -d= -f2)\" -gt $(( root_size_before + 900 * 1024 * 1024 )) ]"
check "admin SSH key taken from the boot partition's authorized_keys.txt" grep -aq 'TIER4: admin-keys=1' "${console}"
check "hardware watchdog: i6300esb device backs RuntimeWatchdogSec=14s" \
    grep -aq 'TIER4: runtime-watchdog=14s device=i6300ESB' "${console}"
check "vitad health answers (exit 0 ok / 1 degraded, JSON)" grep -aqE 'TIER4: health rc=[01] \{' "${console}"
check "still active 30 s later, watchdog fed (no restart)" \
    bash -c "grep -a 'TIER4: stable ' '${console}' | grep -q 'state=active restarts=0'"
check "systemd logged a watchdog timeout for the stopped daemon" grep -aqi 'TIER4-journal: .*watchdog timeout' "${console}"
check "vitad restarted and active again (new PID, NRestarts 0 -> 1)" \
    grep -aqE 'TIER4: after-stop state=active pid=[0-9]+ restarts=1 before=0' "${console}"
check "vitad say ran on arm64" grep -aq 'TIER4: say ok' "${console}"
check "probe finished (clean poweroff path)" grep -aq 'TIER4: DONE' "${console}"
rm -f "${out}/say.wav"
debugfs -R "dump var/lib/vitad/tier4-say.wav ${out}/say.wav" "${ext}" >/dev/null 2>&1 || true
check_shown "the arm64 'vitad say' WAV is non-silent speech (read back from the powered-off disk)" 1 \
    wav_nonsilent "${out}/say.wav"
rm -f "${img}"

ib_log "tier 4: waiting for the .img.xz (build.sh --xz-only, started before the boot)"
# The VM is off: xz gets its full share of the CPU now (every thread: nice is per thread).
descendants() {  # descendants PID: PID's children, grandchildren, ... (the xz under build.sh)
    local child
    for child in $(ps -o pid= --ppid "$1" 2>/dev/null); do echo "${child}"; descendants "${child}"; done
}
for p in "${xz_pid}" $(descendants "${xz_pid}"); do
    for task in /proc/"${p}"/task/*; do renice -n 0 -p "${task##*/}" >/dev/null 2>&1 || true; done
done
xz_rc=0; bg_wait "${xz_pid}" "${out}/xz.rc" || xz_rc=$?
ib_log "tier 4: .img.xz done (build.sh --xz-only exit ${xz_rc})"
xzimg="${IB_BUILD}/${name}.img.xz"
[ "${xz_rc}" = 0 ] || sed 's/^/    xz: /' "${out}/xz.log"
check_shown "image matches its .sha256 (what an operator verifies)" 1 \
    bash -c "[ ${xz_rc} = 0 ] && cd '${IB_BUILD}' && sha256sum -c '${name}.img.xz.sha256'"
check "the .img.xz unpacks to the very image booted (sha256 in its manifest)" \
    bash -c "[ \"\$(xz -dc -T0 '${xzimg}' | sha256sum | cut -d' ' -f1)\" = '${img_sha}' ]"

echo "tier 4: build ${build_s} s, VM ${vm_s} s, image $(du -h "${xzimg}" 2>/dev/null | cut -f1) xz ($(basename "${xzimg}"))"
[ "${IB_FAILS}" = 0 ] || { echo "tier 4: ${IB_FAILS} check(s) failed (console: ${console})" >&2; exit 1; }
echo "tier 4: all checks passed in $(( $(date +%s) - t0 )) s"
