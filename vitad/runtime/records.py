"""SQLite records: interactions, problem reports, daily counters.

Design (an unattended appliance on an SD card that can lose power at any moment):

* **Never raise into the daemon.** A corrupt or non-SQLite ``vitad.db`` is moved aside as
  ``vitad.db.corrupt-<timestamp>`` (one log line) and a fresh one is created. If even that
  fails (read-only or full disk) the store runs *failed*: writes are dropped and counted, reads
  return empty results, :meth:`RecordStore.health` says why.
* **One writer thread** owns the write connection. Callers never wait on disk except for
  problem reports. Interactions and counters go through a bounded queue with a drop-oldest
  policy (counted in ``dropped``): statistics may lose a row under pressure, the pipeline must
  not stall.
* **Problem reports are never dropped.** :meth:`RecordStore.add_report` waits (with a timeout)
  until the row is COMMITted with ``synchronous=FULL``, and only then returns the id. The daemon
  tells the customer "reported" only for a returned id. Everything else is written with
  ``synchronous=NORMAL`` (WAL: consistent after power loss, may lose the last few rows).
* **Disk full** (``SQLITE_FULL``) rolls the transaction back, is logged once per episode and
  counted; the writer keeps going and succeeds again once space is back.
* Schema version lives in ``PRAGMA user_version``; :data:`MIGRATIONS` is append-only.
* Reads (operator commands, stats) open their own short-lived connections, so a separate
  ``vitad reports`` process works while the daemon runs (WAL allows concurrent readers).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import statistics
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from vitad import events as ev
from vitad.config.runtime_settings import PrivacySettings, RuntimeSettings

log = logging.getLogger(__name__)

DB_NAME = "vitad.db"
BUSY_TIMEOUT_MS = 5000
PRUNE_EVERY_S = 3600.0
DISK_FULL_LOG_EVERY_S = 600.0
CORRUPT_NOTICE_S = 24 * 3600.0  # health says "degraded" this long after a corrupt DB
DB_FILE_MODE = 0o640  # reports hold customers' words: not world-readable, whatever the umask
DISK_PROBE_EVERY_S = 5.0  # after "disk full", how often an idle writer checks for space
REOPEN_EVERY_S = 60.0  # a DB that could not be opened (full/read-only disk) is retried this often

# Append-only. Entry N (0-based) upgrades user_version N -> N+1. Never edit a shipped entry.
MIGRATIONS: list[list[str]] = [
    [
        """CREATE TABLE interactions (
            id INTEGER PRIMARY KEY,
            time REAL NOT NULL,          -- unix seconds
            day TEXT NOT NULL,           -- local date YYYY-MM-DD (the shop's day)
            turn_id TEXT,
            intent TEXT,
            outcome TEXT NOT NULL,       -- answered | no_speech | fallback | error
            latency_s REAL,              -- end of speech -> first reply audio
            asr_s REAL,
            tts_s REAL,
            transcript TEXT              -- only if privacy.store_transcripts
        )""",
        "CREATE INDEX interactions_time ON interactions(time)",
        "CREATE INDEX interactions_day ON interactions(day)",
        """CREATE TABLE problem_reports (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            time REAL NOT NULL,
            machine_type TEXT,
            machine_number INTEGER,
            text TEXT NOT NULL,
            acked_at REAL
        )""",
        """CREATE TABLE daily_counters (
            day TEXT NOT NULL,
            name TEXT NOT NULL,
            count INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (day, name)
        ) WITHOUT ROWID""",
    ],
    [
        "ALTER TABLE problem_reports ADD COLUMN turn_id TEXT",
        "CREATE INDEX problem_reports_unacked ON problem_reports(acked_at)",
    ],
]
SCHEMA_VERSION = len(MIGRATIONS)


def _day(ts: float) -> str:
    return datetime.fromtimestamp(ts).date().isoformat()


def _is_disk_full(exc: BaseException) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return code == sqlite3.SQLITE_FULL or "database or disk is full" in str(exc)


def connect(
    path: Path, timeout_s: float = BUSY_TIMEOUT_MS / 1000, create: bool = True
) -> sqlite3.Connection:
    """A connection in autocommit mode (we issue BEGIN/COMMIT ourselves) with busy_timeout.

    ``create=False`` fails on a missing file instead of creating an empty one (readers in
    another process, e.g. ``vitad reports`` run as root, must not create root-owned files).
    """
    target = str(path) if create else Path(path).absolute().as_uri() + "?mode=rw"
    conn = sqlite3.connect(
        target, timeout=timeout_s, isolation_level=None, check_same_thread=False, uri=not create
    )
    conn.execute(f"PRAGMA busy_timeout={int(timeout_s * 1000)}")
    return conn


def _create_private(path: Path) -> None:
    """Create the DB file owner/group-only whatever the umask: it holds customers' words.

    SQLite creates ``-wal`` and ``-shm`` with the main file's permissions, so they follow.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), DB_FILE_MODE)
    try:
        if os.fstat(fd).st_mode & 0o777 != DB_FILE_MODE:
            os.fchmod(fd, DB_FILE_MODE)
    finally:
        os.close(fd)


def salvage_reports(corrupt: Path, conn: sqlite3.Connection) -> int:
    """Copy every readable problem report (ids kept) from a corrupt DB into a fresh one.

    Reports are the records the staff act on: a corrupt page elsewhere must not make them
    vanish from ``vitad reports``, nor restart the ids an operator acknowledges by. Rows are
    read one at a time so one bad page loses only what it holds. Returns how many were saved.
    """
    saved = 0
    try:
        old = sqlite3.connect(f"{corrupt.absolute().as_uri()}?mode=ro", uri=True)
    except sqlite3.DatabaseError:
        return 0
    with closing(old):
        try:
            cursor = old.execute(
                "SELECT id, time, machine_type, machine_number, text, acked_at, turn_id "
                "FROM problem_reports ORDER BY id")
        except sqlite3.DatabaseError:
            try:  # schema v1 had no turn_id
                cursor = old.execute(
                    "SELECT id, time, machine_type, machine_number, text, acked_at, NULL "
                    "FROM problem_reports ORDER BY id")
            except sqlite3.DatabaseError:
                return 0
        conn.execute("BEGIN")
        try:
            while True:
                try:
                    row = cursor.fetchone()
                except sqlite3.DatabaseError:
                    break  # the rest sits on a bad page
                if row is None:
                    break
                conn.execute(
                    "INSERT OR IGNORE INTO problem_reports (id, time, machine_type, "
                    "machine_number, text, acked_at, turn_id) VALUES (?, ?, ?, ?, ?, ?, ?)", row)
                saved += 1
            conn.execute("COMMIT")
        except sqlite3.DatabaseError:
            conn.execute("ROLLBACK")
            return 0
    if saved:
        log.warning("records: recovered %d problem report(s) from %s", saved, corrupt)
    return saved


def migrate(conn: sqlite3.Connection, migrations: list[list[str]] = MIGRATIONS) -> int:
    """Bring the schema up to ``len(migrations)``; each step is one transaction. Returns version."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > len(migrations):
        log.warning(
            "records: database schema v%d is newer than this vitad (v%d); using it as is",
            version,
            len(migrations),
        )
        return version
    for target in range(version + 1, len(migrations) + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in migrations[target - 1]:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version={target}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return max(version, len(migrations))


class RecordsError(Exception):
    """A strict :class:`RecordReader` could not read/update the database."""


@dataclass
class _ReportJob:
    machine_type: str | None
    machine_number: int | None
    text: str
    turn_id: str | None
    time: float
    done: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    started: bool = False
    cancelled: bool = False
    report_id: int | None = None


@dataclass(frozen=True)
class Interaction:
    time: float
    outcome: str
    turn_id: str | None = None
    intent: str | None = None
    latency_s: float | None = None
    asr_s: float | None = None
    tts_s: float | None = None
    transcript: str | None = None


@dataclass(frozen=True)
class _Counter:
    day: str
    name: str
    n: int


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


class RecordStore(RecordReader):
    """The daemon's records: a writer thread plus the :class:`RecordReader` API.

    Typical wiring::

        store = RecordStore(cfg.runtime, cfg.privacy, on_beat=lambda: sup.beat("records"))
        sup.register("records", cfg.runtime.loop_deadline_s)
        store.start()
        bus.subscribe(store.on_event)              # counts wakes/errors, records turns
        rid = store.add_report("washer", 3, "door stuck", turn_id=t)  # None -> say "sorry"
        ...
        store.close()
    """

    def __init__(
        self,
        runtime: RuntimeSettings | None = None,
        privacy: PrivacySettings | None = None,
        on_beat: Callable[[], None] | None = None,
        beat_interval_s: float = 1.0,
        clock: Callable[[], float] = time.time,
        prune_interval_s: float | None = PRUNE_EVERY_S,
    ) -> None:
        self.runtime = runtime or RuntimeSettings()
        self.privacy = privacy or PrivacySettings()
        super().__init__(Path(self.runtime.state_dir) / DB_NAME)
        self._on_beat = on_beat
        self._beat_interval_s = beat_interval_s
        self._prune_interval_s = prune_interval_s  # None: only explicit prune() calls
        self._clock = clock
        self._cond = threading.Condition()
        self._queue: deque[Interaction | _Counter] = deque()
        self._reports: deque[_ReportJob] = deque()
        self._busy = False
        self._stop = False
        self._thread: threading.Thread | None = None
        self._conn: sqlite3.Connection | None = None
        self._transcripts: dict[str, str] = {}
        self._last_prune = 0.0
        self._next_reopen = 0.0
        self._next_disk_probe = 0.0
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
        if self.db_path.exists() and not self._usable(self.db_path):
            self._move_aside()
        try:
            _create_private(self.db_path)
            conn = connect(self.db_path)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA journal_size_limit=1048576")
            conn.execute("PRAGMA foreign_keys=ON")
            migrate(conn)
            if self.moved_aside is not None and self.recovered_reports is None:
                self.recovered_reports = salvage_reports(self.moved_aside, conn)
        except (sqlite3.DatabaseError, OSError) as exc:
            if _is_disk_full(exc):
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

    @staticmethod
    def _usable(path: Path) -> bool:
        try:
            with closing(connect(path)) as conn:
                rows = conn.execute("PRAGMA quick_check").fetchall()
            return rows == [("ok",)]
        except sqlite3.DatabaseError:
            return False

    def _move_aside(self) -> None:
        stamp = datetime.now().strftime("%Y%m%dT%H%M%S")
        target = self.db_path.with_name(f"{self.db_path.name}.corrupt-{stamp}")
        n = 1
        while target.exists():
            n += 1
            target = self.db_path.with_name(f"{self.db_path.name}.corrupt-{stamp}-{n}")
        try:
            os.replace(self.db_path, target)
            for suffix in ("-wal", "-shm"):
                side = Path(f"{self.db_path}{suffix}")
                if side.exists():
                    os.replace(side, Path(f"{target}{suffix}"))
        except OSError as exc:
            log.error("records: %s is corrupt and cannot be moved aside: %s", self.db_path, exc)
            return
        self.moved_aside = target
        self.moved_aside_at = time.monotonic()
        log.error(
            "records: %s is not a valid SQLite database (corrupt?); moved it to %s and "
            "started a fresh one",
            self.db_path,
            target,
        )

    def _fail(self, message: str) -> None:
        self.state = "failed"
        if message != self.last_error:  # retried every REOPEN_EVERY_S: log changes only
            log.error("records: %s; records are not being kept", message)
        self.last_error = message

    # --- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        """Start the writer thread (idempotent)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="records", daemon=True)
            self._thread.start()

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything queued so far has been written (or failed). For tests/shutdown."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._queue or self._reports or self._busy:
                left = deadline - time.monotonic()
                if left <= 0 or self._thread is None or not self._thread.is_alive():
                    return False
                self._cond.wait(min(left, 0.05))
        return True

    def close(self, timeout: float = 5.0) -> None:
        """Drain the queue, stop the writer, close the connection."""
        if self._thread is not None:
            self.flush(timeout)
            with self._cond:
                self._stop = True
                self._cond.notify_all()
            self._thread.join(timeout)
            self._thread = None
        if self._conn is not None:
            with suppress(sqlite3.Error):
                self._conn.execute("PRAGMA optimize")
            self._conn.close()
            self._conn = None

    # --- writing (any thread) ----------------------------------------------------------------
    def record_interaction(self, interaction: Interaction) -> None:
        """Queue one turn. Transcript is dropped here unless privacy.store_transcripts."""
        if not self.privacy.store_transcripts and interaction.transcript is not None:
            interaction = Interaction(**{**interaction.__dict__, "transcript": None})
        self._enqueue(interaction)

    def incr(self, name: str, n: int = 1, now: float | None = None) -> None:
        """Add ``n`` to today's counter ``name`` (wakes, errors.asr, ...)."""
        self._enqueue(_Counter(_day(self._clock() if now is None else now), name, n))

    def _enqueue(self, item: Interaction | _Counter) -> None:
        with self._cond:
            if len(self._queue) >= self.runtime.db_queue_max:
                self._queue.popleft()
                self.dropped += 1
            self._queue.append(item)
            self._cond.notify()

    def add_report(
        self,
        machine_type: str | None,
        machine_number: int | None,
        text: str,
        turn_id: str | None = None,
        timeout: float | None = None,
    ) -> int | None:
        """Store a problem report durably; return its id only after COMMIT (synchronous=FULL).

        Returns None if it could not be stored within ``timeout`` (default
        runtime.report_timeout_s) — the caller must then not claim it was reported.
        A report not yet started when the timeout expires is withdrawn, so None means "not
        stored" except in the narrow case where the commit was already under way.
        """
        if self._conn is None or self._thread is None:
            return None
        job = _ReportJob(machine_type, machine_number, text, turn_id, self._clock())
        with self._cond:
            self._reports.append(job)
            self._cond.notify()
        wait = self.runtime.report_timeout_s if timeout is None else timeout
        if job.done.wait(wait):
            return job.report_id
        with job.lock:
            if not job.started:
                job.cancelled = True
                log.error("records: problem report not stored within %.1f s (writer busy)", wait)
                return None
        job.done.wait(2.0)  # commit under way: give it a moment more
        return job.report_id

    # --- events -------------------------------------------------------------------------------
    def on_event(self, event: ev.Event) -> None:
        """EventBus subscriber: counters for wakes/errors/degraded, a row per TurnEnd.

        Problem reports are *not* taken from events: the dialogue must call
        :meth:`add_report` itself so it can acknowledge only durable reports.
        """
        match event:
            case ev.Wake(barge_in=barge_in):
                self.incr("wakes")
                if barge_in:
                    self.incr("barge_ins")
            case ev.StageError(stage=stage):
                self.incr(f"errors.{stage}")
            case ev.Degraded(active=True, mode=mode):
                self.incr(f"degraded.{mode}")
            case ev.Transcript(final=True) if self.privacy.store_transcripts:
                if len(self._transcripts) > 64:  # turns that never ended; do not grow forever
                    self._transcripts.clear()
                self._transcripts[event.turn_id] = event.text
            case ev.TurnEnd():
                self.record_interaction(
                    Interaction(
                        time=self._clock(),
                        outcome=event.outcome,
                        turn_id=event.turn_id,
                        intent=event.intent,
                        latency_s=event.latency_s,
                        transcript=self._transcripts.pop(event.turn_id, None),
                    )
                )

    # --- health -------------------------------------------------------------------------------
    def health(self) -> tuple[str, str | None]:
        """("ok" | "degraded" | "failed", last_error) for the health document.

        A database found corrupt stays "degraded" for a day so an operator looking at
        ``vitad health`` or STATUS sees that it happened (and how many reports were saved).
        """
        if (self.state == "ok" and self.moved_aside is not None
                and time.monotonic() - self.moved_aside_at < CORRUPT_NOTICE_S):
            return "degraded", self.last_error
        return self.state, self.last_error

    def counters(self) -> dict[str, int]:
        with self._cond:
            depth = len(self._queue)
        return {
            "written": self.written,
            "dropped": self.dropped,
            "disk_full_errors": self.disk_full_errors,
            "write_errors": self.write_errors,
            "queue_depth": depth,
        }

    # --- writer thread ------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._cond:
                if not (self._queue or self._reports or self._stop):
                    self._cond.wait(self._beat_interval_s)
                if self._stop and not (self._queue or self._reports):
                    return
                reports = list(self._reports)
                self._reports.clear()
                batch = list(self._queue)
                self._queue.clear()
                self._busy = bool(reports or batch)
            try:
                if self._on_beat is not None:
                    self._on_beat()
                if self._conn is None:
                    self._maybe_reopen()
                for job in reports:
                    self._write_report(job)
                if batch:
                    self._write_batch(batch)
                elif not reports:
                    self._probe_after_disk_full()
                now = self._clock()
                interval = self._prune_interval_s
                if interval is not None and now - self._last_prune >= interval:
                    self._last_prune = now
                    self.prune(now)
            except Exception:  # the writer must survive anything
                log.exception("records: writer error")
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _probe_after_disk_full(self) -> None:
        """Idle writer after a disk-full episode: try a one-row write every few seconds.

        Without it ``vitad health`` kept saying "disk full" after space was freed until the
        next customer turn happened to write something (found by bench/chaos.py).
        """
        if self.state != "degraded" or not (self.last_error or "").startswith("disk full"):
            return
        now = time.monotonic()
        if now < self._next_disk_probe:
            return
        self._next_disk_probe = now + DISK_PROBE_EVERY_S
        self._write_batch([_Counter(_day(self._clock()), "disk_full_probes", 1)])

    def _maybe_reopen(self) -> None:
        """Writer thread: retry opening a DB that failed (disk was full, corrupt at run time)."""
        now = time.monotonic()
        if now < self._next_reopen:
            return
        self._next_reopen = now + REOPEN_EVERY_S
        self._open()
        if self._conn is not None:
            log.warning("records: %s is open again; keeping records", self.db_path)

    def _write_report(self, job: _ReportJob) -> None:
        with job.lock:
            if job.cancelled:
                return
            job.started = True
        try:
            if self._conn is None:
                return
            conn = self._conn
            conn.execute("PRAGMA synchronous=FULL")
            try:
                conn.execute("BEGIN IMMEDIATE")
                cur = conn.execute(
                    "INSERT INTO problem_reports (time, machine_type, machine_number, text, "
                    "turn_id) VALUES (?, ?, ?, ?, ?)",
                    (job.time, job.machine_type, job.machine_number, job.text, job.turn_id),
                )
                rid = cur.lastrowid
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

    def _write_batch(self, batch: list[Interaction | _Counter]) -> None:
        if self._conn is None:
            self.dropped += len(batch)
            return
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            for item in batch:
                if isinstance(item, _Counter):
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
                            _day(item.time),
                            item.turn_id,
                            item.intent,
                            item.outcome,
                            item.latency_s,
                            item.asr_s,
                            item.tts_s,
                            item.transcript,
                        ),
                    )
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
            self._next_reopen = 0.0
            return
        if _is_disk_full(exc):
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
        keep_day = _day(keep_from)
        if self.privacy.store_transcripts:
            transcript_cut = now - self.privacy.retention_days * 86400
        else:
            transcript_cut = float("inf")
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            counts = {
                "interactions": conn.execute(
                    "DELETE FROM interactions WHERE time < ?", (keep_from,)
                ).rowcount,
                "transcripts": conn.execute(
                    "UPDATE interactions SET transcript=NULL "
                    "WHERE transcript IS NOT NULL AND time < ?",
                    (transcript_cut,),
                ).rowcount,
                "counters": conn.execute(
                    "DELETE FROM daily_counters WHERE day < ?", (keep_day,)
                ).rowcount,
                "reports": conn.execute(
                    "DELETE FROM problem_reports WHERE acked_at IS NOT NULL AND acked_at < ?",
                    (keep_from,),
                ).rowcount,
            }
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()
            self._write_failed(exc, "retention pruning")
            return {}
        if any(counts.values()):
            log.info("records: retention pruned %s", counts)
        return counts


def today_iso(now: float | None = None) -> str:
    """Local date as used for the ``day`` columns."""
    return date.fromtimestamp(time.time() if now is None else now).isoformat()
