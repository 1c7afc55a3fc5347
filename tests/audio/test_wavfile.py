"""WAV edges: any PCM WAV in, the internal format out, clear errors for bad files."""

from __future__ import annotations

import os
import wave
from pathlib import Path

import numpy as np
import pytest

from vitad.audio.wavfile import (
    AudioFileError,
    chunks_from_array,
    read_wav,
    read_wav_internal,
    write_wav,
)


def write_pcm(path: Path, data: np.ndarray, rate: int, channels: int, width: int) -> Path:
    with wave.open(str(path), "wb") as wf:
        wf.setnchannels(channels)
        wf.setsampwidth(width)
        wf.setframerate(rate)
        wf.writeframes(data.tobytes())
    return path


def dominant_hz(x: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(x.astype(np.float64)))
    return float(np.argmax(spectrum) * rate / len(x))


@pytest.mark.parametrize(("dtype", "width", "scale"), [
    (np.uint8, 1, 100), (np.int16, 2, 12000), (np.int32, 4, 2**30)])
def test_sample_widths(tmp_path: Path, dtype: type, width: int, scale: float) -> None:
    tone = np.sin(2 * np.pi * 300 * np.arange(16000) / 16000) * scale
    data = (tone + 128).astype(dtype) if dtype == np.uint8 else tone.astype(dtype)
    out = read_wav_internal(write_pcm(tmp_path / "w.wav", data, 16000, 1, width))
    assert out.dtype == np.int16 and len(out) == 16000
    assert dominant_hz(out, 16000) == pytest.approx(300, abs=1)
    expected_peak = 32767 * scale / {1: 128, 2: 32768, 4: 2**31}[width]
    assert np.abs(out).max() == pytest.approx(expected_peak, rel=0.03)


def test_stereo_48k_becomes_16k_mono(tmp_path: Path) -> None:
    t = np.arange(48000) / 48000
    left = (np.sin(2 * np.pi * 440 * t) * 12000).astype(np.int16)
    right = np.zeros_like(left)  # one silent channel: the mix is half as loud
    out = read_wav_internal(
        write_pcm(tmp_path / "s.wav", np.stack([left, right], axis=1), 48000, 2, 2))
    assert out.dtype == np.int16 and abs(len(out) - 16000) <= 2
    assert dominant_hz(out, 16000) == pytest.approx(440, abs=2)
    assert np.abs(out[100:-100]).max() == pytest.approx(6000, rel=0.05)


def test_read_wav_returns_float_and_rate(tmp_path: Path) -> None:
    audio, rate = read_wav(write_pcm(tmp_path / "r.wav", np.array([0, 16384], np.int16),
                                     22050, 1, 2))
    assert rate == 22050 and audio.dtype == np.float32
    assert audio.tolist() == pytest.approx([0.0, 0.5])


def test_write_then_read_round_trips(tmp_path: Path) -> None:
    samples = (np.arange(1600) * 11 % 20000 - 10000).astype(np.int16)
    write_wav(tmp_path / "sub" / "rt.wav", samples, 16000)  # creates the folder
    back = read_wav_internal(tmp_path / "sub" / "rt.wav")
    assert back.dtype == np.int16 and len(back) == len(samples)
    assert np.abs(back.astype(int) - samples).max() <= 1  # 1/32768 in, 32767 out
    write_wav(tmp_path / "f.wav", np.array([0.5, -0.5], np.float32), 16000)
    assert read_wav_internal(tmp_path / "f.wav").tolist() == pytest.approx([16383, -16383],
                                                                          abs=1)


def test_an_empty_wav_contains_no_audio(tmp_path: Path) -> None:
    write_wav(tmp_path / "empty.wav", np.zeros(0, np.int16), 16000)
    with pytest.raises(AudioFileError, match="contains no audio"):
        read_wav_internal(tmp_path / "empty.wav")


@pytest.mark.parametrize("content", [b"hello, this is text", b"", b"RIFF\x00\x00"])
def test_a_file_that_is_not_a_wav(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "text.wav"
    path.write_bytes(content)
    with pytest.raises(AudioFileError, match="not a PCM WAV") as err:
        read_wav_internal(path)
    assert str(path) in str(err.value)


def test_a_missing_file_and_a_folder(tmp_path: Path) -> None:
    with pytest.raises(AudioFileError, match="file not found"):
        read_wav_internal(tmp_path / "missing.wav")
    with pytest.raises(AudioFileError, match="is a folder"):
        read_wav_internal(tmp_path)


def test_24_bit_is_refused_clearly(tmp_path: Path) -> None:
    path = write_pcm(tmp_path / "w24.wav", np.zeros(30, np.uint8), 16000, 1, 3)
    with pytest.raises(AudioFileError, match="24-bit samples; expected 8, 16 or 32-bit"):
        read_wav_internal(path)


def test_chunks_have_timestamps_and_a_zero_padded_tail() -> None:
    samples = np.arange(1, 3001, dtype=np.int16)
    chunks = list(chunks_from_array(samples, 80, start=2.0))
    assert [c.timestamp for c in chunks] == pytest.approx([2.0, 2.08, 2.16])
    assert all(len(c.samples) == 1280 and c.rate == 16000 for c in chunks)
    assert np.array_equal(np.concatenate([c.samples for c in chunks])[:3000], samples)
    tail = chunks[-1].samples
    assert tail[3000 - 2560 - 1] == 3000 and not tail[3000 - 2560 :].any()
    assert chunks[-1].end == pytest.approx(2.24)


def test_chunks_at_another_rate_and_of_nothing() -> None:
    chunks = list(chunks_from_array(np.ones(4800, np.int16), 100, rate=48000))
    assert len(chunks) == 1 and chunks[0].duration == pytest.approx(0.1)
    assert list(chunks_from_array(np.zeros(0, np.int16), 80)) == []


def test_a_wav_truncated_to_an_odd_byte_count_loses_only_the_torn_frame(tmp_path: Path) -> None:
    path = write_pcm(tmp_path / "cut.wav", np.arange(1000, dtype=np.int16), 16000, 1, 2)
    path.write_bytes(path.read_bytes()[:-1])  # a copy cut short mid-sample
    samples = read_wav_internal(path)
    assert len(samples) == 999


def test_a_header_claiming_1_hz_is_refused_before_any_resampling(tmp_path: Path) -> None:
    path = write_pcm(tmp_path / "slow.wav", np.zeros(20000, np.int16), 1, 1, 2)
    with pytest.raises(AudioFileError, match="sample rate 1 Hz; expected 4000-384000 Hz"):
        read_wav_internal(path)


def test_a_fifo_named_like_a_wav_does_not_block(tmp_path: Path) -> None:
    fifo = tmp_path / "mic.wav"
    os.mkfifo(fifo)
    with pytest.raises(AudioFileError, match="not a regular file; expected a WAV file"):
        read_wav_internal(fifo)
