"""The level rule: the soft limiter's shape, and the gain a voice's check sentence gives."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from vitad.tts.level import (
    GAIN_RANGE_DB,
    GAIN_STEP_DB,
    KNEE,
    TARGET_DBFS,
    Level,
    soft_limit,
    voice_gain_db,
)

SIGNALS = arrays(np.float64, st.integers(0, 400),
                 elements=st.floats(-4.0, 4.0, allow_nan=False, allow_infinity=False))


def test_identity_below_the_knee() -> None:
    x = np.linspace(-KNEE, KNEE, 10001)
    assert np.array_equal(soft_limit(x), x)
    assert soft_limit(np.array([KNEE + 1e-3]))[0] < KNEE + 1e-3  # and bent just above it


def test_monotonic_smooth_and_below_full_scale() -> None:
    x = np.linspace(-50.0, 50.0, 200001)
    y = soft_limit(x)
    assert np.all(np.diff(y) >= 0)
    assert np.abs(y).max() <= 1.0  # far out tanh rounds to 1.0: full scale, never above
    near = np.linspace(KNEE, 3.0, 10001)  # where real voices' peaks land: strictly rising
    assert np.all(np.diff(soft_limit(near)) > 0) and soft_limit(near).max() < 1.0
    # No kink at the knee: the slope just above it is the line's.
    h = 1e-6
    slope = (soft_limit(np.array([KNEE + h]))[0] - soft_limit(np.array([KNEE]))[0]) / h
    assert slope == pytest.approx(1.0, abs=1e-4)
    assert soft_limit(np.array([-2.0]))[0] == -soft_limit(np.array([2.0]))[0]  # symmetric


@settings(max_examples=200, deadline=None)
@given(SIGNALS, st.lists(st.integers(0, 400), max_size=6))
def test_slices_limited_are_the_whole_limited(signal: np.ndarray, cuts: list[int]) -> None:
    """Memoryless: any windowing of the signal gives the same samples, bit for bit."""
    bounds = sorted({0, len(signal), *(c for c in cuts if c <= len(signal))})
    pieces = [soft_limit(signal[a:b]) for a, b in pairwise(bounds)]
    whole = soft_limit(signal)
    assert np.array_equal(np.concatenate([whole[:0], *pieces]), whole)


@settings(max_examples=100, deadline=None)
@given(SIGNALS, st.floats(-12.0, 24.0), st.integers(1, 64))
def test_a_level_applied_window_by_window_is_the_level_applied_once(
        signal: np.ndarray, gain_db: float, step: int) -> None:
    level = Level(gain_db)
    raw = signal.astype(np.float32)  # the voice's decoder gives float32
    windows = [level.apply(raw[i:i + step]) for i in range(0, len(raw), step)]
    whole = level.apply(raw)
    assert whole.dtype == np.int16
    assert np.array_equal(np.concatenate([whole[:0], *windows]), whole)
    assert np.abs(whole.astype(np.int32)).max(initial=0) <= 32767


def test_a_level_is_linear_where_the_limiter_is_not_reached() -> None:
    level = Level(6.0)
    raw = np.linspace(-0.3, 0.3, 1001, dtype=np.float32)  # x 2.0 stays under the knee
    expected = np.round(raw.astype(np.float64) * level.gain * 32767).astype(np.int16)
    assert np.array_equal(level.apply(raw), expected)


def test_the_gain_brings_the_check_sentence_to_the_target() -> None:
    rng = np.random.default_rng(7)
    for rms_db in (-30.0, -24.9, -20.0):
        noise = rng.standard_normal(22050)
        noise *= 10 ** (rms_db / 20) / np.sqrt(np.mean(noise**2))
        gain = voice_gain_db(noise)
        assert gain % GAIN_STEP_DB == 0
        assert abs(rms_db + gain - TARGET_DBFS) <= GAIN_STEP_DB / 2 + 1e-9
    assert voice_gain_db(np.zeros(1000)) == 0.0  # silence: no gain, no error
    assert voice_gain_db(np.zeros(0)) == 0.0
    assert voice_gain_db(np.full(100, 1e-5)) == GAIN_RANGE_DB[1]  # clamped
    assert voice_gain_db(np.full(100, 0.5)) == GAIN_RANGE_DB[0]  # clamped the other way
    assert voice_gain_db(np.full(100, 0.2)) == -5.0  # a loud voice is turned down


def test_the_rule_is_in_the_cache_variant() -> None:
    assert Level(6.0).variant != Level(6.5).variant
    assert Level(-0.0).variant == Level(0.0).variant


def test_a_bad_knee_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="knee must be between 0 and 1"):
        soft_limit(np.zeros(3), knee=1.0)
