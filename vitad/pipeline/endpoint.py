"""Voice activity detection and end-of-utterance decisions.

The VAD is Silero (the ONNX model bundled in openWakeWord's wheel), scored on 30 ms frames.
The :class:`Endpointer` is pure logic over per-frame speech probabilities so it can be tested
without a model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from vitad.config.schema import ListenSettings

VAD_FRAME = 480  # 30 ms at 16 kHz


class SpeechProbability(Protocol):
    def __call__(self, frame: np.ndarray) -> float: ...

    def reset(self) -> None: ...


class SileroVad:
    """Silero VAD via openWakeWord's wrapper; returns the speech probability of one frame."""

    def __init__(self) -> None:
        from openwakeword.vad import VAD

        self._vad = VAD()

    def __call__(self, frame: np.ndarray) -> float:
        return float(self._vad.predict(frame, frame_size=VAD_FRAME))

    def reset(self) -> None:
        self._vad.reset_states()


@dataclass(frozen=True)
class Endpoint:
    reason: str  # "silence" | "max_length" | "no_speech"
    speech_end: float  # last voiced audio (input clock); start time when no speech
    decided_at: float  # when the decision was taken (input clock)


class Endpointer:
    """Track one utterance: wait for speech, then end it after a trailing-silence hangover.

    Feed frames in order with their end times. Speech must persist for ``min_speech_s`` to
    count as started, so a cough or a door bang does not open the utterance.
    """

    def __init__(self, settings: ListenSettings, start: float, min_speech_s: float = 0.09) -> None:
        self.settings = settings
        self.start = start
        self.min_speech_s = min_speech_s
        self.speech_started: float | None = None
        self.last_voiced: float | None = None
        self._voiced_run = 0.0

    def update(self, probability: float, frame_start: float, frame_end: float) -> Endpoint | None:
        s = self.settings
        voiced = probability >= s.vad_threshold
        if voiced:
            self._voiced_run += frame_end - frame_start
            if self.speech_started is None and self._voiced_run >= self.min_speech_s:
                self.speech_started = frame_end - self._voiced_run
            if self.speech_started is not None:
                self.last_voiced = frame_end
        else:
            self._voiced_run = 0.0
        if self.speech_started is None:
            if frame_end - self.start >= s.no_speech_timeout_s:
                return Endpoint("no_speech", self.start, frame_end)
            return None
        assert self.last_voiced is not None
        if frame_end - self.speech_started >= s.max_utterance_s:
            return Endpoint("max_length", self.last_voiced, frame_end)
        if frame_end - self.last_voiced >= s.hangover_s:
            return Endpoint("silence", self.last_voiced, frame_end)
        return None
