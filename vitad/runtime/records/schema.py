"""The database file: tables, append-only migrations, opening, checking and salvaging it.

Everything here works on a path or a connection and keeps no state; :mod:`.connection` and
:mod:`.reader` decide when to call it. Schema version lives in ``PRAGMA user_version``.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from contextlib import closing
from datetime import date, datetime
from pathlib import Path

log = logging.getLogger(__name__)

DB_NAME = "vitad.db"
BUSY_TIMEOUT_MS = 5000
DB_FILE_MODE = 0o640  # reports hold customers' words: not world-readable, whatever the umask

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


def local_day(ts: float) -> str:
    """The shop's local date ``YYYY-MM-DD`` of a unix time (the ``day`` columns)."""
    return datetime.fromtimestamp(ts).date().isoformat()


def is_disk_full(exc: BaseException) -> bool:
    """``SQLITE_FULL`` (or its message, for errors raised without a code)."""
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


def create_private(path: Path) -> None:
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


def is_usable(path: Path) -> bool:
    """True if ``path`` opens as SQLite and passes ``PRAGMA quick_check``."""
    try:
        with closing(connect(path)) as conn:
            rows = conn.execute("PRAGMA quick_check").fetchall()
        return rows == [("ok",)]
    except sqlite3.DatabaseError:
        return False


def move_aside(db_path: Path) -> Path | None:
    """Rename a corrupt DB (and its -wal/-shm) to ``<name>.corrupt-<timestamp>``.

    Returns the new path, or None (logged) if it could not be moved.
    """
    stamp = datetime.now().strftime("%Y%m%dT%H%M%S")
    target = db_path.with_name(f"{db_path.name}.corrupt-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = db_path.with_name(f"{db_path.name}.corrupt-{stamp}-{n}")
    try:
        os.replace(db_path, target)
        for suffix in ("-wal", "-shm"):
            side = Path(f"{db_path}{suffix}")
            if side.exists():
                os.replace(side, Path(f"{target}{suffix}"))
    except OSError as exc:
        log.error("records: %s is corrupt and cannot be moved aside: %s", db_path, exc)
        return None
    log.error(
        "records: %s is not a valid SQLite database (corrupt?); moved it to %s and "
        "started a fresh one",
        db_path,
        target,
    )
    return target


def open_for_writing(db_path: Path) -> sqlite3.Connection:
    """The writer's connection: private file, WAL, ``synchronous=NORMAL``, schema migrated.

    Raises :class:`sqlite3.DatabaseError` or :class:`OSError`; the caller decides what a
    failure means (see ``RecordStore._open``).
    """
    create_private(db_path)
    conn = connect(db_path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA journal_size_limit=1048576")
    conn.execute("PRAGMA foreign_keys=ON")
    migrate(conn)
    return conn


def today_iso(now: float | None = None) -> str:
    """Local date as used for the ``day`` columns."""
    return date.fromtimestamp(time.time() if now is None else now).isoformat()
