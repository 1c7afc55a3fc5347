"""The shipped wake verifier with the real openWakeWord model, on synthesized speech in noise."""

from __future__ import annotations

import logging
import os
import shutil

import numpy as np
import pytest

from tests.conftest import config_dict, silence, with_noise
from tests.pipeline.test_wake import detections
from vitad import events as ev
from vitad.audio.wavfile import chunks_from_array
from vitad.config.loader import shipped_config_dir, validate_config
from vitad.config.schema import WakeSettings
from vitad.errors import WakeFailure
from vitad.pipeline.engines import load_engines
from vitad.pipeline.wake import (
    VERIFIER_DEGRADED,
    Detection,
    SelfVoiceCheck,
    WakeDetector,
    bundled_verifier_path,
)
from vitad.pipeline.wake_verifier import (
    FEATURE_DIMS,
    FEATURE_FRAMES,
    INPUTS,
    load_verifier,
    save_verifier,
)

WITH_VERIFIER = WakeSettings(threshold=0.3, verifier="bundled", verifier_gate=0.001,
                              verifier_threshold=0.9, verifier_frames=3)  # as shipped
# Accented "hey jarvis" (espeak-ng Caribbean and Scottish, the voices the wake model hears
# worst), each in laundromat noise at a few levels: enough takes that the wake model alone
# misses some of them for sure.
ACCENTS = ["en-029+m2", "en-gb-scotland+m1", "en-029+m4", "en-gb-scotland+f2"]
LEVELS = [60.0, 150.0, 300.0]


@pytest.fixture(scope="module")
def verified() -> WakeDetector:
    detector = WakeDetector(WITH_VERIFIER)
    assert detector.verifier is not None, "assets/wake/hey_jarvis_verifier.npz did not load"
    return detector


@pytest.fixture(scope="module")
def alone() -> WakeDetector:
    return WakeDetector(WakeSettings(threshold=0.3))


def fresh(detector: WakeDetector) -> WakeDetector:
    detector.restart_clock()
    return detector


def test_the_bundled_verifier_is_a_small_file() -> None:
    path = bundled_verifier_path()
    assert path.is_file() and path.stat().st_size < 512 * 1024
    verifier = load_verifier(path)
    assert verifier.model == "hey_jarvis" and verifier.nbytes < 512 * 1024


@pytest.mark.parametrize("hidden", [0, 8])
def test_a_saved_verifier_computes_what_was_trained(tmp_path, hidden: int) -> None:
    """Both formats (logistic regression; one hidden ReLU layer) load back to the same maths."""
    rng = np.random.default_rng(hidden)
    x = rng.normal(size=(5, FEATURE_FRAMES, FEATURE_DIMS)).astype(np.float32)
    path = tmp_path / "v.npz"
    if hidden:
        w1, b1 = rng.normal(size=(INPUTS, hidden)) * 0.05, rng.normal(size=hidden)
        w2, b2 = rng.normal(size=hidden), -0.3
        save_verifier(path, w2, b2, "hey_jarvis", w1, b1)
        h = np.maximum(x.reshape(5, -1) @ w1 + b1, 0)
        expected = 1 / (1 + np.exp(-(h @ w2 + b2)))
    else:
        w, b = rng.normal(size=INPUTS) * 0.05, 0.2
        save_verifier(path, w, b, "hey_jarvis")
        expected = 1 / (1 + np.exp(-(x.reshape(5, -1) @ w + b)))
    verifier = load_verifier(path)
    assert np.allclose(verifier.probabilities(x), expected, atol=1e-4)
    assert verifier.probability(x[2][None]) == pytest.approx(expected[2], abs=1e-4)
    assert expected.min() > 0.01 and expected.max() < 0.99  # the check compares real numbers


def test_piper_hey_jarvis_in_noise_wakes_once(verified: WakeDetector, speech) -> None:
    audio = with_noise(np.concatenate([silence(1.5), speech("Hey Jarvis."), silence(1.5)]),
                       level=150)
    found = detections(fresh(verified), audio)
    assert len(found) == 1, found


def hits(detector: WakeDetector, audio: np.ndarray) -> list[Detection]:
    found = []
    for chunk in chunks_from_array(audio, 80):
        hit = detector.feed(chunk.samples, chunk.end)
        if hit is not None:
            found.append(hit)
    return found


def test_the_verifier_hears_accented_wake_words_the_model_alone_misses(
        verified: WakeDetector, alone: WakeDetector, espeak) -> None:
    heard_alone = heard_verified = 0
    confirmed: list[Detection] = []
    for voice in ACCENTS:
        wake = espeak("hey jarvis", voice)
        for seed, level in enumerate(LEVELS):
            audio = with_noise(np.concatenate([silence(1.6), wake, silence(1.5)]),
                               level=level, seed=seed)
            heard_alone += bool(detections(fresh(alone), audio))
            found = hits(fresh(verified), audio)
            heard_verified += bool(found)
            confirmed += [hit for hit in found if hit.verified is not None]
    takes = len(ACCENTS) * len(LEVELS)
    assert heard_alone < takes  # the model alone does miss some: the comparison means something
    assert heard_verified > heard_alone, (heard_alone, heard_verified, takes)
    assert heard_verified >= takes - 1, (heard_alone, heard_verified, takes)  # 12 of 12 here
    # A wake only the verifier heard carries the verifier's confidence (what the Wake event
    # shows), not the wake model's low score.
    assert confirmed
    for hit in confirmed:
        assert hit.model_score is not None and hit.model_score < WITH_VERIFIER.threshold
        assert hit.score == max(hit.verified, hit.model_score)
        assert hit.score >= WITH_VERIFIER.verifier_threshold


def test_noise_and_talk_without_the_wake_word_never_wake(
        verified: WakeDetector, speech, espeak) -> None:
    for seed, level in enumerate([30.0, 90.0, 200.0, 600.0, 1500.0]):
        assert detections(fresh(verified), with_noise(silence(20.0), level, seed)) == []
    talk = [
        speech("What time do you close? How much is the big washer?"),
        espeak("Hey Travis, dryer seven is not heating.", "en-029+m2"),
        espeak("Hey there, can I pay with a card? The jars are on the shelf.",
               "en-gb-scotland+m1"),
        speech("Hey Charlie, I lost my sock in the service machine."),
    ]
    audio = with_noise(np.concatenate([silence(1.0), *talk, silence(1.0)]), level=150)
    assert detections(fresh(verified), audio) == []


def test_a_missing_verifier_is_one_error_line_and_wake_still_works(
        tmp_path, caplog, speech) -> None:
    caplog.set_level(logging.ERROR, logger="vitad.pipeline.wake")
    detector = WakeDetector(WakeSettings(verifier=str(tmp_path / "nope.npz")))
    assert detector.verifier is None
    [record] = caplog.records
    assert "nope.npz" in record.getMessage() and "not found" in record.getMessage()
    assert "\n" not in record.getMessage()
    [degraded] = detector.degraded  # published by the loader with the other stages' modes
    assert (degraded.component, degraded.mode, degraded.active) == (
        "wake", VERIFIER_DEGRADED, True)
    assert "nope.npz" in degraded.detail
    audio = with_noise(np.concatenate([silence(1.5), speech("Hey Jarvis."), silence(1.5)]),
                       level=150)
    assert len(detections(detector, audio)) == 1


@pytest.mark.parametrize("content", [b"", b"not a zip file" * 20, "truncated", "wrong_shape",
                                     "nan", "fifo", "hidden_mismatch", "hidden_nan"])
def test_a_corrupt_verifier_is_one_error_line(tmp_path, caplog, content) -> None:
    path = tmp_path / "verifier.npz"
    if content == "truncated":
        save_verifier(path, np.ones(FEATURE_FRAMES * FEATURE_DIMS), 0.0, "hey_jarvis")
        path.write_bytes(path.read_bytes()[:200])
    elif content == "wrong_shape":
        save_verifier(path, np.ones(10), 0.0, "hey_jarvis")
    elif content == "nan":
        save_verifier(path, np.full(FEATURE_FRAMES * FEATURE_DIMS, np.nan), 0.0, "hey_jarvis")
    elif content == "hidden_mismatch":  # 8 hidden units in, 9 out
        save_verifier(path, np.ones(9), 0.0, "hey_jarvis", np.ones((INPUTS, 8)), np.ones(8))
    elif content == "hidden_nan":
        save_verifier(path, np.ones(8), 0.0, "hey_jarvis", np.full((INPUTS, 8), np.inf),
                      np.ones(8))
    elif content == "fifo":
        os.mkfifo(path)  # must not block the loader
    else:
        assert isinstance(content, bytes)
        path.write_bytes(content)
    with pytest.raises(WakeFailure) as err:
        load_verifier(path)
    assert err.value.code == "wake.verifier_unusable"
    assert str(path) in err.value.message and "\n" not in err.value.message
    caplog.set_level(logging.ERROR, logger="vitad.pipeline.wake")
    detector = WakeDetector(WakeSettings(verifier=str(path)))
    assert detector.verifier is None
    assert len(caplog.records) == 1
    assert [d.mode for d in detector.degraded] == [VERIFIER_DEGRADED]


def test_a_verifier_for_another_model_is_not_used(tmp_path, caplog) -> None:
    path = tmp_path / "alexa_verifier.npz"
    save_verifier(path, np.zeros(FEATURE_FRAMES * FEATURE_DIMS), 0.0, "alexa")
    caplog.set_level(logging.ERROR, logger="vitad.pipeline.wake")
    detector = WakeDetector(WakeSettings(verifier=str(path)))
    assert detector.verifier is None
    assert "alexa" in caplog.records[0].getMessage()
    assert "alexa" in detector.degraded[0].detail
    # The shipped hey_jarvis verifier simply does not apply to another model: no error.
    caplog.clear()
    other = WakeDetector(WakeSettings(models=["alexa"], verifier="bundled"))
    assert other.verifier is None and other.degraded == []
    assert caplog.records == []


def test_the_loader_reports_a_broken_verifier_as_degraded_and_a_fixed_one_as_ok(
        tmp_path) -> None:
    def config(verifier: str):  # type: ignore[no-untyped-def]
        return validate_config(config_dict(tmp_path, asr={"engine": "pocketsphinx"},
                                           wake={"verifier": verifier}),
                               "test", shipped_config_dir())

    broken = config(str(tmp_path / "gone.npz"))
    old = load_engines(broken)
    [mode] = [d for d in old.degraded if d.component == "wake"]
    assert mode.active and mode.mode == VERIFIER_DEGRADED and "gone.npz" in mode.detail
    fixed = load_engines(config("bundled"), reuse=(broken, old))
    assert fixed.wake.verifier is not None
    assert [(d.mode, d.active) for d in fixed.degraded if d.component == "wake"] == [
        (VERIFIER_DEGRADED, False)]
    assert isinstance(fixed.degraded[0], ev.Degraded)


def test_a_reload_retries_a_verifier_file_repaired_under_the_same_config(tmp_path) -> None:
    path = tmp_path / "verifier.npz"
    config = validate_config(config_dict(tmp_path, asr={"engine": "pocketsphinx"},
                                         wake={"verifier": str(path)}),
                             "test", shipped_config_dir())
    old = load_engines(config)
    assert old.wake.verifier is None and old.wake.degraded
    kept = load_engines(config, reuse=(config, old))  # still missing: a new detector, same fate
    assert kept.wake is not old.wake and kept.wake.degraded
    shutil.copyfile(bundled_verifier_path(), path)  # the operator puts the file back
    fixed = load_engines(config, reuse=(config, kept))
    assert fixed.wake.verifier is not None and not fixed.wake.degraded
    assert [(d.mode, d.active) for d in fixed.degraded if d.component == "wake"] == [
        (VERIFIER_DEGRADED, False)]
    healthy = load_engines(config, reuse=(config, fixed))  # a working detector is kept
    assert healthy.wake is fixed.wake


def test_the_self_voice_check_counts_what_the_verifier_would_hear(
        verified: WakeDetector, speech) -> None:
    check = SelfVoiceCheck(WITH_VERIFIER, share=verified)
    heard, _ = check.heard_self(speech("Say hey Jarvis to ask me anything."))
    assert heard
    heard, _ = check.heard_self(speech("The dryer is one dollar fifty for ten minutes."))
    assert not heard
