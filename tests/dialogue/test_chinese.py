"""A second language is a new intents file, not new code: Chinese, written without spaces."""

from __future__ import annotations

import pytest

from vitad.config.loader import shipped_config_dir
from vitad.config.schema import Machine, Shop
from vitad.dialogue.engine import Dialogue
from vitad.dialogue.intents import load_intents


@pytest.fixture
def dialogue() -> Dialogue:
    shop = Shop(name="泡泡洗衣店", phone="555-0142", machines=[
        Machine(id="washer_large", kind="washer", name="大洗衣机", aliases=["大的洗衣机"],
                price="七块五", cycle_minutes=40),
        Machine(id="dryer", kind="dryer", name="烘干机", price="十分钟一块五", cycle_minutes=10),
    ])
    return Dialogue(load_intents(shipped_config_dir() / "intents.zh.toml"), shop, 68.0)


@pytest.mark.parametrize(("question", "intent"), [
    ("你们几点关门", "hours"),
    ("你们晚上几点关门啊", "hours"),
    ("大洗衣机多少钱", "prices"),
    ("可以刷卡吗", "payment"),
    ("哪里买洗衣液", "supplies"),
    ("我丢了一只袜子", "lost_and_found"),
    ("谢谢", "thanks"),
    ("今天天气怎么样呀朋友", "fallback"),
])
def test_questions_without_spaces(dialogue: Dialogue, question: str, intent: str) -> None:
    assert dialogue.respond(question).intent == intent


def test_machine_slot_and_price_reply(dialogue: Dialogue) -> None:
    answer = dialogue.respond("大洗衣机多少钱")
    assert answer.slots["machine"] == "washer_large"
    assert "七块五" in answer.text


def test_problem_report_with_chinese_number(dialogue: Dialogue) -> None:
    answer = dialogue.respond("七号烘干机不热了")
    assert answer.intent == "report_problem"
    assert answer.slots["machine_type"] == "dryer"
    assert answer.slots["machine_number"] == 7
    assert "7号" in answer.text
    assert dialogue.respond("十二号洗衣机坏了").slots["machine_number"] == 12


def test_follow_up(dialogue: Dialogue) -> None:
    dialogue.respond("大洗衣机多少钱", now=0.0)
    answer = dialogue.respond("那烘干机呢", now=5.0)
    assert answer.intent == "prices" and answer.follow_up
    assert "十分钟一块五" in answer.text
