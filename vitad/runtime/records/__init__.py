"""SQLite records: interactions, problem reports, daily counters.

Design (an unattended appliance on an SD card that can lose power at any moment):

* **Never raise into the daemon.** A corrupt or non-SQLite ``vitad.db`` is moved aside as
  ``vitad.db.corrupt-<timestamp>`` (one log line), its readable problem reports are copied
  into a fresh one. If even that fails (read-only or full disk) the store runs *failed*:
  writes are dropped and counted, reads return empty results, ``RecordStore.health`` says why.
* **One writer thread** owns the write connection; callers never wait on disk except for
  problem reports, which are never dropped and are acknowledged only after a
  ``synchronous=FULL`` COMMIT. Everything else is written with ``synchronous=NORMAL`` (WAL:
  consistent after power loss, may lose the last few rows).
* **Disk full** (``SQLITE_FULL``) rolls the transaction back, is logged once per episode and
  counted; the writer keeps going and succeeds again once space is back.
* Reads (operator commands, stats) open their own short-lived connections, so a separate
  ``vitad reports`` process works while the daemon runs (WAL allows concurrent readers).

Modules:

* :mod:`~vitad.runtime.records.schema` — tables, append-only migrations, opening/checking/
  salvaging the file.
* :mod:`~vitad.runtime.records.reader` — :class:`RecordReader`: reports, ack, stats.
* :mod:`~vitad.runtime.records.rows` — what callers hand the writer, and its SQL.
* :mod:`~vitad.runtime.records.connection` — the write connection: transactions, failures,
  reopening, retention.
* :mod:`~vitad.runtime.records.writer` — :class:`RecordStore`: the queue and writer thread.
"""

from vitad.runtime.records.reader import RecordReader, RecordsError
from vitad.runtime.records.rows import Interaction
from vitad.runtime.records.schema import DB_NAME, MIGRATIONS, SCHEMA_VERSION
from vitad.runtime.records.writer import RecordStore

__all__ = [
    "DB_NAME",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "Interaction",
    "RecordReader",
    "RecordStore",
    "RecordsError",
]
