"""The screen's UI shapes, drawn at run time once per layout and cached by the scene.

The listening badge, the status icons, the caption/card panels, the background gradient and
the glow behind the character; unlike the character, none of these come from a pack.
"""

from __future__ import annotations

import math

import pygame

from vitad.avatar.renderer.colour import RGB, RGBA, Palette, mix
from vitad.avatar.renderer.supersample import SS, arc_band, canvas, downscale


def badge_size(r: int) -> int:
    return round(0.5 * r)


def build_listen_badge(r: int, p: Palette) -> pygame.Surface:
    """Round accent badge with a microphone glyph: 'I am listening'."""
    d = badge_size(r)
    big = canvas(d, d, p.accent)
    s = SS
    c = d * s / 2
    pygame.draw.circle(big, p.accent, (c, c), c * 0.98)
    ink = p.background_bottom
    mw, mh = 0.28 * d * s, 0.44 * d * s
    cap = pygame.Rect(0, 0, round(mw), round(mh))
    cap.center = (round(c), round(c - 0.1 * d * s))
    pygame.draw.rect(big, ink, cap, border_radius=round(mw / 2))
    arc_band(
        big,
        ink,
        c,
        c - 0.06 * d * s,
        0.24 * d * s,
        0.2 * d * s,
        0.15,
        math.pi - 0.15,
        0.055 * d * s,
    )
    pygame.draw.line(
        big, ink, (c, c + 0.14 * d * s), (c, c + 0.3 * d * s), max(1, round(0.055 * d * s))
    )
    pygame.draw.line(
        big,
        ink,
        (c - 0.12 * d * s, c + 0.3 * d * s),
        (c + 0.12 * d * s, c + 0.3 * d * s),
        max(1, round(0.055 * d * s)),
    )
    return downscale(big, d, d)


def build_icon_mic(d: int, color: RGB, crossed: bool = False) -> pygame.Surface:
    """Small status icon: outlined circle with a mic (ASR fallback) or crossed speaker."""
    big = canvas(d, d, color)
    s = SS
    c = d * s / 2
    th = max(1, round(0.07 * d * s))
    pygame.draw.circle(big, color, (c, c), c - th, width=th)
    if not crossed:
        cap = pygame.Rect(0, 0, round(0.22 * d * s), round(0.36 * d * s))
        cap.center = (round(c), round(c - 0.08 * d * s))
        pygame.draw.rect(big, color, cap, border_radius=round(0.11 * d * s))
        arc_band(
            big,
            color,
            c,
            c - 0.04 * d * s,
            0.2 * d * s,
            0.16 * d * s,
            0.2,
            math.pi - 0.2,
            0.05 * d * s,
        )
        pygame.draw.line(big, color, (c, c + 0.12 * d * s), (c, c + 0.26 * d * s), th)
    else:
        pts = [
            (c - 0.26 * d * s, c - 0.1 * d * s),
            (c - 0.12 * d * s, c - 0.1 * d * s),
            (c + 0.06 * d * s, c - 0.26 * d * s),
            (c + 0.06 * d * s, c + 0.26 * d * s),
            (c - 0.12 * d * s, c + 0.1 * d * s),
            (c - 0.26 * d * s, c + 0.1 * d * s),
        ]
        pygame.draw.polygon(big, color, pts)
        pygame.draw.line(
            big,
            color,
            (c - 0.32 * d * s, c - 0.32 * d * s),
            (c + 0.32 * d * s, c + 0.32 * d * s),
            th,
        )
    return downscale(big, d, d)


def build_round_rect(w: int, h: int, radius: int, color: RGBA, ss: int = 2) -> pygame.Surface:
    """Anti-aliased rounded rectangle (big panels use a lower supersample to stay cheap)."""
    big = pygame.Surface((max(1, w * ss), max(1, h * ss)), pygame.SRCALPHA)
    big.fill((*color[:3], 0))
    pygame.draw.rect(big, color, big.get_rect(), border_radius=max(0, radius * ss))
    return pygame.transform.smoothscale(big, (max(1, w), max(1, h)))


def build_gradient(w: int, h: int, top: RGB, bottom: RGB) -> pygame.Surface:
    """Vertical background gradient (a 1-pixel column scaled up: cheap and band-free)."""
    column = pygame.Surface((1, 256))
    for y in range(256):
        column.set_at((0, y), mix(top, bottom, y / 255))
    return pygame.transform.smoothscale(column, (max(1, w), max(1, h)))


def build_glow(r: int, color: RGB, strength: float = 0.35) -> pygame.Surface:
    """Soft radial glow behind the character (alpha falls off smoothly; no rings)."""
    import numpy as np

    size = max(2, round(3.6 * r))
    surf = pygame.Surface((size, size), pygame.SRCALPHA)
    surf.fill((*color, 0))
    yy, xx = np.mgrid[0:size, 0:size]
    c = (size - 1) / 2
    d = np.sqrt((xx - c) ** 2 + (yy - c) ** 2) / (size / 2)
    alpha = np.clip(1.0 - d, 0.0, 1.0) ** 2 * 255 * strength
    pixels = pygame.surfarray.pixels_alpha(surf)
    pixels[:, :] = alpha.T.astype(np.uint8)
    del pixels  # release the surface lock
    return surf
