"""Draws an :class:`AvatarState` onto a surface, redrawing only what changed.

The screen is split into regions that never overlap: the top bar (status icons), the stage
(the character and its cues), the caption panel, and in attract mode the card panel. Each
region has a *signature* - a small tuple of the quantised values it depends on. A region is
redrawn (background restore + blits of cached sprites/text) only when its signature changes,
and only the changed rectangles are handed to the display. A frame where nothing changed
costs a few comparisons and draws nothing. Anything that changes the layout (size, attract,
night palette, the slow burn-in orbit) triggers one full redraw.

This module owns that bookkeeping and the choice of pack; the parts have modules of their
own: layout.py (geometry), backdrop.py (the background and the shop's branding), stage.py
(the character and its cues, from the pack's layers scaled and cached by character.py) and
the text painters, each a ``content(state)`` signature plus ``paint(surface, rect, ...)``:
captions.py, cards.py (attract panel) and statusbar.py.
"""

from __future__ import annotations

import dataclasses
import logging

import pygame

from vitad.avatar.cards import Card, build_cards, invite_text, mic_unavailable_text
from vitad.avatar.pack import PackError, bundled_pack_dir, choose_pack, load_pack
from vitad.avatar.renderer.backdrop import Backdrop, load_logo
from vitad.avatar.renderer.captions import CaptionContent, CaptionPainter
from vitad.avatar.renderer.cards import CardPainter
from vitad.avatar.renderer.character import CharacterCache, PackImages, ScaledCharacter
from vitad.avatar.renderer.colour import Palette, hex_rgb, scale_rgb
from vitad.avatar.renderer.layout import Layout, compute_layout, fit_to_character
from vitad.avatar.renderer.stage import StagePainter, stage_signature
from vitad.avatar.renderer.statusbar import StatusBarPainter, StatusContent
from vitad.avatar.renderer.text import FontBook, TextCache
from vitad.avatar.state import AvatarState
from vitad.config.loader import resolve
from vitad.config.schema import Config

log = logging.getLogger(__name__)


class Renderer:
    """Owns every cached surface and font; ``draw`` returns the rectangles it changed."""

    def __init__(
        self,
        target: pygame.Surface,
        config: Config,
        wake_phrase: str,
    ) -> None:
        self.target = target
        self.config = config
        self.settings = config.avatar
        self.night_level = config.avatar.night_brightness  # until draw() reads the state's
        self.wake_phrase = wake_phrase
        self._build_painters()
        self.character = self._choose_character(None)
        self.layout: Layout | None = None
        self._bg: pygame.Surface | None = None
        self._sigs: dict[str, object] = {}
        self.frames_drawn = 0
        self.regions_drawn = 0

    # ------------------------------------------------------------------ configuration
    def set_target(self, target: pygame.Surface) -> None:
        self.target = target
        self.invalidate()

    def apply_config(self, config: Config, wake_phrase: str | None = None) -> None:
        """Hot reload: rebuild whatever depends on the config on the next frame."""
        self.config = config
        self.settings = config.avatar
        if wake_phrase:
            self.wake_phrase = wake_phrase
        self._build_painters()
        self.character = self._choose_character(self.character)
        self.invalidate()

    def _build_painters(self) -> None:
        """Fonts, text cache, the background, and the stage, caption, card and status-bar
        painters for this config (a reload starts them afresh, with empty caches)."""
        self.fonts = FontBook(self.settings.caption_font, self.settings.cjk_font)
        self.text = TextCache(self.fonts)
        invite = invite_text(self.wake_phrase)
        self.cards: list[Card] = build_cards(self.config, self.wake_phrase)
        self.captions = CaptionPainter(self.text, invite, mic_unavailable_text(self.config))
        self.card_painter = CardPainter(self.text, self.cards, invite)
        self.status_bar = StatusBarPainter(self.text)
        self.backdrop = Backdrop(load_logo(self.config), self.settings.accent_colour is not None)
        self.stage = StagePainter()

    def _choose_character(self, running: CharacterCache | None) -> CharacterCache:
        """The configured pack, decoded; a bad one is logged and the running pack (on reload)
        or the bundled pack (at start) is drawn instead. Never raises for a bad pack."""
        pack_path = self.settings.pack
        wanted = None if pack_path is None else resolve(self.config, pack_path)
        pack = choose_pack(wanted, running.pack if running is not None else None)
        if running is not None and pack == running.pack:
            return running  # same files, unchanged since they were decoded: nothing to do
        try:
            return CharacterCache(PackImages(pack))
        except PackError as exc:
            fallback = "keeping the running pack" if running else "using the bundled pack"
            for problem in exc.problems:
                log.error("avatar pack %s: %s; %s", exc.source, problem, fallback)
            if running is not None:
                return running
            return CharacterCache(PackImages(load_pack(bundled_pack_dir())))

    def invalidate(self) -> None:
        """Force a full redraw on the next frame."""
        self.layout = None
        self._sigs.clear()

    # ------------------------------------------------------------------ caches
    def palette(self, night: bool) -> Palette:
        brightness = self.brightness(night)
        return Palette.from_theme(self.settings.theme, brightness)

    def brightness(self, night: bool) -> float:
        return self.night_level if night else 1.0

    def scaled_character(self, r: int, night: bool) -> ScaledCharacter:
        """The pack scaled for radius ``r`` (built once per size and night/day, then cached)."""
        return self.character.get(r, self.brightness(night))

    def glow_colour(self, pal: Palette, night: bool) -> tuple[int, int, int]:
        glow = self.character.pack.manifest.pack.glow
        return pal.body if glow is None else scale_rgb(hex_rgb(glow), self.brightness(night))

    def accent(self, pal: Palette) -> Palette:
        """``pal`` with the shop's ``accent_colour`` (branding), if one is set."""
        brand = self.settings.accent_colour
        return pal if brand is None else dataclasses.replace(pal, accent=hex_rgb(brand))

    def _background(self, lay: Layout, pal: Palette) -> pygame.Surface:
        brightness = self.brightness(lay.night)
        return self.backdrop.get(lay, pal, brightness, self.glow_colour(pal, lay.night),
                                 self.accent(pal))

    # ------------------------------------------------------------------ frame
    def draw(self, state: AvatarState) -> list[pygame.Rect]:
        """Bring the target up to date with ``state``; return the changed rectangles."""
        size = self.target.get_size()
        mode = state.mode
        night = mode == "night"
        # Quiet hours' dim ([schedule]; AvatarState): a new level during the night (back-to-back
        # ranges with different dims) repaints everything, like night falling does.
        dimmed = night and state.brightness != self.night_level
        self.night_level = state.brightness
        attract = state.attract
        orbit_r = self.settings.orbit_px * size[1]
        ox, oy = state.orbit
        offset = (round(ox * orbit_r), round(oy * orbit_r))
        lay = self.layout
        full = (
            lay is None
            or lay.size != size
            or lay.attract != attract
            or lay.night != night
            or lay.offset != offset
            or dimmed
        )
        if full:
            lay = compute_layout(self.settings, size, attract, night, offset)
            lay = self.layout = fit_to_character(lay, self.scaled_character(lay.r, lay.night))
            self._bg = self._background(lay, self.palette(night))
            self._sigs.clear()
            self.stage.drawn = None
            self.target.blit(self._bg, (0, 0))
        assert lay is not None and self._bg is not None
        pal = self.palette(night)
        dirty: list[pygame.Rect] = []
        for name, sig, fn in (
            ("stage", self._stage_sig(state, lay), self._draw_stage),
            ("top", self._top_sig(state), self._draw_top),
            ("captions", self._caption_sig(state, lay), self._draw_captions),
            ("panel", self._panel_sig(state, lay), self._draw_panel),
        ):
            if self._sigs.get(name, object()) == sig:
                continue
            self._sigs[name] = sig
            rect = fn(lay, pal, sig)
            if rect is not None:
                dirty.append(rect)
                self.regions_drawn += 1
        if full:
            dirty = [self.target.get_rect()]
        if dirty:
            self.frames_drawn += 1
        return dirty

    def _restore(self, rect: pygame.Rect) -> None:
        assert self._bg is not None
        self.target.blit(self._bg, rect.topleft, rect)

    # ------------------------------------------------------------------ stage
    def _stage_sig(self, state: AvatarState, lay: Layout) -> tuple:
        return stage_signature(state, lay, self.character.pack.manifest.motion)

    def _draw_stage(self, lay: Layout, pal: Palette, sig: tuple) -> pygame.Rect:
        assert self._bg is not None
        ch = self.scaled_character(lay.r, lay.night)
        return self.stage.paint(self.target, self._bg, lay, pal, sig, ch,
                                self.brightness(lay.night))

    # ------------------------------------------------------------------ top bar
    def _top_sig(self, state: AvatarState) -> tuple:
        return self.status_bar.content(state)

    def _draw_top(self, lay: Layout, pal: Palette, sig: tuple) -> pygame.Rect:
        rect = lay.topbar_rect
        self._restore(rect)
        assert isinstance(sig, StatusContent)
        self.status_bar.paint(self.target, rect, sig, pal, lay.caption_px)
        return rect

    # ------------------------------------------------------------------ captions
    def _caption_sig(self, state: AvatarState, lay: Layout) -> tuple:
        if lay.caption_rect is None:
            return ("none",)
        return self.captions.content(state)

    def _draw_captions(self, lay: Layout, pal: Palette, sig: tuple) -> pygame.Rect | None:
        rect = lay.caption_rect
        if rect is None or not isinstance(sig, CaptionContent):
            return None
        self._restore(rect)
        self.captions.paint(self.target, rect, sig, pal, lay.caption_px)
        return rect

    # ------------------------------------------------------------------ attract cards
    def _panel_sig(self, state: AvatarState, lay: Layout) -> tuple:
        index = self.card_painter.card_index(state)
        if lay.panel_rect is None or index is None:
            return ("none",)
        return ("card", index)

    def _draw_panel(self, lay: Layout, pal: Palette, sig: tuple) -> pygame.Rect | None:
        rect = lay.panel_rect
        if rect is None or sig[0] != "card":
            return None
        self._restore(rect)
        self.card_painter.paint(self.target, rect, sig[1], self.accent(pal), lay.caption_px)
        return rect
