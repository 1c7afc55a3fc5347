"""A second language is a new intents file, not new code: Mandarin, written without spaces."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from vitad.config.schema import Config, Machine, Shop
from vitad.dialogue.engine import Dialogue
from vitad.dialogue.intents import REQUIRED_INTENTS, IntentsFile
from vitad.dialogue.text import normalize

MakeDialogue = Callable[..., Dialogue]


@pytest.fixture
def zh(make_dialogue: MakeDialogue, zh_intents: IntentsFile) -> Dialogue:
    """The Chinese intents over the shipped (English) shop facts."""
    return make_dialogue(intents=zh_intents)


@pytest.fixture
def zh_shop() -> Shop:
    return Shop(name="泡泡洗衣店", phone="555-0142", machines=[
        Machine(id="washer_large", kind="washer", name="大洗衣机", aliases=["大的洗衣机"],
                price="七块五", cycle_minutes=40, numbers=[7, 8, 9]),
        Machine(id="dryer", kind="dryer", name="烘干机", price="十分钟一块五", cycle_minutes=10),
    ])


def test_the_file_has_every_intent_and_tokenizes_by_character(zh_intents: IntentsFile) -> None:
    assert set(zh_intents.intents) == set(REQUIRED_INTENTS)
    assert zh_intents.language == "zh" and zh_intents.tokenize == "chars"
    assert normalize("七号烘干机，不热了！", "chars") == "七 号 烘 干 机 不 热 了"


QUESTIONS = [
    ("你们几点关门", "hours"),
    ("你们晚上几点关门啊", "hours"),
    ("大洗衣机多少钱", "prices"),
    ("洗衣服要多少钱", "prices"),
    ("能刷卡吗", "payment"),
    ("洗衣机怎么用", "how_to_use"),
    ("哪里可以买洗衣液", "supplies"),
    ("七号烘干机不热了", "report_problem"),
    ("我的袜子丢了", "lost_and_found"),
    ("你们电话多少", "contact"),
    ("你好", "greeting"),
    ("谢谢你", "thanks"),
    ("再见", "goodbye"),
    ("今天天气怎么样呀朋友", "fallback"),
    ("给我讲个笑话", "fallback"),
]


def test_the_cases_cover_every_intent() -> None:
    assert {intent for _, intent in QUESTIONS} == set(REQUIRED_INTENTS)


@pytest.mark.parametrize(("question", "intent"), QUESTIONS)
def test_questions_without_spaces(zh: Dialogue, question: str, intent: str) -> None:
    answer = zh.respond(question)
    assert answer.intent == intent
    if intent == "fallback":  # the first miss asks to repeat; the phone number comes next
        assert answer.text == "抱歉，请您再说一遍好吗？"
        assert zh.respond(question).text == zh.reply_for("fallback")
    else:
        assert answer.text == zh.reply_for(intent) or answer.slots


def test_replies_are_chinese_templates_over_the_shop_facts(zh: Dialogue,
                                                           shipped_config: Config) -> None:
    hours = zh.respond("你们几点关门").text
    assert hours.startswith("我们的营业时间是") and shipped_config.shop.hours.spoken in hours
    assert "coins，credit cards和phone tap" in zh.respond("能刷卡吗").text


def test_price_of_a_named_machine(make_dialogue: MakeDialogue, zh_intents: IntentsFile,
                                  zh_shop: Shop) -> None:
    d = make_dialogue(intents=zh_intents, shop=zh_shop)
    answer = d.respond("大洗衣机多少钱")
    assert answer.intent == "prices" and answer.slots["machine"] == "washer_large"
    assert answer.text == "大洗衣机是七块五，大约40分钟。"
    edited = zh_shop.model_copy(update={"machines": [
        zh_shop.machines[0].model_copy(update={"price": "八块"}), zh_shop.machines[1]]})
    assert "八块" in make_dialogue(intents=zh_intents, shop=edited).respond("大洗衣机多少钱").text


@pytest.mark.parametrize(("said", "kind", "number"), [
    ("七号烘干机不热了", "dryer", 7),
    ("五号洗衣机坏了", "washer", 5),
    ("十二号洗衣机坏了", "washer", 12),  # the longest number word wins over 十 and 二
    ("两号干衣机坏了", "dryer", 2),
    ("8号洗衣机坏了", "washer", 8),
])
def test_problem_reports_capture_kind_and_number(zh: Dialogue, said: str, kind: str,
                                                 number: int) -> None:
    answer = zh.respond(said)
    assert answer.intent == "report_problem"
    assert answer.slots["machine_type"] == kind
    assert answer.slots["machine_number"] == number
    assert f"{number}号" in answer.text


@pytest.mark.parametrize("follow_up", ["那烘干机呢", "还有烘干机呢", "那么烘干机呢", "那干衣机呢"])
def test_follow_up_after_a_price_question(zh: Dialogue, follow_up: str) -> None:
    zh.respond("洗衣机多少钱", now=0.0)
    answer = zh.respond(follow_up, now=5.0)
    assert answer.intent == "prices" and answer.follow_up
    assert answer.slots["machine_type"] == "dryer"
    assert "1 dollar 50，大约10分钟" in answer.text


def test_a_new_problem_report_is_not_taken_for_a_follow_up(zh: Dialogue) -> None:
    zh.respond("洗衣机多少钱", now=0.0)
    answer = zh.respond("那台洗衣机坏了", now=5.0)
    assert answer.intent == "report_problem" and not answer.follow_up


def test_follow_up_expires(make_dialogue: MakeDialogue, zh_intents: IntentsFile) -> None:
    d = make_dialogue(intents=zh_intents, session_timeout_s=10.0)
    d.respond("洗衣机多少钱", now=0.0)
    assert d.respond("那烘干机呢", now=20.0).intent != "prices"
