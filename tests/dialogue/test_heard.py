"""How sure the recognizer was of what it heard decides between answering and asking.

The sentences are written for these tests; none is in bench/corpus/paraphrases.toml.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from vitad.dialogue.engine import Dialogue

MakeDialogue = Callable[..., Dialogue]
CLEAR = "can i talk to the owner please"  # contact, as clear as a question gets
HALF_CLEAR = "tell me about the big washer"  # prices? how to use it?


@pytest.mark.parametrize("heard", [None, 0.9, 0.66])
def test_a_clear_question_heard_well_is_answered(dialogue: Dialogue,
                                                 heard: float | None) -> None:
    assert dialogue.respond(CLEAR, heard_confidence=heard).intent == "contact"


def test_a_clear_question_heard_fairly_is_answered_not_confirmed(dialogue: Dialogue) -> None:
    assert dialogue.respond(CLEAR, heard_confidence=0.5).intent == "contact"


def test_a_fairly_heard_machine_question_without_a_machine_is_confirmed(
        dialogue: Dialogue) -> None:
    # A doubtful hearing loses the machine words first ("how much for washer nine" heard as
    # "how much for a dry"): a price question is answered at 0.5 only with a machine heard.
    assert dialogue.respond("how much does the dryer cost",
                            heard_confidence=0.5).intent == "prices"
    ask = dialogue.respond("how much does a dry cost", session_key="b", heard_confidence=0.5)
    assert ask.intent == "clarify" and ask.slots["candidate"] == "prices"
    assert dialogue.respond("how much does a dry cost", session_key="c").intent == "prices"


def test_a_clear_question_heard_badly_is_confirmed(dialogue: Dialogue) -> None:
    ask = dialogue.respond(CLEAR, heard_confidence=0.3)
    assert ask.intent == "clarify" and ask.slots["candidate"] == "contact"
    assert dialogue.respond("yes").intent == "contact"


def test_a_less_clear_question_heard_fairly_is_still_confirmed(dialogue: Dialogue) -> None:
    # answered when heard well, but not clear enough to skip the question at 0.5
    question = "do i pay at the machine"
    assert dialogue.respond(question, session_key="a").intent == "payment"
    ranked = dialogue._matcher.rank(question)
    assert ranked[0].score < dialogue.clear_score or not ranked[0].agreed
    assert dialogue.respond(question, session_key="b",
                            heard_confidence=0.5).intent == "clarify"


def test_an_unsure_question_is_confirmed_however_well_heard(dialogue: Dialogue) -> None:
    assert dialogue.respond(HALF_CLEAR, heard_confidence=1.0).intent == "clarify"


def test_clear_heard_min_at_confirm_heard_below_restores_the_strict_rule(
        make_dialogue: MakeDialogue) -> None:
    strict = make_dialogue(clear_heard_min=0.66)
    assert strict.respond(CLEAR, heard_confidence=0.5).intent == "clarify"
    never_ask = make_dialogue(confirm_heard_below=0.0)
    assert never_ask.respond(CLEAR, heard_confidence=0.1).intent == "contact"


def test_a_keyword_phrase_with_a_number_word_is_heard(dialogue: Dialogue) -> None:
    # "one" reads as a machine number ("num") inside the matcher; the keyword phrase
    # "have a good one" must be read the same way to be found.
    assert dialogue.respond("alright then have a good one").intent == "goodbye"
