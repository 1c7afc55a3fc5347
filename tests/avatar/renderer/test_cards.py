"""The attract-card painter on its own: real fonts, real pygame surfaces, pixels checked."""

from __future__ import annotations

import numpy as np
import pygame
import pytest
from avatar_testlib import SIZES
from painter_testlib import ink_box, outside, painted

from vitad.avatar.cards import build_cards, invite_text
from vitad.avatar.renderer.cards import CardPainter
from vitad.avatar.renderer.layout import compute_layout
from vitad.avatar.screenshot import preview_state
from vitad.config.avatar_settings import AvatarSettings
from vitad.config.schema import Config, Machine, Shop

PHONE_CARD = "Need a person?"


def panel_box(size: tuple[int, int]) -> tuple[pygame.Rect, int]:
    """The card panel rectangle and caption size the scene uses in attract mode."""
    lay = compute_layout(AvatarSettings(), size, True, False, (0, 0))
    assert lay.panel_rect is not None
    return lay.panel_rect, lay.caption_px


def card_painter(text_cache, config: Config) -> CardPainter:
    return CardPainter(text_cache, build_cards(config, "Hey Jarvis"), invite_text("Hey Jarvis"))


def card_index(painter: CardPainter, title: str) -> int:
    return next(i for i, c in enumerate(painter.cards) if c.title.startswith(title))


def paint(painter: CardPainter, palette, index: int, size=(1280, 720)):
    rect, px = panel_box(size)
    mask = painted(size, lambda s: painter.paint(s, rect, index, palette, px))
    return mask, rect


def inset(rect: pygame.Rect) -> pygame.Rect:
    """The card's text area: the panel less the painter's padding."""
    pad = max(10, round(0.07 * rect.w))
    return rect.inflate(-2 * pad, -2 * pad)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_every_card_paints_inside_its_panel(text_cache, palette, config, size) -> None:
    painter = card_painter(text_cache, config)
    assert len(painter.cards) == 5  # welcome, hours, prices, payment, phone
    masks = []
    for i in range(len(painter.cards)):
        mask, rect = paint(painter, palette, i, size)
        assert mask[rect.top : rect.bottom, rect.left : rect.right].sum() > 200
        assert outside(mask, inset(rect)) == 0  # the padding stays clear too
        masks.append(mask)
    assert all(not np.array_equal(masks[0], m) for m in masks[1:])  # five different cards


def test_phone_card_shows_the_configured_phone(text_cache, palette) -> None:
    def masks(phone: str):
        painter = card_painter(text_cache, Config(shop=Shop(phone=phone)))
        phone_i = card_index(painter, PHONE_CARD)
        assert any(phone in line for line in painter.cards[phone_i].lines)
        return paint(painter, palette, phone_i)[0], paint(painter, palette, 0)[0]

    phone_a, welcome_a = masks("555-0199")
    phone_b, welcome_b = masks("555-0123")
    assert np.count_nonzero(phone_a != phone_b) > 20  # other digits on the phone card ...
    assert np.array_equal(welcome_a, welcome_b)  # ... and nowhere else


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize(
    "name",
    [
        "Suds City Laundromat, Dry Cleaning and Alterations of the Greater Metro Area " * 3,
        "W" * 300,
    ],
    ids=["many-words", "one-huge-word"],
)
def test_very_long_shop_name_does_not_overflow(text_cache, palette, size, name) -> None:
    painter = card_painter(text_cache, Config(shop=Shop(name=name)))
    mask, rect = paint(painter, palette, card_index(painter, "Welcome"), size)
    assert outside(mask, inset(rect)) == 0
    ink = ink_box(mask)
    assert ink is not None and ink.h > 0.3 * inset(rect).h  # title, invite: all there


def test_a_crowded_card_shrinks_to_fit(text_cache, palette) -> None:
    machines = [
        Machine(
            id=f"m{i}",
            kind="washer",
            name=f"Extra large front loading washer number {i}",
            price="6 dollars 50 for a full cycle",
            cycle_minutes=40,
        )
        for i in range(8)
    ]
    crowded = card_painter(text_cache, Config(shop=Shop(machines=machines)))
    sparse = card_painter(text_cache, Config(shop=Shop(machines=machines[:1])))
    size = (800, 480)
    c_mask, rect = paint(crowded, palette, card_index(crowded, "Prices"), size)
    s_mask, _ = paint(sparse, palette, card_index(sparse, "Prices"), size)
    assert outside(c_mask, inset(rect)) == 0

    def title_height(mask: np.ndarray) -> int:
        rows = mask.any(axis=1)
        top = int(np.argmax(rows))
        return int(np.argmin(rows[top:]))  # the first run of inked rows: the title line

    assert title_height(c_mask) < 0.9 * title_height(s_mask)


def test_card_index_rotates_and_wraps(text_cache, config) -> None:
    painter = card_painter(text_cache, config)
    st = preview_state(config.avatar, "attract")
    n = len(painter.cards)
    seen = []
    for _ in range(n + 1):
        seen.append(painter.card_index(st))
        st.tick(st.now + config.avatar.attract_card_s)
    assert sorted(seen[:n]) == list(range(n))
    assert seen[n] == seen[0]
    assert CardPainter(text_cache, [], "").card_index(st) is None


def test_a_shown_card_is_not_laid_out_again(text_cache, palette, config) -> None:
    painter = card_painter(text_cache, config)
    rect, px = panel_box((1280, 720))
    first = painter.card_surface(1, rect.size, palette, px)
    assert painter.card_surface(1, rect.size, palette, px) is first  # one blit per frame
    assert painter.card_surface(2, rect.size, palette, px) is not first
    assert painter.card_surface(1, (rect.w, rect.h - 1), palette, px) is not first
    again, _ = paint(painter, palette, 1)
    assert again.any()
