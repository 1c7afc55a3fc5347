"""The microphone and the speaker as devices that come and go: open, notice a loss, reopen.

A missing or vanished device is a degraded mode, never a crash. The microphone is retried
with capped exponential backoff (:class:`vitad.bounded.Backoff`, the same implementation the
speaker's reopen uses inside :class:`~vitad.pipeline.speakers.LiveSpeaker`) and announced as
``Degraded("mic", "mic_unavailable")``. Only a device the kernel lists that keeps failing to
open ends the process (a fresh PortAudio may help); an unplugged USB microphone is waited for.

Where audio comes from and goes is injectable (:data:`SourceFactory`, :data:`SinkFactory`):
real devices, ``wav:``/``null`` by default; the soak benchmark passes its own fast ones.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from vitad import events as ev
from vitad.audio.endpoints import Sink, Source, make_sink, make_source
from vitad.audio.format import AudioChunk
from vitad.bounded import Backoff
from vitad.config.schema import Config
from vitad.runtime.health import HealthModel

log = logging.getLogger("vitad.daemon")

MIC_SILENT_S = 3.0  # an open microphone that delivers nothing this long is treated as gone
CARDS = Path("/proc/asound/cards")
FALLBACK_RATE = 22050  # the sink's rate when there is no voice (captions only)

SourceFactory = Callable[[Config, Callable[[], float]], Source]
SinkFactory = Callable[[Config, int], Sink]


def device_source(config: Config, clock: Callable[[], float]) -> Source:
    """``[audio] input``: a device by name, or ``wav:PATH`` paced in real time."""
    audio = config.audio
    return make_source(audio.input, audio.chunk_ms, audio.max_queue_chunks, config.base_dir,
                       clock, audio.input_gain)


def device_sink(config: Config, rate: int) -> Sink:
    """``[audio] output``: a device by name, ``wav:PATH`` or ``null``."""
    return make_sink(config.audio.output, rate, config.base_dir)


@dataclass(frozen=True)
class Edges:
    """Where the daemon's audio comes from and goes: the configured devices by default.

    The soak benchmark injects a source that feeds faster than real time and a sink that
    fails on purpose; ``realtime=False`` then lets the speaker skip waiting out a reply.
    """

    source: SourceFactory = device_source
    sink: SinkFactory = device_sink
    realtime: bool = True


def reinit_portaudio() -> None:
    """PortAudio only sees hot-plugged USB devices after a terminate/initialize cycle."""
    from vitad.audio.devices import reinitialize_portaudio  # PortAudio loads only when needed

    reinitialize_portaudio()


def kernel_sees_sound_device(name: str, cards: Path = CARDS) -> bool:
    """Is a sound card the kernel knows about a plausible match for the configured device?

    Only then can a process restart help (PortAudio state gone bad); an unplugged USB mic is
    simply absent and must be waited for, never restarted or rebooted over.
    """
    if name.startswith("wav:") or name == "null":
        return False
    try:
        text = cards.read_text(errors="replace").lower()
    except OSError:
        return False
    if "no soundcards" in text or not text.strip():
        return False
    if name == "default":
        return True
    words = [w for w in name.lower().replace(",", " ").split() if len(w) > 2]
    return bool(words) and all(w in text for w in words)


class MicSupervisor:
    """The microphone of the listener thread (only that thread calls :meth:`next_chunk` and
    :meth:`lost`); other threads only read :attr:`ok`, :attr:`dropped` and :attr:`tried`."""

    def __init__(self, config: Callable[[], Config], bus: ev.EventBus, health: HealthModel,
                 clock: Callable[[], float], sleep: Callable[[float], None],
                 factory: SourceFactory = device_source,
                 reinit: Callable[[], None] = reinit_portaudio, cards: Path = CARDS,
                 silent_s: float = MIC_SILENT_S,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        runtime = config().runtime  # [runtime] is read once: it needs a restart to change
        self.backoff = Backoff(runtime.device_retry_initial_s, runtime.device_retry_max_s,
                               monotonic)
        self._log_every = runtime.device_retry_log_every
        self._restart_after = runtime.device_restart_after
        self._config = config
        self._bus = bus
        self._health = health
        self._clock = clock
        self._sleep = sleep
        self._factory = factory
        self._reinit = reinit
        self._cards = cards
        self._silent_s = silent_s
        self._monotonic = monotonic
        self.source: Source | None = None
        self.tried = threading.Event()  # set after the first open attempt (READY waits for it)
        self.gave_up = False  # a listed device kept failing: the daemon exits for a restart
        self._attempts = 0
        self._seen_but_failing = 0
        self._announced = False  # our Degraded("mic") is active
        self._dropped_before = 0
        self._last_audio = monotonic()

    @property
    def ok(self) -> bool:
        return self.source is not None

    @property
    def dropped(self) -> int:
        """Chunks the capture dropped because the listener fell behind (every source so far)."""
        source = self.source
        return self._dropped_before + (source.dropped if source is not None else 0)

    def next_chunk(self, timeout: float = 0.5) -> AudioChunk | None:
        """The next chunk; None while the microphone is being (re)opened or is silent."""
        source = self.source
        if source is None:
            self._try_open()
            return None
        try:
            chunk = source.queue.get(timeout=timeout)
        except queue.Empty:
            if self._monotonic() - self._last_audio > self._silent_s or source.failed.is_set():
                self.lost(source.error or "microphone delivers no audio")
            return None
        self._last_audio = self._monotonic()
        return chunk

    def lost(self, reason: str) -> None:
        """Close the microphone and say so; :meth:`next_chunk` reopens it."""
        log.warning("microphone lost: %s; reopening", reason)
        self.close()
        self._reinit()
        self._announced = True
        self._bus.publish(ev.Degraded(self._clock(), "mic", "mic_unavailable", True, reason))

    def close(self) -> None:
        source, self.source = self.source, None
        if source is not None:
            self._dropped_before += source.dropped
            source.close()

    def _try_open(self) -> None:
        self._attempts += 1
        if self._open(log_it=self._attempts == 1 or self._attempts % self._log_every == 0):
            self.backoff.succeeded()
            self._attempts = self._seen_but_failing = 0
            self._last_audio = self._monotonic()
            return
        name = self._config().audio.input
        if kernel_sees_sound_device(name, self._cards):
            self._seen_but_failing += 1
            if 0 < self._restart_after <= self._seen_but_failing:
                log.error("microphone '%s' is present but failed to open %d times; exiting so "
                          "systemd restarts vitad", name, self._seen_but_failing)
                self.gave_up = True
                return
        self._sleep(self.backoff.failed())

    def _open(self, log_it: bool) -> bool:
        try:
            source = self._factory(self._config(), self._clock)
            source.open()
        except Exception as exc:  # missing, vanished, unreadable: all degraded, all retried
            self.tried.set()
            if log_it:
                log.warning("microphone unavailable (retrying): %s", exc)
            if not self._announced:
                self._announced = True
                self._bus.publish(ev.Degraded(self._clock(), "mic", "mic_unavailable", True,
                                              str(exc)))
            return False
        self.source = source
        self.tried.set()
        if self._announced:
            self._announced = False
            self._bus.publish(ev.Degraded(self._clock(), "mic", "mic_unavailable", False))
        self._health.set("mic", "ok")
        return True


class SpeakerDevice:
    """Opens ``[audio] output`` at a sample rate. :class:`LiveSpeaker` calls :meth:`reopen`
    (paced by its own :class:`Backoff`) after an unplug or for a voice with another rate."""

    def __init__(self, config: Callable[[], Config], factory: SinkFactory = device_sink,
                 reinit: Callable[[], None] = reinit_portaudio) -> None:
        self._config = config
        self._factory = factory
        self._reinit = reinit

    def open(self, rate: int) -> Sink:
        sink = self._factory(self._config(), rate)
        sink.open()
        return sink

    def reopen(self, rate: int) -> Sink:
        self._reinit()
        return self.open(rate)

    def open_at_start(self, rate: int, bus: ev.EventBus, health: HealthModel,
                      clock: Callable[[], float]) -> Sink | None:
        """The first open: a failure means "captions only" (degraded), never an exit."""
        try:
            sink = self.open(rate)
        except Exception as exc:  # any device failure is "captions only"
            log.error("speaker unavailable, captions only: %s", exc)
            bus.publish(ev.Degraded(clock(), "speaker", "speaker_unavailable", True, str(exc)))
            return None
        health.set("speaker", "ok")
        return sink
