"""PocketSphinx with the English model its wheel ships: the offline fallback recognizer."""

from __future__ import annotations

import numpy as np


class SphinxStream:
    def __init__(self, decoder: object) -> None:
        self._decoder = decoder
        self._decoder.start_utt()  # type: ignore[attr-defined]
        self._finished = False

    def accept(self, samples: np.ndarray) -> None:
        self._decoder.process_raw(samples.tobytes(), False, False)  # type: ignore[attr-defined]

    def partial(self) -> str:
        hyp = self._decoder.hyp()  # type: ignore[attr-defined]
        return hyp.hypstr if hyp is not None else ""

    def finish(self) -> str:
        if not self._finished:
            self._decoder.end_utt()  # type: ignore[attr-defined]
            self._finished = True
        hyp = self._decoder.hyp()  # type: ignore[attr-defined]
        return hyp.hypstr.strip() if hyp is not None else ""


class SphinxRecognizer:
    """One decoder, one utterance at a time (the listener is single-threaded)."""

    name = "pocketsphinx"

    def __init__(self) -> None:
        from pocketsphinx import Config, Decoder

        config = Config(samprate=16000, loglevel="FATAL")
        self._decoder = Decoder(config)

    def set_vocabulary(self, phrases: list[str]) -> None:
        """The bundled general English LM is kept: a keyword list hurts open questions."""

    def start(self) -> SphinxStream:
        return SphinxStream(self._decoder)
