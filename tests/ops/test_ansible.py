"""ops/ansible: ansible-lint clean, every playbook parses, and config-push's check on the box
refuses a bad file before anything is swapped — run for real (ansible-playbook over a local
connection, the real ``vitad check-config``) against a scratch copy of config/.

The swap / reload / health-gate path needs systemd and a running daemon: image-build tier 3
runs it against a booted box (image-build/ci/tier3-fleet.sh). Skipped only when the ``fleet``
extra is missing outside CI; with ``CI`` set a missing tool fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

ANSIBLE = REPO / "ops" / "ansible"
PLAYBOOKS = ("config-push.yml", "collect-reports.yml", "upgrade.yml")
BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    path = BIN / name
    if path.is_file():
        return str(path)
    if found := shutil.which(name):
        return found
    message = f"{name} is not installed (pip install -e '.[fleet]')"
    if os.environ.get("CI"):
        pytest.fail(message + "; CI must have it (Makefile installs the fleet extra)")
    pytest.skip(message)


def run(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0", "NO_COLOR": "1",
           "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(list(args), cwd=ANSIBLE, capture_output=True, text=True, env=env,
                          timeout=timeout)


def test_ansible_lint_is_clean_at_the_production_profile() -> None:
    done = run(tool("ansible-lint"), "--profile", "production", "--format", "pep8")
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("playbook", PLAYBOOKS)
def test_playbook_syntax(playbook: str) -> None:
    done = run(tool("ansible-playbook"), "--syntax-check", "-i", "inventory.example.yml",
               playbook)
    assert done.returncode == 0, done.stdout + done.stderr


def push(tmp_path: Path, new_config: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    """config-push.yml over a local connection into a scratch copy of config/."""
    live = tmp_path / "etc"
    shutil.copytree(REPO / "config", live)
    src = tmp_path / "push"
    src.mkdir()
    (src / "vitad.toml").write_text(new_config)
    inventory = tmp_path / "inventory.json"
    host = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
            "ansible_become": False}
    inventory.write_text(json.dumps({"shops": {"hosts": {"scratch-box": host}}}))
    extra = {"vitad_bin": str(BIN / "vitad"), "vitad_config_dir": str(live),
             "vitad_config_staging": str(tmp_path / "etc.push"),
             "vitad_config_boot_override": str(tmp_path / "no-boot-override.toml"),
             "vitad_push_dir": str(src)}
    done = run(tool("ansible-playbook"), "-i", str(inventory), "-e", json.dumps(extra),
               "config-push.yml")
    return done, live


def test_config_push_refuses_a_bad_file_before_swapping(tmp_path: Path) -> None:
    shipped = (REPO / "config" / "vitad.toml").read_text()
    bad = shipped.replace("\nvolume = 1.0 ", "\nvolumee = 1.0 ", 1)
    assert bad != shipped
    done, live = push(tmp_path, bad)
    out = done.stdout + done.stderr
    assert done.returncode != 0, out
    assert "REFUSED by vitad check-config on scratch-box" in out, out
    assert "volumee" in out, out  # the box's own one-line reason reaches the operator
    assert (live / "vitad.toml").read_text() == shipped  # nothing swapped
    assert not (live / "vitad.toml.previous").exists()
    assert not (tmp_path / "etc.push").exists()  # staging always removed


def test_config_push_of_the_live_file_checks_it_and_changes_nothing(tmp_path: Path) -> None:
    done, live = push(tmp_path, (REPO / "config" / "vitad.toml").read_text())
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "scratch-box: already up to date, nothing swapped" in out, out
    assert "changed=0" in out, out
    assert not (live / "vitad.toml.previous").exists()


def test_config_push_restores_the_previous_file_when_the_reload_fails(tmp_path: Path) -> None:
    # No systemd here (a container): the swap happens, `systemctl reload` fails, and the role
    # must put the previous file back and fail the shop — the rollback path, for real.
    shipped = (REPO / "config" / "vitad.toml").read_text()
    new = shipped.replace('price = "7 dollars 50"', 'price = "8 dollars 25"', 1)
    assert new != shipped
    done, live = push(tmp_path, new)
    out = done.stdout + done.stderr
    assert done.returncode != 0, out
    assert "ROLLED BACK on scratch-box" in out, out
    assert (live / "vitad.toml").read_text() == shipped
    assert (live / "vitad.toml.previous").read_text() == shipped
    assert not (tmp_path / "etc.push").exists()


def test_collect_reports_writes_one_table_for_all_shops(tmp_path: Path) -> None:
    # Two "shops" over a local connection: one with a real records DB holding an open report,
    # one whose state dir has no DB (its `vitad reports` fails): an ERROR row, not a stop.
    from vitad.runtime.records.rows import insert_report
    from vitad.runtime.records.schema import open_for_writing

    good = tmp_path / "good"
    good.mkdir()
    conn = open_for_writing(good / "vitad.db")
    insert_report(conn, 1_700_000_000.0, "dryer", 7, "dryer 7 is not heating", None)
    conn.commit()
    conn.close()
    (tmp_path / "empty").mkdir()
    local = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
             "ansible_become": False}
    hosts = {name: {**local, "shop": f"shop-{name}",
                    "vitad_bin": f"{BIN / 'vitad'} --config {REPO / 'config' / 'vitad.toml'}",
                    "vitad_reports_args": f"--state-dir {tmp_path / name}"}
             for name in ("good", "empty")}
    inventory = tmp_path / "inventory.json"
    inventory.write_text(json.dumps({"shops": {"hosts": hosts}}))
    table = tmp_path / "reports.tsv"
    done = run(tool("ansible-playbook"), "-i", str(inventory), "-e",
               json.dumps({"vitad_reports_out": str(table)}), "collect-reports.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    rows = [line.split("\t") for line in table.read_text().splitlines()]
    assert rows[0] == ["shop", "host", "id", "time", "machine", "number", "text", "acknowledged"]
    assert len(rows) == 3, rows
    empty, good_row = rows[1], rows[2]  # sorted by host
    assert empty[:2] == ["shop-empty", "empty"] and empty[4] == "ERROR", empty
    assert good_row[:3] == ["shop-good", "good", "1"], rows
    assert good_row[4:8] == ["dryer", "7", "dryer 7 is not heating", ""], good_row
