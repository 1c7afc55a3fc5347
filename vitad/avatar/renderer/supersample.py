"""Supersampled drawing: draw at ``SS`` x size on a transparent canvas, smooth-scale down once.

pygame's own primitives are not anti-aliased (gfxdraw's are, but only one pixel wide);
drawing big and scaling down once gives clean edges on every shape the renderer draws.
"""

from __future__ import annotations

import math

import pygame

from vitad.avatar.renderer.colour import RGB, RGBA

SS = 4  # supersampling factor


def canvas(w: int, h: int, edge: RGB = (0, 0, 0)) -> pygame.Surface:
    """Transparent supersampled canvas. ``edge`` is the colour of the transparent pixels:
    smoothscale does not premultiply alpha, so using the sprite's own edge colour avoids
    dark fringes around anti-aliased edges."""
    big = pygame.Surface((max(1, w * SS), max(1, h * SS)), pygame.SRCALPHA)
    big.fill((*edge, 0))
    return big


def downscale(big: pygame.Surface, w: int, h: int) -> pygame.Surface:
    """The supersampled ``big`` canvas scaled down to its final ``w`` x ``h``."""
    return pygame.transform.smoothscale(big, (max(1, w), max(1, h)))


def ellipse(surf: pygame.Surface, color: RGB | RGBA, cx: float, cy: float, rx: float, ry: float):
    rect = pygame.Rect(0, 0, max(1, round(2 * rx)), max(1, round(2 * ry)))
    rect.center = (round(cx), round(cy))
    pygame.draw.ellipse(surf, color, rect)


def arc_band(
    surf: pygame.Surface,
    color: RGB | RGBA,
    cx: float,
    cy: float,
    rx: float,
    ry: float,
    a0: float,
    a1: float,
    thick: float,
) -> None:
    """A thick elliptical arc with round caps (angles in radians, y down)."""
    n = 40
    outer, inner = [], []
    for i in range(n + 1):
        a = a0 + (a1 - a0) * i / n
        ca, sa = math.cos(a), math.sin(a)
        outer.append((cx + (rx + thick / 2) * ca, cy + (ry + thick / 2) * sa))
        inner.append((cx + (rx - thick / 2) * ca, cy + (ry - thick / 2) * sa))
    pygame.draw.polygon(surf, color, outer + inner[::-1])
    for a in (a0, a1):
        pygame.draw.circle(surf, color, (cx + rx * math.cos(a), cy + ry * math.sin(a)), thick / 2)
