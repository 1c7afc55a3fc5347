"""`vitad health|reports|stats` as a separate process: exit codes, output, no tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vitad.config.runtime_settings import RuntimeSettings
from vitad.runtime.health import HealthModel, HealthServer
from vitad.runtime.records import DB_NAME, Interaction, RecordStore


def vitad(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    res = subprocess.run(
        [sys.executable, "-m", "vitad.runtime.ops_cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert "Traceback" not in res.stderr, res.stderr
    return res


def _config(tmp: Path, body: str) -> Path:
    (tmp / "intents.en.toml").write_text("")  # the loader insists the intents file exists
    path = tmp / "vitad.toml"
    path.write_text(body)
    return path


@pytest.fixture
def served(short_dir):
    model = HealthModel()
    server = HealthServer(short_dir / "health.sock", model.snapshot)
    assert server.start()
    yield model, server
    server.stop()


def test_health_ok_degraded_and_down(served, short_dir):
    model, server = served
    res = vitad("health", "--socket", str(server.path))
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["state"] == "ok"
    model.set("mic", "failed", "no capture device")
    res = vitad("health", "--socket", str(server.path))
    assert res.returncode == 1
    assert json.loads(res.stdout)["components"]["mic"]["state"] == "failed"
    res = vitad("health", "--socket", str(short_dir / "nope.sock"))
    assert res.returncode == 2 and res.stdout == ""
    assert res.stderr.strip().count("\n") == 0 and "not running" in res.stderr
    assert vitad("health", "-q", "--socket", str(server.path)).stdout == ""


def test_health_socket_from_config(served, tmp_path):
    _, server = served
    cfg = _config(tmp_path, f'[runtime]\nhealth_socket = "{server.path}"\n')
    res = vitad("health", "--config", str(cfg))
    assert res.returncode == 0, res.stderr


def test_config_errors_are_reported_cleanly(tmp_path):
    cfg = _config(tmp_path, "[runtime]\nhelth_socket = 1\n")
    res = vitad("health", "--config", str(cfg))
    assert res.returncode == 2
    assert "config error" in res.stderr and "helth_socket" in res.stderr
    res = vitad("reports", "--config", str(tmp_path / "missing.toml"))
    assert res.returncode == 1 and "file not found" in res.stderr


@pytest.fixture
def state(tmp_path):
    store = RecordStore(RuntimeSettings(state_dir=tmp_path / "state"))
    store.start()
    now = time.time()
    for lat, intent in ((0.4, "hours"), (0.8, "hours"), (1.2, "prices")):
        store.record_interaction(Interaction(now, "answered", intent=intent, latency_s=lat))
    store.record_interaction(Interaction(now, "error"))
    ids = [
        store.add_report("washer", 4, "door will not open"),
        store.add_report("dryer", None, "no heat"),
    ]
    assert store.flush()
    store.close()
    return tmp_path / "state", ids


def test_reports_list_ack_all(state):
    sd, (r1, r2) = state
    res = vitad("reports", "--state-dir", str(sd))
    assert res.returncode == 0, res.stderr
    assert "washer 4" in res.stdout and "no heat" in res.stdout
    res = vitad("reports", "--state-dir", str(sd), "--ack", str(r1))
    assert res.returncode == 0 and f"report {r1} acknowledged" in res.stdout
    res = vitad("reports", "--state-dir", str(sd), "--ack", str(r1))
    assert res.returncode == 1 and "no unacknowledged report" in res.stderr
    res = vitad("reports", "--state-dir", str(sd), "--json")
    assert [r["id"] for r in json.loads(res.stdout)] == [r2]
    res = vitad("reports", "--state-dir", str(sd), "--all", "--json")
    assert [r["id"] for r in json.loads(res.stdout)] == [r1, r2]


def test_stats_text_and_json(state):
    sd, _ = state
    res = vitad("stats", "--state-dir", str(sd), "--json")
    assert res.returncode == 0, res.stderr
    today = json.loads(res.stdout)["today"]
    assert today["turns"] == 4 and today["failures"] == 1
    assert today["median_latency_s"] == pytest.approx(0.8)
    res = vitad("stats", "--state-dir", str(sd))
    assert "today: 4 turns, 1 failed, median latency 0.80 s" in res.stdout
    assert "open problem reports: 2" in res.stdout


def test_missing_db_is_one_line_error(tmp_path):
    for cmd in ("reports", "stats"):
        res = vitad(cmd, "--state-dir", str(tmp_path))
        assert res.returncode == 1
        assert res.stderr.count("\n") == 1 and "no records database" in res.stderr
    assert not (tmp_path / DB_NAME).exists()  # and nothing was created


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to test the privilege drop")
def test_root_acts_as_db_owner(state, short_dir):
    """SQLite files created while root runs an operator command belong to the DB owner."""
    import sqlite3

    from vitad.runtime.ops_cli import _as_owner

    src, (r1, _) = state
    short_dir.chmod(0o755)  # like /var/lib: traversable; the state dir itself is the owner's
    sd = short_dir / "vitad"
    src.rename(sd)
    nobody = 65534
    for p in [sd, *sd.iterdir()]:
        os.chown(p, nobody, nobody)
    db = sd / DB_NAME
    with _as_owner(db):
        assert os.geteuid() == nobody
        conn = sqlite3.connect(db)  # held open, as a long `vitad reports` would
        conn.execute("SELECT COUNT(*) FROM problem_reports").fetchall()
        owners = {p.name: p.stat().st_uid for p in sd.iterdir()}
        conn.close()
    assert os.geteuid() == 0 and os.getegid() == 0
    assert {f"{DB_NAME}-wal", f"{DB_NAME}-shm"} <= set(owners)
    assert set(owners.values()) == {nobody}, owners
    # And end to end: root acknowledges a report in a nobody-owned database.
    res = vitad("reports", "--state-dir", str(sd), "--ack", str(r1))
    assert res.returncode == 0, res.stderr
    assert {p.stat().st_uid for p in sd.iterdir()} == {nobody}


def test_unreadable_db_is_one_line_error(state):
    sd, _ = state
    (sd / DB_NAME).write_bytes(b"garbage" * 1000)
    res = vitad("reports", "--state-dir", str(sd))
    assert res.returncode == 1
    assert res.stderr.count("\n") == 1 and "cannot read problem reports" in res.stderr


def test_reports_into_a_closed_pipe_is_quiet(tmp_path):
    runtime = RuntimeSettings(state_dir=tmp_path / "state", health_socket=tmp_path / "h.sock")
    store = RecordStore(runtime)
    store.start()
    for n in range(200):
        assert store.add_report("washer", 1 + n % 9, f"report number {n} " + "x" * 80)
    store.close()
    cmd = [sys.executable, "-m", "vitad.runtime.ops_cli", "reports", "--state-dir",
           str(runtime.state_dir)]
    res = subprocess.run(f"{' '.join(cmd)} | head -n 2", shell=True, capture_output=True,
                         text=True, timeout=30)
    assert len(res.stdout.splitlines()) == 2
    assert "Traceback" not in res.stderr and "BrokenPipe" not in res.stderr, res.stderr


def test_health_without_permission_says_so(served):
    _, server = served
    if os.geteuid() == 0:
        pytest.skip("root may connect to any socket; CI runs this unprivileged too")
    os.chmod(server.path, 0)
    res = vitad("health", "--socket", str(server.path))
    assert res.returncode == 4
    assert "permission denied" in res.stderr and "sudo" in res.stderr


@pytest.mark.parametrize("timeout", ["1e300", "inf", "0", "soon"])
def test_health_timeout_out_of_range_is_one_line(timeout, short_dir):
    res = vitad("health", "--socket", str(short_dir / "x.sock"), "--timeout", timeout)
    assert res.returncode == 2 and "--timeout" in res.stderr
