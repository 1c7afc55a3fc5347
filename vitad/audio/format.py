"""The one internal audio format and the converters used at device/file edges.

Internally, microphone audio is 16 kHz mono int16 in :class:`AudioChunk`s; reply audio is mono
int16 at the voice's rate. Anything else (stereo USB mics, 48 kHz devices, float WAVs) is
converted once, where it enters or leaves. Resampling uses soxr (a well-kept, fast, high-quality
resampler with a streaming API) rather than hand-written interpolation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import soxr

INTERNAL_RATE = 16000


@dataclass(frozen=True)
class AudioChunk:
    """Mono int16 samples plus where they sit on the stream's clock (seconds)."""

    samples: np.ndarray
    rate: int
    timestamp: float

    @property
    def duration(self) -> float:
        return len(self.samples) / self.rate

    @property
    def end(self) -> float:
        return self.timestamp + self.duration


def to_mono_float(data: np.ndarray) -> np.ndarray:
    """Any int/float PCM array (frames[, channels]) to mono float32 in [-1, 1]."""
    if data.dtype == np.int16:
        audio = data.astype(np.float32) / 32768.0
    elif data.dtype == np.int32:
        audio = data.astype(np.float32) / 2147483648.0
    elif data.dtype == np.uint8:
        audio = (data.astype(np.float32) - 128.0) / 128.0
    else:
        audio = data.astype(np.float32)
    if audio.ndim == 2:
        audio = audio.mean(axis=1)
    return audio


def float_to_int16(audio: np.ndarray) -> np.ndarray:
    return (np.clip(audio, -1.0, 1.0) * 32767.0).astype(np.int16)


def resample(audio: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Resample a whole mono buffer (float32 or int16; same dtype out)."""
    if rate_in == rate_out or len(audio) == 0:
        return audio
    if audio.dtype == np.int16:
        return soxr.resample(audio, rate_in, rate_out)  # soxr keeps int16 in/out
    return soxr.resample(audio.astype(np.float32), rate_in, rate_out).astype(np.float32)


class StreamResampler:
    """Streaming mono int16 resampler for device edges (keeps filter state across blocks)."""

    def __init__(self, rate_in: int, rate_out: int) -> None:
        self.rate_in = rate_in
        self.rate_out = rate_out
        self._stream = (
            soxr.ResampleStream(rate_in, rate_out, 1, dtype="int16")
            if rate_in != rate_out
            else None
        )

    def process(self, block: np.ndarray, last: bool = False) -> np.ndarray:
        if self._stream is None:
            return block
        return self._stream.resample_chunk(block, last=last)


def rms_level(samples: np.ndarray) -> float:
    """Loudness of int16 samples as RMS in 0..1 of full scale."""
    if len(samples) == 0:
        return 0.0
    x = samples.astype(np.float32) / 32768.0
    return float(np.sqrt(np.mean(x * x)))


def mouth_level(samples: np.ndarray) -> float:
    """Map loudness to a 0..1 mouth opening (dB scale, -50 dBFS closed, -12 dBFS wide open)."""
    rms = rms_level(samples)
    if rms <= 1e-6:
        return 0.0
    db = 20.0 * np.log10(rms)
    return float(np.clip((db + 50.0) / 38.0, 0.0, 1.0))
