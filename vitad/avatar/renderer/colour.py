"""Colours: hex parsing, scaling and mixing, and the theme's :class:`Palette`."""

from __future__ import annotations

from dataclasses import dataclass

RGB = tuple[int, int, int]
RGBA = tuple[int, int, int, int]


def hex_rgb(value: str) -> RGB:
    v = value.lstrip("#")
    return int(v[0:2], 16), int(v[2:4], 16), int(v[4:6], 16)


def scale_rgb(c: RGB, f: float) -> RGB:
    return (
        max(0, min(255, round(c[0] * f))),
        max(0, min(255, round(c[1] * f))),
        max(0, min(255, round(c[2] * f))),
    )


def mix(a: RGB, b: RGB, t: float) -> RGB:
    return (
        round(a[0] + (b[0] - a[0]) * t),
        round(a[1] + (b[1] - a[1]) * t),
        round(a[2] + (b[2] - a[2]) * t),
    )


@dataclass(frozen=True)
class Palette:
    background_top: RGB
    background_bottom: RGB
    body: RGB
    body_shade: RGB
    highlight: RGB
    eyes: RGB
    cheeks: RGB
    mouth: RGB
    tongue: RGB
    accent: RGB
    caption_text: RGB
    caption_user: RGB
    caption_panel: RGB
    warning: RGB

    @classmethod
    def from_theme(cls, theme: object, brightness: float = 1.0) -> Palette:
        """Build from :class:`AvatarTheme`; ``brightness`` < 1 dims everything (night)."""
        values = {}
        text_brightness = min(1.0, brightness**0.5)  # keep words readable when dimmed
        for name in cls.__dataclass_fields__:
            f = text_brightness if name in _TEXT_COLOURS else brightness
            values[name] = scale_rgb(hex_rgb(getattr(theme, name)), f)
        return cls(**values)


_TEXT_COLOURS = frozenset({"caption_text", "caption_user", "warning", "accent"})
