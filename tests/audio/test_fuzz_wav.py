"""Fuzz WAV reading (``read_wav_internal``: the ``wav:`` microphone, simulate, the tests).

A header is only a claim: random fmt fields (rate 0, 1, 2**31; channels 0 / 65535; every
sample width), data sizes that lie, extra chunks, files truncated at every length and random
bytes after "RIFF....WAVE". Whatever the file, the result is 16 kHz mono int16 audio or an
AudioFileError of one line that names the file, and memory follows the bytes actually in
the file, never the header's claims. Profiles (ci / fuzz) are in tests/conftest.py.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from vitad.audio.wavfile import AudioFileError, read_wav_internal

U16 = st.integers(0, 0xFFFF)
U32 = st.integers(0, 0xFFFFFFFF)
RATES = st.sampled_from([0, 1, 2, 3999, 4000, 8000, 11025, 16000, 22050, 44100, 48000, 96000,
                         384000, 384001, 2**31, 2**32 - 1]) | U32
CHANNELS = st.sampled_from([0, 1, 2, 3, 6, 255, 65535]) | U16
BITS = st.sampled_from([0, 1, 4, 8, 12, 16, 20, 24, 32, 48, 64, 65535]) | U16
FORMATS = st.sampled_from([1, 1, 1, 3, 6, 7, 0xFFFE, 0]) | U16


def _chunk(tag: bytes, body: bytes, claimed: int | None = None) -> bytes:
    size = len(body) if claimed is None else claimed
    return tag + struct.pack("<I", size) + body + (b"\x00" if len(body) % 2 else b"")


@st.composite
def wav_files(draw: st.DrawFn) -> bytes:
    """A RIFF/WAVE file whose fields are each plausible, extreme or random."""
    channels, rate, bits = draw(CHANNELS), draw(RATES), draw(BITS)
    align = draw(st.just((channels * bits // 8) & 0xFFFF) | U16)
    byte_rate = draw(st.just((rate * align) & 0xFFFFFFFF) | U32)
    fmt = struct.pack("<HHIIHH", draw(FORMATS), channels, rate, byte_rate, align, bits)
    fmt += draw(st.sampled_from([b"", b"\x00\x00", b"\x16\x00" + bytes(22)]) | st.binary(
        max_size=30))
    body = draw(st.one_of(
        st.binary(max_size=2048),
        st.integers(0, 40_000).map(bytes),  # up to 40 KB of silence: real length, any rate
    ))
    data_claim = draw(st.sampled_from([None, 0, 1, 2**31, 2**32 - 1]) | U32)
    chunks = [_chunk(b"fmt ", fmt, draw(st.sampled_from([None]) | U32))]
    if draw(st.booleans()):
        chunks.insert(draw(st.integers(0, 1)), _chunk(
            draw(st.sampled_from([b"LIST", b"fact", b"JUNK", b"data"])),
            draw(st.binary(max_size=40)), draw(st.sampled_from([None]) | U32)))
    chunks.append(_chunk(b"data", body, data_claim))
    riff = b"WAVE" + b"".join(chunks)
    riff_claim = draw(st.sampled_from([len(riff), 0, 2**32 - 1]) | U32)
    return b"RIFF" + struct.pack("<I", riff_claim) + riff


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz-wav")


def check_read(path: Path, size: int, peak_alloc: Any) -> None:
    outcome, peak = peak_alloc(lambda: read_wav_internal(path))
    # Memory follows the real bytes: int16 -> float32 -> resampled up to 4x (4000 -> 16000 Hz)
    # is about 32 bytes per input byte at worst, plus the libraries' fixed overhead.
    bound = 64 * size + (48 << 20)
    assert peak < bound, f"reading a {size}-byte WAV raised peak RSS by {peak >> 20} MiB"
    if isinstance(outcome, np.ndarray):
        assert outcome.dtype == np.int16 and outcome.ndim == 1 and len(outcome) > 0
        return
    if not isinstance(outcome, AudioFileError):
        assert isinstance(outcome, BaseException), outcome
        raise outcome
    message = str(outcome)
    assert message.startswith(f"{path}: "), message
    assert message.splitlines() == [message], f"not one line: {message!r}"


@given(data=wav_files())
def test_headers_and_bodies(folder: Path, peak_alloc: Any, data: bytes) -> None:
    path = folder / "in.wav"
    path.write_bytes(data)
    check_read(path, len(data), peak_alloc)


@given(data=wav_files(), cut=st.floats(0, 1))
def test_truncated_anywhere(folder: Path, peak_alloc: Any, data: bytes, cut: float) -> None:
    path = folder / "cut.wav"
    data = data[: int(len(data) * cut)]
    path.write_bytes(data)
    check_read(path, len(data), peak_alloc)


@given(tail=st.binary(max_size=512), claim=U32)
def test_random_bytes_after_wave(folder: Path, peak_alloc: Any, tail: bytes, claim: int) -> None:
    path = folder / "junk.wav"
    data = b"RIFF" + struct.pack("<I", claim) + b"WAVE" + tail
    path.write_bytes(data)
    check_read(path, len(data), peak_alloc)


def test_every_prefix_of_a_real_file(folder: Path, peak_alloc: Any) -> None:
    """Truncated at every length, exhaustively, for one ordinary 16-bit stereo file."""
    body = np.arange(-200, 200, dtype=np.int16).tobytes()
    fmt = struct.pack("<HHIIHH", 1, 2, 22050, 22050 * 4, 4, 16)
    data = b"WAVE" + _chunk(b"fmt ", fmt) + _chunk(b"data", body)
    data = b"RIFF" + struct.pack("<I", len(data)) + data
    path = folder / "prefix.wav"
    for n in range(len(data) + 1):
        path.write_bytes(data[:n])
        check_read(path, n, peak_alloc)
