"""The caption panel: what the customer said, what the avatar answers, and the hints shown
when nobody is talking (the wake-word invite, "Listening…", the mic-resting banner).

The painter is split in two steps so the scene can skip unchanged frames: :meth:`content`
reduces an :class:`AvatarState` to a small comparable :class:`CaptionContent`, and
:meth:`paint` draws one onto a surface. Painting does not restore the background - the
scene owns the background and restores the panel before calling it - and never touches a
pixel outside the caption rectangle.
"""

from __future__ import annotations

from typing import NamedTuple

import pygame

from vitad.avatar.renderer.colour import Palette, mix
from vitad.avatar.renderer.text import TextCache
from vitad.avatar.state import AvatarState

LISTENING_TEXT = "Listening\u2026"
MAX_USER_LINES = 4


class CaptionContent(NamedTuple):
    """Everything the caption panel depends on; equal contents paint equal pixels.

    ``hint`` is "" (show the texts), "banner" (the mic is resting: ``banner`` in the warning
    colour), "invite" (say the wake word) or "listening"."""

    user_text: str
    user_final: bool
    avatar_text: str
    hint: str
    banner: str


class CaptionPainter:
    """Wraps and centres the captions inside the caption panel."""

    def __init__(self, text: TextCache, invite: str, banner: str) -> None:
        self.text = text
        self.invite = invite  # e.g. 'Say "Hey Jarvis" to ask me anything'
        self.banner = banner  # the mic-unavailable line, with the shop's phone number

    def content(self, state: AvatarState) -> CaptionContent:
        mode = state.mode
        hint = ""
        if not state.user_text and not state.avatar_text:
            if mode == "degraded":
                hint = "banner"
            elif mode in ("idle", "night"):
                hint = "invite"
            elif mode == "listening":
                hint = "listening"
        return CaptionContent(
            state.user_text,
            state.user_final,
            state.avatar_text,
            hint,
            self.banner if hint == "banner" else "",
        )

    def paint(
        self,
        surface: pygame.Surface,
        rect: pygame.Rect,
        content: CaptionContent,
        pal: Palette,
        px: int,
    ) -> None:
        """Draw ``content`` centred in ``rect`` with the answer at ``px`` pixels and the
        customer's words a little smaller; long text is cut with an ellipsis, not spilled."""
        pad_x = max(12, round(0.035 * rect.w))
        pad_y = max(8, round(0.08 * rect.h))
        width = rect.w - 2 * pad_x
        avail = rect.h - 2 * pad_y
        line_gap = round(0.08 * px)
        gap = round(0.25 * px)  # between the customer's words and the avatar's
        blocks = self._blocks(content, pal, px, width, avail, line_gap, gap)
        lines = [(s, i) for i, b in enumerate(blocks) for s in b]
        if not lines:
            return
        centre_x = rect.left + rect.w // 2
        total = sum(s.get_height() + line_gap for s, _ in lines) + gap * max(0, len(blocks) - 1)
        y = rect.top + pad_y + max(0, (avail - total) // 2)
        prev_block = 0
        old_clip = surface.get_clip()
        surface.set_clip(rect)
        for s, block_i in lines:
            if block_i != prev_block:
                y += gap
                prev_block = block_i
            surface.blit(s, (centre_x - s.get_width() // 2, y))
            y += s.get_height() + line_gap
        surface.set_clip(old_clip)

    def _blocks(
        self,
        content: CaptionContent,
        pal: Palette,
        px: int,
        width: int,
        avail: int,
        line_gap: int,
        gap: int,
    ) -> list[list[pygame.Surface]]:
        """Rendered line blocks, top to bottom (each block one speaker or one hint)."""
        user_px = round(px * 0.8)
        if content.hint == "banner":
            return [self.text.block(content.banner, px, pal.warning, width, 3)]
        if content.hint == "invite":
            color = mix(pal.caption_user, pal.caption_panel, 0.25)
            return [self.text.block(self.invite, user_px, color, width, 2)]
        if content.hint == "listening":
            return [self.text.block(LISTENING_TEXT, user_px, pal.caption_user, width, 1)]
        user_text, avatar_text = content.user_text, content.avatar_text
        blocks: list[list[pygame.Surface]] = []
        if user_text:
            # alone, the words so far may take the panel (newest kept); above an answer, 1 line
            user_lh = self.text.line_height(user_px, user_text) + line_gap
            max_user = max(1, avail // user_lh) if not avatar_text else 1
            blocks.append(
                self.text.block(
                    user_text,
                    user_px,
                    pal.caption_user,
                    width,
                    min(max_user, MAX_USER_LINES),
                    keep_end=not avatar_text,
                )
            )
        if avatar_text:
            av_lh = self.text.line_height(px, avatar_text) + line_gap
            used = sum(s.get_height() + line_gap for b in blocks for s in b)
            max_av = max(1, (avail - used - (gap if used else 0)) // av_lh)
            blocks.append(self.text.block(avatar_text, px, pal.caption_text, width, max_av))
        return blocks
