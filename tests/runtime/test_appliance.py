"""ApplianceRuntime: the parts wired together, as the daemon's main loop would drive them."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from vitad.config.runtime_settings import RuntimeSettings
from vitad.events import Degraded, TurnEnd, Wake
from vitad.runtime.appliance import ApplianceRuntime
from vitad.runtime.health import query_health


class Clock:
    now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_main_loop_cycle(fake_systemd, short_dir):
    clock = Clock()
    rt_settings = RuntimeSettings(
        state_dir=short_dir / "state",
        cache_dir=short_dir / "cache",
        health_socket=short_dir / "run" / "health.sock",
        metrics_textfile=str(short_dir / "vitad.prom"),
    )
    rt = ApplianceRuntime(rt_settings, clock=clock)
    rt.start()
    try:
        rt.supervisor.register("listener", 10)
        rt.notifier.ready("listening")
        assert fake_systemd.recv() == "READY=1\nSTATUS=listening"
        rt.on_event(Wake(t=1, model="hey", score=0.9))
        rt.on_event(TurnEnd(t=2, turn_id="a", outcome="answered", intent="hours", latency_s=0.8))
        rt.on_event(Degraded(t=3, component="mic", mode="mic_unavailable", active=True))
        assert rt.records.flush()

        assert rt.tick() is True
        msgs = fake_systemd.drain()
        assert msgs == ["WATCHDOG=1", "STATUS=degraded: mic degraded"]
        doc = query_health(rt_settings.health_socket)
        assert doc is not None
        assert doc["turns_today"] == 1 and doc["components"]["db"]["state"] == "ok"
        assert doc["components"]["mic"]["state"] == "degraded"
        assert doc["db"]["written"] >= 2
        fams = {
            f.name: f
            for f in text_string_to_metric_families((short_dir / "vitad.prom").read_text())
        }
        assert fams["vitad_wakes"].samples[0].value == 1
        assert fams["vitad_ready"].samples[0].value == 1
        assert fams["vitad_turns_today"].samples[0].value == 1
        assert fams["vitad_problem_reports_unacked"].samples[0].value == 0

        clock.now += 11  # listener silent for 11 s; records keeps beating on its own thread
        rt.supervisor.beat("records")
        assert rt.tick() is False
        assert fake_systemd.drain() == [
            "STATUS=watchdog: loop 'listener' stalled for 11.0 s (deadline 10 s); "
            "withholding WATCHDOG"
        ]
    finally:
        rt.stop()
    assert "STOPPING=1" in fake_systemd.drain()
    assert "vitad_ready 0.0" in (short_dir / "vitad.prom").read_text()
    assert not rt_settings.health_socket.exists()
    assert query_health(rt_settings.health_socket) is None


def test_the_daemons_supervisor_health_and_document_are_used_not_replaced(short_dir):
    from vitad.runtime.health import HealthModel
    from vitad.runtime.notify import Notifier, WatchdogSupervisor

    notifier = Notifier(socket_path="")
    supervisor, health = WatchdogSupervisor(notifier), HealthModel()
    health.set("mic", "degraded", "unplugged")
    settings = RuntimeSettings(state_dir=short_dir / "state", cache_dir=short_dir / "cache",
                               health_socket=short_dir / "health.sock")
    rt = ApplianceRuntime(settings, notifier=notifier, supervisor=supervisor, health=health,
                          health_doc=lambda: {**health.snapshot(), "events_dropped": 3})
    rt.start()
    try:
        assert rt.supervisor is supervisor and rt.health is health
        doc = query_health(settings.health_socket)
        assert doc is not None and doc["events_dropped"] == 3
        assert doc["components"]["mic"]["state"] == "degraded"
    finally:
        rt.stop()
