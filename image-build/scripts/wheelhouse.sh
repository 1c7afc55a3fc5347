#!/usr/bin/env bash
# Build an offline wheelhouse: the vitad wheel + every pin of image-build/constraints.txt, for
# CPython 3.11 on x86_64 (the NUC / CI) or aarch64 (the Raspberry Pi image).
#
#   image-build/scripts/wheelhouse.sh --arch amd64|arm64 --out DIR
#
# Binary wheels are downloaded for the target platform only (never built: a missing aarch64
# wheel is an error, not a 40-minute compile on the Pi). Packages published only as sdists
# must be pure Python; they are built once on the host into py3-none-any wheels.
# Re-running is cheap: pip skips files already in DIR.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "${here}/../.." && pwd)"
constraints="${repo}/image-build/constraints.txt"
arch="$(dpkg --print-architecture 2>/dev/null || echo amd64)"
out=""
python="${PYTHON:-python3}"

usage() { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
    case "$1" in
        --arch) arch="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "wheelhouse.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
done
[ -n "${out}" ] || { echo "wheelhouse.sh: --out DIR is required" >&2; exit 2; }

case "${arch}" in
    amd64|x86_64) platforms=(manylinux2014_x86_64 manylinux_2_17_x86_64 manylinux_2_27_x86_64
                             manylinux_2_28_x86_64 manylinux_2_31_x86_64 manylinux_2_34_x86_64) ;;
    arm64|aarch64) platforms=(manylinux2014_aarch64 manylinux_2_17_aarch64 manylinux_2_27_aarch64
                              manylinux_2_28_aarch64 manylinux_2_31_aarch64 manylinux_2_34_aarch64) ;;
    *) echo "wheelhouse.sh: unsupported arch ${arch} (amd64 or arm64)" >&2; exit 2 ;;
esac
# glibc 2.36 on Debian 12 / Pi OS Bookworm: manylinux_2_36 is the newest tag that runs there.
platform_args=()
for p in "${platforms[@]}"; do platform_args+=(--platform "$p"); done

mkdir -p "${out}"
out="$(cd "${out}" && pwd)"
sdist_dir="$(mktemp -d)"
trap 'rm -rf "${sdist_dir}"' EXIT

# Skip the per-pin index queries when this exact constraints file was completed before.
stamp="${out}/.complete-$(sha256sum "${constraints}" | cut -c1-16)"
missing=()
[ -f "${stamp}" ] || while IFS= read -r req; do
    if "${python}" -m pip download -q --no-deps --only-binary=:all: "${platform_args[@]}" \
        --python-version 3.11 --implementation cp --abi cp311 -d "${out}" "${req}" \
        >/dev/null 2>&1; then
        continue
    fi
    # No binary wheel for this platform: accept it only if it builds to a pure-Python wheel.
    rm -f "${sdist_dir}"/*.whl
    if "${python}" -m pip wheel -q --no-deps -w "${sdist_dir}" "${req}" >/dev/null 2>&1 \
        && compgen -G "${sdist_dir}/*-none-any.whl" >/dev/null; then
        cp "${sdist_dir}"/*.whl "${out}/"
    else
        missing+=("${req}")
    fi
done < <(grep -Ev '^[[:space:]]*(#|$)' "${constraints}")

if [ ${#missing[@]} -gt 0 ]; then
    echo "wheelhouse.sh: no ${arch} cp311 wheel (and not pure Python): ${missing[*]}" >&2
    exit 1
fi

touch "${stamp}"

# The vitad wheel itself (pure Python; the shipped config rides along as data files).
# flock: setuptools builds in the source tree (build/, *.egg-info), and .ci/image-tiers runs the
# amd64 (tier 2) and arm64 (image build) wheelhouses at the same time.
rm -f "${out}"/vitad-*.whl
flock "${repo}/pyproject.toml" \
    "${python}" -m pip wheel -q --no-deps -w "${out}" "${repo}" >"${sdist_dir}/vitad-build.log" 2>&1 \
    || { cat "${sdist_dir}/vitad-build.log" >&2; exit 1; }
count="$(find "${out}" -maxdepth 1 -name '*.whl' | wc -l)"
echo "wheelhouse.sh: ${count} wheels for ${arch} in ${out} ($(du -sh "${out}" | cut -f1))"
