"""The event journal lines, the bounded event pump and the systemd status line."""

from __future__ import annotations

import logging

import pytest

from vitad import events as ev
from vitad.daemon.eventlog import EventPump, StatusLine, log_event
from vitad.runtime.health import HealthModel
from vitad.runtime.notify import Notifier, WatchdogSupervisor


def test_the_journal_never_gets_a_customers_words(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, "vitad.daemon"):
        log_event(ev.Transcript(1.0, "t1", "washer five is broken", final=True))
        log_event(ev.Transcript(0.5, "t1", "washer five", final=False))  # partials: silent
        log_event(ev.MouthLevel(1.0, 0.5))  # 25 a second: silent
        log_event(ev.StageError(2.0, "tts", "tts.synthesis", "injected", "t1"))
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("INFO", "transcript turn_id=t1 text=<4 words> final=True"),
        ("WARNING", "error stage=tts code=tts.synthesis message=injected turn_id=t1"),
    ]


def test_the_pump_keeps_the_newest_events_and_counts_the_rest() -> None:
    seen: list[ev.Event] = []
    pump = EventPump(seen.append, maxsize=3)
    for i in range(5):
        pump.put(ev.MouthLevel(float(i), 0.0))
    pump.drain(limit=2)
    pump.drain()
    assert [e.t for e in seen] == [2.0, 3.0, 4.0] and pump.dropped == 2


class RecordingNotifier(Notifier):
    def __init__(self) -> None:
        super().__init__(socket_path="")
        self.sent: list[str] = []

    def send(self, *assignments: str) -> None:
        self.sent.extend(assignments)


def test_the_status_line_names_degraded_modes_and_the_mic() -> None:
    notifier = RecordingNotifier()
    health = HealthModel()
    mic = [True]
    status = StatusLine(health, WatchdogSupervisor(notifier), notifier, mic_ok=lambda: mic[0],
                        speaking=lambda: False)
    status.update()
    assert status.line == "listening · 0 chats today · mic ok"
    status.note(ev.Degraded(1.0, "speaker", "speaker_unavailable", True))
    assert status.line.startswith("degraded: speaker unavailable")
    mic[0] = False
    status.note(ev.Degraded(2.0, "speaker", "speaker_unavailable", False))
    assert status.line == "degraded: mic unavailable · 0 chats today · mic unavailable"
    assert notifier.sent == [f"STATUS={line}" for line in (
        "listening · 0 chats today · mic ok",
        "degraded: speaker unavailable · 0 chats today · mic ok",
        "degraded: mic unavailable · 0 chats today · mic unavailable")]
    assert health.snapshot()["status"] == status.line
