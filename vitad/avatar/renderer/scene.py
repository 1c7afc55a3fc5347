"""Draws an :class:`AvatarState` onto a surface, redrawing only what changed.

The screen is split into regions that never overlap: the top bar (status icons), the stage
(the character and its cues), the caption panel, and in attract mode the card panel. Each
region has a *signature* - a small tuple of the quantised values it depends on. A region is
redrawn (background restore + blits of cached sprites/text) only when its signature changes,
and only the changed rectangles are handed to the display. A frame where nothing changed
costs a few comparisons and draws nothing. Anything that changes the layout (size, attract,
night palette, the slow burn-in orbit) triggers one full redraw.

This module owns the layout, the background (with the shop's branding on the attract screen),
the character (an avatar pack's layers, scaled and cached by character.py; the cues are
drawn here) and that bookkeeping; the text regions have their own painters, each a
``content(state)`` signature plus ``paint(surface, rect, ...)``: captions.py, cards.py
(attract panel) and statusbar.py.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections import OrderedDict
from dataclasses import dataclass

import pygame
import pygame.gfxdraw

from vitad.avatar.branding import usable_logo
from vitad.avatar.cards import Card, build_cards, invite_text, mic_unavailable_text
from vitad.avatar.pack import PackError, bundled_pack_dir, choose_pack, load_pack
from vitad.avatar.renderer.art import (
    Palette,
    build_glow,
    build_gradient,
    build_listen_badge,
    build_round_rect,
    hex_rgb,
    mix,
    scale_rgb,
)
from vitad.avatar.renderer.captions import CaptionContent, CaptionPainter
from vitad.avatar.renderer.cards import CardPainter
from vitad.avatar.renderer.character import CharacterCache, PackImages, ScaledCharacter
from vitad.avatar.renderer.statusbar import StatusBarPainter, StatusContent
from vitad.avatar.renderer.text import FontBook, TextCache
from vitad.avatar.state import AvatarState
from vitad.config.avatar_settings import AvatarSettings
from vitad.config.loader import resolve
from vitad.config.schema import Config

log = logging.getLogger(__name__)

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
        self._badges: dict[tuple[int, float], pygame.Surface] = {}
        self._backgrounds: OrderedDict[tuple, pygame.Surface] = OrderedDict()
        self._parts: dict[tuple, pygame.Surface] = {}
        self.layout: Layout | None = None
        self._bg: pygame.Surface | None = None
        self._sigs: dict[str, object] = {}
        self._stage_drawn: pygame.Rect | None = None
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
        self._badges.clear()
        self._backgrounds.clear()
        self._parts.clear()
        self.invalidate()

    def _build_painters(self) -> None:
        """Fonts, text cache and the caption, card and status-bar painters for this config."""
        self.fonts = FontBook(self.settings.caption_font, self.settings.cjk_font)
        self.text = TextCache(self.fonts)
        invite = invite_text(self.wake_phrase)
        self.cards: list[Card] = build_cards(self.config, self.wake_phrase)
        self.captions = CaptionPainter(self.text, invite, mic_unavailable_text(self.config))
        self.card_painter = CardPainter(self.text, self.cards, invite)
        self.status_bar = StatusBarPainter(self.text)
        self._logo = self._load_logo()

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

    def _load_logo(self) -> pygame.Surface | None:
        path = self.settings.logo
        path = usable_logo(None if path is None else resolve(self.config, path))
        if path is None:
            return None
        try:
            logo = pygame.image.load(str(path))
        except (pygame.error, OSError) as exc:
            log.error("avatar.logo: %s cannot be decoded (%s); the attract screen shows no "
                      "logo", path, exc)
            return None
        return logo.convert_alpha() if pygame.display.get_surface() is not None else logo

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

    def badge(self, r: int, night: bool) -> pygame.Surface:
        """The listening badge: a UI cue in the theme's accent, not part of the pack."""
        key = (r, self.brightness(night))
        badge = self._badges.get(key)
        if badge is None:
            badge = build_listen_badge(r, self.palette(night))
            if pygame.display.get_surface() is not None:
                badge = badge.convert_alpha()
            self._badges[key] = badge
        return badge

    def glow_colour(self, pal: Palette, night: bool) -> tuple[int, int, int]:
        glow = self.character.pack.manifest.pack.glow
        return pal.body if glow is None else scale_rgb(hex_rgb(glow), self.brightness(night))

    def accent(self, pal: Palette) -> Palette:
        """``pal`` with the shop's ``accent_colour`` (branding), if one is set."""
        brand = self.settings.accent_colour
        return pal if brand is None else dataclasses.replace(pal, accent=hex_rgb(brand))

    def fit_layout(self, lay: Layout) -> Layout:
        """The layout with the pack's breathing amplitude and a stage that holds its canvas."""
        ch = self.scaled_character(lay.r, lay.night)
        motion = ch.motion
        bob_amp = max(1, round(motion.bob * lay.r)) if motion.bob > 0 else 0
        lift = round(motion.listen_lift * lay.r)
        gx, gy = round(motion.gaze[0] * lay.r) + 1, round(motion.gaze[1] * lay.r) + 1
        reach = ch.canvas_rect.move(lay.center).inflate(2 * gx, 2 * (gy + bob_amp + lift))
        screen = pygame.Rect(0, 0, *lay.size)
        stage = lay.stage_rect.union(reach).clip(screen)
        return dataclasses.replace(lay, bob_amp=bob_amp, stage_rect=stage,
                                   ring_rect=lay.ring_rect.union(stage).clip(screen))

    def _part(self, key: tuple, build) -> pygame.Surface:
        """Cached building block of the background (gradient, glow, panels)."""
        surf = self._parts.get(key)
        if surf is None:
            surf = build()
            if pygame.display.get_surface() is not None:
                surf = (
                    surf.convert_alpha() if surf.get_flags() & pygame.SRCALPHA else surf.convert()
                )
            self._parts[key] = surf
            if len(self._parts) > 12:
                self._parts.pop(next(iter(self._parts)))
        return surf

    def _background(self, lay: Layout, pal: Palette) -> pygame.Surface:
        """Static picture behind everything for this layout, composed from cached parts so a
        burn-in orbit step costs a few blits, not a rebuild."""
        key = (lay.size, lay.attract, self.brightness(lay.night), lay.offset, lay.r)
        bg = self._backgrounds.get(key)
        if bg is not None:
            self._backgrounds.move_to_end(key)
            return bg
        w, h = lay.size
        gradient = self._part(
            ("gradient", lay.size, pal.background_top, pal.background_bottom),
            lambda: build_gradient(w, h, pal.background_top, pal.background_bottom),
        )
        glow_rgb = self.glow_colour(pal, lay.night)
        glow = self._part(("glow", lay.r, glow_rgb), lambda: build_glow(lay.r, glow_rgb))
        bg = (
            self._backgrounds.pop(next(iter(self._backgrounds)))
            if len(self._backgrounds) >= 3
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
                    lambda rect=rect: build_round_rect(
                        rect.w, rect.h, radius, (*pal.caption_panel, 215)
                    ),
                )
                bg.blit(panel, rect.topleft)
        if lay.attract:
            self._draw_branding(bg, lay, pal)
        if pygame.display.get_surface() is not None and bg.get_bitsize() != 32:
            bg = bg.convert()
        self._backgrounds[key] = bg
        return bg

    def _draw_branding(self, bg: pygame.Surface, lay: Layout, pal: Palette) -> None:
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
        if self.settings.accent_colour is not None and panel is not None:
            edge = max(3, round(0.006 * lay.size[0]))
            inset = max(6, round(0.03 * lay.size[1]))
            stripe = pygame.Rect(panel.x, panel.y + inset, edge, panel.h - 2 * inset)
            pygame.draw.rect(bg, self.accent(pal).accent, stripe, border_radius=edge // 2)

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
            lay = self.layout = self.fit_layout(
                compute_layout(self.settings, size, attract, night, offset)
            )
            self._bg = self._background(lay, self.palette(night))
            self._sigs.clear()
            self._stage_drawn = None
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
        mode = state.mode
        r = lay.r
        motion = self.character.pack.manifest.motion
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

    def _draw_stage(self, lay: Layout, pal: Palette, sig: tuple) -> pygame.Rect:
        expression, bob, eye_q, gx, gy, mouth_q, viseme, ring, dots, listening = sig
        rect = lay.ring_rect if listening else lay.stage_rect
        area = rect if self._stage_drawn is None else rect.union(self._stage_drawn)
        self._stage_drawn = rect
        surf = self.target
        self._restore(area)
        surf.set_clip(area)
        ch = self.scaled_character(lay.r, lay.night)
        motion = ch.motion
        r = lay.r
        cx, cy = lay.center

        def put(image: pygame.Surface, offset: tuple[float, float], dx: int, dy: int) -> None:
            x, y = round(cx + offset[0]) + dx, round(cy + offset[1]) + bob + dy
            surf.blit(image, image.get_rect(center=(x, y)))

        if ring >= 0:
            self._draw_rings(lay, pal, ring / RING_STEPS)
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
            badge = self.badge(r, lay.night)
            surf.blit(
                badge, badge.get_rect(center=(cx + round(0.8 * r), cy + bob + round(0.62 * r)))
            )
        if dots >= 0:
            self._draw_dots(lay, pal, dots / DOTS_STEPS, bob)
        surf.set_clip(None)
        return area

    def _draw_rings(self, lay: Layout, pal: Palette, phase: float) -> None:
        assert self._bg is not None
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
            r0, g0, b0 = tuple(self._bg.get_at((x, cy)))[:3]
            color = mix((r0, g0, b0), pal.accent, fade)
            pygame.draw.circle(self.target, color, (cx, cy), rad, width)
            pygame.gfxdraw.aacircle(self.target, cx, cy, rad, color)
            pygame.gfxdraw.aacircle(self.target, cx, cy, rad - width + 1, color)

    def _draw_dots(self, lay: Layout, pal: Palette, phase: float, bob: int) -> None:
        cx, cy = lay.center
        r = lay.r
        for i in range(3):
            pulse = max(0.0, math.sin(2 * math.pi * phase - i * 0.9))
            x = round(cx + 0.82 * r + i * 0.2 * r)
            y = round(cy + bob - 0.98 * r - i * 0.1 * r - pulse * 0.05 * r)
            rad = max(2, round(0.055 * r * (1 + 0.3 * pulse)))
            color = mix(pal.body, pal.accent, 0.3 + 0.7 * pulse)
            pygame.gfxdraw.filled_circle(self.target, x, y, rad, color)
            pygame.gfxdraw.aacircle(self.target, x, y, rad, color)

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
