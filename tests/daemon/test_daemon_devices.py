"""The microphone supervisor and the speaker opener (vitad/daemon/devices.py), on a fake
clock (no sound card needed). Named test_daemon_devices: tests/audio/test_devices.py has
the basename, and test folders have no __init__.py."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import numpy as np

from vitad import events as ev
from vitad.audio.format import INTERNAL_RATE, AudioChunk
from vitad.config.runtime_settings import RuntimeSettings
from vitad.config.schema import AudioSettings, Config
from vitad.daemon.devices import MicSupervisor, SpeakerDevice, kernel_sees_sound_device
from vitad.runtime.health import HealthModel


class ScriptedSource:
    """A microphone whose ``open()`` fails ``failures`` times before it works."""

    def __init__(self, script: list[bool], opened: list[ScriptedSource]) -> None:
        self.script = script
        self.opened = opened
        self.queue: queue.Queue[AudioChunk] = queue.Queue(maxsize=4)
        self.dropped = 0
        self.error = ""
        self.failed = threading.Event()
        self.closed = False

    def open(self) -> None:
        if self.script and not self.script.pop(0):
            raise OSError("input device 'USB PnP Sound Device' not found")
        self.opened.append(self)

    def close(self) -> None:
        self.closed = True


class Harness:
    """A MicSupervisor with a fake clock: sleeping advances it instead of waiting."""

    def __init__(self, script: list[bool], cards: Path, restart_after: int = 0,
                 initial: float = 1.0, maximum: float = 30.0) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []
        self.events: list[ev.Event] = []
        self.reinits = 0
        self.opened: list[ScriptedSource] = []
        self.health = HealthModel()
        bus = ev.EventBus()
        bus.subscribe(self.events.append)
        config = Config(audio=AudioSettings(input="USB PnP Sound Device"),
                        runtime=RuntimeSettings(device_retry_initial_s=initial,
                                                device_retry_max_s=maximum,
                                                device_restart_after=restart_after))
        self.mic = MicSupervisor(lambda: config, bus, self.health, clock=lambda: self.now,
                                 sleep=self.sleep,
                                 factory=lambda cfg, clock: ScriptedSource(script, self.opened),
                                 reinit=self.reinit, cards=cards, monotonic=lambda: self.now)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def reinit(self) -> None:
        self.reinits += 1

    def degraded(self) -> list[bool]:
        return [e.active for e in self.events if isinstance(e, ev.Degraded)]

    def until_open(self, limit: int = 50) -> None:
        for _ in range(limit):
            if self.mic.next_chunk(timeout=0) is None and self.mic.ok:
                return
        raise AssertionError("the microphone never opened")


def test_backoff_doubles_from_one_second_to_thirty(tmp_path: Path) -> None:
    h = Harness([False] * 8, tmp_path / "no-cards")
    for _ in range(8):
        assert h.mic.next_chunk(timeout=0) is None
    assert h.sleeps == [1, 2, 4, 8, 16, 30, 30, 30]
    assert not h.mic.ok and h.mic.tried.is_set() and not h.mic.gave_up
    assert h.degraded() == [True], "one degraded event, not one per attempt"


def test_a_mic_that_fails_twice_then_opens(tmp_path: Path) -> None:
    h = Harness([False, False, True], tmp_path / "no-cards")
    h.until_open()
    assert h.sleeps == [1, 2]
    assert h.mic.ok and len(h.opened) == 1
    assert h.degraded() == [True, False]
    assert h.health.snapshot()["components"]["mic"]["state"] == "ok"
    chunk = AudioChunk(np.zeros(1280, np.int16), INTERNAL_RATE, 0.0)
    h.opened[0].queue.put(chunk)
    assert h.mic.next_chunk(timeout=0) is chunk
    assert h.mic.backoff.failures == 0  # the next failure starts again at 1 s


def test_a_vanished_mic_is_closed_announced_and_reopened(tmp_path: Path) -> None:
    h = Harness([True, False, True], tmp_path / "no-cards")
    h.until_open()
    first = h.opened[0]
    first.dropped = 7
    first.error = "input stream stopped (device vanished?)"
    first.failed.set()
    assert h.mic.next_chunk(timeout=0) is None
    assert first.closed and not h.mic.ok and h.reinits == 1
    lost = [e for e in h.events if isinstance(e, ev.Degraded)][-1]
    assert lost.active and "vanished" in lost.detail
    h.until_open()
    assert h.sleeps == [1] and h.mic.ok and h.mic.dropped == 7
    assert h.degraded() == [True, False]


def test_a_silent_mic_counts_as_gone(tmp_path: Path) -> None:
    h = Harness([True, True], tmp_path / "no-cards")
    h.until_open()
    assert h.mic.next_chunk(timeout=0) is None and h.mic.ok  # a short gap is fine
    h.now += 3.5
    assert h.mic.next_chunk(timeout=0) is None and not h.mic.ok
    assert "no audio" in [e for e in h.events if isinstance(e, ev.Degraded)][-1].detail


def test_a_listed_device_that_keeps_failing_gives_up(tmp_path: Path) -> None:
    cards = tmp_path / "cards"
    cards.write_text(" 0 [Device ]: USB-Audio - USB PnP Sound Device\n")
    assert kernel_sees_sound_device("USB PnP Sound Device", cards)
    h = Harness([False] * 10, cards, restart_after=3)
    for _ in range(3):
        h.mic.next_chunk(timeout=0)
    assert h.mic.gave_up and h.sleeps == [1, 2]


def test_the_speaker_reopens_at_the_rate_it_is_asked_for() -> None:
    made: list[tuple[str, int]] = []
    reinits: list[int] = []

    class Sink:
        def open(self) -> None:
            pass

        def write(self, samples: np.ndarray) -> None:
            pass

        def close(self) -> None:
            pass

    def factory(config: Config, rate: int) -> Sink:
        made.append((config.audio.output, rate))
        return Sink()

    config = [Config(audio=AudioSettings(output="null"))]
    reinit: Callable[[], None] = lambda: reinits.append(1)  # noqa: E731
    device = SpeakerDevice(lambda: config[0], factory, reinit)
    device.open(22050)
    config[0] = Config(audio=AudioSettings(output="wav:/tmp/out.wav"))  # a reload
    device.reopen(16000)
    assert made == [("null", 22050), ("wav:/tmp/out.wav", 16000)] and reinits == [1]


def test_a_speaker_missing_at_start_is_captions_only() -> None:
    def factory(config: Config, rate: int) -> NoReturn:
        raise OSError("output device 'USB PnP Sound Device' not found")

    events: list[ev.Event] = []
    bus = ev.EventBus()
    bus.subscribe(events.append)
    device = SpeakerDevice(Config, factory)
    assert device.open_at_start(22050, bus, HealthModel(), lambda: 1.0) is None
    assert [(e.component, e.active) for e in events if isinstance(e, ev.Degraded)] == [
        ("speaker", True)]
