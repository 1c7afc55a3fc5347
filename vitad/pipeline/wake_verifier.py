"""Second-stage wake verifier: a small network on openWakeWord's embedding window.

openWakeWord's wake model ("hey_jarvis") scores accented voices low (0.001-0.3) while its
embedding features still carry the phrase. A verifier trained offline by
``bench/train_wake_verifier.py`` on other voices reads the same 16 x 96 feature window and
gets a say on frames the wake model scored at least ``[wake] verifier_gate`` (0: every frame);
the wake model alone still fires at ``threshold`` as before.

The artefact is an ``.npz`` of plain arrays (the training standardisation folded in), so the
daemon needs numpy only, no scikit-learn (openWakeWord's own verifier would pickle a
scikit-learn pipeline, and unpickling runs code):

* format 1: logistic regression, ``weights`` (1536) and ``bias``;
* format 2: one hidden ReLU layer, ``w1`` (1536 x H), ``b1`` (H), ``w2`` (H), ``b2``.
  About 50 k multiply-adds: ~20 us per 80 ms frame, cheap enough to ask on every frame.
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
INPUTS = FEATURE_FRAMES * FEATURE_DIMS
LINEAR, HIDDEN = 1, 2  # the file formats
MAX_HIDDEN = 256
MAX_VERIFIER_BYTES = 4 * 1024 * 1024  # ours is ~100 KB; 256 hidden units are ~1.6 MB


class WakeVerifier:
    """``probability(features)``: how sure the verifier is that the window holds the phrase.

    ``w1``/``b1`` None: logistic regression on the window; else one hidden ReLU layer first.
    """

    def __init__(self, weights: np.ndarray, bias: float, model: str,
                 w1: np.ndarray | None = None, b1: np.ndarray | None = None) -> None:
        self.weights = weights.astype(np.float32)
        self.bias = float(bias)
        self.model = model
        self.w1 = None if w1 is None else w1.astype(np.float32)
        self.b1 = None if b1 is None else b1.astype(np.float32)

    @property
    def nbytes(self) -> int:
        return self.weights.nbytes + sum(a.nbytes for a in (self.w1, self.b1) if a is not None)

    def probabilities(self, windows: np.ndarray) -> np.ndarray:
        """Many windows at once (N x 1536, or N x 16 x 96): the offline tools' batch form."""
        x = windows.reshape(len(windows), -1).astype(np.float32, copy=False)
        if self.w1 is not None and self.b1 is not None:
            x = np.maximum(x @ self.w1 + self.b1, 0.0)
        z = x @ self.weights + self.bias
        return 1.0 / (1.0 + np.exp(-np.clip(z, -60.0, 60.0)))

    def probability(self, features: np.ndarray) -> float:
        """``features``: openWakeWord's ``get_features(16)`` (1 x 16 x 96, or flat)."""
        return float(self.probabilities(features.reshape(1, -1))[0])


def save_verifier(path: Path, weights: np.ndarray, bias: float, model: str,
                  w1: np.ndarray | None = None, b1: np.ndarray | None = None) -> None:
    """Write a verifier: format 1 without ``w1``/``b1``, format 2 (hidden layer) with them."""
    arrays: dict[str, np.ndarray] = {"model": np.asarray(model)}
    if w1 is None or b1 is None:
        arrays |= {"format": np.asarray(LINEAR, np.int32),
                   "weights": weights.astype(np.float32), "bias": np.asarray(bias, np.float32)}
    else:
        arrays |= {"format": np.asarray(HIDDEN, np.int32), "w1": w1.astype(np.float32),
                   "b1": b1.astype(np.float32), "w2": weights.astype(np.float32),
                   "b2": np.asarray(bias, np.float32)}
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)  # type: ignore[arg-type]  # stub: allow_pickle in **kwds
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, buf.getvalue(), mode=0o644)  # read by the unprivileged daemon


def _finite(*arrays: np.ndarray | float) -> bool:
    return all(np.all(np.isfinite(a)) for a in arrays)


def load_verifier(path: Path) -> WakeVerifier:
    """Read a verifier file; any problem is one :class:`WakeFailure` line naming the file."""
    expected = (f"expected a wake verifier .npz from bench/train_wake_verifier.py (format 1: "
                f"{INPUTS} float32 weights and a bias; format 2: a hidden layer of at most "
                f"{MAX_HIDDEN} units)")
    try:
        data = read_regular_file(path, MAX_VERIFIER_BYTES, "wake verifier file")
    except UnusableFile as exc:
        raise WakeFailure("verifier_unusable", str(exc)) from None
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            fmt, model = int(npz["format"]), str(npz["model"])
            if fmt == LINEAR:
                w1 = b1 = None
                weights, bias = np.asarray(npz["weights"], np.float32), float(npz["bias"])
            else:
                w1, b1 = np.asarray(npz["w1"], np.float32), np.asarray(npz["b1"], np.float32)
                weights, bias = np.asarray(npz["w2"], np.float32), float(npz["b2"])
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile, EOFError):
        raise WakeFailure("verifier_unusable", f"wake verifier {path}: {expected}") from None
    if fmt == LINEAR:
        good = weights.shape == (INPUTS,) and _finite(weights, bias)
    else:
        hidden = len(weights)
        good = (fmt == HIDDEN and weights.shape == (hidden,) and 0 < hidden <= MAX_HIDDEN
                and w1 is not None and b1 is not None
                and w1.shape == (INPUTS, hidden) and b1.shape == (hidden,)
                and _finite(w1, b1, weights, bias))
    if not good:
        raise WakeFailure("verifier_unusable", f"wake verifier {path}: {expected}")
    return WakeVerifier(weights, bias, model, w1, b1)
