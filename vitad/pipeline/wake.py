"""Wake-word detection with openWakeWord (0.5.1, onnx), plus the self-voice check.

openWakeWord scores 80 ms frames; we buffer arbitrary chunk sizes into 1280-sample frames.
A refractory period stops one utterance of "hey jarvis" firing twice. An optional second
stage (``[wake] verifier``, vitad/pipeline/wake_verifier.py) also fires when a verifier on the
same features is sure for ``verifier_frames`` frames in a row, on frames the wake model scored
at least ``verifier_gate`` (0: every frame).
"""

from __future__ import annotations

import contextlib
import logging
import stat
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vitad import events as ev
from vitad.config.schema import WakeSettings
from vitad.errors import WakeFailure
from vitad.pipeline.ortsessions import import_openwakeword, make_lean, sharing_sessions
from vitad.pipeline.wake_verifier import FEATURE_FRAMES, WakeVerifier, load_verifier

log = logging.getLogger(__name__)

FRAME = 1280  # 80 ms at 16 kHz: openWakeWord's native step


@dataclass(frozen=True)
class Detection:
    """``score``: how sure the detector is (what the ``Wake`` event carries): the higher of the
    wake model's score and, when the verifier confirmed the wake, its probability."""

    model: str
    score: float
    verified: float | None = None  # the verifier's probability, when it had a say
    model_score: float | None = None  # the wake model's own score, when it differs


@dataclass(frozen=True)
class FrameScore:
    """One 80 ms frame: the best model's score, and the verifier's probability if asked."""

    model: str
    score: float
    verified: float | None
    verified_run: int = 0  # consecutive frames (this one included) the verifier accepted


def bundled_verifier_path() -> Path:
    """Where ``verifier = "bundled"`` lives: the checkout's assets/wake, else the install's."""
    checkout = Path(__file__).resolve().parents[2] / "assets" / "wake"
    folder = checkout if checkout.is_dir() else Path(sys.prefix) / "share" / "vitad" / "wake"
    return folder / "hey_jarvis_verifier.npz"


VERIFIER_DEGRADED = "wake_verifier_unavailable"


def _load_verifier(settings: WakeSettings, base_dir: Path, model_names: list[str],
                   problems: list[str] | None = None) -> WakeVerifier | None:
    """The configured verifier, or None (off, or unusable: one error line, wake goes on;
    the line is also appended to ``problems``)."""
    if not settings.verifier:
        return None
    if settings.verifier == "bundled":
        path = bundled_verifier_path()
    else:
        path = Path(settings.verifier)
        with contextlib.suppress(RuntimeError):  # "~nosuchuser/...": kept as written
            path = path.expanduser()
        path = path if path.is_absolute() else base_dir / path
    try:
        verifier = load_verifier(path)
    except WakeFailure as exc:
        log.error("wake: %s; waking on the wake model's score alone", exc.message)
        if problems is not None:
            problems.append(exc.message)
        return None
    if verifier.model not in model_names:
        if settings.verifier != "bundled":  # the shipped one simply does not apply
            problem = (f"verifier {path} is for the model {verifier.model!r}, which is not "
                       f"loaded ({', '.join(model_names)})")
            log.error("wake: %s; waking on the wake model's score alone", problem)
            if problems is not None:
                problems.append(problem)
        return None
    return verifier


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
        self._verified_run = 0
        problems: list[str] = []
        self.verifier = _load_verifier(settings, base_dir, self.model_names, problems)
        # The loader (vitad/pipeline/engines.py) publishes these with the other stages'.
        self.degraded = [ev.Degraded(0.0, "wake", VERIFIER_DEGRADED, True, p) for p in problems]

    @property
    def model_names(self) -> list[str]:
        return list(self._model.models)

    def score_frame(self, frame: np.ndarray) -> FrameScore:
        """Score one 1280-sample frame (updates the model's buffers, like live audio)."""
        scores = self._model.predict(frame)
        name, score = max(scores.items(), key=lambda kv: kv[1])
        verified = None
        verifier = self.verifier
        if (verifier is not None and score < self.settings.threshold
                and scores.get(verifier.model, 0.0) >= self.settings.verifier_gate):
            # ~0.02 ms against the ~1-2 ms the wake model takes: with gate 0, every frame.
            verified = verifier.probability(self._model.preprocessor.get_features(
                FEATURE_FRAMES))
            name, score = verifier.model, scores[verifier.model]
        accepted = verified is not None and verified >= self.settings.verifier_threshold
        self._verified_run = self._verified_run + 1 if accepted else 0
        return FrameScore(name, float(score), verified, self._verified_run)

    def fires(self, frame: FrameScore) -> bool:
        return (frame.score >= self.settings.threshold
                or frame.verified_run >= self.settings.verifier_frames)

    def feed(self, samples: np.ndarray, t_end: float) -> Detection | None:
        """Score the audio ending at ``t_end`` (seconds); return the best firing model, if any."""
        if self._suppressor is not None:
            samples = self._suppressor.process(samples)
        data = np.concatenate([self._pending, samples]) if len(self._pending) else samples
        usable = len(data) - len(data) % FRAME
        self._pending = data[usable:]
        best: Detection | None = None
        for i in range(0, usable, FRAME):
            frame = self.score_frame(data[i : i + FRAME])
            if not self.fires(frame):
                continue
            if frame.score >= self.settings.threshold or frame.verified is None:
                found = Detection(frame.model, frame.score)
            else:  # the verifier's wake: its probability says how sure we are
                found = Detection(frame.model, max(frame.score, frame.verified),
                                  frame.verified, frame.score)
            if best is None or found.score > best.score:
                best = found
        if best is None or t_end < self._refractory_until:
            return None
        self._refractory_until = t_end + self.settings.refractory_s
        return best

    def reset(self) -> None:
        """Forget recent scores (after a turn) so one wake word cannot fire twice."""
        self._model.reset()
        self._verified_run = 0

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
    model (~35 MiB less); its scores are the same. With a verifier, frames the verifier
    would half-accept count as heard too (at half its threshold, like the score's margin).
    """

    def __init__(self, settings: WakeSettings, base_dir: Path = Path("."),
                 share: WakeDetector | None = None) -> None:
        self.settings = settings
        if (share is not None and share.settings.models == settings.models
                and share.base_dir == base_dir):
            self._model = sharing_sessions(share._model)
            self._verifier = (share.verifier if share.settings.verifier == settings.verifier
                              else _load_verifier(settings, base_dir, share.model_names))
        else:
            self._model = _load_model(settings.models, base_dir)
            self._verifier = _load_verifier(settings, base_dir, list(self._model.models))

    def heard_self(self, reference: np.ndarray) -> tuple[bool, float]:
        self._model.reset()
        # Prime the feature buffers with silence so short references score like live audio.
        padded = np.concatenate([np.zeros(FRAME * 25, dtype=np.int16), reference])
        peak, verified = 0.0, 0.0
        for i in range(0, len(padded) - FRAME + 1, FRAME):
            scores = self._model.predict(padded[i : i + FRAME])
            peak = max(peak, *(float(s) for s in scores.values()))
            verifier = self._verifier
            if (verifier is not None
                    and scores.get(verifier.model, 0.0) >= self.settings.verifier_gate):
                verified = max(verified, verifier.probability(
                    self._model.preprocessor.get_features(FEATURE_FRAMES)))
        self._model.reset()
        heard = (peak >= self.settings.threshold * 0.5
                 or verified >= self.settings.verifier_threshold * 0.5)
        return heard, peak
