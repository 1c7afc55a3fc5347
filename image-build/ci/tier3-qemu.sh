#!/usr/bin/env bash
# Tier 3 - boot the tier-2 root file system as a real machine (qemu-system-x86_64, KVM when
# /dev/kvm is usable, else software emulation) with systemd as PID 1 and prove on the serial
# console that vitad.service becomes active (Type=notify: READY=1 was sent with no sound card,
# no display - degraded), and that after `kill -STOP` of the daemon systemd reports a watchdog
# timeout and restarts it. An i6300esb watchdog device backs RuntimeWatchdogSec.
# While the box is up, the fleet tooling runs against it for real: sshd on the guest is reached
# through a qemu user-net port forward on 127.0.0.1 (a throwaway key per run, the guest's host
# key pinned), node_exporter must serve vitad's metrics on 127.0.0.1:9100, and
# ops/ansible/config-push.yml pushes a good change (applied, reloaded, ready) and a bad one
# (refused by check-config on the box, the old config keeps running); collect-reports.yml
# gathers a problem report into the controller's table.
# Run after tier2-rootfs.sh (it adds a kernel, systemd-sysv and a probe unit to that rootfs).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

R="${IB_BUILD}/tier2/rootfs"
out="${IB_BUILD}/tier3"
console="${out}/console.log"
[ -x "${R}/opt/vitad/venv/bin/vitad" ] || { echo "tier 3: run tier2-rootfs.sh first" >&2; exit 2; }
need_cmd qemu-system-x86_64 qemu-system-x86
need_cmd mkfs.ext4 e2fsprogs
need_cmd ssh-keygen openssh-client
# The controller: ansible-playbook from the project's venv (pip install -e '.[fleet]').
ANSIBLE_BIN="$(dirname "${PYTHON:-${IB_REPO}/.venv/bin/python}")"
[ -x "${ANSIBLE_BIN}/ansible-playbook" ] \
    || { echo "tier 3: no ansible-playbook in ${ANSIBLE_BIN} (pip install -e '.[fleet]')" >&2; exit 2; }
trap 'chroot_umount_all' EXIT
t0=$(date +%s)
rm -rf "${out}"; mkdir -p "${out}"

ib_log "tier 3: kernel + systemd-sysv into the rootfs"
apt_cache_in "${R}"
chroot_mount "${R}"
in_chroot "${R}" apt-get install -y -q --no-install-recommends linux-image-amd64 systemd-sysv udev \
    > "${out}/apt.log" 2>&1 || { tail -20 "${out}/apt.log"; exit 1; }
# The "microphone": a WAV file played once in real time, then silence (vitad's wav: input).
# No wake word on purpose: a reply synthesized under software emulation takes long enough
# to stall the speaker loop (that is the watchdog doing its job, on a 20x slower CPU).
in_chroot "${R}" /opt/vitad/venv/bin/vitad say "Good morning, the dryers are warm today." \
    --output /etc/vitad/tier3-mic.wav --cache-dir /tmp/tts-cache >/dev/null
rm -rf "${R}/tmp/tts-cache"
chroot_umount_all
apt_cache_out "${R}"

# Boot settings for a headless VM: the operator override path is exercised too.
mkdir -p "${R}/boot/firmware"
cat > "${R}/boot/firmware/vitad.toml" <<'TOML'
[shop]
name = "Tier Three Wash"
[audio]
input = "wav:/etc/vitad/tier3-mic.wav"
output = "null"
[avatar]
enabled = false
[runtime]
metrics_textfile = "/var/lib/node_exporter/textfile_collector/vitad.prom"
metrics_interval_s = 5
TOML
printf '/dev/vda / ext4 defaults 0 1\n' > "${R}/etc/fstab"
echo vitad-tier3 > "${R}/etc/hostname"
# Network for the SSH port forward: qemu's user net (guest 10.0.2.15, static: no DHCP wait).
mkdir -p "${R}/etc/systemd/network"
printf '[Match]\nName=en*\n[Network]\nAddress=10.0.2.15/24\nGateway=10.0.2.2\n' \
    > "${R}/etc/systemd/network/50-tier3.network"
systemctl --root="${R}" enable systemd-networkd.service >/dev/null 2>&1
# A throwaway key for this run; the guest's host key (made by openssh-server's postinst in
# tier 2) is pinned in a known_hosts file, so nothing is trusted on first use.
ssh-keygen -q -t ed25519 -N '' -C tier3 -f "${out}/id_ed25519"
install -d -m 0700 "${R}/root/.ssh"
install -m 0600 "${out}/id_ed25519.pub" "${R}/root/.ssh/authorized_keys"
ssh_port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
printf '[127.0.0.1]:%s %s\n' "${ssh_port}" "$(cut -d' ' -f1,2 "${R}/etc/ssh/ssh_host_ed25519_key.pub")" \
    > "${out}/known_hosts"
cat > "${R}/usr/local/bin/vitad-tier3-probe" <<'PROBE'
#!/bin/bash
# Reports to the serial console what tier3-qemu.sh asserts, then powers off.
say() { echo "TIER3: $*"; }
show() { systemctl show -P "$1" vitad.service; }
state=inactive
for _ in $(seq 1 240); do state="$(systemctl is-active vitad.service)"; [ "${state}" = active ] && break; sleep 1; done
say "vitad state=${state} type=$(show Type) watchdog_usec=$(show WatchdogUSec) status=$(show StatusText)"
say "boot-config=$(systemctl is-active vitad-boot-config.service) shop=$(grep -m1 '^name' /etc/vitad/vitad.toml)"
say "runtime-watchdog=$(systemctl show -P RuntimeWatchdogUSec) device=$(ls /dev/watchdog0 2>/dev/null)"
say "sshd=$(systemctl is-active ssh.service) node-exporter=$(systemctl is-active prometheus-node-exporter.service)"
# The host's Ansible runs now (tier3-qemu.sh); it touches /run/tier3-go when done.
until=$(( $(date +%s) + 1200 ))
while [ ! -e /run/tier3-go ] && [ "$(date +%s)" -lt "${until}" ]; do sleep 1; done
say "fleet part done=$([ -e /run/tier3-go ] && echo yes || echo no) state=$(systemctl is-active vitad.service) restarts=$(show NRestarts)"
# Healthy for longer than WatchdogSec before we break it: the restart below is ours.
sleep 30
say "stable state=$(systemctl is-active vitad.service) restarts=$(show NRestarts) status=$(show StatusText)"
pid="$(show MainPID)"; before="$(show NRestarts)"
say "kill -STOP ${pid}"
kill -STOP "${pid}"
newpid="${pid}"
for _ in $(seq 1 240); do
    newpid="$(show MainPID)"; state="$(systemctl is-active vitad.service)"
    [ "${newpid}" != "${pid}" ] && [ "${newpid}" != 0 ] && [ "${state}" = active ] && break
    sleep 1
done
say "after-stop state=${state} pid=${newpid} restarts=$(show NRestarts) before=${before}"
journalctl -u vitad.service --no-pager -o cat | grep -iE 'watchdog|READY|degraded' | head -n 8 | sed 's/^/TIER3-journal: /'
say "DONE"
systemctl poweroff
PROBE
chmod 0755 "${R}/usr/local/bin/vitad-tier3-probe"
cat > "${R}/etc/systemd/system/vitad-tier3-probe.service" <<'UNIT'
[Unit]
Description=tier 3 probe (CI only)
After=vitad.service
[Service]
Type=oneshot
ExecStart=/usr/local/bin/vitad-tier3-probe
StandardOutput=tty
StandardError=tty
TTYPath=/dev/ttyS0
[Install]
WantedBy=multi-user.target
UNIT
systemctl --root="${R}" enable vitad-tier3-probe.service >/dev/null 2>&1
# No login prompts on the serial console: it is ours.
systemctl --root="${R}" mask serial-getty@ttyS0.service getty@tty1.service >/dev/null 2>&1

ib_log "tier 3: disk image ($(du -sh "${R}" | cut -f1) rootfs)"
kernel="$(find "${R}/boot" -maxdepth 1 -name 'vmlinuz-*' | sort | tail -n 1)"
initrd="$(find "${R}/boot" -maxdepth 1 -name 'initrd.img-*' | sort | tail -n 1)"
if [ -z "${kernel}" ] || [ -z "${initrd}" ]; then echo "tier 3: no kernel/initrd in the rootfs" >&2; exit 1; fi
cp "${kernel}" "${out}/vmlinuz"; cp "${initrd}" "${out}/initrd.img"
mkfs.ext4 -q -F -L vitadroot -d "${R}" "${out}/disk.img" 4G

fleet="${out}/fleet.log"
# fleet: while the VM is up, drive it over SSH like an operator's controller would.
fleet() {
    local t1 until
    t1=$(date +%s)
    until=$(( t1 + ${1} ))
    : > "${fleet}"
    while ! grep -aq 'TIER3: sshd=' "${console}"; do
        if [ "$(date +%s)" -ge "${until}" ] || ! kill -0 "${qemu_pid}" 2>/dev/null; then
            echo "FLEET: the box never came up" >> "${fleet}"; return 0
        fi
        sleep 2
    done
    ib_log "tier 3: box up; fleet tooling over ssh on 127.0.0.1:${ssh_port}"
    "${IB_DIR}/ci/tier3-fleet.sh" "${out}" "${ssh_port}" "${ANSIBLE_BIN}" >> "${fleet}" 2>&1 || true
    ib_log "tier 3: fleet part took $(( $(date +%s) - t1 )) s"
}
boot() {  # boot ACCEL LIMIT_S
    ib_log "tier 3: booting (${1}, limit ${2} s)"
    local t1 rc=0
    t1=$(date +%s)
    : > "${console}"
    timeout "${2}" qemu-system-x86_64 -accel "${1}" -cpu max -m 2048 -smp 2 -no-reboot \
        -kernel "${out}/vmlinuz" -initrd "${out}/initrd.img" \
        -append "root=/dev/vda rw console=ttyS0 panic=-1" \
        -drive "file=${out}/disk.img,format=raw,if=virtio" \
        -device i6300esb -display none -monitor none -serial "file:${console}" \
        -nic "user,model=virtio-net-pci,restrict=on,hostfwd=tcp:127.0.0.1:${ssh_port}-:22" \
        > "${out}/qemu.log" 2>&1 &
    qemu_pid=$!
    fleet "${2}"
    wait "${qemu_pid}" || rc=$?
    ib_log "tier 3: VM ran $(( $(date +%s) - t1 )) s (qemu exit ${rc}$([ "${rc}" = 124 ] && echo ': time limit'))"
    [ "${rc}" = 0 ]
}
# KVM when usable (nested KVM can refuse some CPU setups: then fall back to emulation).
# -cpu max: numpy 2.x needs x86-64-v2+ instructions that the default qemu64 CPU lacks.
if ! { [ -w /dev/kvm ] && boot kvm 240; }; then
    if [ -w /dev/kvm ] && ! grep -aq 'TIER3: DONE' "${console}"; then
        sed 's/^/    qemu: /' "${out}/qemu.log" | head -n 5
    fi
    grep -aq 'TIER3: DONE' "${console}" || boot tcg 1800 || true
fi
grep -a 'TIER3' "${console}" | sed 's/^/    /' || true
grep -a '^FLEET' "${fleet}" | sed 's/^/    /' || true

check "vitad.service active under systemd as PID 1" grep -aq 'TIER3: vitad state=active type=notify' "${console}"
check "watchdog armed (WatchdogUSec=20s)" grep -aqE 'TIER3: vitad .*watchdog_usec=20s' "${console}"
check "boot override applied in a real boot" grep -aq 'TIER3: boot-config=active shop=name = "Tier Three Wash"' "${console}"
check "still active 30 s later, watchdog fed (no restart, nothing withheld)" \
    bash -c "grep -a 'TIER3: stable ' '${console}' | grep -q 'state=active restarts=0' && ! grep -a 'TIER3: stable ' '${console}' | grep -qi withholding"
check "systemd logged a watchdog timeout for the stopped daemon" grep -aqi 'TIER3-journal: .*watchdog timeout' "${console}"
check "vitad restarted and active again (new PID, NRestarts 0 -> 1)" \
    grep -aqE 'TIER3: after-stop state=active pid=[0-9]+ restarts=1 before=0' "${console}"
check "probe finished (clean poweroff path)" grep -aq 'TIER3: DONE' "${console}"
check "sshd and node_exporter active on the box" \
    grep -aq 'TIER3: sshd=active node-exporter=active' "${console}"
check "ssh through the loopback port forward (throwaway key, pinned host key)" \
    grep -aq '^FLEET: ssh ok' "${fleet}"
check "node_exporter serves vitad's textfile on 127.0.0.1:9100 only" \
    grep -aq '^FLEET: node_exporter 127.0.0.1:9100 vitad_ready=1' "${fleet}"
check "config-push: good change applied, reloaded, ready (new price live)" \
    grep -aq '^FLEET: good push applied' "${fleet}"
check "config-push: bad change refused on the box, old config still running (same PID)" \
    grep -aq '^FLEET: bad push refused, old config running' "${fleet}"
check "collect-reports: the box's open report in the controller's table" \
    grep -aq '^FLEET: reports collected' "${fleet}"
check "vitad never restarted by the fleet part (reload only)" \
    grep -aqE 'TIER3: fleet part done=yes state=active restarts=0' "${console}"
rm -f "${out}/disk.img"

[ "${IB_FAILS}" = 0 ] || { echo "tier 3: ${IB_FAILS} check(s) failed (console: ${console})" >&2; exit 1; }
echo "tier 3: all checks passed in $(( $(date +%s) - t0 )) s"
