"""Colour helpers and the palette's night dimming."""

from __future__ import annotations

import pytest

from vitad.avatar.renderer.colour import Palette, hex_rgb, mix, scale_rgb
from vitad.config.avatar_settings import AvatarTheme


def test_hex_rgb_reads_either_case_with_or_without_the_hash() -> None:
    assert hex_rgb("#1a2B3c") == (26, 43, 60)
    assert hex_rgb("ffffff") == (255, 255, 255)


def test_mix_and_scale() -> None:
    assert mix((0, 0, 0), (200, 100, 50), 0.0) == (0, 0, 0)
    assert mix((0, 0, 0), (200, 100, 50), 0.5) == (100, 50, 25)
    assert scale_rgb((200, 100, 50), 2.0) == (255, 200, 100)  # clamped to 255
    assert scale_rgb((200, 100, 50), -1.0) == (0, 0, 0)


@pytest.mark.parametrize("brightness", [0.25, 0.6])
def test_night_dims_the_picture_more_than_the_words(brightness: float) -> None:
    theme = AvatarTheme()
    day, night = Palette.from_theme(theme), Palette.from_theme(theme, brightness)
    assert night.body == scale_rgb(hex_rgb(theme.body), brightness)
    assert night.caption_text == scale_rgb(hex_rgb(theme.caption_text), brightness**0.5)
    assert sum(night.caption_text) > sum(day.caption_text) * brightness  # still readable
