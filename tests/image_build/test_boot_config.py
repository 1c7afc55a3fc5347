"""vitad-boot-config: the boot-partition override merged into /etc/vitad/vitad.toml."""

from __future__ import annotations

import importlib.util
import shutil
import stat
import sys
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "image-build/rootfs/opt/vitad/libexec/vitad_boot_config.py"
EXAMPLE = REPO / "image-build/boot/vitad.toml"
VITAD = Path(sys.executable).with_name("vitad")


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("vitad_boot_config", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


bc = _load()


@pytest.fixture
def etc(tmp_path: Path) -> Path:
    """A /etc/vitad with the shipped config as both base and live file."""
    d = tmp_path / "etc/vitad"
    d.mkdir(parents=True)
    for name in ("vitad.toml", "intents.en.toml"):
        shutil.copy(REPO / "config" / name, d / name)
    shutil.copy(REPO / "config/vitad.toml", d / "vitad.base.toml")
    return d


def _run(tmp_path: Path, etc: Path, override_text: str | None,
         root: Path | None = None) -> tuple[Any, Path, Path]:
    boot = tmp_path / "boot"
    boot.mkdir(exist_ok=True)
    override = boot / "vitad.toml"
    if override_text is not None:
        override.write_text(override_text, encoding="utf-8")
    errors = tmp_path / "run/errors.txt"
    if root is None:  # a scratch root that knows the example's timezone
        root = tmp_path / "scratch-root"
        zone = root / "usr/share/zoneinfo/America/New_York"
        zone.parent.mkdir(parents=True, exist_ok=True)
        zone.write_bytes(b"TZif")
        (root / "etc").mkdir(exist_ok=True)
    outcome = bc.run(override, etc / "vitad.base.toml", etc / "vitad.toml",
                     [errors, boot / "vitad-config-errors.txt"], VITAD, root)
    return outcome, errors, boot / "vitad-config-errors.txt"


# --- merge ---------------------------------------------------------------------------------------


def test_deep_merge_tables_key_by_key_and_other_values_replace() -> None:
    base = {"shop": {"name": "A", "phone": "1", "hours": {"open": "06:00", "close": "23:00"},
                     "payment": ["coins", "cards"]}, "audio": {"volume": 1.0}}
    override = {"shop": {"hours": {"close": "21:00"}, "payment": ["coins"]},
                "wake": {"threshold": 0.6}}
    merged = bc.deep_merge(base, override)
    assert merged == {
        "shop": {"name": "A", "phone": "1", "hours": {"open": "06:00", "close": "21:00"},
                 "payment": ["coins"]},
        "audio": {"volume": 1.0},
        "wake": {"threshold": 0.6},
    }
    assert base["shop"]["hours"]["close"] == "23:00"  # inputs untouched


def test_machines_merge_by_id_and_new_ids_are_appended() -> None:
    base = {"shop": {"machines": [{"id": "a", "price": "1", "numbers": [1]},
                                  {"id": "b", "price": "2"}]}}
    override = {"shop": {"machines": [{"id": "b", "price": "3"}, {"id": "c", "price": "4"}]}}
    merged = bc.deep_merge(base, override)["shop"]["machines"]
    assert merged == [{"id": "a", "price": "1", "numbers": [1]}, {"id": "b", "price": "3"},
                      {"id": "c", "price": "4"}]


# --- TOML writer ---------------------------------------------------------------------------------


def test_dumps_round_trips_the_shipped_config() -> None:
    data = tomllib.loads((REPO / "config/vitad.toml").read_text(encoding="utf-8"))
    assert tomllib.loads(bc.dumps(data)) == data


def test_dumps_round_trips_awkward_values() -> None:
    data = {
        "s": 'quote " backslash \\ newline \n tab \t bell \x07 del \x7f café 洗衣',
        "weird key": 1, "neg": -3, "f": 0.1, "big": 1e300, "inf": float("inf"), "t": True,
        "empty": [], "nested": [[1, 2], ["a"]], "inline": [{"x": 1}, 2],
        "t1": {"a": {"b": {"c": "deep"}}, "list": [1.5, 2.5]},
        "arr": [{"id": "a", "sub": {"k": "v"}}, {"id": "b", "inner": [{"z": 1}]}],
    }
    assert tomllib.loads(bc.dumps(data)) == data


# --- the boot run with the real `vitad check-config` ---------------------------------------------


def test_example_override_is_applied_and_valid(tmp_path: Path, etc: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8").replace("Bubbles Laundromat", "Suds City")
    outcome, errors, boot_errors = _run(tmp_path, etc, text)
    assert outcome.errors == []
    merged = tomllib.loads((etc / "vitad.toml").read_text(encoding="utf-8"))
    assert merged["shop"]["name"] == "Suds City"
    assert "system" not in merged
    # merged by id: the price table kept every other key of the shipped machine
    large = next(m for m in merged["shop"]["machines"] if m["id"] == "washer_large")
    assert large["cycle_minutes"] == 40 and large["numbers"] == [7, 8, 9]
    assert not errors.exists() and not boot_errors.exists()
    assert bc.validate_with_vitad(VITAD, etc / "vitad.toml") == []
    assert (etc / "vitad.toml").stat().st_mode & 0o777 == 0o644
    assert not list(etc.glob(".vitad-candidate-*"))


def test_second_run_changes_nothing(tmp_path: Path, etc: Path) -> None:
    _run(tmp_path, etc, EXAMPLE.read_text(encoding="utf-8"))
    before = (etc / "vitad.toml").stat().st_mtime_ns
    outcome, _, _ = _run(tmp_path, etc, EXAMPLE.read_text(encoding="utf-8"))
    assert outcome.errors == []
    assert any("already up to date" in a for a in outcome.actions)
    assert (etc / "vitad.toml").stat().st_mtime_ns == before


def test_invalid_values_keep_the_last_good_config_and_explain(tmp_path: Path, etc: Path) -> None:
    good = (etc / "vitad.toml").read_bytes()
    outcome, errors, boot_errors = _run(
        tmp_path, etc, '[wake]\nthreshold = 5\n[shop]\nnmae = "Typo"\n')
    assert (etc / "vitad.toml").read_bytes() == good
    text = errors.read_text(encoding="utf-8")
    assert "wake.threshold" in text
    assert "shop.nmae: unknown key (did you mean 'name'?)" in text
    assert "keeps the last good config" in text
    assert boot_errors.read_text(encoding="utf-8") == text
    assert len(outcome.errors) >= 3
    # fixed on the next boot: the error files disappear
    outcome, errors, boot_errors = _run(tmp_path, etc, '[wake]\nthreshold = 0.6\n')
    assert outcome.errors == [] and not errors.exists() and not boot_errors.exists()
    assert tomllib.loads((etc / "vitad.toml").read_text(encoding="utf-8"))["wake"][
        "threshold"] == 0.6


def test_broken_toml_keeps_config(tmp_path: Path, etc: Path) -> None:
    good = (etc / "vitad.toml").read_bytes()
    outcome, errors, _ = _run(tmp_path, etc, '[shop\nname = "x"\n')
    assert (etc / "vitad.toml").read_bytes() == good
    assert "not valid TOML" in errors.read_text(encoding="utf-8")
    assert outcome.errors


def test_missing_intents_file_is_reported(tmp_path: Path, etc: Path) -> None:
    outcome, errors, _ = _run(tmp_path, etc, '[dialogue]\nintents = "intents.xx.toml"\n')
    assert "dialogue.intents: file not found" in errors.read_text(encoding="utf-8")
    assert not any("applied" in a for a in outcome.actions)


def test_no_override_is_a_no_op_and_clears_stale_errors(tmp_path: Path, etc: Path) -> None:
    good = (etc / "vitad.toml").read_bytes()
    stale = tmp_path / "run/errors.txt"
    stale.parent.mkdir(parents=True)
    stale.write_text("old problem\n")
    outcome, errors, _ = _run(tmp_path, etc, None)
    assert outcome.errors == [] and not errors.exists()
    assert (etc / "vitad.toml").read_bytes() == good


def test_missing_base_is_created_from_live_file(tmp_path: Path, etc: Path) -> None:
    (etc / "vitad.base.toml").unlink()
    outcome, _, _ = _run(tmp_path, etc, '[audio]\nvolume = 0.5\n')
    assert outcome.errors == []
    assert (etc / "vitad.base.toml").read_bytes() == (REPO / "config/vitad.toml").read_bytes()


def test_main_never_fails_the_boot(tmp_path: Path, etc: Path) -> None:
    override = tmp_path / "vitad.toml"
    override.write_text("[wake]\nthreshold = 9\n")
    code = bc.main(["--override", str(override), "--base", str(etc / "vitad.base.toml"),
                    "--target", str(etc / "vitad.toml"), "--errors", str(tmp_path / "e.txt"),
                    "--vitad", str(VITAD), "--root", str(tmp_path)])
    assert code == 0
    assert "wake.threshold" in (tmp_path / "e.txt").read_text()


# --- [system] ------------------------------------------------------------------------------------


def test_wifi_keyfile_written_private_and_removed_when_ssid_cleared(
        tmp_path: Path, etc: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    outcome, _, _ = _run(tmp_path, etc, '[system]\nwifi_country = "GB"\n'
                         'wifi_ssid = "Shop WiFi"\nwifi_password = "s3cret-pass"\n', root)
    assert outcome.errors == []
    conn = root / bc.NM_CONNECTION
    text = conn.read_text()
    assert "ssid=Shop WiFi\n" in text and "psk=s3cret-pass\n" in text
    assert "key-mgmt=wpa-psk" in text
    assert stat.S_IMODE(conn.stat().st_mode) == 0o600
    assert (root / "etc/vitad/wifi-country").read_text() == "GB\n"
    outcome, _, _ = _run(tmp_path, etc, '[system]\nwifi_country = "GB"\nwifi_ssid = ""\n', root)
    assert not conn.exists()


def test_open_network_has_no_security_section(tmp_path: Path, etc: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    _run(tmp_path, etc, '[system]\nwifi_country = "US"\nwifi_ssid = "Free"\n', root)
    assert "wifi-security" not in (root / bc.NM_CONNECTION).read_text()


def test_bad_system_values_are_errors_but_vitad_settings_still_apply(
        tmp_path: Path, etc: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    outcome, errors, _ = _run(
        tmp_path, etc, '[shop]\nname = "Still Applied"\n[system]\nwifi_country = "usa"\n'
        'wifi_ssid = "X"\nwifi_password = "short"\ntimezone = "Mars/Base"\nwifi_sid = "y"\n',
        root)
    text = errors.read_text()
    assert "system.wifi_country: two capital letters" in text
    assert "system.wifi_password: WPA passwords are 8-63" in text
    assert "system.timezone: unknown timezone 'Mars/Base'" in text
    assert "system.wifi_sid: unknown key (did you mean 'wifi_ssid'?)" in text
    assert not (root / bc.NM_CONNECTION).exists()  # never half-configured Wi-Fi
    merged = tomllib.loads((etc / "vitad.toml").read_text(encoding="utf-8"))
    assert merged["shop"]["name"] == "Still Applied"
    assert len(outcome.errors) == 4


def test_timezone_symlink(tmp_path: Path, etc: Path) -> None:
    root = tmp_path / "root"
    zone = root / "usr/share/zoneinfo/Europe/London"
    zone.parent.mkdir(parents=True)
    zone.write_bytes(b"TZif")
    (root / "etc").mkdir()
    outcome, _, _ = _run(tmp_path, etc, '[system]\ntimezone = "Europe/London"\n', root)
    assert outcome.errors == []
    assert (root / "etc/localtime").readlink() == Path("/usr/share/zoneinfo/Europe/London")
    assert (root / "etc/timezone").read_text() == "Europe/London\n"
    outcome, _, _ = _run(tmp_path, etc, '[system]\ntimezone = "../../etc/passwd"\n', root)
    assert any("unknown timezone" in e for e in outcome.errors)


# --- writing: tomli-w + vitad.fileio.write_atomic --------------------------------------------


def test_live_file_is_the_header_and_exactly_the_merge(tmp_path: Path, etc: Path) -> None:
    override_text = ('[shop]\nname = "Suds \\"City\\" \\\\ Café 洗衣"\n'
                     '[[shop.machines]]\nid = "washer_large"\nprice = "$9.99"\n')
    base = tomllib.loads((etc / "vitad.base.toml").read_text(encoding="utf-8"))
    outcome, _, _ = _run(tmp_path, etc, override_text)
    assert outcome.errors == []
    text = (etc / "vitad.toml").read_text(encoding="utf-8")
    boot = tmp_path / "boot/vitad.toml"
    assert text.startswith(bc.GENERATED_HEADER.format(base=etc / "vitad.base.toml",
                                                       override=boot))
    merged = bc.deep_merge(base, tomllib.loads(override_text))
    assert tomllib.loads(text) == merged
    assert merged["shop"]["name"] == 'Suds "City" \\ Café 洗衣'


def test_second_boot_rewrites_nothing_and_restores_a_loosened_keyfile(
        tmp_path: Path, etc: Path) -> None:
    root = tmp_path / "root"
    zone = root / "usr/share/zoneinfo/Europe/London"
    zone.parent.mkdir(parents=True)
    zone.write_bytes(b"TZif")
    override = ('[system]\nwifi_country = "GB"\nwifi_ssid = "Shop"\n'
                'wifi_password = "s3cret-pass"\ntimezone = "Europe/London"\n'
                '[audio]\nvolume = 0.5\n')
    files = [root / bc.NM_CONNECTION, root / "etc/vitad/wifi-country", root / "etc/timezone",
             etc / "vitad.toml"]
    _run(tmp_path, etc, override, root)
    before = [(f.stat().st_ino, f.stat().st_mtime_ns) for f in files]
    outcome, _, _ = _run(tmp_path, etc, override, root)
    assert outcome.errors == []
    assert [(f.stat().st_ino, f.stat().st_mtime_ns) for f in files] == before
    assert not any(a.startswith(("wifi: wrote", "wifi: country", "applied"))
                   for a in outcome.actions)
    conn = root / bc.NM_CONNECTION
    conn.chmod(0o644)  # someone loosened the secret's mode: same text, but it is rewritten
    outcome, _, _ = _run(tmp_path, etc, override, root)
    assert any(a.startswith("wifi: wrote") for a in outcome.actions)
    assert stat.S_IMODE(conn.stat().st_mode) == 0o600
    assert not [p for p in conn.parent.iterdir() if p.name != conn.name]  # no temp files
