"""The database file on real SQLite files: schema, migrations, corruption, salvage, modes."""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from contextlib import closing
from pathlib import Path

import pytest

from tests.runtime.records.conftest import sql
from vitad.runtime.records import DB_NAME, MIGRATIONS, SCHEMA_VERSION, Interaction, RecordStore


def test_fresh_db_has_current_schema(store, runtime):
    db = runtime.state_dir / DB_NAME
    assert store.health() == ("ok", None)
    assert sql(db, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    assert sql(db, "PRAGMA journal_mode") == [("wal",)]
    tables = {r[0] for r in sql(db, "SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"interactions", "problem_reports", "daily_counters"} <= tables


def test_migrates_old_schema_keeping_rows(runtime):
    runtime.state_dir.mkdir(parents=True)
    db = runtime.state_dir / DB_NAME
    with closing(sqlite3.connect(db)) as conn:
        for stmt in MIGRATIONS[0]:
            conn.execute(stmt)
        conn.execute("INSERT INTO problem_reports (time, text) VALUES (1.0, 'old report')")
        conn.execute("PRAGMA user_version=1")
        conn.commit()
    s = RecordStore(runtime)
    try:
        assert sql(db, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
        [report] = s.list_reports()
        assert report["text"] == "old report"
        assert report["turn_id"] is None  # column added by migration 2
    finally:
        s.close()


def test_newer_schema_is_used_not_rejected(runtime, caplog):
    runtime.state_dir.mkdir(parents=True)
    db = runtime.state_dir / DB_NAME
    RecordStore(runtime).close()
    with closing(sqlite3.connect(db)) as conn:
        conn.execute(f"PRAGMA user_version={SCHEMA_VERSION + 5}")
    with caplog.at_level(logging.WARNING):
        s = RecordStore(runtime)
    assert s.health()[0] == "ok"
    assert "newer than this vitad" in caplog.text
    s.close()


@pytest.mark.parametrize("damage", ["not_sqlite", "damaged_pages"])
def test_corrupt_db_is_moved_aside_and_replaced(runtime, caplog, damage):
    runtime.state_dir.mkdir(parents=True)
    db = runtime.state_dir / DB_NAME
    if damage == "not_sqlite":
        db.write_bytes(b"this is not a database\n" * 500)
    else:
        s = RecordStore(runtime)
        s.start()
        for i in range(300):
            s.record_interaction(Interaction(time.time(), "answered", intent=f"i{i}"))
        assert s.flush()
        s.close()
        with closing(sqlite3.connect(db)) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        data = bytearray(db.read_bytes())
        assert len(data) > 3 * 4096
        data[4096 + 100 : 3 * 4096] = os.urandom(3 * 4096 - 4096 - 100)
        db.write_bytes(bytes(data))
    original = db.read_bytes()
    with caplog.at_level(logging.ERROR):
        s = RecordStore(runtime)
    try:
        assert s.moved_aside is not None
        assert s.moved_aside.name.startswith("vitad.db.corrupt-")
        assert s.moved_aside.read_bytes() == original
        lines = [r for r in caplog.records if "moved it to" in r.getMessage()]
        assert len(lines) == 1
        s.start()
        assert s.add_report("dryer", 2, "drum not turning") == 1
        assert sql(db, "PRAGMA integrity_check") == [("ok",)]
    finally:
        s.close()


def test_reports_survive_a_corrupt_db_with_their_ids(runtime):
    runtime.state_dir.mkdir(parents=True)
    db = runtime.state_dir / DB_NAME
    s = RecordStore(runtime)
    s.start()
    ids = [s.add_report("dryer", n, f"dryer {n} not heating") for n in (1, 2, 3)]
    assert ids == [1, 2, 3] and s.ack_report(2)
    for i in range(300):  # interactions fill the pages after the reports table
        s.record_interaction(Interaction(time.time(), "answered", intent=f"i{i}"))
    assert s.flush()
    s.close()
    with closing(sqlite3.connect(db)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        reports_page = conn.execute(
            "SELECT rootpage FROM sqlite_master WHERE name='problem_reports'").fetchone()[0]
        damaged = conn.execute(
            "SELECT rootpage FROM sqlite_master WHERE name='interactions'").fetchone()[0]
    assert damaged != reports_page
    data = bytearray(db.read_bytes())
    start = (damaged - 1) * 4096
    data[start : start + 4096] = os.urandom(4096)
    db.write_bytes(bytes(data))

    s = RecordStore(runtime)
    try:
        assert s.moved_aside is not None and s.recovered_reports == 3
        unacked = s.list_reports()
        assert [(r["id"], r["text"]) for r in unacked] == [
            (1, "dryer 1 not heating"), (3, "dryer 3 not heating")]
        state, why = s.health()
        assert state == "degraded" and "3 problem report(s) recovered" in (why or "")
        s.start()
        assert s.add_report("washer", 4, "door stuck") == 4  # ids continue, never reused
    finally:
        s.close()


def test_db_and_wal_are_private_whatever_the_umask(runtime):
    old = os.umask(0o022)
    try:
        s = RecordStore(runtime)
        s.start()
        assert s.add_report("washer", 1, "leaking") == 1
        db = runtime.state_dir / DB_NAME
        for path in (db, Path(f"{db}-wal")):
            assert path.stat().st_mode & 0o777 == 0o640, path
        s.close()
    finally:
        os.umask(old)
