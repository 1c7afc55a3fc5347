"""File and null audio endpoints for the daemon (`wav:PATH` input/output, `null` output).

They behave like the real devices: paced in real time, same queue/blocking interfaces, so a
daemon test exercises the same code paths as a box with a USB microphone.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import wave
from collections.abc import Callable
from pathlib import Path

import numpy as np

from vitad.audio.format import INTERNAL_RATE, AudioChunk
from vitad.audio.wavfile import read_wav_internal

log = logging.getLogger(__name__)


class WavFileSource:
    """A WAV file as the microphone: played in real time once, then silence forever."""

    def __init__(self, path: Path, chunk_ms: int, max_chunks: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.path = path
        self.chunk = INTERNAL_RATE * chunk_ms // 1000
        self.queue: queue.Queue[AudioChunk] = queue.Queue(maxsize=max_chunks)
        self.clock = clock
        self.dropped = 0
        self.failed = threading.Event()
        self.error = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def open(self) -> None:
        samples = read_wav_internal(self.path)  # AudioFileError → caller reports it
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, args=(samples,), name="wav-input",
                                        daemon=True)
        self._thread.start()

    def _run(self, samples: np.ndarray) -> None:
        silence = np.zeros(self.chunk, dtype=np.int16)
        start = time.monotonic()
        # The file's first sample on the input clock: lets bench/pipeline.py line up what
        # the daemon did (events carry input times) with where the file's words are.
        log.info("wav input %s: playing from input time %.3f", self.path.name, self.clock())
        i = 0
        n = 0
        while not self._stop.is_set():
            block = samples[i : i + self.chunk] if i < len(samples) else silence
            if len(block) < self.chunk:
                block = np.concatenate([block, silence[: self.chunk - len(block)]])
            i += self.chunk
            n += 1
            due = start + n * self.chunk / INTERNAL_RATE
            delay = due - time.monotonic()
            if delay > 0 and self._stop.wait(delay):
                return
            chunk = AudioChunk(block, INTERNAL_RATE, self.clock() - self.chunk / INTERNAL_RATE)
            try:
                self.queue.put_nowait(chunk)
            except queue.Full:
                self.dropped += 1

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)


class NullSink:
    """Discards audio at the speed a real speaker would play it."""

    def __init__(self, rate: int) -> None:
        self.rate = rate

    def open(self) -> None:
        pass

    def write(self, samples: np.ndarray) -> None:
        time.sleep(len(samples) / self.rate)

    def close(self) -> None:
        pass


class WavFileSink(NullSink):
    """Appends everything played to a WAV file (header kept valid after every write)."""

    def __init__(self, path: Path, rate: int) -> None:
        super().__init__(rate)
        self.path = path
        self._wav: wave.Wave_write | None = None
        self._lock = threading.Lock()

    def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        wav = wave.open(str(self.path), "wb")  # noqa: SIM115 - kept open while the daemon runs
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(self.rate)
        self._wav = wav

    def write(self, samples: np.ndarray) -> None:
        with self._lock:
            if self._wav is not None:
                self._wav.writeframes(samples.astype(np.int16).tobytes())
                # wave has no public flush; the header is rewritten on close, the data
                # must reach the disk now (a test or operator reads the file live).
                self._wav._file.flush()  # type: ignore[attr-defined]  # private, see above
        super().write(samples)

    def close(self) -> None:
        with self._lock:
            if self._wav is not None:
                self._wav.close()
                self._wav = None
