"""Helpers for testing one painter on its own: paint on a flat canvas, see what changed."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pygame
from avatar_testlib import pixels

CANVAS = (4, 20, 36)  # close to the caption panel, and not a colour any painter uses


def painted(size: tuple[int, int], draw: Callable[[pygame.Surface], object]) -> np.ndarray:
    """Boolean (h, w) mask of the pixels ``draw(surface)`` changed on a flat canvas."""
    surface = pygame.Surface(size)
    surface.fill(CANVAS)
    before = pixels(surface)
    draw(surface)
    return np.abs(pixels(surface) - before).sum(axis=-1) > 0


def ink_box(mask: np.ndarray) -> pygame.Rect | None:
    """Bounding box of the changed pixels, or None when nothing changed."""
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return None
    x0, y0 = int(xs.min()), int(ys.min())
    return pygame.Rect(x0, y0, int(xs.max()) - x0 + 1, int(ys.max()) - y0 + 1)


def outside(mask: np.ndarray, rect: pygame.Rect) -> int:
    """How many changed pixels lie outside ``rect``."""
    inner = mask[rect.top : rect.bottom, rect.left : rect.right].sum()
    return int(mask.sum() - inner)
