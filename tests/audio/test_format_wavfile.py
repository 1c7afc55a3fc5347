"""The internal format, converters and WAV edges."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from vitad.audio.format import (
    StreamResampler,
    mouth_level,
    resample,
    rms_level,
    to_mono_float,
)
from vitad.audio.wavfile import AudioFileError, chunks_from_array, read_wav_internal, write_wav


def write_pcm(path: Path, data: np.ndarray, rate: int, channels: int, width: int) -> None:
    with wave.open(str(path), "wb") as wf:
        wf.setnchannels(channels)
        wf.setsampwidth(width)
        wf.setframerate(rate)
        wf.writeframes(data.tobytes())


def dominant_hz(x: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(x.astype(np.float64)))
    return float(np.argmax(spectrum) * rate / len(x))


def test_stereo_48k_to_internal_16k_mono(tmp_path: Path) -> None:
    t = np.arange(48000) / 48000
    tone = (np.sin(2 * np.pi * 440 * t) * 12000).astype(np.int16)
    write_pcm(tmp_path / "s.wav", np.stack([tone, tone], axis=1), 48000, 2, 2)
    out = read_wav_internal(tmp_path / "s.wav")
    assert out.dtype == np.int16 and abs(len(out) - 16000) <= 2
    assert abs(dominant_hz(out, 16000) - 440) < 3


@pytest.mark.parametrize(("dtype", "width", "scale"), [
    (np.uint8, 1, 100), (np.int16, 2, 12000), (np.int32, 4, 2**30)])
def test_sample_widths(tmp_path: Path, dtype, width: int, scale: float) -> None:  # type: ignore[no-untyped-def]
    t = np.arange(16000) / 16000
    wave_ = np.sin(2 * np.pi * 300 * t) * scale
    data = (wave_ + 128).astype(dtype) if dtype == np.uint8 else wave_.astype(dtype)
    write_pcm(tmp_path / "w.wav", data, 16000, 1, width)
    out = read_wav_internal(tmp_path / "w.wav")
    assert abs(dominant_hz(out, 16000) - 300) < 3 and np.abs(out).max() > 5000


def test_bad_files(tmp_path: Path) -> None:
    write_wav(tmp_path / "empty.wav", np.zeros(0, np.int16), 16000)
    with pytest.raises(AudioFileError, match="no audio"):
        read_wav_internal(tmp_path / "empty.wav")
    (tmp_path / "text.wav").write_text("hello")
    with pytest.raises(AudioFileError, match="not a PCM WAV"):
        read_wav_internal(tmp_path / "text.wav")
    with pytest.raises(AudioFileError, match="not found"):
        read_wav_internal(tmp_path / "missing.wav")
    with pytest.raises(AudioFileError, match="folder"):
        read_wav_internal(tmp_path)


def test_stream_resampler_matches_whole_buffer() -> None:
    x = (np.sin(np.arange(44100) / 7) * 9000).astype(np.int16)
    stream = StreamResampler(44100, 16000)
    blocks = [stream.process(x[i : i + 1000]) for i in range(0, len(x), 1000)]
    blocks.append(stream.process(np.zeros(0, np.int16), last=True))
    streamed = np.concatenate(blocks)
    whole = resample(x, 44100, 16000)
    assert abs(len(streamed) - len(whole)) <= 2
    n = min(len(streamed), len(whole)) - 200
    assert np.abs(streamed[200:n].astype(int) - whole[200:n].astype(int)).max() < 300


def test_levels_and_chunks() -> None:
    quiet, loud = np.full(800, 100, np.int16), np.full(800, 10000, np.int16)
    assert rms_level(quiet) < rms_level(loud)
    assert mouth_level(np.zeros(800, np.int16)) == 0.0
    assert 0.0 <= mouth_level(quiet) < mouth_level(loud) <= 1.0
    assert to_mono_float(np.array([[32767, -32768]], np.int16))[0] == pytest.approx(0, abs=1e-4)
    chunks = list(chunks_from_array(np.ones(3000, np.int16), 80, start=2.0))
    assert [c.timestamp for c in chunks] == [2.0, 2.08, 2.16]
    assert all(len(c.samples) == 1280 for c in chunks) and chunks[-1].samples[-1] == 0
