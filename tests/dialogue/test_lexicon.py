"""The intents file's lexicon: synonyms, contractions, stems and function words.

The sentences here are written for these tests; none is in bench/corpus/paraphrases.toml.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from vitad.dialogue.intents import IntentsError, IntentsFile, load_intents
from vitad.dialogue.lexicon import Lexicon


@pytest.fixture(scope="module")
def lexicon(en_intents: IntentsFile) -> Lexicon:
    return Lexicon(en_intents)


@pytest.mark.parametrize(("text", "canonical"), [
    ("What's the CHARGE?", "what is the cost"),  # a synonym and a contraction
    ("the fee for a wash", "the cost for a wash"),
    ("the dryer doesn't work", "the dryer broken"),  # contraction first, then the phrase
    ("who's in charge", "who is owner"),  # "in charge" is read before "charge"
    ("dryer three is knackered", "dryer three is broken"),
    ("it won't start", "it will not start"),
    ("chargers", "chargers"),  # whole words only
    ("the manager's number", "the owner number"),  # a possessive goes, then the synonym
])
def test_synonyms_read_as_their_head_word(lexicon: Lexicon, text: str, canonical: str) -> None:
    assert lexicon.canonical(text) == canonical


def test_content_stems_drop_function_words_and_stem_the_rest(lexicon: Lexicon) -> None:
    assert lexicon.content_stems(lexicon.canonical("i've never used one of these")) == [
        "never", "use"]


def test_without_a_lexicon_text_is_only_normalized(en_intents: IntentsFile) -> None:
    bare = Lexicon(en_intents.model_copy(update={"synonyms": {}, "stemmer": "",
                                                 "stop_words": []}))
    assert bare.canonical("What's the CHARGE?") == "what's the charge"
    assert bare.content_stems("the washers") == ["the", "washers"]


def _write(tmp_path: Path, en_intents: IntentsFile, **update: object) -> Path:
    import tomli_w

    data = en_intents.model_dump()
    data.update(update)
    path = tmp_path / "intents.toml"
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    return path


def test_a_chained_synonym_is_a_clear_error(tmp_path: Path, en_intents: IntentsFile) -> None:
    path = _write(tmp_path, en_intents, synonyms={"cost": ["price"], "price": ["fee"]})
    with pytest.raises(IntentsError, match="'price' is itself a head word"):
        load_intents(path)


def test_an_unknown_stemmer_language_is_a_clear_error(tmp_path: Path,
                                                      en_intents: IntentsFile) -> None:
    path = _write(tmp_path, en_intents, stemmer="klingon")
    with pytest.raises(IntentsError, match=r"stemmer: .*unknown stemmer language 'klingon'"):
        load_intents(path)
