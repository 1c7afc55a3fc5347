"""Two-pass recognition: a fast streaming engine first, Whisper only when it is unsure.

The primary (Vosk/PocketSphinx) streams live captions as usual. Its final text and
confidence go to ``confident(text, confidence)``; when that says yes, the answer is ready at
once (the common case on a Pi: no extra latency). Otherwise the secondary (Whisper) decodes
the same audio, which was buffered alongside, and its text is the answer.

Decisions worth knowing:

* An empty secondary text is returned as "" even when the primary heard words: Whisper
  rejects noise and its own hallucinations, so "" means "nobody clearly said anything" and
  the dialogue asks the customer to repeat, which is safer than acting on a doubtful guess.
* If the secondary fails (an exception from its decoder), the primary's text is used and
  the failure is logged: a second pass may improve an answer, never break one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np

from vitad.asr.base import Recognizer, RecognizerStream, domain_partial, mark_wake

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000
MAX_SECONDS = 30.0  # what Whisper can see at once; the listener's max utterance is shorter

Confident = Callable[[str, float | None], bool]


def confident_above(threshold: float) -> Confident:
    """A ``confident`` rule: non-empty text with a confidence of at least ``threshold``.

    A primary that reports no confidence (None) is never trusted, so every utterance gets
    the second pass.
    """
    def confident(text: str, confidence: float | None) -> bool:
        return bool(text.strip()) and confidence is not None and confidence >= threshold

    return confident


class TwoPassStream:
    def __init__(self, owner: TwoPassRecognizer) -> None:
        self._owner = owner
        self._primary: RecognizerStream = owner.primary.start()
        self._buf = np.zeros(int(owner.max_seconds * SAMPLE_RATE), dtype=np.int16)
        self._n = 0
        self.dropped = 0  # samples past the buffer's bound (the primary still heard them)
        self.used = ""  # "primary" or "secondary", after finish()
        self.confidence: float | None = None
        self.primary_text = ""
        self._text: str | None = None
        self._wake_at: int | None = None  # buffer position where the wake word fired

    def accept(self, samples: np.ndarray) -> None:
        self._primary.accept(samples)
        take = min(len(samples), len(self._buf) - self._n)
        self._buf[self._n : self._n + take] = samples[:take]
        self._n += take
        self.dropped += len(samples) - take

    def partial(self) -> str:
        return self._primary.partial()

    def domain_partial(self) -> str:
        return domain_partial(self._primary)

    def mark_wake(self) -> None:
        mark_wake(self._primary)
        self._wake_at = self._n

    def finish(self) -> str:
        if self._text is None:
            self._text = self._decide()
        return self._text

    def _decide(self) -> str:
        text = self._primary.finish()
        confidence = getattr(self._primary, "confidence", None)
        self.primary_text = text
        if self._owner.confident(text, confidence):
            self.used, self.confidence = "primary", confidence
            return text
        second = self._owner.secondary.start()
        try:
            wake_at = self._n if self._wake_at is None else self._wake_at
            second.accept(self._buf[:wake_at])
            if self._wake_at is not None:
                mark_wake(second)
            second.accept(self._buf[wake_at : self._n])
            better = second.finish()
        except Exception as exc:  # a failing second pass must not cost the customer an answer
            log.warning("asr: second pass failed (%s); keeping the first pass", exc)
            self.used, self.confidence = "primary", confidence
            return text
        self.used, self.confidence = "secondary", getattr(second, "confidence", None)
        log.debug("asr: second pass %r -> %r", text, better)
        return better


class TwoPassRecognizer:
    """Recognizer Protocol over a streaming ``primary`` and a re-decoding ``secondary``."""

    streaming = True  # live partials come from the primary

    def __init__(self, primary: Recognizer, secondary: Recognizer, confident: Confident,
                 max_seconds: float = MAX_SECONDS) -> None:
        self.primary = primary
        self.secondary = secondary
        self.confident = confident
        self.max_seconds = max_seconds
        self.name = f"{primary.name}+{secondary.name}"

    def set_vocabulary(self, phrases: list[str]) -> None:
        self.primary.set_vocabulary(phrases)
        self.secondary.set_vocabulary(phrases)

    def start(self) -> TwoPassStream:
        return TwoPassStream(self)
