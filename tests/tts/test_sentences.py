"""Sentence chunking so the first sentence can play while the next is synthesized."""

from __future__ import annotations

import pytest

from vitad.tts.sentences import LONG_SENTENCE_CHARS, MIN_CLAUSE_CHARS, split_sentences


@pytest.mark.parametrize(("text", "expected"), [
    ("We close at 11. It costs 7.50 dollars! Ok?",
     ["We close at 11.", "It costs 7.50 dollars!", "Ok?"]),
    ("The big washer is 7.50 for 40 minutes.", ["The big washer is 7.50 for 40 minutes."]),
    ("Call 555.0142 now.  Thanks!", ["Call 555.0142 now.", "Thanks!"]),
    ("no punctuation at all", ["no punctuation at all"]),
    ("营业时间是早上六点。谢谢！还有问题吗？", ["营业时间是早上六点。", "谢谢！", "还有问题吗？"]),
    ("", []),
    ("...  !", []),
])
def test_split_sentences(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


def test_a_long_sentence_is_split_at_clauses() -> None:
    long = ("Our prices: the small washer is 4 dollars for about 30 minutes, the big washer is "
            "7 dollars 50 for about 40 minutes and the dryer is 1 dollar 50.")
    assert len(long) > LONG_SENTENCE_CHARS
    parts = split_sentences(long)
    assert parts == [
        "Our prices: the small washer is 4 dollars for about 30 minutes,",
        "the big washer is 7 dollars 50 for about 40 minutes and the dryer is 1 dollar 50.",
    ]
    assert " ".join(parts) == long


def test_short_clauses_are_merged_not_left_dangling() -> None:
    long = "Yes, ok, so: " + "the machine starts by itself once it is paid for at the till" + \
        ", ok, fine."
    parts = split_sentences(long)
    assert " ".join(parts) == long
    assert all(len(p) >= MIN_CLAUSE_CHARS for p in parts)


def test_a_long_chinese_sentence_splits_at_chinese_commas() -> None:
    long = "，".join(["小洗衣机四块钱大约三十分钟"] * 8) + "。"
    assert len(long) > LONG_SENTENCE_CHARS
    parts = split_sentences(long)
    assert len(parts) > 1 and "".join(p.replace(" ", "") for p in parts) == long
    assert parts[-1].endswith("。")


def test_a_sentence_at_the_limit_is_not_split() -> None:
    exact = "a, " + "b" * (LONG_SENTENCE_CHARS - 4) + "."
    assert len(exact) == LONG_SENTENCE_CHARS
    assert split_sentences(exact) == [exact]
