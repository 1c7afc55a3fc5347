"""Caption text: cleaning and wrapping (pure, with a fake monospace measure)."""

from __future__ import annotations

import pytest

from vitad.avatar.cards import build_cards, wake_phrase_from_config
from vitad.avatar.text import ELLIPSIS, clean, fit_lines, has_cjk, wrap
from vitad.config.schema import Config, WakeSettings


def mono(s: str) -> int:
    return 10 * len(s)


def test_latin_wraps_at_spaces_within_width() -> None:
    text = "The big washer is six dollars fifty and a cycle takes forty minutes"
    lines = wrap(text, 160, mono)
    assert all(mono(line) <= 160 for line in lines)
    assert " ".join(lines) == text
    assert all(not line.startswith(" ") and not line.endswith(" ") for line in lines)


def test_cjk_breaks_between_characters() -> None:
    text = "洗濯機は二十分で終わります。乾燥機は三十分です。"
    lines = wrap(text, 80, mono)
    assert len(lines) > 1
    assert all(mono(line) <= 80 for line in lines)
    assert "".join(lines) == text  # nothing lost, no spaces invented
    assert not any(line[0] in "。、" for line in lines)  # no line starts with a full stop


def test_mixed_cjk_and_latin() -> None:
    lines = wrap("Big washer 大型洗濯機 costs 6 dollars", 70, mono)
    assert all(mono(line) <= 70 for line in lines)
    assert "".join(lines).replace(" ", "") == "Bigwasher大型洗濯機costs6dollars"


def test_long_word_is_split() -> None:
    lines = wrap("x" * 95, 200, mono)
    assert [len(line) for line in lines] == [20, 20, 20, 20, 15]


@pytest.mark.parametrize(
    "text",
    ["", "   ", "\x00\x01\n\t", "a\x00b", "\ud800 lone surrogate", "😀" * 50, None, 12345],
)
def test_odd_input_is_safe(text: object) -> None:
    out = clean(text)
    assert "\x00" not in out and "\ud800" not in out
    lines = wrap(out, 100, mono)
    assert all(mono(line) <= 100 for line in lines)


def test_huge_text_is_bounded() -> None:
    out = clean("word " * 100_000)
    assert len(out) <= 600 and out.endswith(ELLIPSIS)


def test_fit_lines_marks_the_cut() -> None:
    lines = ["one two", "three four", "five six", "seven"]
    head = fit_lines(lines, 2, mono, 100)
    assert head == ["one two", "three four" + ELLIPSIS] or head[-1].endswith(ELLIPSIS)
    assert all(mono(x) <= 100 for x in head)
    tail = fit_lines(lines, 2, mono, 100, keep_end=True)
    assert tail[0].startswith(ELLIPSIS) and tail[-1] == "seven"
    assert fit_lines(lines, 9, mono, 100) == lines


def test_has_cjk() -> None:
    assert has_cjk("세탁기") and has_cjk("洗濯") and has_cjk("カタカナ")
    assert not has_cjk("washer café")


def test_cards_from_config(config: Config) -> None:
    cards = build_cards(config, "Hey Jarvis")
    text = " ".join(c.title + " " + " ".join(c.lines) for c in cards)
    assert "Suds City" in text and "555-0199" in text
    assert "6 dollars 50" in text and "Dryer" in text
    assert "coins" in text and "Hey Jarvis" in text
    assert config.shop.hours.open in text


def test_wake_phrase_from_config() -> None:
    assert wake_phrase_from_config(Config()) == "Hey Jarvis"
    cfg = Config(wake=WakeSettings(models=["alexa_v0.1"]))
    assert wake_phrase_from_config(cfg) == "Alexa"
