"""Lean onnxruntime sessions for openWakeWord and Silero, and a lean openWakeWord import.

openWakeWord 0.5.1 builds its own sessions (one thread each, but onnxruntime's default CPU
memory arena) and gives no way to pass session options, so the sessions it made are rebuilt
here from the same model files with :func:`session_options`. Scores are unchanged (a test
compares them on a real clip); only where scratch memory comes from differs.

``import openwakeword`` also imports scikit-learn and scipy for ``train_custom_verifier``, a
training helper the daemon never calls: ~80 MiB of RSS and ~2 s of start-up on this box for
nothing. :func:`import_openwakeword` registers a small stand-in for that one module before the
package is imported; calling the stand-in's function says how to get the real one.
"""

from __future__ import annotations

import copy
import sys
import types
from collections import deque
from typing import Any

import numpy as np

_VERIFIER = "openwakeword.custom_verifier_model"
# openWakeWord keeps the last 10 s of audio as a deque of Python ints (~6 MiB) and copies all
# of it into a list on every 80 ms frame, only to use the newest frame + 480 samples for the
# mel spectrogram. A quarter second keeps that slice exact for every frame we feed (always
# 1280 samples; anything up to 3520 would be) and cuts the wake detector's idle CPU from
# ~3.3 % to ~2.1 % of a core (measured on the 2-core dev box) and its RSS by ~5 MiB.
RAW_AUDIO_KEPT = 4000


def _train_custom_verifier_unavailable(*args: Any, **kwargs: Any) -> None:
    raise RuntimeError("openwakeword.train_custom_verifier is not loaded in vitad (it needs "
                       "scikit-learn); import it in a separate training script")


def import_openwakeword() -> Any:
    """``openwakeword`` without its training helper's scikit-learn/scipy imports."""
    if "openwakeword" not in sys.modules and _VERIFIER not in sys.modules:
        stand_in = types.ModuleType(_VERIFIER, "vitad: training helper not loaded (see "
                                    "vitad.pipeline.ortsessions)")
        # A plain module object: mypy cannot know the attribute we are giving it.
        stand_in.train_custom_verifier = _train_custom_verifier_unavailable  # type: ignore[attr-defined]
        sys.modules[_VERIFIER] = stand_in
    import openwakeword
    import openwakeword.model
    import openwakeword.vad

    return openwakeword


def session_options() -> Any:  # onnxruntime.SessionOptions; onnxruntime is untyped
    """No CPU memory arena, one thread, sequential execution.

    The models are tiny and run one 80 ms (or 30 ms) frame at a time, so an arena only keeps
    the largest scratch buffer ever needed (openWakeWord's 4 s warm-up batch) for good, and
    more threads only add wake-ups. One process-wide onnxruntime environment is shared by
    every session (onnxruntime's Python binding creates exactly one).
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.enable_cpu_mem_arena = False
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return options


def lean_session(session: Any) -> Any:
    """The same model as ``session``, reloaded with :func:`session_options`."""
    import onnxruntime as ort

    path = getattr(session, "_model_path", None)  # set by InferenceSession for a file path
    if not path:
        return session  # built from bytes: keep it as it is
    return ort.InferenceSession(path, sess_options=session_options(),
                                providers=["CPUExecutionProvider"])


def make_lean(model: Any) -> Any:
    """Rebuild every session of an openWakeWord ``Model`` (onnx) with lean options, in place."""
    for name, session in list(model.models.items()):
        lean = lean_session(session)
        model.models[name] = lean
        model.model_prediction_function[name] = (
            lambda x, s=lean: s.run(None, {s.get_inputs()[0].name: x}))
    features = model.preprocessor
    features.raw_data_buffer = deque(features.raw_data_buffer, maxlen=RAW_AUDIO_KEPT)
    # Its predict lambdas read these attributes on every call, so replacing them is enough.
    features.melspec_model = lean_session(features.melspec_model)
    features.embedding_model = lean_session(features.embedding_model)
    return model


def sharing_sessions(model: Any) -> Any:
    """A second openWakeWord ``Model`` with its own audio and score buffers but the same
    sessions (onnxruntime runs one session from several threads safely)."""
    twin = copy.copy(model)
    features = copy.copy(model.preprocessor)
    features.raw_data_buffer = deque(maxlen=model.preprocessor.raw_data_buffer.maxlen)
    features.melspectrogram_buffer = np.ones((76, 32))
    features.accumulated_samples = 0
    features.raw_data_remainder = np.empty(0)
    # openWakeWord starts this with the features of 4 s of random noise, which costs a 41-window
    # batch through the embedding model (tens of MiB of scratch). The live model's buffer is as
    # good a start: the first few scores come from it, and the self-voice check primes 2 s of
    # silence first, which pushes it out of the wake model's 16-feature window.
    features.feature_buffer = model.preprocessor.feature_buffer.copy()
    twin.preprocessor = features
    twin.reset()
    return twin
