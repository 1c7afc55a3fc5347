"""Earcons in `vitad simulate` with the real engines: where they sound, and no self-wake.

The "microphone" of a second run hears the first run's whole output (replies and tones, as
loud as they left the speaker) on top of the customer: the daemon must still wake exactly
once per question.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import config_dict, silence, with_noise
from vitad import events as ev
from vitad.audio.format import INTERNAL_RATE, resample
from vitad.config.loader import shipped_config_dir, validate_config
from vitad.config.schema import Config
from vitad.pipeline.earcons import TONES, load_tone
from vitad.pipeline.engines import Engines, load_engines
from vitad.simulate import SimulationResult, simulate


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> tuple[Config, Engines]:
    tmp = tmp_path_factory.mktemp("earcons")
    config = validate_config(config_dict(tmp, asr={"engine": "pocketsphinx"},
                                         audio={"earcon_volume": 1.0}), "test",
                             shipped_config_dir())
    return config, load_engines(config, cache_dir=tmp / "cache")


@pytest.fixture(scope="module")
def question(speech) -> np.ndarray:  # type: ignore[no-untyped-def]
    return with_noise(np.concatenate([
        silence(1.5), speech("Hey Jarvis."), silence(0.3), speech("What time do you close?"),
        silence(7.0)]), level=60)


def run(config: Config, engines: Engines, audio: np.ndarray, **audio_settings: object,
        ) -> SimulationResult:
    settings = config.audio.model_copy(update=audio_settings)
    return simulate(config.model_copy(update={"audio": settings}), audio, engines=engines)


def loud(track: np.ndarray, rate: int, start: float, end: float) -> float:
    part = track[int(start * rate) : int(end * rate)].astype(np.float32)
    return float(np.abs(part).max()) if len(part) else 0.0


def test_tones_sound_at_the_wake_and_the_endpoint_and_never_wake_us(rig, question) -> None:
    config, engines = rig
    first = run(config, engines, question)
    (wake,) = first.of_type("wake")
    (final,) = [e for e in first.of_type("transcript") if isinstance(e, ev.Transcript)
                and e.final]
    (start,) = first.of_type("audio_out_start")
    assert [e.name for e in first.of_type("intent")] == ["hours"]  # type: ignore[attr-defined]
    track, rate = first.reply_audio, first.rate
    tone_peak = 0.25 * 32767
    assert loud(track, rate, wake.t, wake.t + 0.2) == pytest.approx(tone_peak, rel=0.05)
    assert loud(track, rate, wake.t + 0.25, min(final.t, start.t) - 0.01) == 0  # no stray sound
    understood = loud(track, rate, final.t, final.t + 0.15)
    assert understood >= 0.9 * tone_peak  # alone, or mixed with the reply's first words
    # The gate covers the tones: the self-voice check would ignore the wake model firing on
    # them, and the wake model does not even come close on them.
    for name in TONES:
        tone = (load_tone(name, INTERNAL_RATE) * 32767).astype(np.int16)
        heard, peak = engines.self_check.heard_self(np.tile(np.concatenate(
            [tone, silence(0.2)]), 4))
        assert not heard and peak < config.wake.threshold / 2, (name, peak)

    # Loopback: the microphone hears everything the speaker played, at full level.
    echo = resample(track, rate, INTERNAL_RATE)[: len(question)].astype(np.int32)
    mic = question.astype(np.int32)
    mic[: len(echo)] += echo
    second = run(config, engines, np.clip(mic, -32768, 32767).astype(np.int16))
    assert len(second.of_type("wake")) == 1, [e.t for e in second.of_type("wake")]
    assert [e.name for e in second.of_type("intent")] == ["hours"]  # type: ignore[attr-defined]
    assert len(second.of_type("turn_end")) == 1


@pytest.mark.parametrize("off", [{"earcon_volume": 0.0}, {"earcons": []}])
def test_volume_zero_or_tones_off_play_nothing(rig, question, off: dict) -> None:
    config, engines = rig
    result = run(config, engines, question, **off)
    (wake,) = result.of_type("wake")
    (start,) = result.of_type("audio_out_start")
    assert loud(result.reply_audio, result.rate, 0, start.t - 0.005) == 0
    assert wake.t < start.t and loud(result.reply_audio, result.rate, start.t, start.t + 1) > 0
