"""The "is this partial already a whole question?" judge, over the shipped intents file."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import config_dict
from vitad.config.loader import shipped_config_dir, validate_config
from vitad.pipeline.completeness import CONTINUATION_WORDS, CompletenessJudge, judge_for
from vitad.pipeline.engines import build_dialogue


@pytest.fixture(scope="module")
def judge(tmp_path_factory: pytest.TempPathFactory) -> CompletenessJudge:
    tmp: Path = tmp_path_factory.mktemp("judge")
    config = validate_config(config_dict(tmp), "test", shipped_config_dir())
    return CompletenessJudge(build_dialogue(config))


@pytest.mark.parametrize("text", [
    "what time do you close",
    "how much is the big washer",
    "how much is the dryer",
    "do you take credit cards",
    "dryer seven is broken",
    "there is water on the floor",  # a report that names no machine
    "i've never used one of these before",  # "before" ends a sentence as often as not
    "what is your phone number",  # "number" ends it: no machine was named
    "what's the phone number",
])
def test_a_confident_whole_question_is_complete(judge: CompletenessJudge, text: str) -> None:
    assert judge(text)


@pytest.mark.parametrize("text", [
    "how much is the",  # the intent is sure, the question is not finished
    "what time do you",
    "how much is the washer and",
    "dryer number",
    "how much is washer number",  # "how much is washer" is whole; its number may follow
    "how much is the machine number",
    "is the number",  # "...on the machine right"
    "do you take",
    "dryer seven isn't",
    "how much",
    "is there wifi",  # off-topic: the file's fallback examples
    "the weather in paris tomorrow",  # no intent at all
    "hello",  # one word
    "opening hours",  # two words: rarely a whole question, and a short wait costs little
    "",
])
def test_an_unfinished_or_unsure_partial_is_not(judge: CompletenessJudge, text: str) -> None:
    assert not judge(text)


def test_a_report_naming_a_kind_waits_for_its_number(judge: CompletenessJudge) -> None:
    """The number may come next ("washer … five is broken"); a numbered machine, or a question
    whose answer does not depend on the number, ends early as before."""
    assert not judge("the washer is broken")
    assert not judge("the dryer is not heating")
    assert not judge("the big washer is broken")
    assert judge("washer five is broken")
    assert judge("how much is the dryer")


def test_the_brief_s_continuation_words_are_in_the_one_list() -> None:
    assert {"and", "the", "a", "an", "number", "is", "my", "to", "of", "on", "in", "for",
            "with", "but", "or"} <= CONTINUATION_WORDS


def test_one_judge_per_dialogue(tmp_path: Path) -> None:
    """simulate assembles a pipeline per file: the judge is built once per dialogue (a reload
    builds a new dialogue, and with it a new judge over the new intents)."""
    config = validate_config(config_dict(tmp_path), "test", shipped_config_dir())
    first, second = build_dialogue(config), build_dialogue(config)
    assert judge_for(first) is judge_for(first)
    assert judge_for(second) is not judge_for(first)
