"""The attract-screen card panel: welcome, opening hours, prices, payment, "need a person?".

Card *content* comes from the shop config (:func:`vitad.avatar.cards.build_cards`, no
pygame); this painter lays one card out - title, body lines, the wake-word invite as a
footer - shrinking the type until it fits the panel. A laid-out card is kept as a
transparent surface, so showing it again costs one blit.
"""

from __future__ import annotations

import pygame

from vitad.avatar.cards import Card
from vitad.avatar.renderer.colour import Palette
from vitad.avatar.renderer.text import TextCache
from vitad.avatar.state import AvatarState

MIN_SCALE = 0.45  # below this the type gets unreadable: stop shrinking (text is cut instead)
SHRINK = 0.88


class CardPainter:
    """Paints ``cards[index]`` into the card panel; caches each laid-out card."""

    def __init__(self, text: TextCache, cards: list[Card], invite: str) -> None:
        self.text = text
        self.cards = cards
        self.invite = invite  # footer on every card that does not already say it
        self._surfaces: dict[tuple, pygame.Surface] = {}

    def card_index(self, state: AvatarState) -> int | None:
        """Which card the state shows (they rotate for ever), or None without cards."""
        if not self.cards:
            return None
        return state.attract_card % len(self.cards)

    def paint(
        self, surface: pygame.Surface, rect: pygame.Rect, index: int, pal: Palette, px: int
    ) -> None:
        """Blend card ``index`` over whatever is in ``rect`` (the scene restores the panel
        background first); ``px`` is the caption size the card's type is scaled from."""
        surface.blit(self.card_surface(index, rect.size, pal, px), rect.topleft)

    def card_surface(
        self, index: int, size: tuple[int, int], pal: Palette, px: int
    ) -> pygame.Surface:
        """Card ``index`` laid out on a transparent surface of ``size``."""
        key = (index, size, pal)
        surf = self._surfaces.get(key)
        if surf is not None:
            return surf
        if len(self._surfaces) > 2 * len(self.cards):
            self._surfaces.clear()
        surf = self._layout(self.cards[index], size, pal, px)
        self._surfaces[key] = surf
        return surf

    def _layout(self, card: Card, size: tuple[int, int], pal: Palette, px: int) -> pygame.Surface:
        w, h = size
        pad = max(10, round(0.07 * w))
        width = w - 2 * pad
        footer = "" if self.invite in card.lines else self.invite
        scale = 1.0
        while True:  # shrink until it fits (once per card change, cached)
            tpx, bpx, fpx = (
                round(px * 1.1 * scale),
                round(px * 0.85 * scale),
                round(px * 0.62 * scale),
            )
            title = self.text.block(card.title, tpx, pal.accent, width, 2)
            body = [self.text.block(line, bpx, pal.caption_text, width, 3) for line in card.lines]
            foot = self.text.block(footer, fpx, pal.caption_user, width, 2) if footer else []
            height = (
                sum(s.get_height() for s in title)
                + round(0.4 * bpx)
                + sum(s.get_height() + round(0.2 * bpx) for b in body for s in b)
                + (round(0.5 * fpx) + sum(s.get_height() for s in foot) if foot else 0)
            )
            if height <= h - 2 * pad or scale < MIN_SCALE:
                break
            scale *= SHRINK
        surf = pygame.Surface(size, pygame.SRCALPHA)
        surf.fill((0, 0, 0, 0))
        y = pad + max(0, (h - 2 * pad - height) // 2)
        for s in title:
            surf.blit(s, (pad, y))
            y += s.get_height()
        y += round(0.4 * bpx)
        for b in body:
            for s in b:
                surf.blit(s, (pad, y))
                y += s.get_height() + round(0.2 * bpx)
        if foot:
            y += round(0.5 * fpx)
            for s in foot:
                surf.blit(s, (pad, y))
                y += s.get_height()
        return surf
