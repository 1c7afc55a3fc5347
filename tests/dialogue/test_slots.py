"""Slot extraction: machine kind, a specific machine (fuzzy aliases) and its number."""

from __future__ import annotations

import pytest

from vitad.config.schema import Config
from vitad.dialogue.intents import IntentsFile
from vitad.dialogue.slots import SlotExtractor, Slots


@pytest.fixture
def extract(en_intents: IntentsFile, shipped_config: Config):  # type: ignore[no-untyped-def]
    return SlotExtractor(en_intents, shipped_config.shop).extract


@pytest.mark.parametrize(("text", "expected"), [
    ("dryer seven isn't heating", {"machine_type": "dryer", "machine": "dryer",
                                   "machine_number": 7}),
    ("washer 5 is broken", {"machine_type": "washer", "machine_number": 5}),
    ("the 3 washer broke", {"machine_type": "washer", "machine_number": 3}),
    ("Washer number TWELVE!", {"machine_type": "washer", "machine_number": 12}),
    ("how much is the big washer", {"machine_type": "washer", "machine": "washer_large"}),
    ("how much is the big water", {"machine_type": "washer", "machine": "washer_large"}),
    ("the small one is broken", {"machine_type": "washer", "machine": "washer_small"}),
    # Whisper's usual way of writing "washer" in noise (the shipped [heard_as] list)
    ("wash your six won't drain", {"machine_type": "washer", "machine_number": 6}),
    ("what time do you close", {}),
])
def test_slots(extract, text: str, expected: dict[str, object]) -> None:  # type: ignore[no-untyped-def]
    assert extract(text).as_dict() == expected


def test_the_number_nearest_the_kind_wins(extract) -> None:  # type: ignore[no-untyped-def]
    assert extract("i paid 4 dollars and dryer 9 took it").number == 9


def test_long_digit_strings_are_not_machine_numbers(extract) -> None:  # type: ignore[no-untyped-def]
    assert extract("washer 5550142").number is None


def test_the_first_kind_named_wins(extract) -> None:  # type: ignore[no-untyped-def]
    assert extract("the dryer next to the washer").kind == "dryer"
    assert extract("the washer next to the dryer").kind == "washer"


def test_a_kind_word_must_be_a_whole_word(extract) -> None:  # type: ignore[no-untyped-def]
    assert extract("the dryers are hot").kind == "dryer"
    assert extract("the washers are hot").kind == "washer"
    assert extract("the washerwoman").kind is None


def test_empty_slots() -> None:
    assert Slots().empty and Slots().as_dict() == {}
    assert not Slots(number=0).empty
    assert Slots(number=0).as_dict() == {"machine_number": 0}


@pytest.mark.parametrize(("heard", "question", "strict"), [
    ("and jarvis how much is it", "how much is it", False),
    ("day jarvis alright mate", "alright mate", False),
    ("the jervis what time do you close", "what time do you close", False),
    ("hey jarvis hey", "hey", False),  # the customer's own greeting after the phrase
    ("hey jarvis hey", "", True),
    ("hey there", "hey there", False),  # a greeting, not the wake phrase's head
    ("hey there", "there", True),
    ("hey", "", True),  # while the question has not started, "hey" is the phrase's head
    ("what time do you close", "what time do you close", True),
    ("how much does jarvis cost", "how much does jarvis cost", False),  # not a leading echo
])
def test_the_wake_phrase_echo_is_stripped_from_the_start(heard: str, question: str,
                                                         strict: bool) -> None:
    from vitad.dialogue.text import strip_leading_words

    assert strip_leading_words(heard, ["hey", "jarvis"], strict=strict) == question


def test_a_short_wake_name_is_stripped_exactly() -> None:
    from vitad.dialogue.text import strip_leading_words

    assert strip_leading_words("ok bob are you open", ["ok", "bob"]) == "are you open"
    assert strip_leading_words("ok are you open", ["ok", "bob"]) == "ok are you open"


@pytest.mark.parametrize("text", [
    "what's the first step for washing my clothes",  # "first" is no machine number
    "i put two loads in the washer and it is broken",
])
def test_an_uncued_number_far_from_the_machine_word_is_not_its_number(
        extract, text: str) -> None:  # type: ignore[no-untyped-def]
    assert extract(text).number is None


@pytest.mark.parametrize(("text", "number"), [
    ("the third dryer is broken", 3), ("the third big washer is broken", 3),
    ("the washer in the corner number seven", 7),  # cued: any distance
])
def test_a_number_near_the_machine_word_or_cued_is_kept(
        extract, text: str, number: int) -> None:  # type: ignore[no-untyped-def]
    assert extract(text).number == number
