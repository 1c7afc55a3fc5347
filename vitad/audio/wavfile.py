"""WAV files in and out (the `wav:PATH` devices, simulate, say and the tests)."""

from __future__ import annotations

import io
import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from vitad.audio.format import INTERNAL_RATE, AudioChunk, float_to_int16, resample, to_mono_float
from vitad.fileio import UnusableFile, read_regular_file


class AudioFileError(Exception):
    """A WAV file that cannot be used; the message names the file and what was expected."""


_DTYPES = {1: np.uint8, 2: np.int16, 4: np.int32}


# Bounds on what a WAV may ask of us: a header is only a claim. A 40 KB file saying 1 Hz
# would otherwise "last" hours and take gigabytes once resampled.
MIN_RATE, MAX_RATE = 4000, 384_000
MAX_WAV_BYTES = 1 << 30
MAX_WAV_SECONDS = 2 * 3600


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """Read a PCM WAV as mono float32 and its rate. Raises AudioFileError with a clear reason."""
    try:
        raw = read_regular_file(path, MAX_WAV_BYTES, "WAV file")
    except UnusableFile as exc:
        raise AudioFileError(str(exc)) from None
    try:
        with wave.open(io.BytesIO(raw), "rb") as wf:
            channels, width, rate = wf.getnchannels(), wf.getsampwidth(), wf.getframerate()
            frames = wf.readframes(wf.getnframes())
    except Exception as exc:  # the header is untrusted input: every way it can be bad
        raise AudioFileError(f"{path}: not a PCM WAV file ({exc or type(exc).__name__})") from None
    if width not in _DTYPES:
        raise AudioFileError(f"{path}: {8 * width}-bit samples; expected 8, 16 or 32-bit PCM")
    if not MIN_RATE <= rate <= MAX_RATE:
        raise AudioFileError(f"{path}: sample rate {rate} Hz; expected {MIN_RATE}-{MAX_RATE} Hz")
    if channels < 1:
        raise AudioFileError(f"{path}: {channels} channels; expected at least 1")
    frame_bytes = width * channels
    frames = frames[: len(frames) - len(frames) % frame_bytes]  # a truncated last frame
    if len(frames) // frame_bytes > MAX_WAV_SECONDS * rate:
        raise AudioFileError(f"{path}: longer than {MAX_WAV_SECONDS // 3600} hours; "
                             "expected a shorter recording")
    data = np.frombuffer(frames, dtype=_DTYPES[width])
    if channels > 1:
        data = data.reshape(-1, channels)
    audio = to_mono_float(data)
    if len(audio) == 0:
        raise AudioFileError(f"{path}: contains no audio (0 samples)")
    return audio, rate


def read_wav_internal(path: Path) -> np.ndarray:
    """Read any PCM WAV and convert it to the internal 16 kHz mono int16."""
    audio, rate = read_wav(path)
    samples = float_to_int16(resample(audio, rate, INTERNAL_RATE))
    if len(samples) == 0:  # a few frames at a high rate: less than one sample at 16 kHz
        raise AudioFileError(f"{path}: contains no audio at {INTERNAL_RATE} Hz "
                             f"({len(audio)} samples at {rate} Hz)")
    return samples


def write_wav(path: Path, samples: np.ndarray, rate: int) -> None:
    """Write mono int16 samples (float input is converted)."""
    if samples.dtype != np.int16:
        samples = float_to_int16(samples)
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as wf:
        wf.setnchannels(1)
        wf.setsampwidth(2)
        wf.setframerate(rate)
        wf.writeframes(samples.tobytes())


def chunks_from_array(
    samples: np.ndarray, chunk_ms: int, rate: int = INTERNAL_RATE, start: float = 0.0
) -> Iterator[AudioChunk]:
    """Split a buffer into AudioChunks on its own clock (the last one zero-padded)."""
    size = rate * chunk_ms // 1000
    for i in range(0, len(samples), size):
        block = samples[i : i + size]
        if len(block) < size:
            block = np.concatenate([block, np.zeros(size - len(block), dtype=block.dtype)])
        yield AudioChunk(block, rate, start + i / rate)
