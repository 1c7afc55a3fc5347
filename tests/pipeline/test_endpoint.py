"""The pure Endpointer over synthetic per-frame speech probabilities."""

from __future__ import annotations

import pytest

from vitad.config.schema import ListenSettings
from vitad.pipeline.endpoint import Endpoint, Endpointer

FRAME = 0.03


def run(probabilities: list[float], start: float = 0.0,
        **settings: float) -> tuple[Endpoint | None, Endpointer, int]:
    """Feed 30 ms frames from ``start``; stop at the first decision."""
    ep = Endpointer(ListenSettings(**settings), start=start)
    for i, p in enumerate(probabilities):
        result = ep.update(p, start + i * FRAME, start + (i + 1) * FRAME)
        if result is not None:
            return result, ep, i
    return None, ep, len(probabilities)


def frames(*parts: tuple[float, float]) -> list[float]:
    """(probability, seconds) segments as 30 ms frames."""
    return [p for p, seconds in parts for _ in range(round(seconds / FRAME))]


def test_the_hangover_ends_the_utterance_after_the_last_voiced_frame() -> None:
    probs = frames((0.1, 0.6), (0.9, 1.2), (0.1, 3.0))
    result, ep, _ = run(probs, start=10.0, hangover_s=0.5)
    assert result is not None and result.reason == "silence"
    assert result.speech_end == pytest.approx(10.0 + 1.8)
    assert result.decided_at == pytest.approx(10.0 + 1.8 + 0.5, abs=FRAME)
    assert result.decided_at - result.speech_end >= 0.5
    assert ep.speech_started == pytest.approx(10.6)


def test_a_pause_shorter_than_the_hangover_does_not_end_it() -> None:
    probs = frames((0.9, 0.6), (0.1, 0.36), (0.9, 0.6), (0.1, 2.0))
    result, _, _ = run(probs, hangover_s=0.4)
    assert result is not None and result.reason == "silence"
    assert result.speech_end == pytest.approx(1.56)


def test_no_speech_times_out() -> None:
    result, ep, i = run(frames((0.1, 10.0)), start=2.0, no_speech_timeout_s=3.0)
    assert result == Endpoint("no_speech", 2.0, pytest.approx(5.0, abs=FRAME))
    assert ep.speech_started is None and i < len(frames((0.1, 10.0))) - 1


def test_max_length_cuts_endless_speech() -> None:
    result, _, _ = run(frames((0.1, 0.3), (0.95, 20.0)), max_utterance_s=4.0)
    assert result is not None and result.reason == "max_length"
    assert result.decided_at == pytest.approx(0.3 + 4.0, abs=FRAME)
    assert result.speech_end == result.decided_at


def test_a_short_blip_does_not_start_speech() -> None:
    blip = frames((0.1, 0.3), (0.99, 0.06), (0.1, 5.0))  # 60 ms < min_speech_s
    result, ep, _ = run(blip, no_speech_timeout_s=2.0, hangover_s=0.2)
    assert result is not None and result.reason == "no_speech"
    assert ep.speech_started is None


def test_speech_lasting_min_speech_s_starts_at_its_first_frame() -> None:
    probs = frames((0.1, 0.3), (0.99, 0.09), (0.1, 5.0))
    result, ep, _ = run(probs, no_speech_timeout_s=2.0, hangover_s=0.2)
    assert result is not None and result.reason == "silence"
    assert ep.speech_started == pytest.approx(0.3)
    assert result.speech_end == pytest.approx(0.39)


def test_the_vad_threshold_decides_what_is_voiced() -> None:
    probs = frames((0.6, 1.0), (0.1, 3.0))
    low, _, _ = run(probs, vad_threshold=0.5, no_speech_timeout_s=3.0)
    high, _, _ = run(probs, vad_threshold=0.7, no_speech_timeout_s=3.0)
    assert low is not None and low.reason == "silence"
    assert high is not None and high.reason == "no_speech"


def test_nothing_decided_while_speech_continues() -> None:
    result, ep, _ = run(frames((0.9, 3.0)), max_utterance_s=10.0)
    assert result is None and ep.last_voiced == pytest.approx(3.0)
