"""The writer thread's connection: opening it, one transaction per write, and failures.

What a failure means is decided here: disk full rolls the transaction back, is logged once
per episode and counted, and the next write (or an idle probe) finds out when space is back;
a corrupt file is closed and reopened (moved aside, reports salvaged); a database that cannot
be opened leaves the store *failed* and is retried on a :class:`vitad.bounded.Backoff`.
Only :class:`~vitad.runtime.records.writer.RecordStore`'s thread calls these methods.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

from vitad.bounded import Backoff
from vitad.config.runtime_settings import PrivacySettings, RuntimeSettings
from vitad.runtime.records.reader import RecordReader
from vitad.runtime.records.rows import (
    Counter,
    Interaction,
    ReportJob,
    insert_report,
    insert_rows,
    prune_rows,
)
from vitad.runtime.records.schema import (
    DB_NAME,
    is_disk_full,
    is_usable,
    local_day,
    move_aside,
    open_for_writing,
    salvage_reports,
)

log = logging.getLogger(__name__)

DISK_FULL_LOG_EVERY_S = 600.0
CORRUPT_NOTICE_S = 24 * 3600.0  # health says "degraded" this long after a corrupt DB
DISK_PROBE_EVERY_S = 5.0  # after "disk full", how often an idle writer checks for space
REOPEN_EVERY_S = 60.0  # a DB that could not be opened (full/read-only disk) is retried this often


class WriteConnection(RecordReader):
    """The write connection and the store's state; never raises into the daemon.

    ``state`` is "ok", "degraded" (writes failing) or "failed" (no database open); the
    counters feed ``vitad health`` and the metrics.
    """

    def __init__(
        self,
        runtime: RuntimeSettings,
        privacy: PrivacySettings,
        clock: Callable[[], float],
    ) -> None:
        super().__init__(Path(runtime.state_dir) / DB_NAME)
        self.runtime = runtime
        self.privacy = privacy
        self._clock = clock
        self._conn: sqlite3.Connection | None = None
        # Fixed intervals (initial == maximum): reopen a DB that failed; probe for free space.
        self._reopen = Backoff(REOPEN_EVERY_S, REOPEN_EVERY_S)
        self._disk_probe = Backoff(DISK_PROBE_EVERY_S, DISK_PROBE_EVERY_S)
        self._disk_full_logged_at: float | None = None
        # counters (read by health/metrics)
        self.dropped = 0
        self.disk_full_errors = 0
        self.write_errors = 0
        self.written = 0
        self.moved_aside: Path | None = None
        self.moved_aside_at = 0.0
        self.recovered_reports: int | None = None
        self.state = "ok"
        self.last_error: str | None = None
        self._open()

    # --- opening ------------------------------------------------------------------------------
    def _open(self) -> None:
        """Open (and check, migrate) the DB; on any failure end up 'failed' — never raise."""
        try:
            self.db_path.parent.mkdir(mode=0o750, parents=True, exist_ok=True)
        except OSError as exc:
            self._fail(f"cannot create state dir {self.db_path.parent}: {exc.strerror or exc}")
            return
        if self.db_path.exists() and not is_usable(self.db_path):
            target = move_aside(self.db_path)
            if target is not None:
                self.moved_aside = target
                self.moved_aside_at = time.monotonic()
        try:
            conn = open_for_writing(self.db_path)
            if self.moved_aside is not None and self.recovered_reports is None:
                self.recovered_reports = salvage_reports(self.moved_aside, conn)
        except (sqlite3.DatabaseError, OSError) as exc:
            if is_disk_full(exc):
                self.disk_full_errors += 1
                self._fail(f"disk full while opening {self.db_path}")
            else:
                self._fail(f"cannot open {self.db_path}: {exc}")
            return
        self._conn = conn
        self.state = "ok"
        if self.moved_aside is not None:
            self.last_error = (f"database was corrupt: moved to {self.moved_aside.name}, "
                               f"{self.recovered_reports or 0} problem report(s) recovered")

    def _fail(self, message: str) -> None:
        self.state = "failed"
        if message != self.last_error:  # retried every REOPEN_EVERY_S: log changes only
            log.error("records: %s; records are not being kept", message)
        self.last_error = message

    # --- state --------------------------------------------------------------------------------
    def health(self) -> tuple[str, str | None]:
        """("ok" | "degraded" | "failed", last_error) for the health document.

        A database found corrupt stays "degraded" for a day so an operator looking at
        ``vitad health`` or STATUS sees that it happened (and how many reports were saved).
        """
        if (self.state == "ok" and self.moved_aside is not None
                and time.monotonic() - self.moved_aside_at < CORRUPT_NOTICE_S):
            return "degraded", self.last_error
        return self.state, self.last_error

    def _close_connection(self) -> None:
        if self._conn is not None:
            with suppress(sqlite3.Error):
                self._conn.execute("PRAGMA optimize")
            self._conn.close()
            self._conn = None

    # --- writing (writer thread) --------------------------------------------------------------
    def _probe_after_disk_full(self) -> None:
        """Idle writer after a disk-full episode: try a one-row write every few seconds.

        Without it ``vitad health`` kept saying "disk full" after space was freed until the
        next customer turn happened to write something (found by bench/chaos.py).
        """
        if self.state != "degraded" or not (self.last_error or "").startswith("disk full"):
            return
        if not self._disk_probe.due():
            return
        self._disk_probe.failed()  # schedules the next probe, whatever this one finds
        self._write_batch([Counter(local_day(self._clock()), "disk_full_probes", 1)])

    def _maybe_reopen(self) -> None:
        """Writer thread: retry opening a DB that failed (disk was full, corrupt at run time)."""
        if not self._reopen.due():
            return
        self._reopen.failed()  # schedules the next attempt, whatever this one finds
        self._open()
        if self._conn is not None:
            self._reopen.succeeded()
            log.warning("records: %s is open again; keeping records", self.db_path)

    def _write_report(self, job: ReportJob) -> None:
        if not job.claim():
            return  # the caller gave up waiting and withdrew it
        try:
            if self._conn is None:
                return
            conn = self._conn
            conn.execute("PRAGMA synchronous=FULL")
            try:
                conn.execute("BEGIN IMMEDIATE")
                rid = insert_report(conn, job.time, job.machine_type, job.machine_number,
                                    job.text, job.turn_id)
                conn.execute("COMMIT")
                job.report_id = rid
                self.written += 1
                self._ok()
            except sqlite3.Error as exc:
                self._rollback()
                self._write_failed(exc, "problem report")
            finally:
                if self._conn is conn:  # not if it was closed as corrupt meanwhile
                    conn.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.Error as exc:
            self._write_failed(exc, "problem report")
        finally:
            job.done.set()

    def _write_batch(self, batch: list[Interaction | Counter]) -> None:
        if self._conn is None:
            self.dropped += len(batch)
            return
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            insert_rows(conn, batch)
            conn.execute("COMMIT")
            self.written += len(batch)
            self._ok()
        except sqlite3.Error as exc:
            self._rollback()
            self.dropped += len(batch)
            self._write_failed(exc, f"{len(batch)} record(s)")

    def _rollback(self) -> None:
        assert self._conn is not None
        if self._conn.in_transaction:
            with suppress(sqlite3.Error):
                self._conn.execute("ROLLBACK")

    def _ok(self) -> None:
        if self.state != "ok":
            log.warning("records: writing to %s works again", self.db_path)
        self.state = "ok"

    def _write_failed(self, exc: sqlite3.Error, what: str) -> None:
        self.state = "degraded"
        code = getattr(exc, "sqlite_errorcode", None)
        if code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB) and self._conn is not None:
            # Corrupted under us (bad SD card sector?): close; the writer's next wakeup
            # reopens, which runs quick_check and moves the file aside.
            log.error("records: %s became corrupt (%s); reopening", self.db_path, exc)
            self.write_errors += 1
            self.last_error = f"database corrupt: {exc}"
            with suppress(sqlite3.Error):
                self._conn.close()
            self._conn = None
            self._reopen.retry_now()
            return
        if is_disk_full(exc):
            self.disk_full_errors += 1
            self.last_error = f"disk full ({self.db_path.parent})"
            now = time.monotonic()
            last = self._disk_full_logged_at
            if last is None or now - last >= DISK_FULL_LOG_EVERY_S:  # no log flood if it flaps
                self._disk_full_logged_at = now
                log.error(
                    "records: disk full: cannot write %s to %s (%d time(s) so far); dropping "
                    "records until space is freed (the database itself is intact)",
                    what,
                    self.db_path,
                    self.disk_full_errors,
                )
            return
        self.write_errors += 1
        self.last_error = f"{type(exc).__name__}: {exc}"
        log.error("records: cannot write %s to %s: %s", what, self.db_path, exc)

    # --- retention ----------------------------------------------------------------------------
    def prune(self, now: float | None = None) -> dict[str, int]:
        """Apply retention: old interactions/counters/acked reports go; old transcripts erased.

        Runs on the writer thread hourly; callable directly when the writer is not running.
        With ``store_transcripts`` off every stored transcript is erased (privacy switched off
        after being on must not leave old text behind). Unacknowledged reports are never pruned.
        """
        if self._conn is None:
            return {}
        now = self._clock() if now is None else now
        keep_from = now - self.runtime.retention_days * 86400
        if self.privacy.store_transcripts:
            transcript_cut = now - self.privacy.retention_days * 86400
        else:
            transcript_cut = float("inf")
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            counts = prune_rows(conn, keep_from, transcript_cut)
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()
            self._write_failed(exc, "retention pruning")
            return {}
        if any(counts.values()):
            log.info("records: retention pruned %s", counts)
        return counts

