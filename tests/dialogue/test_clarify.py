"""Generalisation, sound-alike slots, hallucinations and "Do you mean …?" confirmations.

The sentences here are written for these tests; none is in bench/corpus/paraphrases.toml.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from vitad.config.schema import Config
from vitad.dialogue.engine import Dialogue
from vitad.dialogue.intents import IntentsFile
from vitad.dialogue.slots import SlotExtractor
from vitad.dialogue.templates import TemplateError

MakeDialogue = Callable[..., Dialogue]
REPEAT = "Sorry, could you say that again?"


@pytest.mark.parametrize(("question", "intent"), [
    ("is the big dryer expensive", "prices"),  # no example says "expensive" + a machine
    ("how pricey is a tumble dry", "prices"),
    ("is the washer dear", "prices"),
    ("do i need my own soap", "supplies"),
    ("the briar is not heating", "report_problem"),
])
def test_phrasings_nobody_wrote_down(dialogue: Dialogue, question: str, intent: str) -> None:
    assert dialogue.respond(question).intent == intent


def test_a_goodbye_is_not_answered_with_something_else(dialogue: Dialogue) -> None:
    answer = dialogue.respond("ok that's it, cheers")  # goodbye, close to thanks
    assert answer.intent == "goodbye" or answer.slots.get("candidate") == "goodbye"


@pytest.fixture
def extract(en_intents: IntentsFile, shipped_config: Config):  # type: ignore[no-untyped-def]
    return SlotExtractor(en_intents, shipped_config.shop).extract


@pytest.mark.parametrize(("text", "kind", "number"), [
    ("dryer for is broken", "dryer", 4),
    ("washer to won't start", "washer", 2),
    ("the washer ate is stuck", "washer", 8),
    ("dryer ate", "dryer", 8),
    ("washed her 3 is broken", "washer", 3),
    ("the prior is cold", "dryer", None),
    ("dry er number 7", "dryer", 7),
    ("the big washers", "washer", None),
])
def test_sound_alike_kinds_and_numbers(extract, text: str, kind: str,  # type: ignore[no-untyped-def]
                                       number: int | None) -> None:
    slots = extract(text)
    assert (slots.kind, slots.number) == (kind, number)


@pytest.mark.parametrize("text", [
    "the washer ate my money", "how much is the dryer for a load", "the washer to wash my jeans",
])
def test_homophones_before_an_object_are_not_numbers(extract, text: str) -> None:  # type: ignore[no-untyped-def]
    assert extract(text).number is None


def test_the_kind_follows_from_a_number_only_one_kind_has(extract) -> None:  # type: ignore[no-untyped-def]
    assert extract("number 10 is broken").as_dict() == {"machine_type": "dryer",
                                                         "machine_number": 10}
    # washers and dryers both have a number 5: no guess
    assert extract("number 5 is broken").as_dict() == {"machine_number": 5}


@pytest.mark.parametrize("heard", [
    "thanks for watching", "Thank you for watching!", "please subscribe",
    "thanks for watching bye", "subtitles by the amara org community",
])
def test_asr_hallucinations_are_never_answered(dialogue: Dialogue, heard: str) -> None:
    answer = dialogue.respond(heard)
    assert answer.intent == "fallback" and answer.text == REPEAT


def test_a_real_thank_you_is_still_thanks(dialogue: Dialogue) -> None:
    assert dialogue.respond("thank you so much").intent == "thanks"


UNSURE = "tell me about the big washer"


def test_an_unsure_question_asks_first_and_yes_answers_it_with_the_slots(
        dialogue: Dialogue) -> None:
    ask = dialogue.respond(UNSURE, now=0.0)
    assert ask.intent == "clarify"
    assert ask.slots["candidate"] == "prices" and ask.slots["machine"] == "washer_large"
    assert ask.text == "Do you mean the price of the big washer?"  # the machine heard
    yes = dialogue.respond("yeah", now=3.0)
    assert yes.intent == "prices" and yes.slots["machine"] == "washer_large"
    assert yes.text == "The big washer is 7 dollars 50 for about 40 minutes."
    # answered: a follow-up continues it, another "yes" is not a confirmation any more
    assert dialogue.respond("and the dryer?", now=5.0).intent == "prices"


def test_no_asks_to_repeat_and_a_new_question_is_handled_normally(dialogue: Dialogue) -> None:
    assert dialogue.respond(UNSURE, now=0.0).intent == "clarify"
    no = dialogue.respond("no", now=2.0)
    assert no.intent == "fallback" and no.text == REPEAT
    assert dialogue.respond(UNSURE, now=4.0).intent == "clarify"
    new = dialogue.respond("what time do you close", now=6.0)
    assert new.intent == "hours"


def test_no_with_another_machine_answers_for_that_machine(dialogue: Dialogue) -> None:
    dialogue.respond(UNSURE, now=0.0)
    answer = dialogue.respond("no the dryer", now=2.0)
    assert answer.intent == "prices" and "1 dollar 50" in answer.text


@pytest.mark.parametrize(("question", "asked"), [
    ("how much is washer six", "Do you mean the price of washer 6?"),
    ("how much is the big washer", "Do you mean the price of the big washer?"),
    ("how much is the dryer", "Do you mean the price of the dryer?"),
    ("dryer 7 is not heating", "Do you want to report a problem with dryer 7?"),
    ("the big washer is broken", "Do you want to report a problem with the big washer?"),
])
def test_a_confirmation_names_the_machine_heard(make_dialogue: MakeDialogue, question: str,
                                                asked: str) -> None:
    always_ask = make_dialogue(confirm_margin=100.0)
    ask = always_ask.respond(question)
    assert ask.intent == "clarify" and ask.text == asked
    assert always_ask.respond("yes").intent == ask.slots["candidate"]


def test_a_generic_confirmation_uses_the_topic(make_dialogue: MakeDialogue) -> None:
    always_ask = make_dialogue(confirm_margin=100.0)
    ask = always_ask.respond("what time do you close")
    assert ask.intent == "clarify" and ask.text == "Do you mean our opening hours?"
    assert always_ask.respond("yes").intent == "hours"


def test_repeat_once_then_the_phone_number(dialogue: Dialogue,
                                           shipped_config: Config) -> None:
    first = dialogue.respond("purple monkey dishwasher", now=0.0)
    assert first.intent == "fallback" and first.text == REPEAT
    second = dialogue.respond("purple monkey dishwasher", now=2.0)
    assert second.intent == "fallback" and shipped_config.shop.phone_spoken in second.text
    # an answer in between starts the count again
    dialogue.respond("what time do you close", now=4.0)
    assert dialogue.respond("purple monkey dishwasher", now=6.0).text == REPEAT


def test_thresholds_come_from_the_settings(make_dialogue: MakeDialogue) -> None:
    eager = make_dialogue(min_score=0.0, confirm_score=0.0, confirm_margin=0.0)
    assert eager.respond(UNSURE).intent == "prices"
    careful = make_dialogue(confirm_margin=100.0)
    assert careful.respond("is the big dryer expensive").intent == "clarify"


def _with(intents: IntentsFile, **fields: tuple[str, str]) -> IntentsFile:
    data = intents.model_dump()
    for key, (intent, template) in fields.items():
        data["intents"][intent][key] = template
    return IntentsFile.model_validate(data)


def test_a_template_that_only_fails_for_some_slots_fails_at_load(
        make_dialogue: MakeDialogue, en_intents: IntentsFile) -> None:
    # Fine for "the dryer" (one machine of its kind) but not for "the washers" (two).
    bad = _with(en_intents, reply_kind=("prices", "The {machine.name} is popular."),
                confirm=("hours", "Do you mean {shop.hours.opening}?"),
                reply=("supplies", "{kind_prices} {number.x}"))
    with pytest.raises(TemplateError) as err:
        make_dialogue(intents=bad)
    lines = str(err.value).splitlines()
    assert len(lines) == 3  # every problem at once, one line each
    assert any(line.startswith("intents.prices.reply_kind: ") for line in lines)
    assert any(line.startswith("intents.hours.confirm: ") for line in lines)
    assert any(line.startswith("intents.supplies.reply: ") for line in lines)


def test_a_shop_without_machines_is_refused_at_load() -> None:
    from vitad.config.loader import shipped_config_dir
    from vitad.config.schema import Shop
    from vitad.dialogue.engine import Dialogue
    from vitad.dialogue.intents import load_intents
    from vitad.dialogue.templates import TemplateError

    intents = load_intents(shipped_config_dir() / "intents.en.toml")
    with pytest.raises(TemplateError, match=r"shop.machines: no machines"):
        Dialogue(intents, Shop(), min_score=60)


def test_digits_read_like_number_words() -> None:
    """Whisper writes "dryer 7"; the intents file says "dryer seven"."""
    from vitad.config.loader import load_config
    from vitad.pipeline.engines import build_dialogue

    d = build_dialogue(load_config(None))
    digits = d.respond("dryer 7 doesn't work")
    d.reset_sessions()
    words = d.respond("dryer seven doesn't work")
    assert digits.intent == words.intent == "report_problem"
    assert digits.slots["machine_number"] == 7


def test_the_confirmation_asks_about_the_intent_that_knows_the_words(
        dialogue: Dialogue) -> None:
    # Reads like "how do i start a wash" (how_to_use scores highest), but only the hours
    # know "late": ask about the hours, and "yes" answers them.
    question = "can i still start a wash this late"
    ranked = dialogue._matcher.rank(question)
    assert ranked[0].intent == "how_to_use" and ranked[0].outweighed
    ask = dialogue.respond(question)
    assert ask.intent == "clarify" and ask.slots["candidate"] == "hours"
    assert dialogue.respond("yes").intent == "hours"


def test_a_preview_answers_like_a_first_question_and_touches_no_conversation(
        dialogue: Dialogue) -> None:
    # The speculator's question: what will "how much is the big washer" get? Asked while a
    # confirmation is pending, the preview must neither answer nor clear it.
    assert dialogue.respond(UNSURE, now=0.0).intent == "clarify"
    sessions = len(dialogue.sessions)
    preview = dialogue.preview("how much is the big washer")
    assert preview.intent == "prices"
    assert preview.text == "The big washer is 7 dollars 50 for about 40 minutes."
    assert dialogue.preview("washer 7 is broken").intent == "report_problem"
    assert len(dialogue.sessions) == sessions
    yes = dialogue.respond("yeah", now=3.0)  # the pending confirmation is still there
    assert yes.intent == "prices" and yes.slots["machine"] == "washer_large"
