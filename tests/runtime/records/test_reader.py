"""RecordReader on real SQLite files: stats, acknowledging, errors (strict and lenient)."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from tests.runtime.records.conftest import DAY
from vitad.config.runtime_settings import RuntimeSettings
from vitad.runtime.records import DB_NAME, Interaction, RecordReader, RecordsError, RecordStore


def test_stats_and_ack(tmp_path):
    now = time.time()
    s = RecordStore(RuntimeSettings(state_dir=tmp_path), clock=lambda: now)
    s.start()
    rows = [  # (days ago, outcome, intent, latency)
        (0, "answered", "hours", 0.5),
        (0, "answered", "hours", 0.9),
        (0, "error", None, None),
        (0, "answered", "prices", 1.3),
        (3, "fallback", None, 2.0),
        (3, "answered", "prices", 0.6),
        (3, "answered", "prices", 0.8),
        (10, "answered", "hours", 9.0),  # outside the 7-day window
    ]
    for ago, outcome, intent, lat in rows:
        s.record_interaction(Interaction(now - ago * DAY, outcome, intent=intent, latency_s=lat))
    s.incr("wakes", 5, now=now)
    s.incr("wakes", 2, now=now - 3 * DAY)
    r1 = s.add_report("washer", 3, "door stuck")
    r2 = s.add_report("dryer", None, "no heat")
    assert s.flush()
    st = s.stats(now)
    assert st["today"]["turns"] == 4
    assert st["today"]["failures"] == 1
    assert st["today"]["median_latency_s"] == pytest.approx(0.9)
    assert st["today"]["top_intents"] == [["hours", 2], ["prices", 1]]
    assert st["today"]["counters"] == {"wakes": 5}
    week = st["last_7_days"]
    assert week["turns"] == 7
    assert week["outcomes"] == {"answered": 5, "error": 1, "fallback": 1}
    assert week["top_intents"] == [["prices", 3], ["hours", 2]]
    assert week["median_latency_s"] == pytest.approx((0.8 + 0.9) / 2)
    assert week["counters"] == {"wakes": 7}
    assert st["unacked_reports"] == 2
    count, oldest = s.unacked_reports()
    assert count == 2 and oldest == min(r["time"] for r in s.list_reports())

    assert s.ack_report(r1) is True
    assert s.ack_report(r1) is False  # already acknowledged
    assert s.ack_report(9999) is False
    assert [r["id"] for r in s.list_reports()] == [r2]
    assert s.unacked_reports() == (1, s.list_reports()[0]["time"])
    assert [r["id"] for r in s.list_reports(unacked_only=False)] == [r1, r2]
    s.close()


def test_strict_reader_names_a_missing_db_and_creates_nothing(tmp_path: Path) -> None:
    db = tmp_path / DB_NAME
    with pytest.raises(RecordsError) as info:
        RecordReader(db, strict=True).list_reports()
    message = str(info.value)
    assert message.startswith(f"cannot read problem reports from {db}: ") and "\n" not in message
    assert not db.exists()  # `vitad reports` run as root must not leave a root-owned file


def test_lenient_reader_logs_and_returns_empty_results(tmp_path: Path, caplog) -> None:
    db = tmp_path / DB_NAME
    db.write_bytes(b"this is not a database\n" * 200)
    reader = RecordReader(db)
    with caplog.at_level(logging.ERROR):
        assert reader.list_reports() == []
        assert reader.ack_report(1) is False
        stats = reader.stats()
    assert stats["today"]["turns"] == 0 and stats["last_7_days"]["outcomes"] == {}
    assert stats["unacked_reports"] == 0
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.startswith(f"records: cannot compute stats from {db}") for m in messages)
    assert any(m.startswith(f"records: cannot acknowledge report 1 in {db}") for m in messages)
