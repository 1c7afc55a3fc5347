"""The English dialogue end to end: every shipped intent, ASR errors, facts, follow-ups."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from vitad.config.schema import Config, Machine
from vitad.dialogue.engine import FOLLOW_UP_SCORE, Answer, Dialogue
from vitad.dialogue.intents import REQUIRED_INTENTS, IntentsFile
from vitad.dialogue.templates import TemplateError

MakeDialogue = Callable[..., Dialogue]

NATURAL = [
    ("what time do you close tonight", "hours"),
    ("are you open on sunday morning", "hours"),
    ("how much is the big washer", "prices"),
    ("how much does it cost to dry my clothes", "prices"),
    ("do you take credit cards", "payment"),
    ("how does this machine work", "how_to_use"),
    ("where can i buy detergent", "supplies"),
    ("dryer seven isn't heating", "report_problem"),
    ("the washer ate my money", "report_problem"),
    ("i lost my sock", "lost_and_found"),
    ("what's your phone number", "contact"),
    ("hello there", "greeting"),
    ("thank you so much", "thanks"),
    ("bye bye", "goodbye"),
    ("buy for now", "goodbye"),  # how Whisper writes "bye for now"
    ("buy buy", "goodbye"),
    ("can i buy a laundry bag here", "supplies"),  # "buy" alone is still a purchase
    ("who won the football game last night", "fallback"),
]


def test_the_cases_cover_every_shipped_intent(en_intents: IntentsFile) -> None:
    assert set(en_intents.intents) == set(REQUIRED_INTENTS)
    assert {intent for _, intent in NATURAL} == set(REQUIRED_INTENTS)


@pytest.mark.parametrize(("question", "intent"), NATURAL)
def test_natural_questions_reach_their_intent(dialogue: Dialogue, question: str,
                                              intent: str) -> None:
    answer = dialogue.respond(question)
    assert answer.intent == intent
    assert answer.text == answer.text.strip() and "{" not in answer.text


@pytest.mark.parametrize(("heard", "intent"), [
    ("what time do you clothes", "hours"),  # "close" misheard
    ("it sure does what time do you close the", "hours"),  # words added around it
    ("when are you opened", "hours"),
    ("he take credit cards", "payment"),
    ("for seven is not heeding", "report_problem"),
    ("where can i by detergent", "supplies"),
])
def test_asr_errors_still_match(dialogue: Dialogue, heard: str, intent: str) -> None:
    assert dialogue.respond(heard).intent == intent


def test_a_misheard_machine_name_still_fills_the_machine_slot(dialogue: Dialogue) -> None:
    answer = dialogue.respond("how much is the big water")
    assert answer.intent == "prices"
    assert answer.slots["machine"] == "washer_large"
    assert "7 dollars 50" in answer.text


@pytest.mark.parametrize("question", [
    "tell me a joke", "play some music", "is it going to rain today", "i like turtles",
    "can you recommend a restaurant",
])
def test_off_topic_questions_get_the_fallback(dialogue: Dialogue, question: str) -> None:
    answer = dialogue.respond(question)
    assert answer.intent == "fallback"
    assert answer.score < dialogue.min_score  # the best shop intent's score
    assert answer.text == "Sorry, could you say that again?"  # once; then the phone number
    again = dialogue.respond(question)
    assert again.intent == "fallback" and again.text.startswith("Sorry, I didn't catch that.")


@pytest.mark.parametrize("question", [
    "what is the capital of france", "how old are you", "who is the president",
])
def test_off_topic_questions_sharing_question_words(dialogue: Dialogue, question: str) -> None:
    # Never answered outright: at most the dialogue asks "Do you mean …?".
    assert dialogue.respond(question).intent in ("fallback", "clarify")


def test_empty_and_punctuation_only_text_is_the_fallback(dialogue: Dialogue) -> None:
    for text in ("", "   ", "?!"):
        answer = dialogue.respond(text)
        assert answer.intent == "fallback" and answer.score == 0.0


def test_replies_contain_the_configured_facts(dialogue: Dialogue,
                                              shipped_config: Config) -> None:
    shop = shipped_config.shop
    assert shop.hours.spoken in dialogue.respond("when do you close").text
    assert shop.hours.last_wash in dialogue.respond("when do you close").text
    assert "coins, credit cards and phone tap" in dialogue.respond("how can i pay").text
    assert shop.supplies in dialogue.respond("do you sell soap").text
    assert shop.phone_spoken in dialogue.respond("what is your phone number").text
    assert shop.name in dialogue.respond("hello").text
    prices = dialogue.respond("what are your prices").text
    for machine in shop.machines:
        assert f"the {machine.name} is {machine.price}" in prices


def test_a_price_edited_in_the_shop_appears_in_the_reply(make_dialogue: MakeDialogue,
                                                         shipped_config: Config) -> None:
    shop = shipped_config.shop
    machines = [m.model_copy(update={"price": "8 dollars 25"}) if m.id == "washer_large" else m
                for m in shop.machines]
    edited = make_dialogue(shop=shop.model_copy(update={"machines": machines}))
    answer = edited.respond("how much is the big washer")
    assert "8 dollars 25" in answer.text and "7 dollars 50" not in answer.text
    assert "8 dollars 25" in edited.respond("what are your prices").text
    assert "7 dollars 50" in make_dialogue().respond("how much is the big washer").text


def test_shop_facts_from_a_dict_config(make_dialogue: MakeDialogue) -> None:
    config = Config.model_validate({"shop": {
        "name": "Suds City", "phone": "555-9999",
        "hours": {"spoken": "from 7 until 9", "last_wash": ""},
        "payment": ["coins"],
        "machines": [{"id": "w", "kind": "washer", "name": "washer", "price": "3 dollars",
                      "cycle_minutes": 25}],
    }})
    d = make_dialogue(shop=config.shop)
    assert d.respond("what time do you close").text == "We are open from 7 until 9."
    assert "555-9999" in d.respond("who do i call").text  # phone_spoken falls back to phone
    assert "Suds City" in d.respond("hello").text
    assert "You can pay with coins." in d.respond("how can i pay").text
    assert "3 dollars" in d.respond("how much is the washer").text


@pytest.mark.parametrize("question", ["how much is a washer", "how much is a washing machine"])
def test_a_generic_washer_question_names_no_machine(dialogue: Dialogue, question: str) -> None:
    assert "machine" not in dialogue.respond(question).slots


def test_kind_machine_and_number_pick_the_reply_variant(dialogue: Dialogue) -> None:
    kind = dialogue.respond("how much are the washers")
    assert kind.text.startswith("For the washers:")
    assert "4 dollars" in kind.text and "7 dollars 50" in kind.text and "dryer" not in kind.text
    machine = dialogue.respond("how much is the small washer")
    assert machine.text == "The small washer is 4 dollars for about 30 minutes."
    numbered = dialogue.respond("how much is washer number eight")
    assert numbered.slots == {"machine_type": "washer", "machine_number": 8}
    assert numbered.text == "The big washer is 7 dollars 50 for about 40 minutes."
    only_dryer = dialogue.respond("how much is the dryer")  # the one machine of its kind
    assert only_dryer.text.startswith("The dryer is 1 dollar 50 for about 10 minutes")


@pytest.mark.parametrize(("said", "slots"), [
    ("dryer seven isn't heating", {"machine_type": "dryer", "machine": "dryer",
                                   "machine_number": 7}),
    ("washer 5 is broken", {"machine_type": "washer", "machine_number": 5}),
    ("washer number three won't start", {"machine_type": "washer", "machine_number": 3}),
    ("the big one is broken", {"machine_type": "washer", "machine": "washer_large"}),
    ("there is water on the floor", {}),
])
def test_problem_reports_capture_the_machine(dialogue: Dialogue, said: str,
                                             slots: dict[str, object]) -> None:
    answer = dialogue.respond(said)
    assert answer.intent == "report_problem" and answer.is_problem_report
    assert answer.slots == slots


def test_problem_report_reply_names_the_machine(dialogue: Dialogue,
                                                shipped_config: Config) -> None:
    text = dialogue.respond("dryer seven isn't heating").text
    assert "dryer 7" in text and shipped_config.shop.phone_spoken in text
    assert "washer 5" in dialogue.respond("washer 5 is broken").text
    assert not dialogue.respond("what time do you close").is_problem_report


def test_and_the_dryer_follows_a_price_answer(dialogue: Dialogue) -> None:
    first = dialogue.respond("how much is the big washer", now=0.0)
    assert not first.follow_up
    answer = dialogue.respond("and the dryer?", now=10.0)
    assert answer.intent == "prices" and answer.follow_up
    assert answer.score == FOLLOW_UP_SCORE
    assert answer.slots["machine_type"] == "dryer"
    assert "1 dollar 50 for about 10 minutes" in answer.text


def test_without_a_previous_answer_a_bare_machine_is_not_a_follow_up(dialogue: Dialogue) -> None:
    answer = dialogue.respond("and the dryer?")
    assert _not_answered(answer) and not answer.follow_up


def test_follow_ups_continue_problem_reports_too(dialogue: Dialogue) -> None:
    dialogue.respond("dryer seven isn't heating", now=0.0)
    answer = dialogue.respond("and washer five", now=3.0)
    assert answer.intent == "report_problem" and answer.follow_up
    assert answer.slots == {"machine_type": "washer", "machine_number": 5}


def test_intents_without_follow_up_are_not_continued(dialogue: Dialogue) -> None:
    dialogue.respond("what time do you close", now=0.0)
    assert _not_answered(dialogue.respond("and the dryer?", now=1.0))


def test_a_new_question_starting_with_and_is_not_a_follow_up(dialogue: Dialogue) -> None:
    dialogue.respond("how much is the big washer", now=0.0)
    answer = dialogue.respond("and the washer is broken", now=2.0)
    assert answer.intent == "report_problem" and not answer.follow_up


def test_a_long_question_is_not_a_follow_up(dialogue: Dialogue) -> None:
    dialogue.respond("how much is the big washer", now=0.0)
    answer = dialogue.respond("and the dryer over there next to the blue door ok", now=1.0)
    assert not answer.follow_up


def test_follow_up_state_expires_after_the_session_timeout(make_dialogue: MakeDialogue) -> None:
    d = make_dialogue(session_timeout_s=30.0)
    d.respond("how much is the big washer", now=0.0)
    assert d.respond("and the dryer?", now=29.0).follow_up
    # 29 s refreshed the session; the next silence of more than 30 s forgets it.
    late = d.respond("and the dryer?", now=29.0 + 30.5)
    assert _not_answered(late) and not late.follow_up


def test_the_fallback_does_not_reset_the_follow_up(dialogue: Dialogue) -> None:
    dialogue.respond("how much is the big washer", now=0.0)
    assert dialogue.respond("tell me a joke", now=1.0).intent == "fallback"
    assert dialogue.respond("and the dryer?", now=2.0).intent == "prices"


def test_sessions_are_per_key_and_bounded(make_dialogue: MakeDialogue) -> None:
    d = make_dialogue(max_sessions=2)
    d.respond("how much is the big washer", session_key="a", now=0.0)
    assert _not_answered(d.respond("and the dryer?", session_key="b", now=1.0))
    d.respond("hello", session_key="c", now=2.0)  # a third session pushes "a" out
    assert len(d.sessions) == 2
    assert _not_answered(d.respond("and the dryer?", session_key="a", now=3.0))


def test_reset_sessions_forgets_every_conversation(dialogue: Dialogue) -> None:
    dialogue.respond("how much is the big washer", now=0.0)
    dialogue.reset_sessions()
    assert len(dialogue.sessions) == 0
    assert _not_answered(dialogue.respond("and the dryer?", now=1.0))


def test_reply_for_gives_the_plain_reply(dialogue: Dialogue, shipped_config: Config) -> None:
    assert dialogue.reply_for("contact") == (
        f"You can reach the staff at {shipped_config.shop.phone_spoken}. "
        f"{shipped_config.shop.address}")


def test_vocabulary_holds_the_dialogue_words(dialogue: Dialogue) -> None:
    vocab = dialogue.vocabulary()
    assert vocab == sorted(set(vocab))
    for phrase in ("what time do you close", "detergent", "washing machine", "seven",
                   "big washer", "tumble dryer"):
        assert phrase in vocab


def test_vocabulary_leaves_out_the_off_topic_examples(dialogue: Dialogue) -> None:
    vocab = dialogue.vocabulary()
    assert "tell me a joke" not in vocab and "weather" not in vocab
    assert "tell me a joke" in [e for e in dialogue.intents.intents["fallback"].examples]


def _not_answered(answer: Answer) -> bool:
    """A bare "and the dryer?" with no conversation to continue is asked about, not answered."""
    return answer.intent in ("fallback", "clarify") and not answer.follow_up


def _with_reply(intents: IntentsFile, intent: str, field: str, template: str) -> IntentsFile:
    data = intents.model_dump()
    data["intents"][intent][field] = template
    return IntentsFile.model_validate(data)


@pytest.mark.parametrize(("intent", "field", "template"), [
    ("hours", "reply", "We close at {shop.hours.closing}."),
    ("prices", "reply_kind", "For the {kinds}: {kind_prices}."),
    ("prices", "reply_machine", "{machine.colour}"),
    ("report_problem", "reply_number", "Sorry about {kind} {number!r}."),
])
def test_a_bad_template_fails_when_the_dialogue_is_built(
    make_dialogue: MakeDialogue, en_intents: IntentsFile, intent: str, field: str,
    template: str,
) -> None:
    with pytest.raises(TemplateError, match=rf"intents\.{intent}\.{field}"):
        make_dialogue(intents=_with_reply(en_intents, intent, field, template))


def test_templates_are_checked_even_for_a_shop_without_machines(
    make_dialogue: MakeDialogue, shipped_config: Config, en_intents: IntentsFile,
) -> None:
    bare = shipped_config.shop.model_copy(update={"machines": []})
    with pytest.raises(TemplateError, match=r"shop\.machines: no machines"):  # "Our prices: ."
        make_dialogue(shop=bare)
    with pytest.raises(TemplateError) as err:  # every problem at once, not just the first
        make_dialogue(shop=bare, intents=_with_reply(en_intents, "prices", "reply_machine",
                                                     "{machine.nme}"))
    assert "shop.machines" in str(err.value) and "{machine.nme}" in str(err.value)


def test_answers_use_machines_from_the_shop_not_the_intents(make_dialogue: MakeDialogue,
                                                            shipped_config: Config) -> None:
    extra = Machine(id="mega", kind="washer", name="mega washer", aliases=["giant tub"],
                    price="12 dollars", cycle_minutes=60, numbers=[20])
    shop = shipped_config.shop.model_copy(
        update={"machines": [*shipped_config.shop.machines, extra]})
    answer = make_dialogue(shop=shop).respond("how much is the giant tub")
    assert answer.slots["machine"] == "mega"
    assert "12 dollars" in answer.text
