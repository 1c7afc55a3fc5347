"""Fonts and cached caption rendering.

Text is rasterised once per change: a block (text, size, colour, width, line limit) maps to a
list of line surfaces kept in a small LRU, so a caption that stays on screen costs only blits.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from pathlib import Path

import pygame

from vitad.avatar.text import clean, fit_lines, has_cjk, wrap

log = logging.getLogger(__name__)

# Debian/Raspberry Pi OS paths tried when [avatar] cjk_font is not set.
CJK_FONT_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/nanum/NanumGothicBold.ttf",
)

RGB = tuple[int, int, int]


def default_font_path() -> Path:
    """pygame's bundled FreeSans Bold, loaded by path: ``Font(None, px)`` shrinks it to
    ~69% of the requested size, which would make every caption too small."""
    return Path(pygame.__file__).parent / pygame.font.get_default_font()


def find_cjk_font(configured: Path | None) -> Path | None:
    if configured is not None:
        return configured
    for cand in CJK_FONT_CANDIDATES:
        p = Path(cand)
        if p.is_file():
            return p
    return None


class FontBook:
    """Fonts by pixel size; a font that fails to load falls back to pygame's bundled one."""

    def __init__(self, caption_font: Path | None, cjk_font: Path | None) -> None:
        if not pygame.font.get_init():
            pygame.font.init()
        self.caption_font = caption_font or default_font_path()
        self.cjk_font = find_cjk_font(cjk_font)
        self._fonts: dict[tuple[str | None, int], pygame.font.Font] = {}
        self._warned: set[str] = set()

    def get(self, px: int, cjk: bool = False) -> pygame.font.Font:
        path = self.cjk_font if cjk and self.cjk_font else self.caption_font
        key = (str(path) if path else None, px)
        font = self._fonts.get(key)
        if font is None:
            try:
                font = pygame.font.Font(key[0], px)
            except (OSError, FileNotFoundError, pygame.error) as exc:
                if key[0] not in self._warned:
                    self._warned.add(str(key[0]))
                    log.warning("avatar: cannot load font %s (%s); using the default", key[0], exc)
                font = self._fonts.get((None, px)) or pygame.font.Font(None, px)
            self._fonts[key] = font
        return font


class TextCache:
    """Renders wrapped text blocks once and keeps the most recent ones."""

    def __init__(self, fonts: FontBook, capacity: int = 48) -> None:
        self.fonts = fonts
        self.capacity = capacity
        self._cache: OrderedDict[tuple, list[pygame.Surface]] = OrderedDict()
        self.renders = 0  # for tests: how many times text was actually rasterised

    def block(
        self,
        text: str,
        px: int,
        color: RGB,
        width: int,
        max_lines: int,
        keep_end: bool = False,
    ) -> list[pygame.Surface]:
        key = (text, px, color, width, max_lines, keep_end)
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        surfaces = self._render(text, px, color, width, max_lines, keep_end)
        self._cache[key] = surfaces
        if len(self._cache) > self.capacity:
            self._cache.popitem(last=False)
        return surfaces

    def _render(
        self, text: str, px: int, color: RGB, width: int, max_lines: int, keep_end: bool
    ) -> list[pygame.Surface]:
        text = clean(text)
        if not text or max_lines <= 0 or width <= 0:
            return []
        font = self.fonts.get(px, cjk=has_cjk(text))

        def measure(s: str) -> int:
            return font.size(s)[0] if s else 0

        lines = fit_lines(wrap(text, width, measure), max_lines, measure, width, keep_end)
        self.renders += 1
        out = []
        for line in lines:
            try:
                surf = font.render(line, True, color)
            except (pygame.error, ValueError, UnicodeError):  # never let odd text kill a frame
                surf = font.render("?", True, color)
            if surf.get_width() > width:  # belt and braces: a glyph wider than the line
                surf = surf.subsurface(pygame.Rect(0, 0, width, surf.get_height())).copy()
            out.append(surf)
        return out

    def line_height(self, px: int, text: str = "") -> int:
        return self.fonts.get(px, cjk=has_cjk(text)).get_linesize()
