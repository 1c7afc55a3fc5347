#!/usr/bin/env bash
# Tier 1 - static checks (~1 min): shellcheck on every script, the unit files verified by
# systemd-analyze against a scratch root, the shipped config and the boot-override example
# validated with `vitad check-config`, the boot-config merge unit-tested, the Pi image recipe
# dry-run (every file and apt package it needs resolves).
#   VITAD=path/to/vitad PYTHON=path/to/python image-build/ci/tier1-static.sh
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

PYTHON="${PYTHON:-python3}"
VITAD="${VITAD:-$(dirname "$(command -v "${PYTHON}")")/vitad}"
[ -x "${VITAD}" ] || { echo "tier1: no vitad executable at ${VITAD} (set VITAD=)" >&2; exit 2; }
scratch="$(mktemp -d)"
trap 'rm -rf "${scratch}"' EXIT

need_cmd shellcheck shellcheck
need_cmd systemd-analyze systemd

ib_log "tier 1: shellcheck"
mapfile -t scripts < <(cd "${IB_REPO}" && {
    find image-build .ci -type f ! -path 'image-build/build/*' \( -name '*.sh' -o -path '.ci/*' \)
    grep -rlE '^#!/(usr/)?bin/(env )?(ba)?sh' image-build --exclude-dir=build 2>/dev/null
} | sort -u)
shellcheck_all() { cd "${IB_REPO}" && shellcheck -x "${scripts[@]}" && printf '%s\n' "${scripts[@]}"; }
check_shown "shellcheck ${#scripts[@]} scripts" 40 shellcheck_all

ib_log "tier 1: unit files (systemd-analyze verify against a scratch root)"
mkdir -p "${scratch}/root/opt/vitad/venv/bin" "${scratch}/root/bin" \
    "${scratch}/root/etc/systemd/system"
for exe in opt/vitad/venv/bin/vitad opt/vitad/venv/bin/python3 bin/kill; do
    printf '#!/bin/sh\n' > "${scratch}/root/${exe}"; chmod +x "${scratch}/root/${exe}"
done
cp "${IB_REPO}/systemd/vitad.service" \
    "${IB_DIR}/rootfs/etc/systemd/system/vitad-boot-config.service" \
    "${scratch}/root/etc/systemd/system/"
verify() {
    local out
    out="$(systemd-analyze verify --recursive-errors=no --man=no --root="${scratch}/root" "$@" 2>&1)"
    [ -z "${out}" ] || { echo "${out}" >&2; return 1; }
}
check "vitad.service + vitad-boot-config.service verify clean" \
    verify "${scratch}/root/etc/systemd/system/vitad.service" \
    "${scratch}/root/etc/systemd/system/vitad-boot-config.service"
rm "${scratch}/root/opt/vitad/venv/bin/python3"
out="$(systemd-analyze verify --recursive-errors=no --man=no --root="${scratch}/root" \
    "${scratch}/root/etc/systemd/system/vitad-boot-config.service" 2>&1 || true)"
check "verify reports a missing ExecStart binary (the check can fail)" \
    grep -q "/opt/vitad/venv/bin/python3" <<<"${out}"

ib_log "tier 1: configs"
check "config/vitad.toml passes vitad check-config" "${VITAD}" check-config "${IB_REPO}/config/vitad.toml"
mkdir -p "${scratch}/etc"
cp "${IB_REPO}"/config/*.toml "${scratch}/etc/"
cp "${IB_REPO}/config/vitad.toml" "${scratch}/etc/vitad.base.toml"
"${PYTHON}" "${IB_DIR}/rootfs/opt/vitad/libexec/vitad_boot_config.py" --no-system \
    --override "${IB_DIR}/boot/vitad.toml" --base "${scratch}/etc/vitad.base.toml" \
    --target "${scratch}/etc/vitad.toml" --errors "${scratch}/errors.txt" --vitad "${VITAD}" 2>&1 \
    | sed 's/^/    /'
check "boot override example merges without problems" test ! -e "${scratch}/errors.txt"
check "merged example passes vitad check-config" "${VITAD}" check-config "${scratch}/etc/vitad.toml"
check "merged example is the generated file" grep -q "Generated at boot" "${scratch}/etc/vitad.toml"
check "image-build/constraints.txt pins vitad's requirements (pip check)" \
    "${PYTHON}" - "${IB_DIR}/constraints.txt" <<'PY'
import sys
from importlib.metadata import requires
from packaging.requirements import Requirement
pins = {}
for line in open(sys.argv[1], encoding="utf-8"):
    line = line.strip()
    if line and not line.startswith("#"):
        name, _, version = line.partition("==")
        pins[name.lower().replace("_", "-")] = version
for spec in requires("vitad") or []:
    req = Requirement(spec)
    if req.marker is not None:
        continue
    name = req.name.lower().replace("_", "-")
    if name not in pins or not req.specifier.contains(pins[name], prereleases=True):
        sys.exit(f"{req} not satisfied by constraints.txt ({pins.get(name)})")
PY

ib_log "tier 1: pytest tests/image_build"
check_shown "pytest tests/image_build" 1 \
    "${PYTHON}" -m pytest -q -p no:cacheprovider "${IB_REPO}/tests/image_build"

ib_log "tier 1: install.sh and the Pi recipe, dry-run"
check "install.sh --dry-run (every source file exists)" "${IB_DIR}/install.sh" --dry-run
check_shown "pi-gen/build.sh --dry-run (files, arm64 apt packages and wheels resolve)" 5 \
    "${IB_DIR}/pi-gen/build.sh" --dry-run

[ "${IB_FAILS}" = 0 ] || { echo "tier 1: ${IB_FAILS} check(s) failed" >&2; exit 1; }
echo "tier 1: all checks passed"
