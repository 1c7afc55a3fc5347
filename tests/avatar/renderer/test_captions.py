"""The caption painter on its own: real fonts, real pygame surfaces, pixels checked."""

from __future__ import annotations

import numpy as np
import pygame
import pytest
from avatar_testlib import SIZES, new_state
from painter_testlib import ink_box, outside, painted

from vitad.avatar.cards import invite_text, mic_unavailable_text
from vitad.avatar.renderer.captions import CaptionContent, CaptionPainter
from vitad.avatar.renderer.layout import compute_layout
from vitad.avatar.screenshot import preview_state
from vitad.config.avatar_settings import AvatarSettings
from vitad.config.schema import Config, Shop

LONG_ANSWER = "The big washer takes forty minutes and costs six dollars fifty. " * 12


def answer(text: str) -> CaptionContent:
    return CaptionContent("", True, text, "", "")


def partial(text: str) -> CaptionContent:
    return CaptionContent(text, False, "", "", "")


def caption_box(size: tuple[int, int]) -> tuple[pygame.Rect, int]:
    """The caption rectangle and text size the scene uses at ``size``."""
    lay = compute_layout(AvatarSettings(), size, False, False, (0, 0))
    assert lay.caption_rect is not None
    return lay.caption_rect, lay.caption_px


@pytest.fixture
def painter(text_cache) -> CaptionPainter:
    return CaptionPainter(text_cache, invite_text("Hey Jarvis"), "Voice help is resting")


def paint(painter, palette, content: CaptionContent, size=(1280, 720)):
    rect, px = caption_box(size)
    mask = painted(size, lambda s: painter.paint(s, rect, content, palette, px))
    return mask, rect, px


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_long_answer_wraps_inside_the_caption_box(painter, palette, size) -> None:
    mask, rect, px = paint(painter, palette, answer(LONG_ANSWER), size)
    assert outside(mask, rect) == 0
    ink = ink_box(mask)
    assert ink is not None
    pad_x = max(12, round(0.035 * rect.w))
    assert rect.left + pad_x <= ink.left and ink.right <= rect.right - pad_x
    assert ink.w > 0.8 * (rect.w - 2 * pad_x)  # wrapped to the full width, not shrunk ...
    assert ink.h > 1.5 * px  # ... onto more than one line
    rows = mask[rect.top : rect.bottom].any(axis=1)
    starts = np.count_nonzero(rows[1:] & ~rows[:-1])  # blank gaps between text lines
    assert starts >= 1


@pytest.mark.parametrize(
    "text",
    ["W" * 3000, "x" + "\x00" * 10 + "y", "洗濯機は二十分で終わります。" * 30],
    ids=["one-huge-word", "nulls", "cjk-long"],
)
def test_odd_text_never_paints_outside(painter, palette, text) -> None:
    for content in (answer(text), partial(text), CaptionContent(text, True, text, "", "")):
        mask, rect, _ = paint(painter, palette, content, (800, 480))
        assert mask.any()
        assert outside(mask, rect) == 0


def test_a_box_smaller_than_the_text_clips_it(painter, palette) -> None:
    rect, px = pygame.Rect(50, 60, 300, 30), 48  # not even one line fits
    for content in (answer(LONG_ANSWER), CaptionContent("How much?", True, LONG_ANSWER, "", "")):
        mask = painted((400, 200), lambda s, c=content: painter.paint(s, rect, c, palette, px))
        ink = ink_box(mask)
        assert ink is not None and outside(mask, rect) == 0
        assert ink.top >= rect.top + max(8, round(0.08 * rect.h))  # top line kept, not cut


def test_a_question_above_an_answer_takes_one_line(painter, palette) -> None:
    question = "how much is the big washer for a full load of towels and sheets please " * 3
    for content, lines in (
        (CaptionContent(question, True, "Six fifty.", "", ""), 2),
        (CaptionContent(question, False, "", "", ""), 4),
    ):
        mask, rect, _ = paint(painter, palette, content)
        rows = mask[rect.top : rect.bottom].any(axis=1)
        runs = np.count_nonzero(rows[1:] & ~rows[:-1]) + int(rows[0])
        assert runs == lines


def test_painting_leaves_the_clip_as_it_was(painter, palette) -> None:
    rect, px = caption_box((1280, 720))
    surface = pygame.Surface((1280, 720))
    clip = pygame.Rect(10, 20, 300, 200)
    surface.set_clip(clip)
    painter.paint(surface, rect, answer("Hello"), palette, px)
    assert surface.get_clip() == clip


@pytest.mark.parametrize(
    "content",
    [answer(""), partial(""), answer(" \x00\t "), CaptionContent("", True, "", "", "")],
    ids=["no-answer", "no-partial", "blank-answer", "nothing"],
)
def test_empty_caption_paints_nothing(painter, palette, content) -> None:
    mask, _, _ = paint(painter, palette, content)
    assert not mask.any()


def test_content_follows_the_state(painter) -> None:
    settings = AvatarSettings()
    assert painter.content(preview_state(settings, "idle")).hint == "invite"
    assert painter.content(preview_state(settings, "listening", "")).hint == "listening"
    degraded = painter.content(preview_state(settings, "degraded"))
    assert degraded.hint == "banner" and degraded.banner == "Voice help is resting"
    speaking = painter.content(preview_state(settings, "speaking", "Six fifty."))
    assert speaking == CaptionContent("How much is the big washer?", True, "Six fifty.", "", "")
    st = new_state(settings)
    st.force("speaking")
    assert painter.content(st) == CaptionContent("", False, "", "", "")  # nothing to show


def test_resting_banner_shows_the_configured_phone(text_cache, palette) -> None:
    def banner_mask(phone: str):
        banner = mic_unavailable_text(Config(shop=Shop(phone=phone)))
        p = CaptionPainter(text_cache, invite_text("Hey Jarvis"), banner)
        content = p.content(preview_state(AvatarSettings(), "degraded"))
        return paint(p, palette, content)

    a, rect, _ = banner_mask("555-0199")
    b, _, _ = banner_mask("555-0199")
    c, _, _ = banner_mask("555-0123")
    assert a.sum() > 300 and outside(a, rect) == 0
    assert np.array_equal(a, b)  # control: the same number paints the same pixels
    assert np.count_nonzero(a != c) > 20  # another number, other digits


def test_invite_names_the_wake_phrase(text_cache, palette) -> None:
    idle = preview_state(AvatarSettings(), "idle")
    masks = []
    for phrase in ("Hey Jarvis", "Hey Mycroft"):
        p = CaptionPainter(text_cache, invite_text(phrase), "")
        masks.append(paint(p, palette, p.content(idle))[0])
    assert masks[0].sum() > 300
    assert np.count_nonzero(masks[0] != masks[1]) > 50


def test_live_partial_keeps_the_newest_words(painter, palette) -> None:
    words = [f"word{i:03d}" for i in range(70)]  # 7+ lines, under the 600-char cap
    font = painter.text.fonts.get(round(caption_box((1280, 720))[1] * 0.8))

    def twin(word: str) -> str:
        """Another word exactly as wide, so swapping it in keeps every line break."""
        return next(
            w
            for i in range(1000)
            if (w := f"word{i:03d}") != word and font.size(w) == font.size(word)
        )

    def mask(ws: list[str], with_answer: bool = False):
        content = CaptionContent(" ".join(ws), False, "Sure." if with_answer else "", "", "")
        return paint(painter, palette, content)[0]

    base = mask(words)
    first, last = [twin(words[0]), *words[1:]], [*words[:-1], twin(words[-1])]
    assert np.array_equal(mask(first), base)  # the oldest words scrolled away ...
    assert np.count_nonzero(mask(last) != base) > 20  # ... the newest are on screen
    # above an answer the question gets one line and keeps its start instead
    with_answer = mask(words, True)
    assert np.count_nonzero(mask(first, True) != with_answer) > 20
    assert np.array_equal(mask(last, True), with_answer)


def test_answer_is_larger_than_the_question(painter, palette) -> None:
    rect, _ = caption_box((1280, 720))
    q, _, _ = paint(painter, palette, CaptionContent("Hi", True, "", "", ""))
    a, _, _ = paint(painter, palette, answer("Hi"))
    qbox, abox = ink_box(q), ink_box(a)
    assert qbox is not None and abox is not None
    assert abox.h > qbox.h and abox.w > qbox.w
    # both centred horizontally in the panel
    for box in (qbox, abox):
        assert abs(box.centerx - rect.centerx) <= 2
