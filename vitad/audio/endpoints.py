"""Map the [audio] input/output strings to endpoints: device name, `wav:PATH`, or `null`."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import numpy as np

from vitad.audio.devices import DeviceSink, DeviceSource
from vitad.audio.files import NullSink, WavFileSink, WavFileSource
from vitad.audio.format import AudioChunk


class Source(Protocol):

    queue: queue.Queue[AudioChunk]
    dropped: int
    error: str
    failed: threading.Event  # set when the stream stopped by itself (device vanished)

    def open(self) -> None: ...

    def close(self) -> None: ...


class Sink(Protocol):
    def open(self) -> None: ...

    def write(self, samples: np.ndarray) -> None: ...

    def close(self) -> None: ...


def make_source(spec: str, chunk_ms: int, max_chunks: int, base_dir: Path,
                clock: Callable[[], float] = time.monotonic, gain: float = 1.0
                ) -> DeviceSource | WavFileSource:
    if spec.startswith("wav:"):
        path = Path(spec[4:]).expanduser()
        return WavFileSource(path if path.is_absolute() else base_dir / path, chunk_ms,
                             max_chunks, clock)
    return DeviceSource(spec, chunk_ms, max_chunks, clock, gain)


def make_sink(spec: str, rate: int, base_dir: Path) -> DeviceSink | WavFileSink | NullSink:
    if spec == "null":
        return NullSink(rate)
    if spec.startswith("wav:"):
        path = Path(spec[4:]).expanduser()
        return WavFileSink(path if path.is_absolute() else base_dir / path, rate)
    return DeviceSink(spec, rate)
