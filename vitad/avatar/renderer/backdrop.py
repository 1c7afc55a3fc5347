"""The static picture behind everything: gradient, glow, panels and the shop's branding.

It depends only on the layout and the palette, so it is composed once per layout from cached
parts (a burn-in orbit step costs a few blits, not a rebuild) and the scene restores regions
from it instead of redrawing what lies under them.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable
from functools import partial

import pygame

from vitad.avatar.branding import usable_logo
from vitad.avatar.renderer.colour import RGB, Palette
from vitad.avatar.renderer.layout import Layout
from vitad.avatar.renderer.ui_art import build_glow, build_gradient, build_round_rect
from vitad.config.loader import resolve
from vitad.config.schema import Config

log = logging.getLogger(__name__)

MAX_PARTS = 12  # gradients, glows, panels and logos kept across layouts
MAX_BACKGROUNDS = 3  # whole-screen pictures (a few orbit steps / modes)


def load_logo(config: Config) -> pygame.Surface | None:
    """The shop's ``avatar.logo``, decoded; None (and one log line) when it cannot be."""
    path = config.avatar.logo
    path = usable_logo(None if path is None else resolve(config, path))
    if path is None:
        return None
    try:
        logo = pygame.image.load(str(path))
    except (pygame.error, OSError) as exc:
        log.error("avatar.logo: %s cannot be decoded (%s); the attract screen shows no "
                  "logo", path, exc)
        return None
    return logo.convert_alpha() if pygame.display.get_surface() is not None else logo


class Backdrop:
    """Builds and caches the background for a layout.

    ``logo`` is drawn at the left of the top bar on the attract screen; when ``branded``
    (the shop set an accent colour) the card panel gets an edge in that colour.
    """

    def __init__(self, logo: pygame.Surface | None, branded: bool) -> None:
        self._logo = logo
        self._branded = branded
        self._backgrounds: OrderedDict[tuple, pygame.Surface] = OrderedDict()
        self._parts: dict[tuple, pygame.Surface] = {}

    def _part(self, key: tuple, build: Callable[[], pygame.Surface]) -> pygame.Surface:
        """Cached building block of the background (gradient, glow, panels)."""
        surf = self._parts.get(key)
        if surf is None:
            surf = build()
            if pygame.display.get_surface() is not None:
                surf = (
                    surf.convert_alpha() if surf.get_flags() & pygame.SRCALPHA else surf.convert()
                )
            self._parts[key] = surf
            if len(self._parts) > MAX_PARTS:
                self._parts.pop(next(iter(self._parts)))
        return surf

    def get(self, lay: Layout, pal: Palette, brightness: float, glow_rgb: RGB,
            accent: Palette) -> pygame.Surface:
        """Static picture behind everything for this layout (cached per layout/brightness)."""
        key = (lay.size, lay.attract, brightness, lay.offset, lay.r)
        bg = self._backgrounds.get(key)
        if bg is not None:
            self._backgrounds.move_to_end(key)
            return bg
        w, h = lay.size
        gradient = self._part(
            ("gradient", lay.size, pal.background_top, pal.background_bottom),
            lambda: build_gradient(w, h, pal.background_top, pal.background_bottom),
        )
        glow = self._part(("glow", lay.r, glow_rgb), lambda: build_glow(lay.r, glow_rgb))
        bg = (
            self._backgrounds.pop(next(iter(self._backgrounds)))
            if len(self._backgrounds) >= MAX_BACKGROUNDS
            else pygame.Surface((w, h))
        )
        if bg.get_size() != (w, h):
            bg = pygame.Surface((w, h))
        bg.blit(gradient, (0, 0))
        bg.blit(glow, glow.get_rect(center=lay.center))
        radius = max(6, round(0.03 * h))
        for rect in (lay.caption_rect, lay.panel_rect):
            if rect is not None:
                panel = self._part(
                    ("panel", rect.size, pal.caption_panel),
                    partial(build_round_rect, rect.w, rect.h, radius, (*pal.caption_panel, 215)),
                )
                bg.blit(panel, rect.topleft)
        if lay.attract:
            self._draw_branding(bg, lay, accent)
        if pygame.display.get_surface() is not None and bg.get_bitsize() != 32:
            bg = bg.convert()
        self._backgrounds[key] = bg
        return bg

    def _draw_branding(self, bg: pygame.Surface, lay: Layout, accent: Palette) -> None:
        """Shop logo at the left of the top bar and an accent edge on the card panel; part of
        the attract background, so it costs nothing per frame."""
        bar = lay.topbar_rect
        if self._logo is not None:
            lw, lh = self._logo.get_size()
            fit = min(0.8 * bar.h / lh, 0.22 * lay.size[0] / lw)
            size = (max(1, round(lw * fit)), max(1, round(lh * fit)))
            logo = self._part(("logo", size), lambda: pygame.transform.smoothscale(
                self._logo, size) if self._logo is not None else pygame.Surface(size))
            bg.blit(logo, logo.get_rect(midleft=(bar.x + round(0.3 * bar.h), bar.centery)))
        panel = lay.panel_rect
        if self._branded and panel is not None:
            edge = max(3, round(0.006 * lay.size[0]))
            inset = max(6, round(0.03 * lay.size[1]))
            stripe = pygame.Rect(panel.x, panel.y + inset, edge, panel.h - 2 * inset)
            pygame.draw.rect(bg, accent.accent, stripe, border_radius=edge // 2)
