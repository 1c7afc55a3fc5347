"""Lean onnxruntime sessions: the real Silero model scores as before; the training helper's
scikit-learn is never imported."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import silence, with_noise
from vitad.pipeline.endpoint import VAD_FRAME, SileroVad
from vitad.pipeline.ortsessions import import_openwakeword, session_options


def test_session_options_have_no_arena_and_one_thread() -> None:
    options = session_options()
    assert options.enable_cpu_mem_arena is False
    assert options.intra_op_num_threads == 1 and options.inter_op_num_threads == 1


def test_silero_with_lean_options_gives_openwakewords_probabilities(speech) -> None:
    audio = with_noise(np.concatenate([silence(0.5), speech("Dryer seven is not heating."),
                                       silence(0.5)]), level=150)
    ours = SileroVad()
    theirs = import_openwakeword().vad.VAD()  # openWakeWord's own session options
    got, want = [], []
    for i in range(0, len(audio) - VAD_FRAME + 1, VAD_FRAME):
        frame = audio[i : i + VAD_FRAME]
        got.append(ours(frame))
        want.append(float(theirs.predict(frame, frame_size=VAD_FRAME)))
    assert max(want) > 0.8 and min(want) < 0.2  # speech and non-speech both covered
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-4)


def test_loading_the_wake_model_and_vad_does_not_import_scikit_learn() -> None:
    code = ("import sys; from vitad.config.schema import WakeSettings; "
            "from vitad.pipeline.wake import WakeDetector; "
            "from vitad.pipeline.endpoint import SileroVad; "
            "WakeDetector(WakeSettings()); SileroVad(); "
            "print(sorted(m for m in ('sklearn', 'scipy', 'tqdm') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_the_training_helper_says_why_it_is_missing() -> None:
    oww = import_openwakeword()
    with pytest.raises(RuntimeError, match="scikit-learn"):
        oww.train_custom_verifier()
