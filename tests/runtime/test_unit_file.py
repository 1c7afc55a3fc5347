"""systemd/vitad.service: verify cleanly and stay within the hardening budget.

CI needs the ``systemd`` apt package (provides systemd-analyze; >= 252 for --offline and
--recursive-errors). ``verify`` checks that ExecStart/ExecReload binaries exist, so it runs
with ``--root`` pointing at a temporary tree holding stub executables at those paths.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parents[2] / "systemd" / "vitad.service"
MAX_EXPOSURE = 1.0

pytestmark = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None,
    reason="systemd-analyze missing: apt-get install systemd",
)


def _directives(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("#", "[")) and "=" in line:
            key, _, value = line.partition("=")
            out.setdefault(key.strip(), []).append(value.strip())
    return out


def _stub_root(tmp_path: Path) -> Path:
    """A --root with stubs for every absolute executable the unit names."""
    root = tmp_path / "root"
    unit = _directives(UNIT.read_text())
    for key in ("ExecStart", "ExecReload", "ExecStartPre", "ExecStop"):
        for value in unit.get(key, []):
            exe = value.lstrip("-@:+!").split()[0]
            stub = root / exe.lstrip("/")
            stub.parent.mkdir(parents=True, exist_ok=True)
            stub.write_text("#!/bin/sh\n")
            stub.chmod(0o755)
    return root


def _verify(unit: Path, root: Path) -> subprocess.CompletedProcess[str]:
    """With --root, systemd-analyze loads units from the root's unit path: put it there."""
    installed = root / "etc" / "systemd" / "system" / "vitad.service"
    installed.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(unit, installed)
    return subprocess.run(
        [
            "systemd-analyze",
            "verify",
            "--recursive-errors=no",
            "--man=no",
            f"--root={root}",
            str(installed),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_verify_is_clean(tmp_path):
    res = _verify(UNIT, _stub_root(tmp_path))
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "" and res.stderr.strip() == "", res.stderr


def test_verify_catches_a_typo(tmp_path):
    """Guards the guard: a misspelt key must make verify complain."""
    bad = tmp_path / "bad" / "vitad.service"
    bad.parent.mkdir()
    bad.write_text(UNIT.read_text().replace("NoNewPrivileges=", "NoNewPrivilegs="))
    res = _verify(bad, _stub_root(tmp_path))
    assert "Unknown key 'NoNewPrivilegs'" in res.stderr, res.stderr


def test_verify_catches_a_missing_executable(tmp_path):
    root = tmp_path / "empty-root"
    root.mkdir()
    res = _verify(UNIT, root)
    assert res.returncode != 0 and "/opt/vitad/venv/bin/vitad" in res.stderr, res.stderr


def _exposure(unit: Path) -> float:
    res = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", "--no-pager", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    m = re.search(r"Overall exposure level for \S+: (\d+(?:\.\d+)?)", res.stdout + res.stderr)
    assert m, res.stdout + res.stderr
    return float(m.group(1))


def test_security_exposure_within_budget():
    assert _exposure(UNIT) <= MAX_EXPOSURE


def test_exposure_check_is_sensitive(tmp_path):
    """Dropping the network isolation must push the score over budget (the test can fail)."""
    weak = tmp_path / "vitad.service"
    text = UNIT.read_text()
    for key in ("PrivateNetwork=yes", "ProtectSystem=strict", "NoNewPrivileges=yes"):
        text = text.replace(f"\n{key}\n", "\n")
    weak.write_text(text)
    assert _exposure(weak) > MAX_EXPOSURE


def test_appliance_contract():
    d = _directives(UNIT.read_text())
    expect = {
        "Type": "notify",
        "NotifyAccess": "main",
        "WatchdogSec": "20",
        "Restart": "always",
        "RestartSec": "2",
        "StartLimitAction": "reboot",
        "LimitCORE": "0",
        "User": "vitad",
        "StateDirectory": "vitad",
        "CacheDirectory": "vitad",
        "RuntimeDirectory": "vitad",
        "ConfigurationDirectory": "vitad",
        "SyslogLevelPrefix": "yes",
        "ExecReload": "/bin/kill -HUP $MAINPID",
        "IPAddressDeny": "any",
        "ExecStart": "/opt/vitad/venv/bin/vitad run --config /etc/vitad/vitad.toml",
    }
    for key, value in expect.items():
        assert d.get(key) == [value], key
    assert set(d["SupplementaryGroups"][0].split()) == {"audio", "video", "render", "input"}
    assert "PrivateDevices" not in d and d["DevicePolicy"] == ["closed"]
    assert {"char-alsa rw", "char-drm rw", "char-input r"} <= set(d["DeviceAllow"])
    assert set(d["RestrictAddressFamilies"][0].split()) == {"AF_UNIX", "AF_NETLINK"}
    assert d["MemoryDenyWriteExecute"] == ["no"]  # cffi audio callbacks need W+X trampolines
    # Crash loop escalation must trip for a ~72 s watchdog-hang cycle (see the unit comment)
    # but leave room for guard restarts (>= 600 s apart).
    interval, burst = int(d["StartLimitIntervalSec"][0]), int(d["StartLimitBurst"][0])
    hang_cycle = 40 + 20 + int(d["TimeoutAbortSec"][0]) + 2
    assert burst * hang_cycle < interval
    assert interval // 600 + 1 < burst
