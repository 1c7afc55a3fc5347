"""Metrics from events; atomic textfile that Prometheus' parser accepts."""

from __future__ import annotations

import os
import stat
import threading

from prometheus_client.parser import text_string_to_metric_families

from vitad.events import Degraded, Intent, StageError, TurnEnd, Wake
from vitad.runtime.metrics import Metrics


def _samples(text: str) -> dict[tuple[str, tuple], float]:
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


class Clock:
    now = 100.0

    def __call__(self) -> float:
        return self.now


def test_events_are_counted():
    clock = Clock()
    m = Metrics(clock=clock)
    m.on_event(Wake(t=0, model="hey", score=0.9))
    m.on_event(Wake(t=1, model="hey", score=0.9, barge_in=True))
    m.on_event(Intent(t=2, turn_id="a", name="hours", score=90))
    m.on_event(Intent(t=3, turn_id="b", name="hours", score=90))
    m.on_event(TurnEnd(t=4, turn_id="a", outcome="answered", intent="hours", latency_s=0.6))
    m.on_event(TurnEnd(t=5, turn_id="b", outcome="answered", intent="hours", latency_s=1.7))
    m.on_event(TurnEnd(t=6, turn_id="c", outcome="no_speech"))
    m.on_event(StageError(t=7, stage="tts", code="tts.failed", message="x"))
    m.on_event(Degraded(t=8, component="mic", mode="mic_unavailable", active=True))
    clock.now += 30
    m.on_event(Degraded(t=9, component="mic", mode="mic_unavailable", active=False))
    m.on_event(object())  # unknown things are ignored
    s = _samples(m.render().decode())
    assert s[("vitad_wakes_total", ())] == 2
    assert s[("vitad_barge_ins_total", ())] == 1
    assert s[("vitad_intents_total", (("intent", "hours"),))] == 2
    assert s[("vitad_turns_total", (("outcome", "answered"),))] == 2
    assert s[("vitad_turns_total", (("outcome", "no_speech"),))] == 1
    assert s[("vitad_response_latency_seconds_count", ())] == 2
    assert s[("vitad_response_latency_seconds_sum", ())] == 2.3
    assert s[("vitad_response_latency_seconds_bucket", (("le", "1.0"),))] == 1
    assert s[("vitad_response_latency_seconds_bucket", (("le", "2.0"),))] == 2
    assert s[("vitad_errors_total", (("code", "tts.failed"), ("stage", "tts")))] == 1
    key = (("component", "mic"), ("mode", "mic_unavailable"))
    assert s[("vitad_degraded_seconds_total", key)] == 30
    assert s[("vitad_degraded", key)] == 0


def test_active_degraded_time_accumulates_before_writes():
    clock = Clock()
    m = Metrics(clock=clock)
    m.on_event(Degraded(t=0, component="asr", mode="asr_fallback", active=True))
    clock.now += 10
    m.accumulate()
    clock.now += 5
    m.accumulate()
    m.add_degraded_seconds("display", "captions_only", 2.5)
    s = _samples(m.render().decode())
    assert (
        s[("vitad_degraded_seconds_total", (("component", "asr"), ("mode", "asr_fallback")))] == 15
    )
    assert s[("vitad_degraded", (("component", "asr"), ("mode", "asr_fallback")))] == 1
    assert (
        s[("vitad_degraded_seconds_total", (("component", "display"), ("mode", "captions_only")))]
        == 2.5
    )


def test_intent_label_cardinality_is_bounded():
    m = Metrics()
    for i in range(100):
        m.on_event(Intent(t=0, turn_id="x", name=f"intent{i}", score=1))
    s = _samples(m.render().decode())
    labels = {dict(k[1])["intent"] for k in s if k[0] == "vitad_intents_total"}
    assert len(labels) == 65 and "other" in labels
    assert s[("vitad_intents_total", (("intent", "other"),))] == 36


def test_textfile_atomic_readable_and_parses(tmp_path):
    m = Metrics()
    m.on_event(Wake(t=0, model="hey", score=1))
    path = tmp_path / "vitad.prom"
    old = os.umask(0o077)  # the unit runs with UMask=0027; node_exporter is another user
    try:
        assert m.write_textfile(path)
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    s = _samples(path.read_text())
    assert s[("vitad_wakes_total", ())] == 1
    assert s[("vitad_resident_memory_bytes", ())] > 1e6
    assert s[("vitad_open_fds", ())] > 2
    assert [p.name for p in tmp_path.iterdir()] == ["vitad.prom"]  # no temp files left

    # Readers never see a partial file while it is being rewritten.
    stop = threading.Event()
    bad: list[str] = []

    def reader() -> None:
        while not stop.is_set():
            text = path.read_text()
            if not text.endswith("\n") or "vitad_wakes_total" not in text:
                bad.append(text[-50:])

    t = threading.Thread(target=reader)
    t.start()
    for _ in range(200):
        m.on_event(Wake(t=0, model="hey", score=1))
        assert m.write_textfile(path)
    stop.set()
    t.join()
    assert bad == []
    assert _samples(path.read_text())[("vitad_wakes_total", ())] == 201


def test_textfile_failure_is_reported_not_raised(tmp_path, caplog):
    m = Metrics()
    missing = tmp_path / "no" / "such" / "dir" / "vitad.prom"
    assert m.write_textfile(missing) is False
    assert m.write_textfile(missing) is False
    assert len([r for r in caplog.records if "cannot write" in r.getMessage()]) == 1
    missing.parent.mkdir(parents=True)
    assert m.write_textfile(missing) is True


def test_private_registry():
    a, b = Metrics(), Metrics()  # would raise "Duplicated timeseries" on the global registry
    a.on_event(Wake(t=0, model="hey", score=1))
    assert _samples(b.render().decode())[("vitad_wakes_total", ())] == 0


def test_runtime_gauges_for_fleet_alerts():
    """Readiness, chats today and unacknowledged problem reports (ops/prometheus/alerts.yml)."""
    m = Metrics()
    m.update_runtime(True, 7, 2, 1_700_000_100.0)
    s = _samples(m.render().decode())
    assert s[("vitad_ready", ())] == 1
    assert s[("vitad_turns_today", ())] == 7
    assert s[("vitad_problem_reports_unacked", ())] == 2
    assert s[("vitad_problem_report_oldest_unacked_timestamp_seconds", ())] == 1_700_000_100.0
    m.update_runtime(False, 0, 0, None)
    s = _samples(m.render().decode())
    assert s[("vitad_ready", ())] == 0
    assert s[("vitad_problem_reports_unacked", ())] == 0
    assert s[("vitad_problem_report_oldest_unacked_timestamp_seconds", ())] == 0
