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


def test_domain_pass_decodes_with_only_the_domain_words(speech) -> None:
    sentences = ["how much is the big washer", "dryer seven is not heating",
                 "what time do you close", "the zorblaxer is broken"]
    rec = SphinxRecognizer()
    rec.set_vocabulary(sentences)
    assert rec.domain_words_missing == ["zorblaxer"]  # not in the dictionary: left out
    stream = rec.start()
    audio = np.concatenate([silence(0.3), speech("what time do you close"), silence(0.4)])
    for i in range(0, len(audio), 1280):
        stream.accept(audio[i : i + 1280])
    open_text = stream.finish()
    assert fuzz.ratio(open_text, "what time do you close") >= 80, open_text
    assert stream.domain_text == "what time do you close"
    vocabulary = {w for s in sentences for w in s.split()}
    assert set(stream.domain_text.split()) <= vocabulary

    off = SphinxRecognizer(domain_pass=False)
    off.set_vocabulary(sentences)
    stream = off.start()
    stream.accept(audio)
    assert stream.finish() and stream.domain_text is None


def test_the_domain_partial_reads_the_question_while_it_is_spoken(speech) -> None:
    """What the listener judges for early endpointing: the domain decoder's text so far."""
    from vitad.asr.base import domain_partial
    from vitad.asr.correction import CorrectingRecognizer, DomainCorrector

    sentences = ["how much is the big washer", "dryer seven is not heating",
                 "what time do you close"]
    rec = SphinxRecognizer()
    rec.set_vocabulary(sentences)
    wrapped = CorrectingRecognizer(rec, DomainCorrector(sentences))
    stream = wrapped.start()
    audio = np.concatenate([silence(0.3), speech("how much is the big washer")])
    stream.accept(audio[: len(audio) // 2])
    half = domain_partial(stream)
    stream.accept(audio[len(audio) // 2 :])
    whole = domain_partial(stream)  # before finish(): no trailing silence yet
    assert half and whole.startswith(half.split()[0]), (half, whole)
    assert whole == "how much is the big washer"
    stream.finish()
    assert domain_partial(stream) == "how much is the big washer"
    assert domain_partial(SphinxRecognizer(domain_pass=False).start()) == ""
