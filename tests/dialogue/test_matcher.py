"""Fuzzy intent scoring: similarity, keyword bonus, ranking."""

from __future__ import annotations

import pytest

from vitad.dialogue.intents import IntentsFile, IntentSpec
from vitad.dialogue.matcher import KEYWORD_BONUS, KEYWORD_BONUS_CAP, IntentMatcher, similarity


def intents(**specs: IntentSpec) -> IntentsFile:
    names = ("hours", "prices", "payment", "how_to_use", "supplies", "report_problem",
             "lost_and_found", "contact", "greeting", "thanks", "goodbye", "fallback")
    table = {n: IntentSpec(reply="x") for n in names} | specs
    return IntentsFile(language="en", intents=table)


def test_similarity_is_100_for_the_same_words_in_any_order() -> None:
    assert similarity("what time do you close", "what time do you close") == 100
    assert similarity("close you do time what", "what time do you close") == 100
    assert similarity("what time do you close", "where can i buy soap") < 50


def test_an_example_inside_a_longer_question_scores_high() -> None:
    inside = similarity("it sure does what time do you close the", "what time do you close")
    assert inside > 85
    # The reverse (a short question inside a long example) is not rewarded the same way.
    assert similarity("close", "what time do you close") < inside


def test_rank_is_sorted_and_ranks_the_off_topic_examples_too(en_intents: IntentsFile) -> None:
    ranked = IntentMatcher(en_intents).rank("how much is the big washer")
    assert ranked[0].intent == "prices" and ranked[0].score == 100
    assert [m.score for m in ranked] == sorted((m.score for m in ranked), reverse=True)
    # The shipped fallback has off-topic examples: it competes like an intent.
    assert {m.intent for m in ranked} == set(en_intents.intents)
    assert IntentMatcher(en_intents).rank("tell me a joke")[0].intent == "fallback"


def test_a_fallback_without_examples_is_never_ranked(en_intents: IntentsFile) -> None:
    intents = en_intents.model_copy(update={"intents": {
        **en_intents.intents,
        "fallback": en_intents.intents["fallback"].model_copy(
            update={"examples": [], "keywords": []})}})
    ranked = IntentMatcher(intents).rank("tell me a joke")
    assert "fallback" not in {m.intent for m in ranked}


def test_rank_of_nothing_is_empty(en_intents: IntentsFile) -> None:
    matcher = IntentMatcher(en_intents)
    assert matcher.rank("") == [] and matcher.rank(" ?! ") == []


def test_keywords_add_a_capped_bonus_to_the_fuzzy_view() -> None:
    spec = IntentSpec(examples=["zzzz qqqq"], keywords=["soap", "towel", "bleach", "powder"],
                      reply="x")
    matcher = IntentMatcher(intents(supplies=spec))

    def score(text: str) -> float:
        return next(m.score for m in matcher.fuzzy_rank(text) if m.intent == "supplies")

    base = score("kkkk")
    one = score("kkkk soap")
    assert one - similarity("kkkk soap", "zzzz qqqq") == pytest.approx(KEYWORD_BONUS)
    two = score("soap towel")
    assert two - similarity("soap towel", "zzzz qqqq") == pytest.approx(2 * KEYWORD_BONUS)
    four = score("soap towel bleach powder")
    assert four - similarity("soap towel bleach powder", "zzzz qqqq") == pytest.approx(
        KEYWORD_BONUS_CAP)
    assert base < one


def test_keywords_tolerate_small_asr_errors_and_multi_word_keywords() -> None:
    spec = IntentSpec(keywords=["detergent", "dryer sheets"], reply="x")
    matcher = IntentMatcher(intents(supplies=spec))
    assert matcher.keyword_hits("do you sell detergant", "supplies") == 1  # fuzzy
    assert matcher.keyword_hits("any dryer sheets", "supplies") == 1  # multi-word
    assert matcher.keyword_hits("sheets for the dryer", "supplies") == 0
    assert matcher.keyword_hits("detergent", "no_such_intent") == 0


def test_scores_never_exceed_100(en_intents: IntentsFile) -> None:
    ranked = IntentMatcher(en_intents).rank("dryer seven is not heating it is broken and stuck")
    assert all(0 <= m.score <= 100 for m in ranked)
