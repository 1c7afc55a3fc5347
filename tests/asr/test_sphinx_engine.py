"""PocketSphinx with its bundled English model: a Piper → ASR round trip."""

from __future__ import annotations

import numpy as np
from rapidfuzz import fuzz

from tests.conftest import silence
from vitad.asr.sphinx_engine import SphinxRecognizer


def test_piper_round_trip(speech) -> None:
    rec = SphinxRecognizer()
    for text in ("how much is the big washer", "where can i buy detergent"):
        stream = rec.start()
        audio = np.concatenate([silence(0.3), speech(text), silence(0.4)])
        for i in range(0, len(audio), 1280):
            stream.accept(audio[i : i + 1280])
        heard = stream.finish()
        assert fuzz.ratio(heard, text) >= 80, (text, heard)


def test_partial_grows_and_silence_is_empty(speech) -> None:
    rec = SphinxRecognizer()
    stream = rec.start()
    audio = speech("what time do you close")
    stream.accept(audio[: len(audio) // 2])
    half = stream.partial()
    stream.accept(audio[len(audio) // 2 :])
    assert len(stream.partial()) > len(half)
    stream.finish()
    quiet = rec.start()
    quiet.accept(silence(1.5))
    assert quiet.finish() == ""
