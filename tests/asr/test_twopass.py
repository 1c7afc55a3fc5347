"""TwoPassRecognizer orchestration with scripted recognizers (the engines have their own tests)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.fakes import ScriptedRecognizer
from vitad.asr.twopass import TwoPassRecognizer, confident_above


def feed(rec: TwoPassRecognizer, seconds: float = 1.0, seed: int = 0):  # type: ignore[no-untyped-def]
    audio = np.random.default_rng(seed).integers(-3000, 3000, int(seconds * 16000), np.int16)
    stream = rec.start()
    for i in range(0, len(audio), 1280):
        stream.accept(audio[i : i + 1280])
    return stream, audio


def test_a_confident_first_pass_answers_at_once() -> None:
    primary = ScriptedRecognizer("vosk", "how much is the big washer", 0.93)
    secondary = ScriptedRecognizer("whisper", "something else", 0.99)
    rec = TwoPassRecognizer(primary, secondary, confident_above(0.8))
    stream, _ = feed(rec)
    assert stream.partial() == primary.streams[0].partial() != ""
    assert stream.finish() == "how much is the big washer"
    assert (stream.used, stream.confidence) == ("primary", 0.93)
    assert secondary.streams == [], "the second pass ran although the first was confident"
    assert rec.name == "vosk+whisper"


def test_an_unsure_first_pass_is_redecoded_from_the_same_audio() -> None:
    primary = ScriptedRecognizer("vosk", "how much is the pig washer", 0.41)
    secondary = ScriptedRecognizer("whisper", "how much is the big washer", 0.88)
    rec = TwoPassRecognizer(primary, secondary, confident_above(0.8))
    stream, audio = feed(rec, seconds=2.3)
    assert stream.finish() == "how much is the big washer"
    assert (stream.used, stream.confidence) == ("secondary", 0.88)
    assert stream.primary_text == "how much is the pig washer"
    np.testing.assert_array_equal(secondary.streams[0].audio, audio)
    np.testing.assert_array_equal(primary.streams[0].audio, audio)
    assert stream.finish() == "how much is the big washer"
    assert len(secondary.streams) == 1, "finish() twice must not decode twice"


def test_an_empty_second_pass_means_noise_and_returns_empty() -> None:
    primary = ScriptedRecognizer("vosk", "wash", 0.2)
    secondary = ScriptedRecognizer("whisper", "", 0.0)  # Whisper rejected it as noise
    stream, _ = feed(TwoPassRecognizer(primary, secondary, confident_above(0.8)))
    assert stream.finish() == ""
    assert (stream.used, stream.confidence) == ("secondary", 0.0)


def test_a_primary_without_confidence_always_gets_the_second_pass() -> None:
    primary = ScriptedRecognizer("pocketsphinx", "what time do you close", None)
    secondary = ScriptedRecognizer("whisper", "what time do you close", 0.95)
    stream, _ = feed(TwoPassRecognizer(primary, secondary, confident_above(0.5)))
    assert stream.finish() == "what time do you close"
    assert stream.used == "secondary"


def test_a_failing_second_pass_keeps_the_first(caplog: pytest.LogCaptureFixture) -> None:
    primary = ScriptedRecognizer("vosk", "dryer seven is not heating", 0.5)
    secondary = ScriptedRecognizer("whisper", "", fail=True)
    stream, _ = feed(TwoPassRecognizer(primary, secondary, confident_above(0.8)))
    assert stream.finish() == "dryer seven is not heating"
    assert (stream.used, stream.confidence) == ("primary", 0.5)
    assert any("second pass failed" in r.getMessage() for r in caplog.records)


def test_the_buffer_for_the_second_pass_is_bounded() -> None:
    primary = ScriptedRecognizer("vosk", "", 0.0)
    secondary = ScriptedRecognizer("whisper", "hello", 0.9)
    rec = TwoPassRecognizer(primary, secondary, confident_above(0.8), max_seconds=1.0)
    stream, audio = feed(rec, seconds=2.5)
    stream.finish()
    np.testing.assert_array_equal(secondary.streams[0].audio, audio[:16000])
    assert stream.dropped == len(audio) - 16000
    assert len(primary.streams[0].audio) == len(audio), "the primary must hear everything"


def test_vocabulary_reaches_both_passes() -> None:
    primary, secondary = ScriptedRecognizer("vosk", ""), ScriptedRecognizer("whisper", "")
    TwoPassRecognizer(primary, secondary, confident_above(0.8)).set_vocabulary(["big washer"])
    assert primary.vocabulary == secondary.vocabulary == ["big washer"]


def test_confident_above() -> None:
    rule = confident_above(0.7)
    assert rule("hours", 0.7) and not rule("hours", 0.69)
    assert not rule("", 0.99) and not rule("   ", 0.99) and not rule("hours", None)
