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


class Recognizer(Protocol):
    name: str

    def start(self) -> RecognizerStream: ...

    def set_vocabulary(self, phrases: list[str]) -> None:
        """Optional phrase list from the dialogue (engines may ignore it)."""
        ...
