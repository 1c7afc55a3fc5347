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


class ScriptedWake:
    """Like WakeDetector: fires at the scripted input times (seconds)."""

    def __init__(self, fire_at: list[float], model: str = "hey_jarvis") -> None:
        from vitad.config.schema import WakeSettings

        self.settings = WakeSettings()
        self.fire_at = sorted(fire_at)
        self.model = model
        self.resets = 0

    def feed(self, samples: np.ndarray, t_end: float):  # type: ignore[no-untyped-def]
        from vitad.pipeline.wake import Detection

        if self.fire_at and t_end >= self.fire_at[0]:
            self.fire_at.pop(0)
            return Detection(self.model, 0.9)
        return None

    def reset(self) -> None:
        self.resets += 1


class EnergyVad:
    """Like SileroVad: 'speech' is any frame louder than a threshold."""

    def __call__(self, frame: np.ndarray) -> float:
        return 1.0 if np.abs(frame).mean() > 500 else 0.0

    def reset(self) -> None:
        pass


class FakeRecognizer:
    """Like a Recognizer: the transcript is the script, revealed as loud audio arrives."""

    name = "fake"

    def __init__(self, words: list[str]) -> None:
        self.words = words
        self.fed_samples: list[int] = []

    def set_vocabulary(self, phrases: list[str]) -> None:
        pass

    def start(self) -> FakeStream:
        stream = FakeStream(self.words)
        self.fed_samples.append(0)
        stream.on_accept = lambda n: self.fed_samples.__setitem__(
            -1, self.fed_samples[-1] + n)
        return stream


class FakeStream:
    def __init__(self, words: list[str]) -> None:
        self.words = words
        self.loud = 0
        self.on_accept = lambda n: None

    def accept(self, samples: np.ndarray) -> None:
        self.on_accept(len(samples))
        if np.abs(samples).mean() > 500:
            self.loud += 1

    def partial(self) -> str:
        return " ".join(self.words[: self.loud])

    def finish(self) -> str:
        return self.partial()
