"""What callers hand the writer thread (rows, report jobs) and the SQL that stores them.

The SQL functions run inside the caller's transaction and leave BEGIN, COMMIT, ROLLBACK and
error handling to :class:`~vitad.runtime.records.connection.WriteConnection`.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from vitad.runtime.records.schema import local_day


@dataclass(frozen=True)
class Interaction:
    """One customer turn, as the ``interactions`` table keeps it."""

    time: float
    outcome: str
    turn_id: str | None = None
    intent: str | None = None
    latency_s: float | None = None
    asr_s: float | None = None
    tts_s: float | None = None
    transcript: str | None = None


@dataclass(frozen=True)
class Counter:
    """Add ``n`` to the daily counter ``name`` of ``day``."""

    day: str
    name: str
    n: int


@dataclass
class ReportJob:
    """A problem report handed to the writer thread; the caller waits on ``done``.

    A caller that gives up waiting withdraws the job unless the writer has already claimed
    it: a withdrawn report is never written, so "not stored" is never a lie.
    """

    machine_type: str | None
    machine_number: int | None
    text: str
    turn_id: str | None
    time: float
    done: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    phase: Literal["queued", "started", "withdrawn"] = "queued"
    report_id: int | None = None

    def claim(self) -> bool:
        """Writer side: start on the job; False if the caller has withdrawn it."""
        return self._leave_queue("started")

    def withdraw(self) -> bool:
        """Caller side: cancel the job; False if the writer has already started on it."""
        return self._leave_queue("withdrawn")

    def _leave_queue(self, phase: Literal["started", "withdrawn"]) -> bool:
        with self.lock:  # the caller's timeout and the writer may race: exactly one wins
            if self.phase != "queued":
                return False
            self.phase = phase
            return True


def insert_rows(conn: sqlite3.Connection, batch: Iterable[Interaction | Counter]) -> None:
    """Insert interactions and add up counters."""
    for item in batch:
        if isinstance(item, Counter):
            conn.execute(
                "INSERT INTO daily_counters (day, name, count) VALUES (?, ?, ?) "
                "ON CONFLICT(day, name) DO UPDATE SET count = count + excluded.count",
                (item.day, item.name, item.n),
            )
        else:
            conn.execute(
                "INSERT INTO interactions (time, day, turn_id, intent, outcome, "
                "latency_s, asr_s, tts_s, transcript) VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    item.time,
                    local_day(item.time),
                    item.turn_id,
                    item.intent,
                    item.outcome,
                    item.latency_s,
                    item.asr_s,
                    item.tts_s,
                    item.transcript,
                ),
            )


def insert_report(
    conn: sqlite3.Connection,
    time: float,
    machine_type: str | None,
    machine_number: int | None,
    text: str,
    turn_id: str | None,
) -> int | None:
    """Insert one problem report; returns its id."""
    cur = conn.execute(
        "INSERT INTO problem_reports (time, machine_type, machine_number, text, "
        "turn_id) VALUES (?, ?, ?, ?, ?)",
        (time, machine_type, machine_number, text, turn_id),
    )
    return cur.lastrowid


def prune_rows(conn: sqlite3.Connection, keep_from: float, transcript_cut: float) -> dict[str, int]:
    """Delete rows older than ``keep_from`` (unacknowledged reports never) and erase
    transcripts older than ``transcript_cut``. Returns how many rows each step touched."""
    return {
        "interactions": conn.execute(
            "DELETE FROM interactions WHERE time < ?", (keep_from,)
        ).rowcount,
        "transcripts": conn.execute(
            "UPDATE interactions SET transcript=NULL "
            "WHERE transcript IS NOT NULL AND time < ?",
            (transcript_cut,),
        ).rowcount,
        "counters": conn.execute(
            "DELETE FROM daily_counters WHERE day < ?", (local_day(keep_from),)
        ).rowcount,
        "reports": conn.execute(
            "DELETE FROM problem_reports WHERE acked_at IS NOT NULL AND acked_at < ?",
            (keep_from,),
        ).rowcount,
    }
