"""Fixtures for the avatar tests: headless SDL, configs, and a render helper."""

from __future__ import annotations

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

from collections.abc import Callable
from pathlib import Path

import pytest

from vitad.config.schema import Config, Machine, Shop

# Debian package fonts-noto-cjk (CI installs it); wqy is accepted as an alternative.
CJK_FONT_PATHS = [
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
]


@pytest.fixture
def config() -> Config:
    shop = Shop(
        name="Suds City",
        phone="555-0199",
        machines=[
            Machine(
                id="big_washer",
                kind="washer",
                name="Big washer",
                price="6 dollars 50",
                cycle_minutes=40,
            ),
            Machine(
                id="dryer",
                kind="dryer",
                name="Dryer",
                price="25 cents per 5 minutes",
                cycle_minutes=30,
            ),
        ],
    )
    return Config(shop=shop)


@pytest.fixture
def cjk_font() -> Path:
    for p in CJK_FONT_PATHS:
        if p.is_file():
            return p
    raise AssertionError("no CJK font: apt-get install fonts-noto-cjk (CI must install it)")


@pytest.fixture
def renderer_factory(config: Config) -> Callable:
    """Make (surface, renderer) for a size, optionally with a custom config."""
    from vitad.avatar import renderer as rmod

    def make(size: tuple[int, int], cfg: Config | None = None):
        surface = rmod.new_surface(size)
        return surface, rmod.Renderer(surface, cfg or config, "Hey Jarvis")

    return make
