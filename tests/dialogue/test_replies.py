"""Every reply the dialogue can say: the set of answers prepared ahead."""

from __future__ import annotations

from typing import Any

from vitad.config.schema import Config, Machine, Shop
from vitad.dialogue.engine import Dialogue
from vitad.dialogue.intents import IntentsFile
from vitad.dialogue.replies import all_replies
from vitad.tts.prepare import reply_chunks


def _intent(reply: str, **more: Any) -> dict[str, Any]:
    return {"examples": [f"example {reply}"], "reply": reply, **more}


TINY_INTENTS = IntentsFile.model_validate({
    "language": "en",
    "kinds": {"washer": ["washer"], "dryer": ["dryer"]},
    "numbers": {"one": 1, "two": 2},
    "repeat": "Say again?",
    "intents": {
        "hours": _intent("Open till {shop.hours.close}.", topic="our hours"),
        "prices": _intent("Prices: {all_prices}.", topic="prices",
                          reply_kind="For the {kind}s: {kind_prices}.",
                          reply_machine="The {machine.name} is {machine.price}.",
                          reply_number="The {machine.name} is {machine.price}.",
                          confirm_kind="Do you mean the price of the {kind}?"),
        "payment": _intent("Pay with {payment}.", topic="payment"),
        "how_to_use": _intent("Load and pay.", topic="how to use"),
        "supplies": _intent("{shop.supplies}", topic="supplies"),
        "report_problem": _intent("Noted.", reply_kind="Sorry about the {kind}.",
                                  reply_number="Sorry about {kind} {number}.",
                                  confirm="Report a problem?",
                                  confirm_kind="Report a problem with the {kind}?"),
        "lost_and_found": _intent("Blue box.", topic="lost and found"),
        "contact": _intent("Call {shop.phone}.", topic="contact"),
        "greeting": _intent("Hello!", ask_when_unsure=False),
        "thanks": _intent("You're welcome!", ask_when_unsure=False),
        "goodbye": _intent("Bye!", ask_when_unsure=False),
        "fallback": _intent("Sorry. Call {shop.phone}."),
    },
})


def tiny_shop(washer_price: str = "3 dollars") -> Shop:
    return Shop(phone="555-0142", machines=[
        Machine(id="washer", kind="washer", name="washer", price=washer_price,
                cycle_minutes=30, numbers=[1, 2]),
        Machine(id="dryer", kind="dryer", name="dryer", price="2 dollars", cycle_minutes=20,
                numbers=[1]),
    ])


def tiny_dialogue(shop: Shop) -> Dialogue:
    return Dialogue(TINY_INTENTS, shop, min_score=50.0)


def test_a_tiny_shop_has_exactly_these_replies() -> None:
    replies = all_replies(tiny_dialogue(tiny_shop()))
    supplies = Shop().supplies
    assert sorted(replies) == sorted([
        "Open till 23:00.", "Do you mean our hours?",
        # Slots() / a number alone: the list; a kind, a machine or kind + number: that
        # machine (one machine per kind, so reply_kind is never reached); "dryer 2" is
        # heard as the dryer, whose only number is 1.
        "Prices: the washer is 3 dollars and the dryer is 2 dollars.",
        "The washer is 3 dollars.", "The dryer is 2 dollars.",
        "Do you mean prices?", "Do you mean the price of the washer?",
        "Do you mean the price of the dryer?",
        "Pay with coins, cards and phone tap.", "Do you mean payment?",
        "Load and pay.", "Do you mean how to use?",
        supplies, "Do you mean supplies?",
        # Every real number with every kind: "dryer two" is said, and answered, too.
        "Noted.", "Sorry about the washer.", "Sorry about the dryer.",
        "Sorry about washer 1.", "Sorry about washer 2.",
        "Sorry about dryer 1.", "Sorry about dryer 2.",
        "Report a problem?", "Report a problem with the washer?",
        "Report a problem with the dryer?",
        "Blue box.", "Do you mean lost and found?",
        "Call 555-0142.", "Do you mean contact?",
        "Hello!", "You're welcome!", "Bye!",  # ask_when_unsure = false: never confirmed
        "Sorry. Call 555-0142.",  # the fallback, never confirmed
        "Say again?",
    ])
    assert len(replies) == 33 and len(set(replies)) == 33
    chunks = reply_chunks(replies)
    # "Sorry. Call 555-0142." is two sentences, the second one the contact reply's: one
    # entry for both. A long first sentence starts with its first clause
    # (vitad/tts/sentences.py): the payment reply is two entries.
    assert len(chunks) == 34
    assert {"Sorry.", "Call 555-0142.", "Pay with coins,", "cards and phone tap."} <= set(chunks)


def test_every_reply_a_turn_gives_is_in_the_set() -> None:
    dialogue = tiny_dialogue(tiny_shop())
    replies = set(all_replies(dialogue))
    # A live reply to each intent and to each machine slot is one of the enumerated ones.
    assert dialogue.reply_for("contact") in replies
    assert dialogue.reply_for("fallback") in replies
    for kind in ("washer", "dryer"):
        for number in (1, 2):
            assert f"Sorry about {kind} {number}." in replies


def test_a_price_change_changes_exactly_the_replies_naming_it() -> None:
    old = set(all_replies(tiny_dialogue(tiny_shop("3 dollars"))))
    new = set(all_replies(tiny_dialogue(tiny_shop("4 dollars"))))
    assert old - new == {r for r in old if "3 dollars" in r} == {
        "Prices: the washer is 3 dollars and the dryer is 2 dollars.",
        "The washer is 3 dollars."}
    assert new - old == {r for r in new if "4 dollars" in r}
    assert len(new - old) == 2


def test_shipped_shop_price_change_touches_only_its_sentences(shipped_config: Config,
                                                              make_dialogue: Any) -> None:
    shop = shipped_config.shop
    before = make_dialogue(shop)
    machines = [m.model_copy(update={"price": "8 dollars 25"}) if m.id == "washer_large"
                else m for m in shop.machines]
    after = make_dialogue(shop.model_copy(update={"machines": machines}))
    old, new = reply_chunks(all_replies(before)), reply_chunks(all_replies(after))
    gone, added = set(old) - set(new), set(new) - set(old)
    assert gone == {c for c in old if "7 dollars 50" in c} and gone
    assert added == {c for c in new if "8 dollars 25" in c} and len(added) == len(gone)
    # Unchanged answers keep their exact sentences (so their cache entries stay valid).
    assert [c for c in old if c not in gone] == [c for c in new if c not in added]


def test_shipped_shop_covers_every_machine_number_and_fixed_phrase(
        shipped_config: Config, make_dialogue: Any) -> None:
    dialogue = make_dialogue(shipped_config.shop)
    replies = all_replies(dialogue)
    chunks = set(reply_chunks(replies))
    assert "Sorry, could you say that again?" in chunks  # repeat
    assert "I have noted the problem for the staff." in chunks  # "noted"
    assert {f"Sorry about dryer {n}." for n in range(1, 11)} <= chunks
    assert {f"Sorry about washer {n}." for n in range(1, 10)} <= chunks
    assert "Do you mean the price of the dryer?" in chunks  # a confirmation
    assert not any("Do you mean goodbye" in r for r in replies)
    assert all(r.strip() == r and r for r in replies)
