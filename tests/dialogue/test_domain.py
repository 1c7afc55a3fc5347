"""The domain sentences generated from an intents file and the shop's machines."""

from __future__ import annotations

from vitad.config.schema import Config, Machine, Shop
from vitad.dialogue.domain import domain_sentences
from vitad.dialogue.intents import IntentsFile
from vitad.dialogue.text import normalize


def test_every_example_is_a_sentence_first_and_in_file_order(
        en_intents: IntentsFile, shipped_config: Config) -> None:
    domain = domain_sentences(en_intents, shipped_config.shop)
    examples = list(dict.fromkeys(normalize(e) for name, spec in en_intents.intents.items()
                                  if name != "fallback" for e in spec.examples))
    assert list(domain.sentences[: len(examples)]) == examples
    assert domain.dropped == 0
    assert domain_sentences(en_intents, shipped_config.shop) == domain  # deterministic


def test_off_topic_examples_are_not_domain_sentences(en_intents: IntentsFile,
                                                     shipped_config: Config) -> None:
    # The fallback's examples ("tell me a joke") must not pull the recognizers towards them.
    domain = domain_sentences(en_intents, shipped_config.shop)
    off_topic = {normalize(e) for e in en_intents.intents["fallback"].examples}
    assert off_topic and not off_topic & set(domain.sentences)
    assert "weather" not in domain.words


def test_machine_numbers_are_the_shops_real_ones_spoken_as_words(
        en_intents: IntentsFile, shipped_config: Config) -> None:
    sentences = set(domain_sentences(en_intents, shipped_config.shop).sentences)
    # Dryers are numbered 1-10, washers 1-9 in the shipped [shop].
    assert "dryer seven is not heating" in sentences
    assert "dryer ten is not heating" in sentences
    assert "washer nine is not heating" in sentences
    assert "washer ten is not heating" not in sentences
    assert "dryer eleven is not heating" not in sentences
    assert "machine number ten is not working" in sentences


def test_machine_names_kinds_and_follow_ups_are_expanded(
        en_intents: IntentsFile, shipped_config: Config) -> None:
    domain = domain_sentences(en_intents, shipped_config.shop)
    sentences = set(domain.sentences)
    for machine in ("dryer", "small washer", "tumble dryer", "big one", "washing machine"):
        assert f"how much is the {machine}" in sentences
    assert "and the dryer" in sentences
    assert "what about the big washer" in sentences
    # Only intents whose answers depend on the machine are expanded: "dryer sheets" stays.
    assert "do you have washer sheets" not in sentences
    assert {"washer", "dryer", "detergent", "seven"} <= set(domain.words)


def test_the_count_is_bounded(en_intents: IntentsFile, shipped_config: Config) -> None:
    full = domain_sentences(en_intents, shipped_config.shop)
    assert 100 < len(full.sentences) < 3000
    capped = domain_sentences(en_intents, shipped_config.shop, max_sentences=50)
    assert len(capped.sentences) == 50
    assert capped.dropped == len(full.sentences) - 50
    assert capped.sentences == full.sentences[:50]


def test_a_new_machine_or_alias_changes_the_set(en_intents: IntentsFile,
                                                shipped_config: Config) -> None:
    shop = shipped_config.shop
    before = set(domain_sentences(en_intents, shop).sentences)
    bigger = Shop(**{**shop.model_dump(), "machines": [
        *shop.model_dump()["machines"],
        {"id": "dryer_xl", "kind": "dryer", "name": "jumbo dryer", "aliases": ["monster dryer"],
         "price": "3 dollars", "cycle_minutes": 12, "numbers": [11, 12]},
    ]})
    after = set(domain_sentences(en_intents, bigger).sentences)
    assert "how much is the jumbo dryer" in after - before
    assert "dryer twelve is not heating" in after - before
    # A price is not something customers say: the sentences stay the same, and a reload
    # rebuilds them anyway.
    cheaper = Shop(**{**shop.model_dump(), "machines": [
        {**m, "price": "1 dollar"} for m in shop.model_dump()["machines"]]})
    assert set(domain_sentences(en_intents, cheaper).sentences) == before


def test_numbers_without_a_word_are_said_as_digits(en_intents: IntentsFile) -> None:
    shop = Shop(machines=[Machine(id="dryer", kind="dryer", name="dryer", price="2 dollars",
                                  cycle_minutes=10, numbers=[7, 42])])
    sentences = domain_sentences(en_intents, shop).sentences
    assert "dryer 42 is not heating" in sentences
    assert "dryer seven is not heating" in sentences


def test_chinese_uses_characters_as_tokens(zh_intents: IntentsFile) -> None:
    shop = Shop(name="泡泡洗衣店", phone="555-0142", machines=[
        Machine(id="washer_large", kind="washer", name="大洗衣机", aliases=["大的洗衣机"],
                price="七块五", cycle_minutes=40, numbers=[7, 8, 9]),
        Machine(id="dryer", kind="dryer", name="烘干机", price="十分钟一块五", cycle_minutes=10,
                numbers=[1, 2]),
    ])
    domain = domain_sentences(zh_intents, shop)
    sentences = set(domain.sentences)
    assert "七号烘干机不热了" in sentences  # an example, unspaced
    assert "二号烘干机不热了" in sentences  # a real dryer number
    assert "八号洗衣机不热了" in sentences
    assert "三号烘干机不热了" not in sentences  # no dryer 3
    assert "洗七次多少钱" not in sentences  # "洗一次" (wash once) is not a machine number
    assert all(len(w) == 1 for w in domain.words if not w.isascii())
    assert domain.tokens("七号烘干机") == ["七", "号", "烘", "干", "机"]
