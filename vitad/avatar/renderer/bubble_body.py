"""The code-drawn character's body: the bubble, its cheeks (blush) and floating bubbles.

These only feed the pack generator (:mod:`bubble_pack`, ``assets/avatar/make_bubble_pack.py``);
the daemon draws the character from a pack's PNGs.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pygame

from vitad.avatar.renderer.colour import RGB, Palette, mix
from vitad.avatar.renderer.supersample import SS, arc_band, canvas, downscale, ellipse


def build_body(r: int, p: Palette, cheeks: bool = True, bubbles: bool = True) -> pygame.Surface:
    """Body sprite, size (2.3r, 2.3r), body centre at the sprite centre. The pack generator
    draws the cheeks (:func:`build_blush`) and the bubbles (:func:`build_accessories`) as
    layers of their own."""
    size = round(2.3 * r)
    big = canvas(size, size, p.body_shade)
    s = SS
    c = size * s / 2
    R = r * s
    ellipse(big, p.body_shade, c, c + 0.02 * R, R, 0.96 * R)
    ellipse(big, p.body, c - 0.03 * R, c - 0.05 * R, 0.95 * R, 0.9 * R)
    # glossy bubble highlights (drawing replaces pixels, so blend colours here, not by alpha)
    ellipse(big, mix(p.body, p.highlight, 0.6), c - 0.5 * R, c - 0.55 * R, 0.2 * R, 0.12 * R)
    pygame.draw.circle(big, mix(p.body, p.highlight, 0.75), (c - 0.24 * R, c - 0.74 * R), 0.06 * R)
    arc_band(
        big,
        mix(p.body, p.highlight, 0.3),
        c,
        c,
        0.82 * R,
        0.78 * R,
        math.radians(20),
        math.radians(70),
        0.05 * R,
    )
    if cheeks:
        _draw_cheeks(big, c, c, R, p)
    if bubbles:
        _draw_bubbles(big, c, c, R, p)
    return downscale(big, size, size)


def _draw_cheeks(big: pygame.Surface, cx: float, cy: float, R: float, p: Palette) -> None:
    """Both cheeks around body centre (cx, cy), supersampled radius R."""
    cheek = mix(p.body, p.cheeks, 0.8)
    ellipse(big, cheek, cx - 0.58 * R, cy + 0.2 * R, 0.15 * R, 0.09 * R)
    ellipse(big, cheek, cx + 0.58 * R, cy + 0.2 * R, 0.15 * R, 0.09 * R)


def _draw_bubbles(big: pygame.Surface, cx: float, cy: float, R: float, p: Palette) -> None:
    """Two little bubbles floating by the head."""
    for bx, by, br in ((0.92, -0.86, 0.1), (1.06, -0.62, 0.06)):
        pygame.draw.circle(
            big, (*p.body, 220), (cx + bx * R, cy + by * R), br * R, width=max(1, round(0.025 * R))
        )
        pygame.draw.circle(
            big, (*p.highlight, 200), (cx + (bx - 0.03) * R, cy + (by - 0.03) * R), 0.022 * R
        )


# Where the blush and accessory sprites sit, relative to the body centre in radii, and their
# size in radii: just big enough for what they hold, so a frame blits few pixels.
BLUSH_CENTRE, BLUSH_SIZE = (0.0, 0.2), (1.5, 0.24)
ACCESSORIES_CENTRE, ACCESSORIES_SIZE = (0.97, -0.76), (0.36, 0.48)


def _part_sprite(
    r: int, centre: tuple[float, float], size: tuple[float, float], edge: RGB,
    draw: Callable[[pygame.Surface, float, float, float], None],
) -> tuple[pygame.Surface, tuple[int, int]]:
    """A piece of the body on its own sprite, and its centre's offset from the body centre
    in whole pixels. The sprite's width and height have the body sprite's parity, so at
    scale 1 it lands on exactly the pixels it had inside the body sprite."""
    parity = round(2.3 * r) % 2
    w, h = round(size[0] * r), round(size[1] * r)
    w, h = w + (w % 2 != parity), h + (h % 2 != parity)
    ox, oy = round(centre[0] * r), round(centre[1] * r)
    big = canvas(w, h, edge)
    draw(big, (w / 2 - ox) * SS, (h / 2 - oy) * SS, r * SS)
    return downscale(big, w, h), (ox, oy)


def build_blush(r: int, p: Palette) -> tuple[pygame.Surface, tuple[int, int]]:
    """The cheeks alone, and the offset of their centre from the body centre (px)."""
    return _part_sprite(r, BLUSH_CENTRE, BLUSH_SIZE, mix(p.body, p.cheeks, 0.8),
                        lambda big, cx, cy, R: _draw_cheeks(big, cx, cy, R, p))


def build_accessories(r: int, p: Palette) -> tuple[pygame.Surface, tuple[int, int]]:
    """The floating bubbles alone, and the offset of their centre from the body centre."""
    return _part_sprite(r, ACCESSORIES_CENTRE, ACCESSORIES_SIZE, p.body,
                        lambda big, cx, cy, R: _draw_bubbles(big, cx, cy, R, p))
