"""Screen geometry: where the top bar, the character's stage, captions and card panel go.

:func:`compute_layout` depends only on the settings and the (size, attract, night, orbit)
combination; :func:`fit_to_character` then grows the stage to hold the pack's canvas and its
breathing, gaze and listening-lift reach, so a redraw of the stage covers every pixel the
character can touch.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pygame

from vitad.avatar.renderer.character import ScaledCharacter
from vitad.config.avatar_settings import AvatarSettings


@dataclass(frozen=True)
class Layout:
    """Pixel geometry for one (size, attract, night, orbit) combination."""

    size: tuple[int, int]
    attract: bool
    night: bool
    offset: tuple[int, int]
    r: int
    center: tuple[int, int]
    bob_amp: int
    stage_rect: pygame.Rect
    ring_rect: pygame.Rect
    topbar_rect: pygame.Rect
    caption_rect: pygame.Rect | None
    panel_rect: pygame.Rect | None
    caption_px: int

    def eye_center(self, side: int, bob: int = 0) -> tuple[int, int]:
        cx, cy = self.center
        return round(cx + side * 0.36 * self.r), round(cy + bob - 0.12 * self.r)

    def mouth_center(self, bob: int = 0) -> tuple[int, int]:
        cx, cy = self.center
        return cx, round(cy + bob + 0.3 * self.r)


def compute_layout(
    settings: AvatarSettings,
    size: tuple[int, int],
    attract: bool,
    night: bool,
    offset: tuple[int, int],
) -> Layout:
    w, h = size
    ox, oy = offset
    caption_px = max(16, round(settings.caption_size * h))
    topbar = pygame.Rect(0, 0, w, max(24, round(0.09 * h)))
    if attract:
        r = round(min(0.2 * h, 0.17 * w) * min(settings.scale, 1.0))
        center = (round(0.25 * w) + ox, round(0.5 * h) + oy)
        caption = None
        panel = pygame.Rect(
            round(0.47 * w) + ox, round(0.11 * h) + oy, round(0.5 * w), round(0.78 * h)
        )
    else:
        caption_top = round(0.64 * h)
        r = round(min(0.2 * h, 0.2 * w) * settings.scale)
        # keep the character between the top bar and the captions whatever the config says
        r = max(8, min(r, round((caption_top - topbar.bottom) / 2.7)))
        px, py = settings.position
        cx = min(max(round(px * w), round(1.4 * r)), w - round(1.4 * r))
        cy = min(max(round(py * h), topbar.bottom + round(1.3 * r)), caption_top - round(1.3 * r))
        center = (cx + ox, cy + oy)
        caption = pygame.Rect(
            round(0.04 * w) + ox, caption_top + oy, round(0.92 * w), round(0.33 * h)
        )
        panel = None
    bob_amp = max(1, round(0.025 * r))
    cx, cy = center
    # body + bubbles + thinking dots + listening badge, with breathing/lean room
    stage = pygame.Rect(0, 0, round(2.9 * r), round(2.7 * r))
    stage.center = (cx + round(0.2 * r), cy - round(0.1 * r))
    ring = pygame.Rect(0, 0, round(2.72 * r), round(2.72 * r))
    ring.center = center
    ring.union_ip(stage)
    screen = pygame.Rect(0, 0, w, h)
    return Layout(
        size=size,
        attract=attract,
        night=night,
        offset=offset,
        r=r,
        center=center,
        bob_amp=bob_amp,
        stage_rect=stage.clip(screen),
        ring_rect=ring.clip(screen),
        topbar_rect=topbar,
        caption_rect=caption.clip(screen) if caption else None,
        panel_rect=panel.clip(screen) if panel else None,
        caption_px=caption_px,
    )


def fit_to_character(lay: Layout, ch: ScaledCharacter) -> Layout:
    """The layout with the pack's breathing amplitude and a stage that holds its canvas."""
    motion = ch.motion
    bob_amp = max(1, round(motion.bob * lay.r)) if motion.bob > 0 else 0
    lift = round(motion.listen_lift * lay.r)
    gx, gy = round(motion.gaze[0] * lay.r) + 1, round(motion.gaze[1] * lay.r) + 1
    reach = ch.canvas_rect.move(lay.center).inflate(2 * gx, 2 * (gy + bob_amp + lift))
    screen = pygame.Rect(0, 0, *lay.size)
    stage = lay.stage_rect.union(reach).clip(screen)
    return dataclasses.replace(lay, bob_amp=bob_amp, stage_rect=stage,
                               ring_rect=lay.ring_rect.union(stage).clip(screen))
