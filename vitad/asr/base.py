"""The recognizer interface every engine (and every test fake) implements."""

from __future__ import annotations

from typing import Protocol

import numpy as np


class RecognizerStream(Protocol):
    """One utterance. Feed 16 kHz mono int16 audio; read partials; finish once."""

    def accept(self, samples: np.ndarray) -> None: ...

    def partial(self) -> str:
        """Best text so far (live captions); cheap enough to call every chunk."""
        ...

    def finish(self) -> str:
        """Final text for the utterance ('' for silence)."""
        ...


def mark_wake(stream: object) -> None:
    """Tell ``stream`` that the audio fed so far ends where the wake word fired.

    The listener feeds a streaming recognizer ``[listen] preroll_s`` of audio from before the
    wake fired (PocketSphinx's live normalisation settles on it). Whisper, which decodes the
    whole buffer at once, turns that tail of "hey jarvis" into words ("are you nervous…"), so
    it keeps only the last moment of it. Optional: streams and wrappers that care define
    ``mark_wake()``.
    """
    mark = getattr(stream, "mark_wake", None)
    if callable(mark):
        mark()


def domain_partial(stream: object) -> str:
    """The domain-restricted decoder's text so far ('' when the engine has none).

    PocketSphinx decodes the shop's sentences alongside its open model (sphinx_engine.py);
    that reading of an in-domain question is far truer than the open partial, which is
    what the listener needs to judge whether the question is already complete. Optional:
    engines and wrappers that have it define ``domain_partial()``.
    """
    read = getattr(stream, "domain_partial", None)
    return read() if callable(read) else ""


class Recognizer(Protocol):
    name: str

    def start(self) -> RecognizerStream: ...

    def set_vocabulary(self, phrases: list[str]) -> None:
        """Optional phrase list from the dialogue (engines may ignore it)."""
        ...
