#!/opt/vitad/venv/bin/python3
"""Merge the operator's boot-partition override into /etc/vitad/vitad.toml (vitad-boot-config).

Runs once per boot from ``vitad-boot-config.service`` (Before=vitad.service). The operator
edits ``/boot/firmware/vitad.toml`` on any PC (the FAT partition of the SD card); this script

1. parses it; its ``[system]`` table (Wi-Fi, timezone) is applied to the OS, everything else
   is vitad configuration;
2. deep-merges the vitad part over ``/etc/vitad/vitad.base.toml`` (tables merge key by key;
   arrays of tables whose entries carry an ``id`` - ``[[shop.machines]]`` - merge by id, so
   one price can be changed without repeating the machine; other values replace);
3. validates the result with ``vitad check-config`` next to the live file (so relative paths
   such as the intents file resolve the same way);
4. installs it as ``/etc/vitad/vitad.toml`` only when valid and different. On any problem
   the last good config stays in place, every problem goes to the journal (stderr, with a
   ``<3>`` priority prefix) and to ``/run/vitad-boot-config/errors.txt`` plus
   ``/boot/firmware/vitad-config-errors.txt`` (readable from the PC that edited the file).

It never fails the boot: exit status is 0 unless the script itself is broken (then 1).
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import subprocess
import sys
import tempfile
import tomllib
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeGuard

# tomllib only reads; tomli-w is its writer (by tomllib's author): escaping, quoted keys,
# arrays of tables and dates are its solved problem, not ours. Tests call it as ``dumps``.
from tomli_w import dumps

from vitad.fileio import write_atomic

SYSTEM_KEYS = ("wifi_country", "wifi_ssid", "wifi_password", "timezone")
NM_CONNECTION = "etc/NetworkManager/system-connections/vitad-wifi.nmconnection"
GENERATED_HEADER = (
    "# Generated at boot by vitad-boot-config from {base} and {override}.\n"
    "# Edit those two files (or the boot partition's vitad.toml), not this one:\n"
    "# it is rewritten whenever the boot override is present and valid.\n\n"
)


# ---------------------------------------------------------------------------------------------
# merging


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Return ``base`` with ``override`` merged in (neither argument is modified)."""
    merged = dict(base)
    for key, value in override.items():
        old = merged.get(key)
        if isinstance(old, dict) and isinstance(value, dict):
            merged[key] = deep_merge(old, value)
        elif _tables_with_ids(old) and _tables_with_ids(value):
            merged[key] = _merge_by_id(old, value)
        else:
            merged[key] = value
    return merged


def _tables_with_ids(value: Any) -> TypeGuard[list[dict[str, Any]]]:
    return (isinstance(value, list) and bool(value)
            and all(isinstance(v, dict) and "id" in v for v in value))


def _merge_by_id(base: list[dict[str, Any]], override: list[dict[str, Any]]) -> list[Any]:
    result = [dict(entry) for entry in base]
    index = {entry["id"]: i for i, entry in enumerate(result)}
    for entry in override:
        if entry["id"] in index:
            result[index[entry["id"]]] = deep_merge(result[index[entry["id"]]], entry)
        else:
            index[entry["id"]] = len(result)
            result.append(entry)
    return result


# ---------------------------------------------------------------------------------------------
# [system]: Wi-Fi and timezone


@dataclass
class Outcome:
    errors: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)


def _validate_system(system: Any, root: Path, source: str, outcome: Outcome) -> dict[str, str]:
    if not isinstance(system, dict):
        outcome.errors.append(f"{source}: system: must be a table ([system])")
        return {}
    good: dict[str, str] = {}
    for key, value in system.items():
        if key not in SYSTEM_KEYS:
            close = difflib.get_close_matches(key, SYSTEM_KEYS, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            outcome.errors.append(f"{source}: system.{key}: unknown key{hint}")
            continue
        if not isinstance(value, str):
            outcome.errors.append(f"{source}: system.{key}: must be a string (in quotes)")
            continue
        good[key] = value
    country = good.get("wifi_country", "")
    if country and not re.fullmatch(r"[A-Z]{2}", country):
        outcome.errors.append(f"{source}: system.wifi_country: two capital letters such as "
                              f"\"US\" or \"GB\" (got {country!r})")
        good.pop("wifi_country")
    ssid = good.get("wifi_ssid", "")
    if ssid and (len(ssid.encode()) > 32 or any(c in ssid for c in "\r\n")):
        outcome.errors.append(f"{source}: system.wifi_ssid: 1-32 bytes on one line")
        good.pop("wifi_ssid")
    password = good.get("wifi_password", "")
    if password and not (8 <= len(password) <= 63 and password.isprintable()):
        outcome.errors.append(f"{source}: system.wifi_password: WPA passwords are 8-63 "
                              "printable characters (leave it \"\" for an open network)")
        good.pop("wifi_password")
        good.pop("wifi_ssid", None)  # never join with a half-understood password
    if ssid and "wifi_ssid" in good and not good.get("wifi_country"):
        outcome.errors.append(f"{source}: system.wifi_country: needed with wifi_ssid "
                              "(the radio stays off until the country is set)")
    tz = good.get("timezone", "")
    zone = root / "usr/share/zoneinfo" / tz
    if tz and (".." in Path(tz).parts or tz.startswith("/") or not zone.is_file()):
        outcome.errors.append(f"{source}: system.timezone: unknown timezone {tz!r} "
                              "(e.g. \"America/New_York\")")
        good.pop("timezone")
    return good


def _nm_keyfile(ssid: str, password: str) -> str:
    conn_uuid = uuid.uuid5(uuid.NAMESPACE_URL, f"vitad-wifi:{ssid}")
    lines = ["[connection]", "id=vitad-wifi", f"uuid={conn_uuid}", "type=wifi",
             "autoconnect=true", "", "[wifi]", "mode=infrastructure", f"ssid={ssid}", ""]
    if password:
        lines += ["[wifi-security]", "key-mgmt=wpa-psk", f"psk={password}", ""]
    lines += ["[ipv4]", "method=auto", "", "[ipv6]", "method=auto", ""]
    return "\n".join(lines)


def _install(path: Path, text: str, mode: int) -> bool:
    """Install ``text`` at ``path`` with ``mode``, atomically and durably, creating its folder;
    an identical file (same text and mode) is left untouched. Returns whether it was written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_atomic(path, text.encode("utf-8"), mode=mode, durable=True,
                        only_if_changed=True)


def apply_system(system: dict[str, str], root: Path, outcome: Outcome) -> None:
    """Write the NetworkManager keyfile / timezone under ``root``; set the regulatory domain."""
    if "wifi_ssid" in system:
        conn = root / NM_CONNECTION
        if system["wifi_ssid"]:
            text = _nm_keyfile(system["wifi_ssid"], system.get("wifi_password", ""))
            if _install(conn, text, 0o600):
                outcome.actions.append(f"wifi: wrote {conn} for {system['wifi_ssid']!r}")
        elif conn.exists():
            conn.unlink()
            outcome.actions.append(f"wifi: removed {conn} (wifi_ssid is empty)")
    country = system.get("wifi_country")
    if country:
        if _install(root / "etc/vitad/wifi-country", country + "\n", 0o644):
            outcome.actions.append(f"wifi: country {country}")
        if root == Path("/"):
            _set_regdom(country, outcome)
    tz = system.get("timezone")
    if tz:
        localtime = root / "etc/localtime"
        target = f"/usr/share/zoneinfo/{tz}"
        if not (localtime.is_symlink() and os.readlink(localtime) == target):
            localtime.unlink(missing_ok=True)
            localtime.symlink_to(target)
            outcome.actions.append(f"timezone: {tz}")
        _install(root / "etc/timezone", tz + "\n", 0o644)


def _set_regdom(country: str, outcome: Outcome) -> None:
    for cmd in (["raspi-config", "nonint", "do_wifi_country", country],
                ["iw", "reg", "set", country]):
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if done.returncode == 0:
            outcome.actions.append(f"wifi: {' '.join(cmd)}")
            return
    outcome.actions.append("wifi: neither raspi-config nor iw could set the country now")


# ---------------------------------------------------------------------------------------------
# the run


def validate_with_vitad(vitad: Path, candidate: Path) -> list[str]:
    """Problems reported by ``vitad check-config`` (empty list when valid)."""
    try:
        done = subprocess.run([str(vitad), "check-config", str(candidate)], capture_output=True,
                              text=True, timeout=300, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return [f"cannot run {vitad} check-config: {exc}"]
    if done.returncode == 0:
        return []
    name = str(candidate)
    lines = [line.replace(name, "merged config") for line in done.stderr.splitlines()
             if line.strip()]
    return lines or [f"vitad check-config failed with exit status {done.returncode}"]


def run(override: Path, base: Path, target: Path, errors_files: list[Path], vitad: Path,
        root: Path, apply_system_settings: bool = True) -> Outcome:
    outcome = Outcome()
    if not override.is_file():
        outcome.actions.append(f"no override at {override}: nothing to do")
        _report(outcome, errors_files)
        return outcome
    source = str(override)
    try:
        data = tomllib.loads(override.read_bytes().decode("utf-8-sig"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        outcome.errors.append(f"{source}: not valid TOML: {exc}")
        _report(outcome, errors_files)
        return outcome

    system = _validate_system(data.pop("system", {}), root, source, outcome)
    if apply_system_settings:
        try:
            apply_system(system, root, outcome)
        except OSError as exc:
            outcome.errors.append(f"{source}: system: could not apply: {exc}")

    try:
        if not base.is_file() and target.is_file():
            # A box installed before vitad.base.toml existed: the live file becomes the base.
            _install(base, target.read_text(encoding="utf-8"), 0o644)
            outcome.actions.append(f"created {base} from {target}")
        base_data = tomllib.loads(base.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        outcome.errors.append(f"{base}: cannot use the base config: {exc}")
        _report(outcome, errors_files)
        return outcome

    merged = deep_merge(base_data, data)
    text = GENERATED_HEADER.format(base=base, override=override) + dumps(merged)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".vitad-candidate-", suffix=".toml", dir=target.parent)
    candidate = Path(tmp)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        problems = validate_with_vitad(vitad, candidate)
        if problems:
            outcome.errors += [f"{source}: {p}" for p in problems]
            outcome.errors.append(f"{source}: not applied; vitad keeps the last good config "
                                  f"({target})")
        elif _install(target, text, 0o644):
            outcome.actions.append(f"applied {override} to {target}")
        else:
            outcome.actions.append(f"{target} already up to date")
    finally:
        candidate.unlink(missing_ok=True)
    _report(outcome, errors_files)
    return outcome


def _report(outcome: Outcome, errors_files: list[Path]) -> None:
    for action in outcome.actions:
        print(f"<6>{action}", file=sys.stderr)
    for error in outcome.errors:
        print(f"<3>{error}", file=sys.stderr)
    for path in errors_files:
        try:
            if outcome.errors:
                _install(path, "vitad could not use the boot settings:\n"
                                  + "".join(f"  {e}\n" for e in outcome.errors), 0o644)
            else:
                path.unlink(missing_ok=True)
        except OSError as exc:
            print(f"<4>cannot update {path}: {exc}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vitad-boot-config", description=__doc__.split("\n")[0])
    parser.add_argument("--override", type=Path, default=Path("/boot/firmware/vitad.toml"))
    parser.add_argument("--base", type=Path, default=Path("/etc/vitad/vitad.base.toml"))
    parser.add_argument("--target", type=Path, default=Path("/etc/vitad/vitad.toml"))
    parser.add_argument("--errors", type=Path, action="append",
                        help="where to write problems (repeatable; default "
                             "/run/vitad-boot-config/errors.txt and "
                             "<override folder>/vitad-config-errors.txt)")
    parser.add_argument("--vitad", type=Path, default=Path(sys.executable).with_name("vitad"))
    parser.add_argument("--root", type=Path, default=Path("/"),
                        help="apply [system] settings under this root (tests, image builds)")
    parser.add_argument("--no-system", action="store_true", help="ignore the [system] table")
    args = parser.parse_args(argv)
    errors_files = args.errors or [Path("/run/vitad-boot-config/errors.txt"),
                                   args.override.parent / "vitad-config-errors.txt"]
    outcome = run(args.override, args.base, args.target, errors_files, args.vitad, args.root,
                  apply_system_settings=not args.no_system)
    # Not a count: check-config's lines include its own summary, so a number would mislead.
    print(f"<5>vitad-boot-config: finished with errors (above; also in {errors_files[-1]})"
          if outcome.errors else "<6>vitad-boot-config: ok", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
