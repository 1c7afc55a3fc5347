"""The English dialogue: every shipped intent, ASR errors, slots, follow-ups, templates."""

from __future__ import annotations

import pytest

from vitad.config.loader import shipped_config_dir
from vitad.config.schema import Config
from vitad.dialogue.engine import Dialogue
from vitad.dialogue.intents import REQUIRED_INTENTS, IntentsFile, load_intents
from vitad.dialogue.session import SessionStore
from vitad.dialogue.templates import TemplateError, render, spoken_list
from vitad.pipeline.engines import build_dialogue


@pytest.fixture
def dialogue(config: Config) -> Dialogue:
    return build_dialogue(config)


@pytest.mark.parametrize(("question", "intent"), [
    ("what time do you close", "hours"),
    ("how much is the big washer", "prices"),
    ("can i pay with my phone", "payment"),
    ("how do i start the machine", "how_to_use"),
    ("do you sell fabric softener", "supplies"),
    ("dryer seven is not heating", "report_problem"),
    ("i left my clothes here yesterday", "lost_and_found"),
    ("what is your phone number", "contact"),
    ("good morning", "greeting"),
    ("thanks a lot", "thanks"),
    ("goodbye", "goodbye"),
    ("tell me a joke about the weather", "fallback"),
])
def test_every_shipped_intent_is_reachable(dialogue: Dialogue, question: str,
                                           intent: str) -> None:
    assert dialogue.respond(question).intent == intent
    assert {*REQUIRED_INTENTS} <= set(dialogue.intents.intents)


@pytest.mark.parametrize(("heard", "intent"), [
    ("what time do you clothes", "hours"),  # PocketSphinx's favourite
    ("it sure does what time do you close the", "hours"),
    ("how much is the big water", "prices"),
    ("he take credit cards", "payment"),
    ("for seven is not heeding", "report_problem"),
])
def test_survives_asr_errors(dialogue: Dialogue, heard: str, intent: str) -> None:
    assert dialogue.respond(heard).intent == intent


def test_replies_carry_the_configured_facts(config: Config) -> None:
    machines = [m.model_copy(update={"price": "8 dollars 25"}) if m.id == "washer_large" else m
                for m in config.shop.machines]
    shop = config.shop.model_copy(update={"machines": machines})
    d = build_dialogue(config.model_copy(update={"shop": shop}))
    answer = d.respond("how much is the big washer")
    assert answer.slots["machine"] == "washer_large"
    assert "8 dollars 25" in answer.text
    assert config.shop.hours.spoken in d.respond("when do you close").text
    assert "8 dollars 25" in d.respond("what are your prices").text  # the full list too


def test_problem_report_slots(dialogue: Dialogue) -> None:
    answer = dialogue.respond("dryer seven isn't heating")
    assert answer.is_problem_report
    assert answer.slots == {"machine_type": "dryer", "machine": "dryer", "machine_number": 7}
    assert "dryer 7" in answer.text
    assert dialogue.respond("washer 5 is broken").slots["machine_number"] == 5
    assert "machine_number" not in dialogue.respond("the small one is broken").slots


def test_follow_up_continues_the_last_intent_and_expires(config: Config) -> None:
    d = build_dialogue(config)
    d.respond("how much is the big washer", now=0.0)
    answer = d.respond("and the dryer?", now=10.0)
    assert answer.intent == "prices" and answer.follow_up
    assert "1 dollar 50" in answer.text
    late = d.respond("and the dryer?", now=10.0 + config.dialogue.session_timeout_s + 1)
    assert late.intent != "prices" or not late.follow_up


def test_session_store_is_bounded_and_expires() -> None:
    store = SessionStore(timeout_s=10, max_sessions=3)
    for i in range(10):
        store.get(f"k{i}", now=float(i))
    assert len(store) == 3
    store.get("new", now=100.0)
    assert len(store) == 1


def test_unknown_template_variable_fails_at_load(config: Config) -> None:
    intents = load_intents(shipped_config_dir() / "intents.en.toml")
    data = intents.model_dump()
    data["intents"]["hours"]["reply"] = "We close at {shop.hours.closing}."
    with pytest.raises(TemplateError, match=r"intents\.hours\.reply"):
        Dialogue(IntentsFile.model_validate(data), config.shop, 68.0)


def test_templates_refuse_attribute_access_and_conversions() -> None:
    with pytest.raises(TemplateError):
        render("{shop.__class__}", {"shop": {"name": "x"}})
    with pytest.raises(TemplateError):
        render("{shop!r}", {"shop": {"name": "x"}})
    assert render("{shop.name}  is   open", {"shop": {"name": "Bubbles"}}) == "Bubbles is open"
    assert spoken_list(["coins", "cards", "phone"], ", ", " and ") == "coins, cards and phone"
    assert spoken_list([], ", ", " and ") == ""
