"""The daemon's records store: callers queue, one writer thread writes.

Callers never wait on disk except for problem reports. Interactions and counters go through
a bounded drop-oldest queue (:func:`vitad.bounded.put_drop_oldest`, counted in ``dropped``):
statistics may lose a row under pressure, the pipeline must not stall. Problem reports are
never dropped: :meth:`RecordStore.add_report` waits (with a timeout) until the row is
COMMITted with ``synchronous=FULL`` and only then returns the id.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from contextlib import suppress

from vitad import events as ev
from vitad.bounded import put_drop_oldest
from vitad.config.runtime_settings import PrivacySettings, RuntimeSettings
from vitad.runtime.records.connection import WriteConnection
from vitad.runtime.records.rows import Counter, Interaction, ReportJob
from vitad.runtime.records.schema import local_day

log = logging.getLogger(__name__)

PRUNE_EVERY_S = 3600.0


class RecordStore(WriteConnection):
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
        runtime = runtime or RuntimeSettings()
        self._on_beat = on_beat
        self._beat_interval_s = beat_interval_s
        self._prune_interval_s = prune_interval_s  # None: only explicit prune() calls
        self._cond = threading.Condition()
        # Touched only under _cond (producers and the draining writer alike), so the
        # drop-oldest put never races the writer.
        self._queue: queue.Queue[Interaction | Counter] = queue.Queue(runtime.db_queue_max)
        self._reports: deque[ReportJob] = deque()  # reports are never dropped: unbounded
        self._busy = False
        self._stop = False
        self._thread: threading.Thread | None = None
        self._transcripts: dict[str, str] = {}
        self._last_prune = 0.0
        super().__init__(runtime, privacy or PrivacySettings(), clock)  # opens the DB

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
            while self._pending() or self._busy:
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
        self._close_connection()

    # --- writing (any thread) -----------------------------------------------------------------
    def record_interaction(self, interaction: Interaction) -> None:
        """Queue one turn. Transcript is dropped here unless privacy.store_transcripts."""
        if not self.privacy.store_transcripts and interaction.transcript is not None:
            interaction = Interaction(**{**interaction.__dict__, "transcript": None})
        self._enqueue(interaction)

    def incr(self, name: str, n: int = 1, now: float | None = None) -> None:
        """Add ``n`` to today's counter ``name`` (wakes, errors.asr, ...)."""
        self._enqueue(Counter(local_day(self._clock() if now is None else now), name, n))

    def _enqueue(self, item: Interaction | Counter) -> None:
        with self._cond:
            self.dropped += put_drop_oldest(self._queue, item)
            self._cond.notify()

    def _pending(self) -> bool:
        """Work queued for the writer (call under ``_cond``)."""
        return bool(self._reports) or not self._queue.empty()

    def _take_batch(self) -> list[Interaction | Counter]:
        """Everything queued so far, oldest first (call under ``_cond``)."""
        batch: list[Interaction | Counter] = []
        with suppress(queue.Empty):
            while True:
                batch.append(self._queue.get_nowait())
        return batch

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
        job = ReportJob(machine_type, machine_number, text, turn_id, self._clock())
        with self._cond:
            self._reports.append(job)
            self._cond.notify()
        wait = self.runtime.report_timeout_s if timeout is None else timeout
        if job.done.wait(wait):
            return job.report_id
        if job.withdraw():
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
    def counters(self) -> dict[str, int]:
        depth = self._queue.qsize()
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
                if not (self._pending() or self._stop):
                    self._cond.wait(self._beat_interval_s)
                if self._stop and not self._pending():
                    return
                reports = list(self._reports)
                self._reports.clear()
                batch = self._take_batch()
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

