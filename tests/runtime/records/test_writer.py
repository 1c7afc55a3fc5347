"""RecordStore's writer on real SQLite files: durability, queueing, kill -9, disk full."""

from __future__ import annotations

import logging
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.runtime.records.conftest import DAY, sql
from vitad.config.runtime_settings import PrivacySettings, RuntimeSettings
from vitad.events import Degraded, StageError, Transcript, TurnEnd, Wake
from vitad.runtime.records import DB_NAME, Interaction, RecordReader, RecordStore, connection

CHILD = Path(__file__).with_name("report_writer_child.py")


def test_unusable_state_dir_never_raises(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    s = RecordStore(RuntimeSettings(state_dir=blocker / "sub"))
    s.start()
    state, error = s.health()
    assert state == "failed" and "cannot create state dir" in (error or "")
    assert s.add_report("washer", 1, "x") is None
    s.record_interaction(Interaction(time.time(), "answered"))
    assert s.list_reports() == []
    s.close()


def test_report_is_committed_with_synchronous_full(store, runtime):
    statements: list[str] = []
    assert store._conn is not None
    store._conn.set_trace_callback(statements.append)
    rid = store.add_report("washer", 7, "leaking", turn_id="t1")
    assert store.flush()
    store._conn.set_trace_callback(None)
    assert rid is not None
    # Visible to an independent connection as soon as add_report returned.
    rows = sql(
        runtime.state_dir / DB_NAME,
        "SELECT machine_number, text, turn_id FROM problem_reports WHERE id=?",
        rid,
    )
    assert rows == [(7, "leaking", "t1")]
    i_full = statements.index("PRAGMA synchronous=FULL")
    i_insert = next(i for i, s in enumerate(statements) if "INSERT INTO problem_reports" in s)
    i_commit = statements.index("COMMIT")
    assert i_full < i_insert < i_commit
    assert statements[i_commit + 1] == "PRAGMA synchronous=NORMAL"


def test_add_report_without_writer_returns_none(runtime):
    s = RecordStore(runtime)  # not started
    assert s.add_report("washer", 1, "x", timeout=0.1) is None
    s.close()


def test_drop_oldest_when_queue_full(tmp_path):
    rt = RuntimeSettings(state_dir=tmp_path, db_queue_max=10)
    s = RecordStore(rt)
    for i in range(25):
        s.record_interaction(Interaction(time.time(), "answered", latency_s=float(i)))
    assert s.dropped == 15
    s.start()
    assert s.flush()
    lat = [r[0] for r in sql(tmp_path / DB_NAME, "SELECT latency_s FROM interactions ORDER BY id")]
    assert lat == [float(i) for i in range(15, 25)]
    s.close()


def test_writer_beats(runtime):
    beats = []
    s = RecordStore(runtime, on_beat=lambda: beats.append(time.monotonic()), beat_interval_s=0.05)
    s.start()
    time.sleep(0.4)
    s.close()
    assert len(beats) >= 4  # beats while idle too: waiting for work is progress


def test_events_counters_and_privacy(tmp_path):
    for keep in (False, True):
        rt = RuntimeSettings(state_dir=tmp_path / str(keep))
        s = RecordStore(rt, PrivacySettings(store_transcripts=keep))
        s.start()
        s.on_event(Wake(t=1, model="hey_vita", score=0.9))
        s.on_event(Wake(t=2, model="hey_vita", score=0.9, barge_in=True))
        s.on_event(StageError(t=3, stage="asr", code="asr.timeout", message="slow"))
        s.on_event(Degraded(t=4, component="mic", mode="mic_unavailable", active=True))
        s.on_event(Transcript(t=5, turn_id="t1", text="when do you close", final=True))
        s.on_event(TurnEnd(t=6, turn_id="t1", outcome="answered", intent="hours", latency_s=0.7))
        assert s.flush()
        db = rt.state_dir / DB_NAME
        counters = dict(sql(db, "SELECT name, count FROM daily_counters"))
        assert counters == {
            "wakes": 2,
            "barge_ins": 1,
            "errors.asr": 1,
            "degraded.mic_unavailable": 1,
        }
        rows = sql(db, "SELECT turn_id, intent, outcome, latency_s, transcript FROM interactions")
        expected = "when do you close" if keep else None
        assert rows == [("t1", "hours", "answered", 0.7, expected)]
        s.close()


def test_retention_pruning(tmp_path):
    now = time.time()
    rt = RuntimeSettings(state_dir=tmp_path, retention_days=30)
    privacy = PrivacySettings(store_transcripts=True, retention_days=7)
    s = RecordStore(rt, privacy, clock=lambda: now, prune_interval_s=None)
    s.start()
    for ago in (40, 20, 1):
        s.record_interaction(Interaction(now - ago * DAY, "answered", transcript=f"said {ago}"))
        s.incr("wakes", now=now - ago * DAY)
    old_acked = s.add_report("washer", 1, "old, handled")
    old_open = s.add_report("washer", 2, "old, never handled")
    recent_acked = s.add_report("washer", 3, "recent, handled")
    assert s.flush()
    s.ack_report(old_acked, now=now - 40 * DAY)
    s.ack_report(recent_acked, now=now - 1 * DAY)
    counts = s.prune(now)
    assert counts == {"interactions": 1, "transcripts": 1, "counters": 1, "reports": 1}
    db = tmp_path / DB_NAME
    assert sql(db, "SELECT transcript FROM interactions ORDER BY time") == [(None,), ("said 1",)]
    assert {r["id"] for r in s.list_reports(unacked_only=False)} == {old_open, recent_acked}
    s.close()

    # Privacy switched off later: every stored transcript goes at the next prune.
    s = RecordStore(rt, PrivacySettings(store_transcripts=False), clock=lambda: now)
    assert s.prune(now)["transcripts"] == 1
    assert sql(db, "SELECT COUNT(*) FROM interactions WHERE transcript IS NOT NULL") == [(0,)]
    s.close()


def test_writer_prunes_on_its_own(tmp_path):
    now = time.time()
    s = RecordStore(RuntimeSettings(state_dir=tmp_path, retention_days=30), clock=lambda: now)
    s.record_interaction(Interaction(now - 31 * DAY, "answered"))
    s.record_interaction(Interaction(now, "answered"))
    s.start()  # first wakeup writes the batch, then prunes (due at start, then hourly)
    assert s.flush()
    assert sql(tmp_path / DB_NAME, "SELECT COUNT(*) FROM interactions") == [(1,)]
    s.close()


def test_kill_9_during_report_burst_loses_no_acknowledged_report(tmp_path):
    """SIGKILL a writer 15 times at random moments: DB intact, every acked id present."""
    rng = random.Random(1234)
    acked: set[int] = set()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    for _ in range(15):
        proc = subprocess.Popen(
            [sys.executable, str(CHILD), str(tmp_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        assert proc.stdout is not None
        assert proc.stdout.readline() == b"ready\n", proc.stderr.read() if proc.stderr else ""
        time.sleep(rng.uniform(0.05, 0.4))
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate(timeout=10)
        assert proc.returncode == -signal.SIGKILL
        acked |= {int(line) for line in out.split()}
        db = tmp_path / DB_NAME
        assert sql(db, "PRAGMA integrity_check") == [("ok",)]
        stored = {r[0] for r in sql(db, "SELECT id FROM problem_reports")}
        missing = acked - stored
        assert not missing, f"acknowledged but lost: {sorted(missing)[:10]}"
    assert len(acked) > 100  # the test really exercised the path
    print(f"kill -9 x15: {len(acked)} acknowledged reports, all present")
    s = RecordStore(RuntimeSettings(state_dir=tmp_path))
    assert s.moved_aside is None and s.health()[0] == "ok"
    s.close()


def _fill(path: Path) -> None:
    """Write zeros to ``path`` until the file system is full."""
    with open(path, "ab", buffering=0) as f:  # unbuffered: close() must not re-raise ENOSPC
        try:
            while True:
                f.write(b"\0" * 512)
        except OSError:
            pass


def test_disk_full_is_survived(tiny_tmpfs, caplog):
    rt = RuntimeSettings(state_dir=tiny_tmpfs / "state", db_queue_max=10_000)
    filler = tiny_tmpfs / "filler"
    filler.touch()
    ballast = tiny_tmpfs / "ballast"  # deleted later: "the operator freed some space"
    ballast.write_bytes(b"\0" * 96 * 1024)
    s = RecordStore(rt, PrivacySettings(store_transcripts=True))
    s.start()
    first = s.add_report("washer", 1, "before the disk filled up")
    assert first is not None
    with caplog.at_level(logging.ERROR, logger="vitad.runtime.records"):
        for _ in range(200):
            for _ in range(10):
                s.record_interaction(Interaction(time.time(), "answered", transcript="y" * 2000))
            assert s.flush()
            if s.disk_full_errors:
                break
        assert s.disk_full_errors > 0
        _fill(filler)
        # Pages SQLite already owns (WAL/free pages) may still take a few small reports;
        # each one that returns an id must survive. Then it must say None, not pretend.
        stored_while_full = []
        for i in range(500):
            rid = s.add_report("dryer", 2, f"while the disk is full {i} " + "z" * 500)
            if rid is None:
                break
            stored_while_full.append(rid)
        assert rid is None
        for _ in range(3):
            s.record_interaction(Interaction(time.time(), "answered"))
            assert s.flush()
    state, error = s.health()
    assert state == "degraded" and "disk full" in (error or "")
    full_lines = [r for r in caplog.records if "disk full" in r.getMessage()]
    assert len(full_lines) == 1, [r.getMessage() for r in full_lines]
    assert "database itself is intact" in full_lines[0].getMessage()
    assert s.dropped > 0

    filler.unlink()
    ballast.unlink()
    second = s.add_report("dryer", 3, "after space came back")
    assert second is not None and second > first
    s.record_interaction(Interaction(time.time(), "answered", intent="after"))
    assert s.flush()
    assert s.health() == ("ok", error)
    db = rt.state_dir / DB_NAME
    assert sql(db, "PRAGMA integrity_check") == [("ok",)]
    assert {r["id"] for r in s.list_reports()} == {first, second, *stored_while_full}
    assert sql(db, "SELECT COUNT(*) FROM interactions WHERE intent='after'") == [(1,)]
    s.close()


def test_open_on_full_disk_runs_failed_then_recovers(tiny_tmpfs, monkeypatch):
    monkeypatch.setattr(connection, "REOPEN_EVERY_S", 0.1)
    filler = tiny_tmpfs / "filler"
    _fill(filler)
    s = RecordStore(RuntimeSettings(state_dir=tiny_tmpfs / "state"), beat_interval_s=0.05)
    s.start()
    state, error = s.health()
    assert state == "failed", error
    assert s.add_report("washer", 1, "x", timeout=0.5) is None
    assert RecordReader(tiny_tmpfs / "state" / DB_NAME).stats()["today"]["turns"] == 0
    filler.unlink()  # space comes back: the writer reopens by itself
    deadline = time.monotonic() + 5
    while s.health()[0] != "ok" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert s.health()[0] == "ok"
    assert s.add_report("washer", 1, "after recovery") == 1
    s.close()


def test_corruption_at_run_time_moves_db_aside(runtime, caplog):
    s = RecordStore(runtime, beat_interval_s=0.05)
    s.start()
    assert s.add_report("washer", 1, "before") == 1
    assert s.flush()
    db = runtime.state_dir / DB_NAME
    exc = sqlite3.DatabaseError("database disk image is malformed")
    exc.sqlite_errorcode = sqlite3.SQLITE_CORRUPT
    with s._cond:  # hold the writer still while we break the file under it
        s._write_failed(exc, "test")  # what the writer does on SQLITE_CORRUPT: close it
        db.write_bytes(os.urandom(8192))  # a failing SD card: the file turns to garbage
        for side in ("-wal", "-shm"):
            Path(f"{db}{side}").unlink(missing_ok=True)
    assert s.health()[0] == "degraded"
    rid = None
    deadline = time.monotonic() + 5
    while rid is None and time.monotonic() < deadline:
        rid = s.add_report("washer", 2, "after", timeout=1)
        time.sleep(0.05)
    assert rid == 1  # a fresh database
    assert s.moved_aside is not None and s.moved_aside.exists()
    assert sql(db, "PRAGMA integrity_check") == [("ok",)]
    assert "became corrupt" in caplog.text
    s.close()


def test_health_clears_after_disk_full_without_waiting_for_traffic(tiny_tmpfs, monkeypatch):
    monkeypatch.setattr(connection, "DISK_PROBE_EVERY_S", 0.2)
    rt = RuntimeSettings(state_dir=tiny_tmpfs / "state", db_queue_max=10_000)
    filler = tiny_tmpfs / "filler"
    filler.touch()
    s = RecordStore(rt, beat_interval_s=0.1)
    s.start()
    try:
        _fill(filler)
        for _ in range(200):
            s.record_interaction(Interaction(time.time(), "answered", transcript="y" * 4000))
            assert s.flush()
            if s.disk_full_errors:
                break
        assert s.health()[0] == "degraded"
        filler.unlink()  # the operator frees space; no customer turn happens afterwards
        deadline = time.monotonic() + 5
        while s.health()[0] != "ok" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert s.health()[0] == "ok"
    finally:
        s.close()
