"""The internal audio format and its converters."""

from __future__ import annotations

import numpy as np
import pytest

from vitad.audio.format import (
    AudioChunk,
    StreamResampler,
    float_to_int16,
    mouth_level,
    resample,
    rms_level,
    to_mono_float,
)


def dominant_hz(x: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(x.astype(np.float64) * np.hanning(len(x))))
    return float(np.argmax(spectrum) * rate / len(x))


def sine(hz: float, rate: int, seconds: float = 1.0, amp: float = 0.5) -> np.ndarray:
    return (np.sin(2 * np.pi * hz * np.arange(int(rate * seconds)) / rate) * amp).astype(
        np.float32)


@pytest.mark.parametrize(("data", "expected"), [
    (np.array([0, 16384, -32768], np.int16), [0.0, 0.5, -1.0]),
    (np.array([0, 2**30, -(2**31)], np.int32), [0.0, 0.5, -1.0]),
    (np.array([128, 192, 0], np.uint8), [0.0, 0.5, -1.0]),
    (np.array([0.0, 0.5, -1.0], np.float64), [0.0, 0.5, -1.0]),
])
def test_to_mono_float_scales_each_sample_format(data: np.ndarray,
                                                 expected: list[float]) -> None:
    out = to_mono_float(data)
    assert out.dtype == np.float32
    assert out.tolist() == pytest.approx(expected)


def test_to_mono_float_averages_channels() -> None:
    stereo = np.array([[16384, -16384], [16384, 16384], [0, -32768]], np.int16)
    assert to_mono_float(stereo).tolist() == pytest.approx([0.0, 0.5, -0.5])


def test_float_to_int16_clips() -> None:
    out = float_to_int16(np.array([0.0, 0.5, 1.5, -2.0], np.float32))
    assert out.dtype == np.int16 and out.tolist() == [0, 16383, 32767, -32767]


@pytest.mark.parametrize("dtype", [np.float32, np.int16])
def test_resample_keeps_duration_and_frequency(dtype: type) -> None:
    x = sine(440.0, 44100)
    if dtype == np.int16:
        x = float_to_int16(x)
    y = resample(x, 44100, 16000)
    assert y.dtype == dtype
    assert abs(len(y) - 16000) <= 2  # length ratio 16000/44100
    assert dominant_hz(y, 16000) == pytest.approx(440.0, abs=2.0)
    assert rms_level(float_to_int16(y) if dtype == np.float32 else y) == pytest.approx(
        0.5 / np.sqrt(2), rel=0.05)


def test_resample_same_rate_or_empty_is_a_no_op() -> None:
    x = sine(300.0, 16000, 0.1)
    assert resample(x, 16000, 16000) is x
    assert len(resample(np.zeros(0, np.float32), 44100, 16000)) == 0


def test_stream_resampler_matches_the_whole_buffer() -> None:
    x = float_to_int16(sine(440.0, 44100, amp=0.3))
    stream = StreamResampler(44100, 16000)
    blocks = [stream.process(x[i : i + 1000]) for i in range(0, len(x), 1000)]
    blocks.append(stream.process(np.zeros(0, np.int16), last=True))
    streamed = np.concatenate(blocks)
    whole = resample(x, 44100, 16000)
    assert streamed.dtype == np.int16
    assert abs(len(streamed) - len(whole)) <= 2
    n = min(len(streamed), len(whole)) - 200
    assert np.abs(streamed[200:n].astype(int) - whole[200:n].astype(int)).max() < 300
    assert dominant_hz(streamed, 16000) == pytest.approx(440.0, abs=2.0)


def test_stream_resampler_at_the_same_rate_passes_blocks_through() -> None:
    block = np.arange(10, dtype=np.int16)
    assert StreamResampler(16000, 16000).process(block) is block


def test_mouth_level_rises_with_loudness() -> None:
    levels = [mouth_level(np.full(800, a, np.int16)) for a in (0, 200, 600, 1500, 4000, 8000)]
    assert levels[0] == 0.0
    assert levels == sorted(levels) and len(set(levels)) == len(levels)
    assert mouth_level(np.full(800, 30000, np.int16)) == 1.0  # above -12 dBFS: wide open
    assert mouth_level(np.zeros(0, np.int16)) == 0.0
    assert all(0.0 <= v <= 1.0 for v in levels)


def test_rms_level() -> None:
    assert rms_level(np.zeros(0, np.int16)) == 0.0
    assert rms_level(np.full(100, 16384, np.int16)) == pytest.approx(0.5)


def test_audio_chunk_clock() -> None:
    chunk = AudioChunk(np.zeros(1280, np.int16), 16000, timestamp=2.0)
    assert chunk.duration == pytest.approx(0.08) and chunk.end == pytest.approx(2.08)
