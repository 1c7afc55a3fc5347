"""Wake-word detection with openWakeWord (0.5.1, onnx), plus the self-voice check.

openWakeWord scores 80 ms frames; we buffer arbitrary chunk sizes into 1280-sample frames.
A refractory period stops one utterance of "hey jarvis" firing twice.
"""

from __future__ import annotations

import logging
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vitad.config.schema import WakeSettings
from vitad.errors import WakeFailure
from vitad.pipeline.ortsessions import import_openwakeword, make_lean, sharing_sessions

log = logging.getLogger(__name__)

FRAME = 1280  # 80 ms at 16 kHz: openWakeWord's native step


@dataclass(frozen=True)
class Detection:
    model: str
    score: float


MAX_WAKE_MODEL_BYTES = 64 * 1024 * 1024  # openWakeWord models are ~0.2-2 MB


def _check_model_file(path: Path) -> None:
    """A custom model must be a regular file of sane size (a FIFO would hang the loader)."""
    try:
        st = path.stat()
    except OSError as exc:
        raise WakeFailure("model_missing",
                          f"wake-word model {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_WAKE_MODEL_BYTES:
        raise WakeFailure("model_unreadable", f"wake-word model {path}: expected a regular "
                          f".onnx file of at most {MAX_WAKE_MODEL_BYTES} bytes")


def _load_model(models: list[str], base_dir: Path) -> Any:  # openwakeword is untyped
    Model = import_openwakeword().model.Model  # heavy import (onnxruntime) only when used

    resolved = []
    for name in models:
        if name.endswith((".onnx", ".tflite")):
            path = Path(name).expanduser()
            path = path if path.is_absolute() else base_dir / path
            _check_model_file(path)
            resolved.append(str(path))
        else:
            resolved.append(name)
    try:
        return make_lean(Model(wakeword_models=resolved, inference_framework="onnx"))
    except Exception as exc:
        raise WakeFailure("model_load", f"cannot load wake-word models {models}: {exc}") from None


class NoiseSuppressor:
    """Optional webrtc noise suppression + auto gain for a loud laundromat (10 ms frames)."""

    def __init__(self, level: int) -> None:
        try:
            from webrtc_noise_gain import AudioProcessor
        except ImportError:
            raise WakeFailure(
                "noise_suppression",
                "wake.noise_suppression needs the 'webrtc-noise-gain' package "
                "(pip install 'vitad[noise]')",
            ) from None
        self._processor = AudioProcessor(0, level)
        self._pending = np.zeros(0, dtype=np.int16)

    def process(self, samples: np.ndarray) -> np.ndarray:
        data = np.concatenate([self._pending, samples])
        usable = len(data) - len(data) % 160
        out = bytearray()
        for i in range(0, usable, 160):
            out += self._processor.Process10ms(data[i : i + 160].tobytes()).audio
        self._pending = data[usable:]
        return np.frombuffer(bytes(out), dtype=np.int16)


class WakeDetector:
    """Feed 16 kHz int16 audio; ``feed`` returns a Detection when a wake word fires."""

    def __init__(self, settings: WakeSettings, base_dir: Path = Path(".")) -> None:
        self.settings = settings
        self.base_dir = base_dir
        self._model = _load_model(settings.models, base_dir)
        self._suppressor = (
            NoiseSuppressor(settings.noise_suppression) if settings.noise_suppression else None
        )
        self._pending = np.zeros(0, dtype=np.int16)
        self._samples_seen = 0
        self._refractory_until = -1.0

    @property
    def model_names(self) -> list[str]:
        return list(self._model.models)

    def feed(self, samples: np.ndarray, t_end: float) -> Detection | None:
        """Score the audio ending at ``t_end`` (seconds); return the best firing model, if any."""
        if self._suppressor is not None:
            samples = self._suppressor.process(samples)
        data = np.concatenate([self._pending, samples]) if len(self._pending) else samples
        usable = len(data) - len(data) % FRAME
        self._pending = data[usable:]
        best: Detection | None = None
        for i in range(0, usable, FRAME):
            scores = self._model.predict(data[i : i + FRAME])
            name, score = max(scores.items(), key=lambda kv: kv[1])
            if score >= self.settings.threshold and (best is None or score > best.score):
                best = Detection(name, float(score))
        if best is None or t_end < self._refractory_until:
            return None
        self._refractory_until = t_end + self.settings.refractory_s
        return best

    def reset(self) -> None:
        """Forget recent scores (after a turn) so one wake word cannot fire twice."""
        self._model.reset()

    def restart_clock(self) -> None:
        """A new audio stream starts at t=0 (a new simulation, a reopened microphone)."""
        self.reset()
        self._pending = np.zeros(0, dtype=np.int16)
        self._refractory_until = -1.0


class SelfVoiceCheck:
    """Would the wake detector fire on what *we* just played?

    Barge-in is accepted only if the same wake model, run over the reply audio that was
    playing (the reference), stays well under threshold: then a detection on the microphone
    must come from a customer, not from the speaker's own voice leaking back.

    ``share``: the live detector of the same settings. The check then runs the detector's
    onnxruntime sessions with buffers of its own instead of loading a second copy of every
    model (~35 MiB less); its scores are the same.
    """

    def __init__(self, settings: WakeSettings, base_dir: Path = Path("."),
                 share: WakeDetector | None = None) -> None:
        self.settings = settings
        if (share is not None and share.settings.models == settings.models
                and share.base_dir == base_dir):
            self._model = sharing_sessions(share._model)
        else:
            self._model = _load_model(settings.models, base_dir)

    def heard_self(self, reference: np.ndarray) -> tuple[bool, float]:
        self._model.reset()
        # Prime the feature buffers with silence so short references score like live audio.
        padded = np.concatenate([np.zeros(FRAME * 25, dtype=np.int16), reference])
        peak = 0.0
        for i in range(0, len(padded) - FRAME + 1, FRAME):
            scores = self._model.predict(padded[i : i + FRAME])
            peak = max(peak, *(float(s) for s in scores.values()))
        self._model.reset()
        return peak >= self.settings.threshold * 0.5, peak
