"""Real sound devices through sounddevice/PortAudio, opened by *name*.

sounddevice is imported only here and only when a real device is used, so demo, simulate,
say and the tests work on machines without PortAudio (Debian: libportaudio2).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from vitad.audio.format import INTERNAL_RATE, AudioChunk, StreamResampler
from vitad.bounded import put_drop_oldest

log = logging.getLogger(__name__)


# PortAudio is not thread-safe for device queries, stream open/close and (re)initialisation:
# the listener and speaker threads both reopen devices, so every such call holds this lock.
PORTAUDIO_LOCK = threading.RLock()
_open_streams = 0


def _stream_opened() -> None:
    global _open_streams
    _open_streams += 1


def _stream_closed() -> None:
    global _open_streams
    _open_streams = max(0, _open_streams - 1)


def reinitialize_portaudio() -> bool:
    """Re-scan devices (PortAudio sees hot-plugged USB only after terminate/initialize).

    Skipped while any stream is open: terminating would kill it. A device that stays
    unopenable then leads to the daemon's restart rule instead. Returns True if re-scanned.
    """
    with PORTAUDIO_LOCK:
        if _open_streams:
            return False
        try:
            sd = load_sounddevice()
            sd._terminate()
            sd._initialize()
        except Exception as exc:  # no PortAudio at all: nothing to re-scan
            log.debug("PortAudio re-init skipped: %s", exc)
            return False
        return True


class DeviceError(Exception):
    """A sound device that is missing, vanished, or cannot be opened (one-line message)."""


def load_sounddevice() -> ModuleType:
    try:
        import sounddevice
    except OSError as exc:  # the Python package is there but libportaudio is not
        raise DeviceError(
            f"PortAudio library not found ({exc}); install Debian package libportaudio2"
        ) from None
    except ImportError:
        raise DeviceError("python package 'sounddevice' is not installed") from None
    return sounddevice


@dataclass(frozen=True)
class DeviceInfo:
    index: int
    name: str
    inputs: int
    outputs: int
    default_rate: float


def _as_device_error(open_fn: Callable[[], None], what: str) -> None:
    """Any failure while opening a device is a DeviceError (one line), never a crash.

    PortAudio raises its own errors from queries as well as from opening (e.g. "Error
    querying device -1" on a box with no sound card at all); the daemon treats every one of
    them as "device unavailable, retry later".
    """
    try:
        open_fn()
    except DeviceError:
        raise
    except Exception as exc:
        raise DeviceError(f"cannot open {what}: {exc}") from None


def list_devices() -> list[DeviceInfo]:
    sd = load_sounddevice()
    with PORTAUDIO_LOCK:
        try:
            devices = sd.query_devices()
        except Exception as exc:
            raise DeviceError(f"cannot list sound devices: {exc}") from None
    return [
        DeviceInfo(i, d["name"], d["max_input_channels"], d["max_output_channels"],
                   d["default_samplerate"])
        for i, d in enumerate(devices)
    ]


def find_device(name: str, kind: str) -> int | None:
    """Index of the device whose name contains ``name`` (case-insensitive); None = default."""
    if name == "default":
        return None
    want = name.lower()
    for dev in list_devices():
        channels = dev.inputs if kind == "input" else dev.outputs
        if channels > 0 and want in dev.name.lower():
            return dev.index
    raise DeviceError(f"{kind} device '{name}' not found (see 'vitad devices')")


class DeviceSource:
    """Microphone capture → 16 kHz mono int16 AudioChunks in a bounded queue.

    The PortAudio callback thread only copies, converts and enqueues; when the consumer
    falls behind the oldest chunk is dropped and counted (``dropped``).
    """

    def __init__(self, name: str, chunk_ms: int, max_chunks: int,
                 clock: Callable[[], float] = time.monotonic, gain: float = 1.0) -> None:
        self.name = name
        self.clock = clock
        self.gain = gain
        self.chunk_ms = chunk_ms
        self.queue: queue.Queue[AudioChunk] = queue.Queue(maxsize=max_chunks)
        self.dropped = 0
        self.failed = threading.Event()
        self.error = ""
        self._stream: Any = None
        self._resampler: StreamResampler | None = None

    def open(self) -> None:
        with PORTAUDIO_LOCK:
            _as_device_error(self._open, f"input device '{self.name}'")

    def _open(self) -> None:
        sd = load_sounddevice()
        index = find_device(self.name, "input")
        rate = INTERNAL_RATE
        try:
            sd.check_input_settings(device=index, channels=1, dtype="int16", samplerate=rate)
        except Exception:
            info = sd.query_devices(index, "input")
            rate = int(info["default_samplerate"])
        self._resampler = StreamResampler(rate, INTERNAL_RATE)
        try:
            self._stream = sd.InputStream(
                device=index, channels=1, dtype="int16", samplerate=rate,
                blocksize=rate * self.chunk_ms // 1000, callback=self._callback,
                finished_callback=self._finished,
            )
            self._stream.start()
        except Exception as exc:
            self._stream = None
            raise DeviceError(f"cannot open input device '{self.name}': {exc}") from None
        _stream_opened()
        self.failed.clear()
        log.info("microphone '%s' open at %d Hz", self.name, rate)

    def _callback(self, indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        assert self._resampler is not None
        block = self._resampler.process(indata[:, 0].copy())
        if self.gain != 1.0:
            block = np.clip(block * self.gain, -32768, 32767).astype(np.int16)
        # Timestamps on the daemon's clock, so latencies compare with the speaker's.
        chunk = AudioChunk(block, INTERNAL_RATE, self.clock() - len(block) / INTERNAL_RATE)
        self.dropped += put_drop_oldest(self.queue, chunk)

    def _finished(self) -> None:
        if self._stream is not None:
            self.error = "input stream stopped (device vanished?)"
            self.failed.set()

    def close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            with PORTAUDIO_LOCK:
                try:
                    stream.stop()
                    stream.close()
                except Exception as exc:  # a vanished device can fail to close; nothing to save
                    log.debug("closing input stream: %s", exc)
                _stream_closed()


class DeviceSink:
    """Speaker output: blocking writes of mono int16 at the voice's rate, converted here."""

    def __init__(self, name: str, rate: int) -> None:
        self.name = name
        self.rate = rate
        self._stream: Any = None
        self._resampler: StreamResampler | None = None

    def open(self) -> None:
        with PORTAUDIO_LOCK:
            _as_device_error(self._open, f"output device '{self.name}'")

    def _open(self) -> None:
        sd = load_sounddevice()
        index = find_device(self.name, "output")
        device_rate = self.rate
        try:
            sd.check_output_settings(device=index, channels=1, dtype="int16", samplerate=self.rate)
        except Exception:
            device_rate = int(sd.query_devices(index, "output")["default_samplerate"])
        self._resampler = StreamResampler(self.rate, device_rate)
        try:
            self._stream = sd.OutputStream(
                device=index, channels=1, dtype="int16", samplerate=device_rate
            )
            self._stream.start()
        except Exception as exc:
            self._stream = None
            raise DeviceError(f"cannot open output device '{self.name}': {exc}") from None
        _stream_opened()
        log.info("speaker '%s' open at %d Hz", self.name, device_rate)

    def write(self, samples: np.ndarray) -> None:
        if self._stream is None:
            raise DeviceError(f"output device '{self.name}' is not open")
        assert self._resampler is not None
        block = self._resampler.process(samples)
        try:
            self._stream.write(block.reshape(-1, 1))
        except Exception as exc:
            raise DeviceError(f"output device '{self.name}' failed: {exc}") from None

    def close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            with PORTAUDIO_LOCK:
                try:
                    stream.stop()
                    stream.close()
                except Exception as exc:
                    log.debug("closing output stream: %s", exc)
                _stream_closed()
