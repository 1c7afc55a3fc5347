"""The top status bar: a small mic icon while the fallback recogniser is in use, and a one-line
note when the speaker is gone ("my answers appear on screen") or a turn just failed.

Same two steps as the other painters: :meth:`StatusBarPainter.content` reduces the state to a
comparable :class:`StatusContent`, :meth:`StatusBarPainter.paint` draws it over the bar (the
scene restores the bar's background first).
"""

from __future__ import annotations

from typing import NamedTuple

import pygame

from vitad.avatar.cards import ERROR_TEXT, SPEAKER_UNAVAILABLE_TEXT
from vitad.avatar.renderer.colour import RGB, Palette
from vitad.avatar.renderer.text import TextCache
from vitad.avatar.renderer.ui_art import build_icon_mic
from vitad.avatar.state import AvatarState


class StatusContent(NamedTuple):
    captions_only: bool  # the speaker is unavailable
    asr_fallback: bool
    error: bool


class StatusBarPainter:
    """Icons and the warning note of the top bar; icons are built once per size."""

    def __init__(self, text: TextCache) -> None:
        self.text = text
        self._icons: dict[tuple[int, RGB, bool], pygame.Surface] = {}

    def content(self, state: AvatarState) -> StatusContent:
        return StatusContent(state.captions_only, state.asr_fallback, state.error_active)

    def paint(
        self,
        surface: pygame.Surface,
        rect: pygame.Rect,
        content: StatusContent,
        pal: Palette,
        caption_px: int,
    ) -> None:
        """Fallback icon at the right end, the note centred (after a crossed-out speaker icon
        when the sound is off); the note is sized from ``caption_px`` and cut to one line."""
        h = rect.h
        d = max(16, round(0.56 * h))
        if content.asr_fallback:
            icon = self._icon(d, pal.warning, crossed=False)
            surface.blit(icon, icon.get_rect(midright=(rect.right - round(0.3 * h), rect.centery)))
        error, captions_only = content.error, content.captions_only
        note = ERROR_TEXT if error else SPEAKER_UNAVAILABLE_TEXT if captions_only else ""
        if not note:
            return
        px = max(14, round(caption_px * 0.6))
        width = rect.w - 2 * (d + round(0.6 * h)) - (d + 8)
        lines = self.text.block(note, px, pal.warning, width, 1)
        if not lines:
            return
        line = lines[0]
        total = line.get_width() + (d + 8 if captions_only else 0)
        x = rect.centerx - total // 2
        if captions_only and not error:
            icon = self._icon(d, pal.warning, crossed=True)
            surface.blit(icon, icon.get_rect(midleft=(x, rect.centery)))
            x += d + 8
        surface.blit(line, line.get_rect(midleft=(x, rect.centery)))

    def _icon(self, d: int, color: RGB, crossed: bool) -> pygame.Surface:
        key = (d, color, crossed)
        icon = self._icons.get(key)
        if icon is None:
            icon = self._icons[key] = build_icon_mic(d, color, crossed)
        return icon
