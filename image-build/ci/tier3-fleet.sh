#!/usr/bin/env bash
# Tier 3, fleet part: run by tier3-qemu.sh while the booted box is up. Reaches the guest's sshd
# through qemu's loopback port forward and runs what an operator runs against a shop:
# node_exporter on 127.0.0.1:9100, ops/ansible/config-push.yml (a good and a bad change) and
# collect-reports.yml. Prints "FLEET: ..." lines that tier3-qemu.sh checks; always lets the
# box's probe go on (/run/tier3-go) so the watchdog part still runs.
#   tier3-fleet.sh OUT_DIR SSH_PORT ANSIBLE_BIN_DIR
set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
out="$1" port="$2" bin="$3"
ssh_cmd=(ssh -i "${out}/id_ed25519" -p "${port}" -o BatchMode=yes -o ConnectTimeout=10
    -o StrictHostKeyChecking=yes -o "UserKnownHostsFile=${out}/known_hosts" root@127.0.0.1)
on_box() { "${ssh_cmd[@]}" "$@"; }
trap 'on_box touch /run/tier3-go >/dev/null 2>&1 || true' EXIT
fleet() { echo "FLEET: $*"; }

for _ in $(seq 1 45); do on_box true 2>/dev/null && break; sleep 2; done
on_box true || { fleet "ssh failed"; exit 1; }
fleet "ssh ok (guest kernel $(on_box uname -r))"

# node_exporter: vitad's textfile served on loopback, nothing on the box's network address.
metrics="$(on_box python3 - <<'PY'
import socket, time, urllib.request
for _ in range(30):
    body = urllib.request.urlopen("http://127.0.0.1:9100/metrics", timeout=10).read().decode()
    ready = [line for line in body.splitlines() if line.startswith("vitad_ready ")]
    if ready:
        break
    time.sleep(2)
lan = socket.socket()
lan.settimeout(2)
reachable = lan.connect_ex(("10.0.2.15", 9100)) == 0
print(f"127.0.0.1:9100 {' '.join(ready[0].split()) if ready else 'no vitad_ready'}",
      "lan-open" if reachable else "")
PY
)"
case "${metrics}" in
    "127.0.0.1:9100 vitad_ready 1 "|"127.0.0.1:9100 vitad_ready 1.0 ") fleet "node_exporter 127.0.0.1:9100 vitad_ready=1 (LAN address closed)" ;;
    *) fleet "node_exporter unexpected: ${metrics}" ;;
esac

inventory="${out}/inventory.yml"
cat > "${inventory}" <<YAML
all:
  children:
    shops:
      hosts:
        vitad-tier3:
          ansible_host: 127.0.0.1
          ansible_port: ${port}
          ansible_user: root
          ansible_become: false
          ansible_ssh_private_key_file: ${out}/id_ed25519
          ansible_ssh_common_args: -o UserKnownHostsFile=${out}/known_hosts -o StrictHostKeyChecking=yes
          shop: tier-three
YAML
playbook() {  # playbook LOG PLAYBOOK ARGS...: ansible-playbook from ops/ansible (its ansible.cfg)
    local log="$1"; shift
    (cd "${IB_REPO}/ops/ansible" && ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 \
        "${bin}/ansible-playbook" -i "${inventory}" -e vitad_config_reload_timeout_s=180 \
        -e vitad_health_timeout_s=180 "$@") > "${log}" 2>&1
}
pid() { on_box systemctl show -P MainPID vitad.service; }

# A good change: the big washer's price, in the fleet-wide base (this box has a boot
# override, so the role re-merges the shop's own settings over it).
mkdir -p "${out}/push-good" "${out}/push-bad"
sed 's/^price = "7 dollars 50"/price = "8 dollars 25"/' "${IB_REPO}/config/vitad.toml" \
    > "${out}/push-good/vitad.toml"
grep -q '8 dollars 25' "${out}/push-good/vitad.toml" || fleet "test setup: price not found"
t=$(date +%s)
rc=0; playbook "${out}/push-good.log" config-push.yml -e "vitad_push_dir=${out}/push-good" || rc=$?
grep -E 'APPLIED on|vitad ready:|REFUSED|ROLLED BACK|^PLAY RECAP|ok=' "${out}/push-good.log" \
    | sed 's/^ *//; s/^/FLEET-good: /' | head -n 8
live="$(on_box cat /etc/vitad/vitad.toml)"
journal="$(on_box journalctl -u vitad.service -o cat --no-pager | grep 'reloaded ' | tail -n 1)"
fleet "good push: rc=${rc} in $(( $(date +%s) - t )) s; journal: ${journal}"
if [ "${rc}" = 0 ] && grep -q 'APPLIED on vitad-tier3' "${out}/push-good.log" \
    && grep -q '^price = "8 dollars 25"' <<<"${live}" \
    && grep -q '^name = "Tier Three Wash"' <<<"${live}" \
    && on_box "grep -q '8 dollars 25' /etc/vitad/vitad.base.toml" \
    && on_box test -f /etc/vitad/vitad.toml.previous \
    && [ -n "${journal}" ]; then
    fleet "good push applied (8 dollars 25 live, shop override kept, base updated, previous kept)"
fi

# A bad change: an unknown key (a typo) must be refused by check-config on the box.
sed 's/^volume = 1.0 /volumee = 1.0 /' "${out}/push-good/vitad.toml" > "${out}/push-bad/vitad.toml"
before_pid="$(pid)"; before_sum="$(on_box sha256sum /etc/vitad/vitad.toml /etc/vitad/vitad.base.toml)"
rc=0; playbook "${out}/push-bad.log" config-push.yml -e "vitad_push_dir=${out}/push-bad" || rc=$?
grep -E 'REFUSED|APPLIED|ROLLED BACK|volumee' "${out}/push-bad.log" | sed 's/^ *//; s/^/FLEET-bad: /' \
    | cut -c1-300 | head -n 3
after_pid="$(pid)"; after_sum="$(on_box sha256sum /etc/vitad/vitad.toml /etc/vitad/vitad.base.toml)"
health_rc=0; on_box /opt/vitad/venv/bin/vitad health -q || health_rc=$?
fleet "bad push: rc=${rc}; pid ${before_pid} -> ${after_pid}; health exit ${health_rc}"
if [ "${rc}" != 0 ] && grep -q 'REFUSED by vitad check-config on vitad-tier3' "${out}/push-bad.log" \
    && [ "${before_pid}" = "${after_pid}" ] && [ "${before_sum}" = "${after_sum}" ] \
    && [ "${health_rc}" -le 1 ] && on_box test ! -e /etc/vitad.push; then
    fleet "bad push refused, old config running (files unchanged, same PID, health answers)"
fi

# A customer's problem report on the box, collected into the controller's table.
on_box runuser -u vitad -- /opt/vitad/venv/bin/python3 - <<'PY'
import sqlite3, time
db = sqlite3.connect("/var/lib/vitad/vitad.db", timeout=10)
db.execute("INSERT INTO problem_reports (time, machine_type, machine_number, text) VALUES (?, ?, ?, ?)",
           (time.time(), "dryer", 7, "dryer 7 is not heating"))
db.commit()
PY
rm -f "${out}/reports.tsv"
rc=0; playbook "${out}/reports.log" collect-reports.yml -e "vitad_reports_out=${out}/reports.tsv" || rc=$?
sed 's/^/FLEET-table: /' "${out}/reports.tsv" 2>/dev/null | head -n 4
if [ "${rc}" = 0 ] && grep -qP '^tier-three\tvitad-tier3\t\d+\t[0-9-]+ [0-9:]+\tdryer\t7\tdryer 7 is not heating\t$' \
    "${out}/reports.tsv"; then
    fleet "reports collected (1 open report in ${out}/reports.tsv)"
fi
