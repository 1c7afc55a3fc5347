"""Fixtures for testing one painter on its own: real fonts and the default palette."""

from __future__ import annotations

import pytest

from vitad.avatar.renderer.colour import Palette
from vitad.avatar.renderer.text import FontBook, TextCache
from vitad.config.avatar_settings import AvatarTheme


@pytest.fixture
def text_cache() -> TextCache:
    return TextCache(FontBook(None, None))


@pytest.fixture
def palette() -> Palette:
    return Palette.from_theme(AvatarTheme())
