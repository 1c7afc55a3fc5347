"""Second-stage wake verifier: logistic regression on openWakeWord's embedding window.

openWakeWord's wake model ("hey_jarvis") scores accented voices low (0.01-0.3) while its
embedding features still carry the phrase. A verifier trained offline by
``bench/train_wake_verifier.py`` on other voices reads the same 16 x 96 feature window and
gets a say on frames the wake model scored at least ``[wake] verifier_gate``; the wake model
alone still fires at ``threshold`` as before. The artefact is an ``.npz`` of a weight vector
and a bias (the training standardisation folded in): the daemon needs numpy only, no
scikit-learn (openWakeWord's own verifier would pickle a scikit-learn pipeline).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

from vitad.errors import WakeFailure
from vitad.fileio import UnusableFile, read_regular_file, write_atomic

FEATURE_FRAMES = 16  # openWakeWord's hey_jarvis input window: 16 embeddings of 80 ms
FEATURE_DIMS = 96
FORMAT = 1
MAX_VERIFIER_BYTES = 1024 * 1024  # ours is ~7 KB


class WakeVerifier:
    """``probability(features)``: how sure the verifier is that the window holds the phrase."""

    def __init__(self, weights: np.ndarray, bias: float, model: str) -> None:
        self.weights = weights.astype(np.float32)
        self.bias = float(bias)
        self.model = model

    def probability(self, features: np.ndarray) -> float:
        """``features``: openWakeWord's ``get_features(16)`` (1 x 16 x 96, or flat)."""
        z = float(np.dot(self.weights, features.reshape(-1))) + self.bias
        return float(1.0 / (1.0 + np.exp(-np.clip(z, -60.0, 60.0))))


def save_verifier(path: Path, weights: np.ndarray, bias: float, model: str) -> None:
    buf = io.BytesIO()
    np.savez_compressed(buf, format=np.int32(FORMAT), weights=weights.astype(np.float32),
                        bias=np.float32(bias), model=np.str_(model))
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, buf.getvalue(), mode=0o644)  # read by the unprivileged daemon


def load_verifier(path: Path) -> WakeVerifier:
    """Read a verifier file; any problem is one :class:`WakeFailure` line naming the file."""
    expected = (f"expected a wake verifier .npz from bench/train_wake_verifier.py "
                f"({FEATURE_FRAMES * FEATURE_DIMS} float32 weights, a bias)")
    try:
        data = read_regular_file(path, MAX_VERIFIER_BYTES, "wake verifier file")
    except UnusableFile as exc:
        raise WakeFailure("verifier_unusable", str(exc)) from None
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            fmt, weights = int(npz["format"]), np.asarray(npz["weights"], dtype=np.float32)
            bias, model = float(npz["bias"]), str(npz["model"])
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile, EOFError):
        raise WakeFailure("verifier_unusable", f"wake verifier {path}: {expected}") from None
    if (fmt != FORMAT or weights.shape != (FEATURE_FRAMES * FEATURE_DIMS,)
            or not np.all(np.isfinite(weights)) or not np.isfinite(bias)):
        raise WakeFailure("verifier_unusable", f"wake verifier {path}: {expected}")
    return WakeVerifier(weights, bias, model)
