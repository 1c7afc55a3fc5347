"""The real openWakeWord model on synthesized speech in generated laundromat noise."""

from __future__ import annotations

import os

import numpy as np
import pytest

from tests.conftest import silence, with_noise
from vitad.audio.wavfile import chunks_from_array
from vitad.config.schema import WakeSettings
from vitad.errors import WakeFailure
from vitad.pipeline.wake import SelfVoiceCheck, WakeDetector


def detections(detector: WakeDetector, audio: np.ndarray) -> list[tuple[float, float]]:
    found = []
    for chunk in chunks_from_array(audio, 80):
        hit = detector.feed(chunk.samples, chunk.end)
        if hit is not None:
            found.append((chunk.end, hit.score))
    return found


@pytest.fixture(scope="module")
def detector() -> WakeDetector:
    return WakeDetector(WakeSettings())


def test_fires_on_hey_jarvis_in_noise(detector: WakeDetector, speech) -> None:
    wake = speech("Hey Jarvis.")
    audio = with_noise(np.concatenate([silence(1.5), wake, silence(1.5)]), level=150)
    found = detections(detector, audio)
    assert len(found) == 1, found
    t, score = found[0]
    wake_end = 1.5 + len(wake) / 16000
    assert wake_end - 0.5 < t < wake_end + 1.0
    assert score >= 0.5


def test_fires_on_a_second_voice(espeak) -> None:
    detector = WakeDetector(WakeSettings())
    audio = with_noise(np.concatenate([silence(2.0), espeak("hey jarvis"), silence(1.5)]))
    assert detections(detector, audio)


def test_silent_on_speech_without_the_wake_word(detector: WakeDetector, speech, espeak) -> None:
    detector.reset()
    talk = [
        speech("What time do you close? How much is the big washer?"),
        speech("Dryer seven is not heating, and I lost my sock."),
        espeak("Hello there, can I pay with a credit card at the counter?"),
    ]
    audio = with_noise(np.concatenate([silence(1.0), *talk, silence(1.0)]), level=150)
    assert detections(detector, audio) == []


def test_refractory_period_suppresses_a_double_fire(speech) -> None:
    detector = WakeDetector(WakeSettings(refractory_s=10.0))
    wake = speech("Hey Jarvis.")
    audio = np.concatenate([silence(1.5), wake, silence(2.0), wake, silence(1.0)])
    assert len(detections(detector, audio)) == 1
    relaxed = WakeDetector(WakeSettings(refractory_s=1.5))
    assert len(detections(relaxed, audio)) == 2


def test_missing_custom_model_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(WakeFailure) as err:
        WakeDetector(WakeSettings(models=[str(tmp_path / "hey_bubbles.onnx")]))
    assert "hey_bubbles.onnx" in err.value.message
    assert err.value.code == "wake.model_missing"


def test_a_fifo_or_garbage_as_the_wake_model_is_a_clear_error(tmp_path) -> None:
    fifo = tmp_path / "hey_fifo.onnx"
    os.mkfifo(fifo)  # onnxruntime would block reading it
    with pytest.raises(WakeFailure) as err:
        WakeDetector(WakeSettings(models=[str(fifo)]))
    assert err.value.code == "wake.model_unreadable" and "regular" in err.value.message
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"not a protobuf" * 50)
    with pytest.raises(WakeFailure) as err:
        WakeDetector(WakeSettings(models=[str(garbage)]))
    assert err.value.code == "wake.model_load"


def test_self_voice_check_recognises_our_own_wake_phrase(speech) -> None:
    check = SelfVoiceCheck(WakeSettings())
    heard, peak = check.heard_self(speech("Say hey Jarvis to ask me anything."))
    assert heard and peak >= 0.25
    heard, peak = check.heard_self(speech("The dryer is one dollar fifty for ten minutes."))
    assert not heard and peak < 0.25


def test_noise_suppression_option_runs_the_real_filter(speech) -> None:
    pytest.importorskip("webrtc_noise_gain", reason="optional extra vitad[noise]")
    detector = WakeDetector(WakeSettings(noise_suppression=2))
    audio = with_noise(np.concatenate([silence(1.0), speech("Hey Jarvis."), silence(1.5)]),
                       level=200)
    assert detections(detector, audio)


def _reference_model():  # type: ignore[no-untyped-def]  # openwakeword is untyped
    """openWakeWord exactly as it builds itself (its own session options, its 10 s buffer)."""
    from openwakeword.model import Model

    return Model(wakeword_models=["hey_jarvis"], inference_framework="onnx")


def test_lean_sessions_score_exactly_like_openwakewords_own(speech) -> None:
    """No memory arena, the shorter raw-audio buffer and the shared environment change where
    memory comes from, never a score: same clip, same scores to 1e-4 on every frame."""
    audio = with_noise(np.concatenate([silence(1.0), speech("Hey Jarvis."), silence(0.5),
                                       speech("How much is the big washer?"), silence(1.0)]),
                       level=150)
    np.random.seed(11)  # openWakeWord starts its feature buffer from random noise
    lean = WakeDetector(WakeSettings())._model  # the detector's own openWakeWord model
    np.random.seed(11)
    reference = _reference_model()
    assert lean.models["hey_jarvis"] is not reference.models["hey_jarvis"]
    ours, theirs = [], []
    for i in range(0, len(audio) - 1279, 1280):
        ours.append(lean.predict(audio[i : i + 1280])["hey_jarvis"])
        theirs.append(reference.predict(audio[i : i + 1280])["hey_jarvis"])
    assert max(theirs) >= 0.5  # the clip does wake it: the comparison covers real scores
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-4)


def test_the_self_voice_check_shares_the_detectors_sessions_and_scores_the_same(
        speech) -> None:
    detector = WakeDetector(WakeSettings())
    shared = SelfVoiceCheck(WakeSettings(), share=detector)
    own = SelfVoiceCheck(WakeSettings())
    assert shared._model.models["hey_jarvis"] is detector._model.models["hey_jarvis"]
    assert shared._model.preprocessor is not detector._model.preprocessor
    reply = speech("Sure. Hey Jarvis is what you say to wake me up.")
    fired, peak = shared.heard_self(reply)
    own_fired, own_peak = own.heard_self(reply)
    assert fired and own_fired
    assert abs(peak - own_peak) < 1e-4
    # The check's buffers are its own: the detector hears the microphone as before.
    assert detections(detector, with_noise(np.concatenate(
        [silence(1.5), speech("Hey Jarvis."), silence(1.5)]), level=150))


def test_a_self_check_for_other_models_does_not_share(tmp_path) -> None:
    detector = WakeDetector(WakeSettings())
    check = SelfVoiceCheck(WakeSettings(models=["alexa"]), share=detector)
    assert check._model.models.keys() == {"alexa"}
