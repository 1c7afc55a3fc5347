"""The stage: the character (a pack's layers) and its cues, repainted when its signature changes.

The signature quantises everything that moves (breathing, eyes, gaze, mouth, the listening
rings and thinking dots) so a frame where none of it moved a pixel costs one comparison.
"""

from __future__ import annotations

import math

import pygame
import pygame.gfxdraw

from vitad.avatar.pack import Motion
from vitad.avatar.renderer.character import ScaledCharacter
from vitad.avatar.renderer.colour import Palette, mix
from vitad.avatar.renderer.layout import Layout
from vitad.avatar.renderer.ui_art import build_listen_badge
from vitad.avatar.state import AvatarState

EXPRESSION = {
    "idle": "happy",
    "speaking": "happy",
    "listening": "attentive",
    "thinking": "thinking",
    "error": "concerned",
    "degraded": "sleepy",
    "night": "sleepy",
}
RING_PERIOD_S = 1.6
RING_STEPS = 32
DOTS_PERIOD_S = 1.2
DOTS_STEPS = 24


def stage_signature(state: AvatarState, lay: Layout, motion: Motion) -> tuple:
    """What the stage shows, quantised to what can change its pixels."""
    mode = state.mode
    r = lay.r
    bob = round(lay.bob_amp * state.breath)
    if mode == "listening":
        bob -= round(motion.listen_lift * r)
    eye_q = round(max(0.0, state.eye_open) / 1.2 * 24)
    gx = round(state.gaze[0] * motion.gaze[0] * r)
    gy = round(state.gaze[1] * motion.gaze[1] * r)
    mouth_q = round(state.mouth * 20) if mode == "speaking" else 0
    viseme = getattr(state, "viseme", None) if mode == "speaking" else None
    ring = int((state.now / RING_PERIOD_S % 1.0) * RING_STEPS) if mode == "listening" else -1
    dots = int((state.now / DOTS_PERIOD_S % 1.0) * DOTS_STEPS) if mode == "thinking" else -1
    return (
        EXPRESSION.get(mode, "happy"),
        bob,
        eye_q,
        gx,
        gy,
        mouth_q,
        viseme,
        ring,
        dots,
        mode == "listening",
    )


class StagePainter:
    """Paints a :func:`stage_signature` onto the target over the background it restores."""

    def __init__(self) -> None:
        self._badges: dict[tuple[int, float], pygame.Surface] = {}
        self.drawn: pygame.Rect | None = None  # last painted area; None after a full redraw

    def badge(self, r: int, brightness: float, pal: Palette) -> pygame.Surface:
        """The listening badge: a UI cue in the theme's accent, not part of the pack."""
        key = (r, brightness)
        badge = self._badges.get(key)
        if badge is None:
            badge = build_listen_badge(r, pal)
            if pygame.display.get_surface() is not None:
                badge = badge.convert_alpha()
            self._badges[key] = badge
        return badge

    def paint(self, surf: pygame.Surface, bg: pygame.Surface, lay: Layout, pal: Palette,
              sig: tuple, ch: ScaledCharacter, brightness: float) -> pygame.Rect:
        """Restore the stage from ``bg`` and draw ``sig``; the rectangle it changed."""
        expression, bob, eye_q, gx, gy, mouth_q, viseme, ring, dots, listening = sig
        rect = lay.ring_rect if listening else lay.stage_rect
        area = rect if self.drawn is None else rect.union(self.drawn)
        self.drawn = rect
        surf.blit(bg, area.topleft, area)
        surf.set_clip(area)
        motion = ch.motion
        r = lay.r
        cx, cy = lay.center

        def put(image: pygame.Surface, offset: tuple[float, float], dx: int, dy: int) -> None:
            x, y = round(cx + offset[0]) + dx, round(cy + offset[1]) + bob + dy
            surf.blit(image, image.get_rect(center=(x, y)))

        if ring >= 0:
            _draw_rings(surf, bg, lay, pal, ring / RING_STEPS)
        put(ch.body.surface, ch.body.offset, 0, 0)  # body, blush and accessories, merged
        eye = ch.eye(eye_q * 1.2 / 24)
        for offset in ch.eye_offsets:
            put(eye, offset, gx, gy)
        brows = ch.brows.get(expression)
        if brows is not None:
            fx, fy = motion.brows_follow
            put(brows.surface, brows.offset, round(gx * fx), round(gy * fy))
        mouth = ch.mouth(expression, mouth_q / 20, viseme)
        put(mouth, ch.mouth_offset, round(gx * motion.mouth_follow), 0)
        if listening:
            badge = self.badge(r, brightness, pal)
            surf.blit(
                badge, badge.get_rect(center=(cx + round(0.8 * r), cy + bob + round(0.62 * r)))
            )
        if dots >= 0:
            _draw_dots(surf, lay, pal, dots / DOTS_STEPS, bob)
        surf.set_clip(None)
        return area


def _draw_rings(surf: pygame.Surface, bg: pygame.Surface, lay: Layout, pal: Palette,
                phase: float) -> None:
    """Two accent rings growing out of the character while it listens."""
    cx, cy = lay.center
    r = lay.r
    width = max(2, round(0.045 * r))
    for k in (0.0, 0.5):
        p = (phase + k) % 1.0
        fade = (1.0 - p) ** 1.5 * 0.95
        if fade < 0.04:
            continue
        rad = round(r * (1.04 + 0.3 * p))
        # fade towards the background actually under the ring (the glow is lighter)
        x = min(max(0, cx + rad - width // 2), lay.size[0] - 1)
        r0, g0, b0 = tuple(bg.get_at((x, cy)))[:3]
        color = mix((r0, g0, b0), pal.accent, fade)
        pygame.draw.circle(surf, color, (cx, cy), rad, width)
        pygame.gfxdraw.aacircle(surf, cx, cy, rad, color)
        pygame.gfxdraw.aacircle(surf, cx, cy, rad - width + 1, color)


def _draw_dots(surf: pygame.Surface, lay: Layout, pal: Palette, phase: float, bob: int) -> None:
    """Three pulsing 'thinking' dots above the character's shoulder."""
    cx, cy = lay.center
    r = lay.r
    for i in range(3):
        pulse = max(0.0, math.sin(2 * math.pi * phase - i * 0.9))
        x = round(cx + 0.82 * r + i * 0.2 * r)
        y = round(cy + bob - 0.98 * r - i * 0.1 * r - pulse * 0.05 * r)
        rad = max(2, round(0.055 * r * (1 + 0.3 * pulse)))
        color = mix(pal.body, pal.accent, 0.3 + 0.7 * pulse)
        pygame.gfxdraw.filled_circle(surf, x, y, rad, color)
        pygame.gfxdraw.aacircle(surf, x, y, rad, color)
