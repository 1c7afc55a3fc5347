"""Fakes implementing the same Protocols as the real engines (for orchestration tests)."""

from __future__ import annotations

import threading

import numpy as np

from vitad.config.schema import TtsSettings
from vitad.tts.piper_engine import SpokenSentence
from vitad.tts.sentences import split_sentences


class FakeTts:
    """Like PiperTts: a tone per sentence, 0.1 s per word, at 22.05 kHz."""

    rate = 22050

    def __init__(self) -> None:
        self.settings = TtsSettings(sentence_pause_s=0.0)
        self.spoken: list[str] = []

    def speak(self, text: str):  # type: ignore[no-untyped-def]
        for sentence in split_sentences(text):
            self.spoken.append(sentence)
            n = int(self.rate * 0.1 * len(sentence.split()))
            tone = (np.sin(np.arange(n) / 3.0) * 8000).astype(np.int16)
            yield SpokenSentence(sentence, tone, cached=False, synth_s=0.0)

    def pause(self) -> np.ndarray:
        return np.zeros(0, dtype=np.int16)


class FlakySink:
    """An output device that fails after ``fail_after`` writes (a USB speaker unplugged)."""

    def __init__(self, fail_after: int | None = None) -> None:
        self.fail_after = fail_after
        self.writes = 0
        self.samples = 0
        self.closed = threading.Event()

    def write(self, samples: np.ndarray) -> None:
        if self.fail_after is not None and self.writes >= self.fail_after:
            raise OSError("device unplugged")
        self.writes += 1
        self.samples += len(samples)

    def close(self) -> None:
        self.closed.set()
