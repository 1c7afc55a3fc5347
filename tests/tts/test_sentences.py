"""Chunking a reply so its first chunk can play while the next is synthesized."""

from __future__ import annotations

import pytest

from vitad.config.loader import load_config, shipped_config_dir
from vitad.dialogue.replies import all_replies
from vitad.pipeline.engines import build_dialogue
from vitad.tts.prepare import reply_chunks
from vitad.tts.sentences import (
    FIRST_CHUNK_CHARS,
    LONG_SENTENCE_CHARS,
    MIN_CLAUSE_CHARS,
    MIN_FIRST_CHUNK_CHARS,
    Chunk,
    split_chunks,
    split_sentences,
)


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
        "Our prices:",  # the reply's first chunk: its first clause
        "the small washer is 4 dollars for about 30 minutes,",
        "the big washer is 7 dollars 50 for about 40 minutes and the dryer is 1 dollar 50.",
    ]
    assert " ".join(parts) == long
    # Not first in the reply: clauses of at least MIN_CLAUSE_CHARS only.
    assert split_sentences(f"Sure. {long}")[1:] == [
        "Our prices: the small washer is 4 dollars for about 30 minutes,",
        "the big washer is 7 dollars 50 for about 40 minutes and the dryer is 1 dollar 50.",
    ]


def test_short_clauses_are_merged_not_left_dangling() -> None:
    long = "Yes, ok, so: " + "the machine starts by itself once it is paid for at the till" + \
        ", ok, fine."
    parts = split_sentences(f"Hello. {long}")[1:]
    assert " ".join(parts) == long
    assert all(len(p) >= MIN_CLAUSE_CHARS for p in parts)
    first = split_sentences(long)  # first in the reply: "Yes, ok, so:" is the head
    assert first[0] == "Yes, ok, so:" and " ".join(first) == long


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


@pytest.mark.parametrize(("text", "expected"), [
    # A long first sentence: cut at its first clause boundary with a head of two words.
    ("Load your clothes, close the door, pick a program, then pay at the machine.",
     ["Load your clothes,", "close the door, pick a program, then pay at the machine."]),
    ("For the washers: the small washer is 4 dollars and the big one is 7 dollars 50.",
     ["For the washers:", "the small washer is 4 dollars and the big one is 7 dollars 50."]),
    ("The dryer is free today - just press start and wait.",
     ["The dryer is free today -", "just press start and wait."]),
    ("We open soon; the staff come at 6 in the morning.",
     ["We open soon;", "the staff come at 6 in the morning."]),
    # One word is not a chunk: the next boundary, or none.
    ("Detergent, softener and dryer sheets are sold next to the door.",
     ["Detergent, softener and dryer sheets are sold next to the door."]),
    ("Yes, the big washer takes coins and cards.",
     ["Yes, the big washer takes coins and cards."]),
    # No dangling end either.
    ("The big washer is broken again today, sorry.",
     ["The big washer is broken again today, sorry."]),
    # Short first sentences stay whole; only the first sentence is cut this way.
    ("Hello, friend. Load your clothes, close the door, then pay at the machine.",
     ["Hello, friend.", "Load your clothes, close the door, then pay at the machine."]),
    # No boundary: whole (cutting between words would change the melody).
    ("Do you want to report a problem with washer 10?",
     ["Do you want to report a problem with washer 10?"]),
])
def test_the_first_chunk_is_its_first_clause(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


@pytest.mark.parametrize("text", [
    "You can reach the staff at 5 5 5, 0 1 4 2 any time of the day.",
    "We have 1,500 happy customers every week at Bubbles Laundromat.",
    "The shop opens at 6:00 and closes at 11 PM every day of the week.",
    "The dryer costs $2.50 for 10 minutes and $4.00 for 20 minutes today.",
    "Washers 6 - 8 are out of order until the repair man comes on Monday.",
    "Our number is 555.0142, call it any time you need help with a machine.",
])
def test_never_cut_inside_numbers_prices_or_times(text: str) -> None:
    parts = split_sentences(text)
    assert " ".join(parts) == text
    for number in ("5 5 5, 0 1 4 2", "1,500", "6:00", "11 PM", "$2.50", "$4.00", "6 - 8",
                   "555.0142"):
        if number in text:
            assert any(number in p for p in parts), (number, parts)


def test_a_number_ending_a_clause_is_still_a_boundary() -> None:
    text = "The big washer costs 7 dollars 50, and it takes about 40 minutes."
    assert split_sentences(text) == ["The big washer costs 7 dollars 50,",
                                     "and it takes about 40 minutes."]


def test_chunks_know_whether_the_sentence_goes_on() -> None:
    assert split_chunks("Load your clothes, close the door and pay. Then press start.") == [
        Chunk("Load your clothes,", ends_sentence=False),
        Chunk("close the door and pay.", ends_sentence=True),
        Chunk("Then press start.", ends_sentence=True),
    ]


def test_a_chinese_first_sentence_is_cut_at_its_first_clause() -> None:
    text = "小洗衣机四块钱大约三十分钟，大洗衣机七块五大约四十分钟，烘干机一块五大约十分钟。"
    parts = split_sentences(text)
    assert parts[0] == "小洗衣机四块钱大约三十分钟，" and "".join(parts) == text


def test_shipped_replies_split_the_same_for_the_preparer_and_the_speaker() -> None:
    """Every first chunk the speaker asks for on a miss is one the preparer made, and the
    cuts respect the rules on the real replies."""
    config = load_config(shipped_config_dir() / "vitad.toml")
    replies = all_replies(build_dialogue(config))
    prepared = set(reply_chunks(replies))
    cut = 0
    for reply in replies:
        chunks = split_sentences(reply)
        assert set(chunks) <= prepared
        assert " ".join(chunks) == " ".join(reply.split())
        head = split_chunks(reply)[0]
        if not head.ends_sentence:  # the first sentence was cut
            cut += 1
            assert len(head.text) >= MIN_FIRST_CHUNK_CHARS and len(head.text.split()) >= 2
            assert len(head.text) <= FIRST_CHUNK_CHARS
        assert "5 5 5, 0 1 4 2" not in reply or any("5 5 5, 0 1 4 2" in c for c in chunks)
    assert cut >= 3  # "For the washers:", "Our prices:", "Load your clothes,"...
