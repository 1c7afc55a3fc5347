"""One object that wires the runtime pieces together for the daemon's main loop.

Optional convenience: the daemon may use the parts directly. With this facade the daemon does::

    rt = ApplianceRuntime(cfg.runtime, cfg.privacy)
    rt.start()                                   # records writer, health socket
    bus.subscribe(rt.on_event)                   # metrics, health, records
    rt.supervisor.register("listener", cfg.runtime.loop_deadline_s)   # per critical loop
    rt.notifier.extend_timeout(60)               # before each slow model load
    rt.notifier.ready("listening")
    # in the asyncio main loop, every rt.tick_interval() seconds:
    rt.tick()                                    # watchdog ping/withhold, guard, metrics, status
    if rt.restart_reasons and not turn_in_progress:
        rt.stop(); sys.exit(EXIT_GUARD_RESTART)  # systemd restarts us
    ...
    rt.stop()                                    # STOPPING=1, drain DB, remove socket
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from vitad.config.runtime_settings import PrivacySettings, RuntimeSettings
from vitad.runtime.guard import ResourceGuard, cleanup_temp
from vitad.runtime.health import HealthModel, HealthServer
from vitad.runtime.metrics import Metrics
from vitad.runtime.notify import Notifier, WatchdogSupervisor
from vitad.runtime.records import RecordStore

log = logging.getLogger(__name__)

EXIT_GUARD_RESTART = 75  # EX_TEMPFAIL: "restart me", distinct from crashes in the journal
EXIT_CONFIG = 78  # EX_CONFIG: not restarted by the unit (RestartPreventExitStatus=78)


class ApplianceRuntime:
    """Notifier + watchdog supervisor + records + health + metrics + guard."""

    def __init__(
        self,
        runtime: RuntimeSettings | None = None,
        privacy: PrivacySettings | None = None,
        notifier: Notifier | None = None,
        clock: Callable[[], float] = time.monotonic,
        status_line: Callable[[], str] | None = None,
        supervisor: WatchdogSupervisor | None = None,
        health: HealthModel | None = None,
        health_doc: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        """``supervisor``/``health``: the daemon's own, when it has loops and components to
        register before the runtime starts (one of each per process); ``health_doc``: what
        the health socket serves (default: the health snapshot)."""
        self.runtime = runtime or RuntimeSettings()
        self.privacy = privacy or PrivacySettings()
        self._clock = clock
        self._status_line = status_line
        self.notifier = notifier or Notifier()
        self.supervisor = (supervisor if supervisor is not None
                           else WatchdogSupervisor(self.notifier, clock=clock))
        self.health = health if health is not None else HealthModel()
        self.metrics = Metrics(clock=clock)
        self.guard = ResourceGuard(self.runtime, clock=clock)
        self.records = RecordStore(
            self.runtime, self.privacy, on_beat=lambda: self.supervisor.beat("records")
        )
        self.server = HealthServer(self.runtime.health_socket, health_doc or self.health.snapshot)
        self._next_guard = 0.0
        self._next_metrics = 0.0

    @property
    def restart_reasons(self) -> list[str]:
        return self.guard.restart_reasons

    def start(self) -> None:
        cleanup_temp([self.runtime.cache_dir])
        self.supervisor.register("records", self.runtime.loop_deadline_s)
        self.records.start()
        self.health.seed_turns_today(self.records.stats()["today"]["turns"])
        self._update_db_health()
        if not self.server.start():
            log.warning("health: `vitad health` will report 'not running'")

    def on_event(self, event: Any) -> None:
        """EventBus subscriber fanning out to metrics, health and records."""
        self.metrics.on_event(event)
        self.health.on_event(event)
        self.records.on_event(event)

    def tick_interval(self) -> float:
        return min(self.supervisor.interval(), 5.0)

    def tick(self, now: float | None = None) -> bool:
        """Call from the main loop. Returns whether WATCHDOG=1 was sent."""
        now = self._clock() if now is None else now
        pinged = self.supervisor.tick(now)
        self._update_db_health()
        if now >= self._next_guard:
            self._next_guard = now + self.runtime.guard_interval_s
            verdict = self.guard.check()
            if verdict.warnings:
                cleanup_temp([self.runtime.cache_dir])
            self.health.set_extra("guard", {"over": verdict.over, "restart": verdict.restart})
            for reason in verdict.restart:
                self.metrics.restart_requests.labels(reason.split()[0]).inc()
        if self.runtime.metrics_textfile and now >= self._next_metrics:
            self._next_metrics = now + self.runtime.metrics_interval_s
            self.metrics.records_dropped.set(self.records.dropped)
            self.metrics.update_runtime(True, self.health.snapshot()["turns_today"],
                                        *self.records.unacked_reports())
            self.metrics.write_textfile(self.runtime.metrics_textfile)
        if pinged:
            if self._status_line is not None:
                status = self._status_line()
            else:
                snap_state = self.health.overall()
                status = "ok" if snap_state == "ok" else self._degraded_summary()
            self.health.set_status(status)
            self.notifier.status(status)
        return pinged

    def _degraded_summary(self) -> str:
        comps = self.health.snapshot()["components"]
        bad = [
            f"{k} {v['state']}" for k, v in comps.items() if v["state"] not in ("ok", "disabled")
        ]
        return "degraded: " + ", ".join(bad)

    def _update_db_health(self) -> None:
        state, error = self.records.health()
        self.health.set("db", state, error)
        self.health.set_extra("db", self.records.counters())

    def stop(self) -> None:
        self.notifier.stopping()
        self.server.stop()
        self.records.close()
        if self.runtime.metrics_textfile:
            self.metrics.ready.set(0)
            self.metrics.write_textfile(self.runtime.metrics_textfile)
