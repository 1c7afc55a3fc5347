"""Phrasings nobody wrote down: what each rule of the matcher buys, shown by switching it off.

Each test asks the shipped intents file, then the same file without the rule, and expects
the rule to make the difference. The sentences are written for these tests; none is in
bench/corpus/paraphrases.toml.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from vitad.dialogue.engine import Dialogue
from vitad.dialogue.intents import IntentsFile

MakeDialogue = Callable[..., Dialogue]


def _outcome(dialogue: Dialogue, question: str) -> str:
    answer = dialogue.respond(question)
    return answer.intent


def _without(en_intents: IntentsFile, **update: object) -> IntentsFile:
    return en_intents.model_copy(update=update)


@pytest.mark.parametrize(("question", "intent"), [
    ("the dryer is knackered", "report_problem"),  # knackered = broken
    ("i misplaced something", "lost_and_found"),  # misplaced = lost
    ("what's a dry going to set me back", "prices"),  # set me back = cost
])
def test_synonyms_cover_words_no_example_uses(make_dialogue: MakeDialogue,
                                              en_intents: IntentsFile, question: str,
                                              intent: str) -> None:
    assert _outcome(make_dialogue(), question) == intent
    assert _outcome(make_dialogue(intents=_without(en_intents, synonyms={})),
                    question) != intent


def test_word_stems_cover_inflections(make_dialogue: MakeDialogue,
                                      en_intents: IntentsFile) -> None:
    question = "how do i get the machine started"  # "started": only "start" is written
    assert _outcome(make_dialogue(), question) == "how_to_use"
    assert _outcome(make_dialogue(intents=_without(en_intents, stemmer="")),
                    question) != "how_to_use"


@pytest.mark.parametrize("question", ["how old are you", "how far is the nearest post office"])
def test_a_question_sharing_only_its_frame_is_not_understood(dialogue: Dialogue,
                                                             question: str) -> None:
    # No word but "how … are you" is known to any intent: say-again, not "Do you mean …?".
    answer = dialogue.respond(question)
    assert answer.intent == "fallback" and answer.score < dialogue.min_score


def test_without_function_words_the_frame_alone_gets_an_answer(
        make_dialogue: MakeDialogue, en_intents: IntentsFile) -> None:
    ungated = make_dialogue(intents=_without(en_intents, stop_words=[]))
    assert _outcome(ungated, "how old are you") != "fallback"


@pytest.mark.parametrize("question", [
    "can you call me a taxi",  # "call" is the contact intent's word
    "what day is it today",
    "remind me to buy milk",  # "buy" is the supplies intent's word
])
def test_off_topic_examples_are_never_answered(make_dialogue: MakeDialogue,
                                               en_intents: IntentsFile, question: str) -> None:
    assert _outcome(make_dialogue(), question) == "fallback"
    bare = en_intents.intents["fallback"].model_copy(update={"examples": [], "keywords": []})
    without = make_dialogue(intents=_without(
        en_intents, intents={**en_intents.intents, "fallback": bare}))
    assert _outcome(without, question) != "fallback"


@pytest.mark.parametrize(("question", "intent"), [
    ("can i do a wash at six in the morning", "hours"),  # "morning" is also a greeting
    ("hello, how much is the dryer", "prices"),
])
def test_a_social_word_inside_a_question_is_not_a_social_answer(dialogue: Dialogue,
                                                                 question: str,
                                                                 intent: str) -> None:
    assert _outcome(dialogue, question) == intent


@pytest.mark.parametrize(("question", "intent"), [
    ("morning", "greeting"), ("ta", "thanks"), ("goodnight", "goodbye"),
    ("ok that's it, cheers", "goodbye"),
])
def test_short_social_phrases(dialogue: Dialogue, question: str, intent: str) -> None:
    assert _outcome(dialogue, question) == intent


@pytest.mark.parametrize(("question", "intent", "slots"), [
    ("dryer six doesn't get hot", "report_problem", {"machine_type": "dryer",
                                                      "machine_number": 6}),
    ("what's the fee for the big washer", "prices", {"machine_type": "washer",
                                                     "machine": "washer_large"}),
    ("i've run out of washing powder", "supplies", {}),
])
def test_slots_survive_the_lexicon(dialogue: Dialogue, question: str, intent: str,
                                   slots: dict[str, object]) -> None:
    # The lexicon rewrites what the matcher reads, never what the slot extractor reads.
    answer = dialogue.respond(question)
    assert answer.intent == intent
    assert {k: v for k, v in answer.slots.items() if k in slots} == slots


def test_an_intent_outweighed_by_anothers_words_is_confirmed_not_answered(
        dialogue: Dialogue, monkeypatch: pytest.MonkeyPatch) -> None:
    # "tonight" is an hours word and the frame matches hours examples, but "movies" and
    # "playing" are the off-topic words: hours may be asked about, never answered.
    question = "what movies are playing tonight"
    assert dialogue.respond(question, session_key="a").intent in ("clarify", "fallback")
    monkeypatch.setattr("vitad.dialogue.matcher.OUTWEIGHED_SHARE", 2.0)  # rule off
    assert dialogue.respond(question, session_key="b").intent == "hours"


@pytest.mark.parametrize(("question", "intent"), [
    ("is there a bus stop near here", "fallback"),  # "bus stop": off-topic words
    ("who won the cup final", "fallback"),
    ("how far is the beach", "fallback"),  # not "bleach" (supplies) misheard
    ("i left my trainers in a dryer yesterday", "lost_and_found"),
    ("is there a hotline i can call", "contact"),
    ("can i use my phone to pay", "payment"),
    ("have a lovely evening", "goodbye"),
    ("can you show me how to use the washer", "how_to_use"),
    ("washer won is broken", "report_problem"),  # "won": machine one, not a sports word
])
def test_the_general_words_of_each_topic(dialogue: Dialogue, question: str,
                                         intent: str) -> None:
    assert _outcome(dialogue, question) == intent
