"""WAV files in and out (the `wav:PATH` devices, simulate, say and the tests)."""

from __future__ import annotations

import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from vitad.audio.format import INTERNAL_RATE, AudioChunk, float_to_int16, resample, to_mono_float


class AudioFileError(Exception):
    """A WAV file that cannot be used; the message names the file and what was expected."""


_DTYPES = {1: np.uint8, 2: np.int16, 4: np.int32}


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """Read a PCM WAV as mono float32 and its rate. Raises AudioFileError with a clear reason."""
    try:
        with wave.open(str(path), "rb") as wf:
            channels, width, rate = wf.getnchannels(), wf.getsampwidth(), wf.getframerate()
            frames = wf.readframes(wf.getnframes())
    except FileNotFoundError:
        raise AudioFileError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise AudioFileError(f"{path}: is a folder, expected a WAV file") from None
    except (wave.Error, EOFError) as exc:
        raise AudioFileError(f"{path}: not a PCM WAV file ({exc})") from None
    if width not in _DTYPES:
        raise AudioFileError(f"{path}: {8 * width}-bit samples; expected 8, 16 or 32-bit PCM")
    data = np.frombuffer(frames, dtype=_DTYPES[width])
    if channels > 1:
        data = data[: len(data) - len(data) % channels].reshape(-1, channels)
    audio = to_mono_float(data)
    if len(audio) == 0:
        raise AudioFileError(f"{path}: contains no audio (0 samples)")
    return audio, rate


def read_wav_internal(path: Path) -> np.ndarray:
    """Read any PCM WAV and convert it to the internal 16 kHz mono int16."""
    audio, rate = read_wav(path)
    return float_to_int16(resample(audio, rate, INTERNAL_RATE))


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
