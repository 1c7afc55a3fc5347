"""Correction to the shop's domain sentences: close → corrected, far → untouched."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import silence
from vitad.asr.correction import CorrectingRecognizer, DomainCorrector, apply_domain, choose
from vitad.asr.sphinx_engine import SphinxRecognizer
from vitad.config.loader import load_config, shipped_config_dir
from vitad.config.schema import AsrSettings, Config, Machine, Shop
from vitad.demo import at_snr
from vitad.dialogue.domain import Domain, domain_sentences
from vitad.dialogue.intents import load_intents
from vitad.pipeline.engines import build_dialogue


@pytest.fixture(scope="module")
def shipped() -> Config:
    return load_config(shipped_config_dir() / "vitad.toml")


@pytest.fixture(scope="module")
def domain(shipped: Config) -> Domain:
    return domain_sentences(load_intents(shipped_config_dir() / "intents.en.toml"), shipped.shop)


@pytest.fixture(scope="module")
def corrector(domain: Domain) -> DomainCorrector:
    return DomainCorrector(domain.sentences, number_words=domain.number_words)


@pytest.mark.parametrize(("heard", "meant"), [
    ("how much is the big washed", "how much is the big washer"),
    ("dryer eight is not eating", "dryer eight is not heating"),
    ("what time do you closed", "what time do you close"),
])
def test_close_transcripts_are_corrected(corrector: DomainCorrector, heard: str,
                                         meant: str) -> None:
    result = corrector.correct(heard)
    assert result == (meant, result.score, True)
    assert result.score >= corrector.threshold(meant)


@pytest.mark.parametrize("heard", [
    "what is the weather tomorrow", "tell me a joke", "can you play some music",
    "where is the nearest bus stop", "what is the capital of france", "is there wifi here",
])
def test_out_of_domain_speech_passes_through_unchanged(corrector: DomainCorrector,
                                                       heard: str) -> None:
    result = corrector.correct(heard)
    assert result.text == heard and not result.corrected
    assert result.score < corrector.threshold(heard)


@pytest.mark.parametrize(("heard", "meant"), [
    ("journalists what time do you close the", "what time do you close"),
    ("the germans and the dryer", "and the dryer"),
    ("us and the dryer", "and the dryer"),
])
def test_wake_phrase_tail_before_the_question_is_dropped(corrector: DomainCorrector,
                                                         heard: str, meant: str) -> None:
    assert corrector.correct(heard)[::2] == (meant, True)


def test_short_sentences_need_a_closer_match(corrector: DomainCorrector) -> None:
    assert corrector.threshold("hi") > corrector.threshold("how much is the big washer")
    assert corrector.correct("hello") == ("hello", 100.0, True)
    assert not corrector.correct("hollow").corrected


def test_a_heard_number_is_kept(corrector: DomainCorrector) -> None:
    # Washers are 1-9: no "washer twelve" sentence exists, yet the customer said twelve.
    result = corrector.correct("washer twelve is not heating")
    assert result.corrected and result.text == "washer twelve is not heating"
    assert corrector.correct("dryer 7 is not heatin").text == "dryer 7 is not heating"


def test_chinese_is_corrected_character_by_character() -> None:
    intents = load_intents(shipped_config_dir() / "intents.zh.toml")
    shop = Shop(machines=[Machine(id="dryer", kind="dryer", name="烘干机", price="一块五",
                                  cycle_minutes=10, numbers=[1, 2, 7])])
    domain = domain_sentences(intents, shop)
    corrector = DomainCorrector(domain.sentences, tokenize="chars",
                                number_words=domain.number_words)
    assert corrector.correct("七号烘干机不热") == ("七号烘干机不热了", corrector.correct(
        "七号烘干机不热").score, True)
    assert corrector.correct("八号烘干机不热了").text == "八号烘干机不热了"  # 8 kept
    assert not corrector.correct("明天天气怎么样").corrected


def test_a_restricted_pass_is_used_only_when_it_is_a_domain_sentence(
        corrector: DomainCorrector) -> None:
    assert choose(corrector, "part of this monkey", "dryer seven is not heating") == (
        "dryer seven is not heating", 100.0, True)
    # Out-of-domain speech through a domain LM is a jumble of domain words: not trusted.
    assert choose(corrector, "what is what more", "what is what won't") == (
        "what is what more", corrector.correct("what is what more").score, False)


def test_reload_rewraps_instead_of_nesting(domain: Domain) -> None:
    sphinx = SphinxRecognizer()
    first = apply_domain(sphinx, domain, AsrSettings(engine="pocketsphinx"))
    assert isinstance(first, CorrectingRecognizer) and first.name == "pocketsphinx"
    again = apply_domain(first, domain, AsrSettings(engine="pocketsphinx"))
    assert isinstance(again, CorrectingRecognizer) and again.inner is sphinx
    off = apply_domain(again, domain, AsrSettings(engine="pocketsphinx", domain=False))
    assert off is sphinx and not sphinx.domain_pass



def _decode(recognizer, audio: np.ndarray):  # type: ignore[no-untyped-def]
    stream = recognizer.start()
    for i in range(0, len(audio), 1280):
        stream.accept(audio[i : i + 1280])
    return stream, stream.finish()


def test_pocketsphinx_in_noise_reaches_the_intent_with_the_domain(
        speech, domain: Domain, shipped: Config) -> None:
    """At 15 dB SNR the open pass hears nonsense; with the domain the question is right."""
    dialogue = build_dialogue(shipped)
    settings = AsrSettings(engine="pocketsphinx")
    recognizer = apply_domain(SphinxRecognizer(), domain, settings)
    audio = at_snr(np.concatenate([silence(0.3), speech("dryer seven is not heating"),
                                    silence(0.6)]), 15.0, seed=1)
    stream, text = _decode(recognizer, audio)
    answer = dialogue.respond(text, session_key="with-domain")
    assert (answer.intent, answer.slots.get("machine_number")) == ("report_problem", 7), text
    assert stream.raw_text is not None and stream.confidence is not None
    assert 0.0 <= stream.confidence <= 1.0

    plain = apply_domain(SphinxRecognizer(), domain, settings.model_copy(update={"domain": False}))
    _, heard = _decode(plain, audio)
    assert heard == stream.raw_text  # the open pass is the same decoder either way
    answer = dialogue.respond(heard, session_key="without-domain")
    assert (answer.intent, answer.slots.get("machine_number")) != ("report_problem", 7), heard


def test_pocketsphinx_out_of_domain_question_is_not_forced_into_the_domain(
        speech, domain: Domain) -> None:
    recognizer = apply_domain(SphinxRecognizer(), domain, AsrSettings(engine="pocketsphinx"))
    audio = at_snr(np.concatenate([silence(0.3), speech("what is the weather tomorrow"),
                                    silence(0.6)]), 15.0, seed=24)
    stream, text = _decode(recognizer, audio)
    assert text == stream.raw_text and not stream.corrected
    assert text not in domain.sentences
