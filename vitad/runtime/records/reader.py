"""Reading (and acknowledging) records: problem reports and turn statistics.

Each call opens its own short-lived connection, so a separate ``vitad reports`` process works
while the daemon writes (WAL allows concurrent readers).
"""

from __future__ import annotations

import logging
import sqlite3
import statistics
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from vitad.runtime.records.schema import connect

log = logging.getLogger(__name__)


class RecordsError(Exception):
    """A strict :class:`RecordReader` could not read/update the database."""


class RecordReader:
    """Read (and ack) API on a DB file; opens a short-lived connection per call.

    Used by :class:`RecordStore` and directly by the operator CLI in another process.
    Errors are logged and returned as empty results — or, with ``strict=True`` (the CLI, which
    prints its own one-line message), raised as :class:`RecordsError`.
    """

    def __init__(self, db_path: Path, strict: bool = False) -> None:
        self.db_path = Path(db_path)
        self.strict = strict

    def _error(self, what: str, exc: sqlite3.Error) -> None:
        message = f"cannot {what} {self.db_path}: {exc}"
        if self.strict:
            raise RecordsError(message) from None
        log.error("records: %s", message)

    @contextmanager
    def _read_conn(self) -> Iterator[sqlite3.Connection]:
        with closing(connect(self.db_path, create=False)) as conn:
            conn.row_factory = sqlite3.Row
            yield conn

    def list_reports(self, unacked_only: bool = True) -> list[dict[str, Any]]:
        where = "WHERE acked_at IS NULL" if unacked_only else ""
        try:
            with self._read_conn() as conn:
                rows = conn.execute(
                    "SELECT id, time, machine_type, machine_number, text, turn_id, acked_at "
                    f"FROM problem_reports {where} ORDER BY id"
                ).fetchall()
        except sqlite3.Error as exc:
            self._error("read problem reports from", exc)
            return []
        return [dict(r) for r in rows]

    def unacked_reports(self) -> tuple[int, float | None]:
        """How many problem reports wait for staff, and the oldest one's time (None: none).

        One indexed COUNT/MIN, not the rows: the metrics writer asks every interval, and a
        shop nobody acknowledges for months may hold thousands of reports."""
        try:
            with self._read_conn() as conn:
                count, oldest = conn.execute(
                    "SELECT COUNT(*), MIN(time) FROM problem_reports WHERE acked_at IS NULL"
                ).fetchone()
        except sqlite3.Error as exc:
            self._error("count problem reports in", exc)
            return 0, None
        return int(count), oldest

    def ack_report(self, report_id: int, now: float | None = None) -> bool:
        """Mark a report handled. False if no such unacknowledged report (or the DB failed)."""
        now = time.time() if now is None else now
        try:
            with self._read_conn() as conn:
                cur = conn.execute(
                    "UPDATE problem_reports SET acked_at=? WHERE id=? AND acked_at IS NULL",
                    (now, int(report_id)),
                )
                return cur.rowcount == 1
        except sqlite3.Error as exc:
            self._error(f"acknowledge report {report_id} in", exc)
            return False

    def stats(self, now: float | None = None) -> dict[str, Any]:
        """Today and the last 7 days (including today): turns, outcomes, top intents, latency."""
        now = time.time() if now is None else now
        today = datetime.fromtimestamp(now).date()
        week_start = (today - timedelta(days=6)).isoformat()
        try:
            with self._read_conn() as conn:
                return {
                    "today": self._period(conn, today.isoformat(), today.isoformat()),
                    "last_7_days": self._period(conn, week_start, today.isoformat()),
                    "unacked_reports": conn.execute(
                        "SELECT COUNT(*) FROM problem_reports WHERE acked_at IS NULL"
                    ).fetchone()[0],
                }
        except sqlite3.Error as exc:
            self._error("compute stats from", exc)
            empty = self._empty_period()
            return {"today": empty, "last_7_days": empty, "unacked_reports": 0}

    @staticmethod
    def _empty_period() -> dict[str, Any]:
        return {
            "turns": 0,
            "failures": 0,
            "outcomes": {},
            "top_intents": [],
            "median_latency_s": None,
            "p90_latency_s": None,
            "counters": {},
        }

    @staticmethod
    def _period(conn: sqlite3.Connection, first: str, last: str) -> dict[str, Any]:
        span = (first, last)
        outcomes = dict(
            conn.execute(
                "SELECT outcome, COUNT(*) FROM interactions WHERE day BETWEEN ? AND ? "
                "GROUP BY outcome",
                span,
            ).fetchall()
        )
        intents = conn.execute(
            "SELECT intent, COUNT(*) AS n FROM interactions WHERE day BETWEEN ? AND ? "
            "AND intent IS NOT NULL GROUP BY intent ORDER BY n DESC, intent LIMIT 5",
            span,
        ).fetchall()
        latencies = sorted(
            r[0]
            for r in conn.execute(
                "SELECT latency_s FROM interactions WHERE day BETWEEN ? AND ? "
                "AND latency_s IS NOT NULL",
                span,
            )
        )
        counters = dict(
            conn.execute(
                "SELECT name, SUM(count) FROM daily_counters WHERE day BETWEEN ? AND ? "
                "GROUP BY name ORDER BY name",
                span,
            ).fetchall()
        )
        p90 = latencies[min(len(latencies) - 1, int(0.9 * len(latencies)))] if latencies else None
        return {
            "turns": sum(outcomes.values()),
            "failures": outcomes.get("error", 0),
            "outcomes": outcomes,
            "top_intents": [[r[0], r[1]] for r in intents],
            "median_latency_s": statistics.median(latencies) if latencies else None,
            "p90_latency_s": p90,
            "counters": counters,
        }
