"""Prometheus metrics from vitad events, written as a node_exporter textfile.

Why a textfile rather than an HTTP endpoint: the unit denies all IP traffic
(``IPAddressDeny=any``, no AF_INET), and node_exporter's textfile collector already runs on
boxes that are monitored at all. A private :class:`CollectorRegistry` keeps library-global
collectors (process/GC/platform) out and makes tests independent.

The file is written atomically (temp file in the same directory, then ``rename``), and made
0644 first: the daemon runs with ``UMask=0027`` and node_exporter is another user.
``prometheus_client.write_to_textfile`` does the temp+rename but cannot set the mode.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psutil
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from vitad import events as ev
from vitad.fileio import write_atomic

log = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0, 5.0, 8.0)
MAX_INTENT_LABELS = 64  # intent names come from config; still never let a label explode


class Metrics:
    """All vitad metrics. Feed it events with :meth:`on_event` (an EventBus subscriber)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self.registry = r = CollectorRegistry(auto_describe=True)
        self.wakes = Counter("vitad_wakes", "Wake-word detections", registry=r)
        self.barge_ins = Counter("vitad_barge_ins", "Wakes while speaking", registry=r)
        self.turns = Counter("vitad_turns", "Finished turns", ["outcome"], registry=r)
        self.intents = Counter("vitad_intents", "Recognised intents", ["intent"], registry=r)
        self.latency = Histogram(
            "vitad_response_latency_seconds",
            "End of customer speech to first reply audio",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.errors = Counter("vitad_errors", "Stage errors", ["stage", "code"], registry=r)
        self.degraded_seconds = Counter(
            "vitad_degraded_seconds",
            "Time spent in a degraded mode",
            ["component", "mode"],
            registry=r,
        )
        self.degraded = Gauge(
            "vitad_degraded",
            "1 while a degraded mode is active",
            ["component", "mode"],
            registry=r,
        )
        self.rss = Gauge("vitad_resident_memory_bytes", "Resident set size", registry=r)
        self.open_fds = Gauge("vitad_open_fds", "Open file descriptors", registry=r)
        self.threads = Gauge("vitad_threads", "Threads", registry=r)
        self.start_time = Gauge("vitad_start_time_seconds", "Process start (unix)", registry=r)
        self.start_time.set(time.time())
        self.records_dropped = Gauge(
            "vitad_records_dropped", "Records dropped (queue full / disk full)", registry=r
        )
        self.restart_requests = Counter(
            "vitad_guard_restart_requests",
            "Self-restarts planned by the guard",
            ["reason"],
            registry=r,
        )
        # Set by the runtime on each textfile write (see :meth:`update_runtime`): alerts and the
        # fleet dashboard in ops/prometheus need them and cannot derive them from counters.
        self.ready = Gauge("vitad_ready", "1 while running after READY=1; 0 once stopping",
                           registry=r)
        self.turns_today = Gauge("vitad_turns_today", "Turns (chats) today, as in the DB",
                                 registry=r)
        self.reports_unacked = Gauge(
            "vitad_problem_reports_unacked", "Problem reports not yet acknowledged", registry=r
        )
        self.oldest_unacked_report = Gauge(
            "vitad_problem_report_oldest_unacked_timestamp_seconds",
            "When the oldest unacknowledged problem report was made (unix); 0 = none",
            registry=r,
        )
        self._active: dict[tuple[str, str], float] = {}  # degraded mode -> since (clock)
        self._intent_names: set[str] = set()
        self._write_failed = False
        self._process = psutil.Process()

    # --- events -----------------------------------------------------------------------------
    def on_event(self, event: ev.Event) -> None:
        """Map vitad.events to metrics. Unknown events are ignored; never raises on bad data."""
        match event:
            case ev.Wake(barge_in=barge_in):
                self.wakes.inc()
                if barge_in:
                    self.barge_ins.inc()
            case ev.Intent(name=name):
                self.intents.labels(self._intent_label(name)).inc()
            case ev.TurnEnd(outcome=outcome, latency_s=latency):
                self.turns.labels(outcome).inc()
                if latency is not None and latency >= 0:
                    self.latency.observe(latency)
            case ev.StageError(stage=stage, code=code):
                self.errors.labels(stage, code).inc()
            case ev.Degraded(component=component, mode=mode, active=active):
                self._degraded(component, mode, bool(active))

    def _intent_label(self, name: str) -> str:
        with self._lock:
            if name in self._intent_names or len(self._intent_names) < MAX_INTENT_LABELS:
                self._intent_names.add(name)
                return name
        return "other"

    def _degraded(self, component: str, mode: str, active: bool) -> None:
        key = (component, mode)
        now = self._clock()
        with self._lock:
            since = self._active.pop(key, None)
            if since is not None:
                self.degraded_seconds.labels(*key).inc(max(0.0, now - since))
            if active:
                self._active[key] = now
        self.degraded.labels(*key).set(1 if active else 0)

    def add_degraded_seconds(self, component: str, mode: str, seconds: float) -> None:
        """For a daemon that tracks degraded time itself (instead of Degraded events)."""
        self.degraded_seconds.labels(component, mode).inc(max(0.0, seconds))

    def accumulate(self, now: float | None = None) -> None:
        """Credit time so far to still-active degraded modes (call before each write)."""
        now = self._clock() if now is None else now
        with self._lock:
            for key, since in self._active.items():
                self.degraded_seconds.labels(*key).inc(max(0.0, now - since))
                self._active[key] = now

    def update_runtime(self, ready: bool, turns_today: int, unacked_reports: int,
                       oldest_unacked: float | None) -> None:
        """Readiness, today's turn count, and the unacknowledged problem reports (how many,
        and the oldest one's time; 0 when there is none)."""
        self.ready.set(1 if ready else 0)
        self.turns_today.set(max(0, turns_today))
        self.reports_unacked.set(unacked_reports)
        self.oldest_unacked_report.set(oldest_unacked or 0.0)

    # --- process --------------------------------------------------------------------------------
    def update_process(self) -> None:
        with contextlib.suppress(psutil.Error, OSError), self._process.oneshot():
            self.rss.set(self._process.memory_info().rss)
            self.open_fds.set(self._process.num_fds())
            self.threads.set(self._process.num_threads())

    # --- output ---------------------------------------------------------------------------------
    def render(self) -> bytes:
        return generate_latest(self.registry)

    def write_textfile(self, path: str | os.PathLike[str]) -> bool:
        """Refresh process gauges and degraded time, then write ``path`` atomically.

        Returns False on failure (logged once until it works again); never raises.
        """
        self.accumulate()
        self.update_process()
        target = Path(path)
        try:
            write_atomic(target, self.render(), mode=0o644)
        except OSError as exc:
            if not self._write_failed:
                self._write_failed = True
                log.error("metrics: cannot write %s: %s", target, exc.strerror or exc)
            return False
        if self._write_failed:
            log.warning("metrics: writing %s works again", target)
            self._write_failed = False
        return True
