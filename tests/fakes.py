"""Fakes implementing the same Protocols as the real engines (for orchestration tests)."""

from __future__ import annotations

import threading

import numpy as np

from vitad.config.schema import TtsSettings
from vitad.pipeline.wake import Detection
from vitad.tts.piper_engine import SpokenPiece, SpokenSentence
from vitad.tts.sentences import split_sentences


class FakeTts:
    """Like PiperTts: a tone per sentence, 0.1 s per word, at 22.05 kHz."""

    rate = 22050

    def __init__(self) -> None:
        self.settings = TtsSettings(sentence_pause_s=0.0)
        self.spoken: list[str] = []
        self.piece_samples: int | None = None  # pieces(): None gives each sentence whole

    def speak(self, text: str):  # type: ignore[no-untyped-def]
        for sentence in split_sentences(text):
            self.spoken.append(sentence)
            n = int(self.rate * 0.1 * len(sentence.split()))
            tone = (np.sin(np.arange(n) / 3.0) * 8000).astype(np.int16)
            yield SpokenSentence(sentence, tone, cached=False, synth_s=0.0)

    def pieces(self, text: str):  # type: ignore[no-untyped-def]
        """Like PiperTts.pieces: each sentence whole, or in pieces of ``piece_samples``
        (a chunk decoded window by window on a cache miss)."""
        for s in self.speak(text):
            step = self.piece_samples or max(len(s.samples), 1)
            starts = range(0, max(len(s.samples), 1), step)
            for n, i in enumerate(starts):
                yield SpokenPiece(s.text, s.samples[i : i + step], i, n == 0,
                                  n == len(starts) - 1, s.cached, 0.0, s.visemes,
                                  s.ends_sentence)

    def pause(self, ends_sentence: bool = True) -> np.ndarray:
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


LOUD = 3000  # "speech" in the listener fakes is audio at least this loud


class FakeWake:
    """Fires once at each scripted time (the first chunk ending at or after it)."""

    def __init__(self, times: list[float]) -> None:
        self.pending = sorted(times)
        self.resets = 0

    def feed(self, samples: np.ndarray, t_end: float) -> Detection | None:
        if self.pending and self.pending[0] <= t_end + 1e-9:
            self.pending.pop(0)
            return Detection("hey_jarvis", 0.87654)
        return None

    def reset(self) -> None:
        self.resets += 1


class FakeVad:
    """Speech probability from loudness."""

    def __init__(self) -> None:
        self.resets = 0
        self.frames = 0

    def __call__(self, frame: np.ndarray) -> float:
        assert len(frame) == 480
        self.frames += 1
        return 0.95 if np.abs(frame.astype(np.int32)).mean() > LOUD / 2 else 0.02

    def reset(self) -> None:
        self.resets += 1


class FakeStream:
    """Hears the next scripted word per 80 ms of loud audio it was fed."""

    def __init__(self, recognizer: FakeRecognizer) -> None:
        self.rec = recognizer
        self.samples = 0
        self.loud = 0
        self.finished = False

    def accept(self, samples: np.ndarray) -> None:
        assert not self.finished
        self.samples += len(samples)
        self.loud += int(np.count_nonzero(np.abs(samples.astype(np.int32)) > LOUD / 2))

    def partial(self) -> str:
        return " ".join(self.rec.words[: self.loud // 1280])

    def finish(self) -> str:
        self.finished = True
        return self.partial()


class FakeRecognizer:
    name = "fake"

    def __init__(self, words: list[str]) -> None:
        self.words = words
        self.streams: list[FakeStream] = []

    def start(self) -> FakeStream:
        self.streams.append(FakeStream(self))
        return self.streams[-1]

    def set_vocabulary(self, phrases: list[str]) -> None:
        pass


class ScriptedStream:
    """Records the audio it was fed; finishes with a scripted text and confidence."""

    def __init__(self, text: str, confidence: float | None, fail: bool) -> None:
        self.text, self.confidence, self.fail = text, confidence, fail
        self.fed: list[np.ndarray] = []
        self.finished = False

    def accept(self, samples: np.ndarray) -> None:
        self.fed.append(samples.copy())

    def partial(self) -> str:
        return self.text[: sum(len(s) for s in self.fed) // 1600]

    def finish(self) -> str:
        self.finished = True
        if self.fail:
            raise RuntimeError("scripted decoder failure")
        return self.text

    @property
    def audio(self) -> np.ndarray:
        return np.concatenate(self.fed) if self.fed else np.zeros(0, np.int16)


class ScriptedRecognizer:
    """Every stream answers ``text`` with ``confidence`` (or raises, with ``fail``)."""

    def __init__(self, name: str, text: str, confidence: float | None = None,
                 fail: bool = False) -> None:
        self.name, self.text, self.confidence, self.fail = name, text, confidence, fail
        self.streams: list[ScriptedStream] = []
        self.vocabulary: list[str] = []

    def start(self) -> ScriptedStream:
        self.streams.append(ScriptedStream(self.text, self.confidence, self.fail))
        return self.streams[-1]

    def set_vocabulary(self, phrases: list[str]) -> None:
        self.vocabulary = list(phrases)
