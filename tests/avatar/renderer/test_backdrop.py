"""The background: cached per layout, the shop's branding only on the attract screen."""

from __future__ import annotations

import pygame
import pytest

from vitad.avatar.renderer.backdrop import MAX_BACKGROUNDS, Backdrop
from vitad.avatar.renderer.colour import Palette
from vitad.avatar.renderer.layout import compute_layout
from vitad.config.avatar_settings import AvatarSettings

SIZE = (800, 480)


def layout(attract: bool = False, offset: tuple[int, int] = (0, 0)):
    return compute_layout(AvatarSettings(), SIZE, attract, False, offset)


@pytest.fixture
def accent(palette: Palette) -> Palette:
    return Palette(**{**palette.__dict__, "accent": (250, 10, 200)})


def test_a_layout_is_composed_once(palette: Palette, accent: Palette) -> None:
    backdrop = Backdrop(None, branded=False)
    first = backdrop.get(layout(), palette, 1.0, palette.body, accent)
    assert backdrop.get(layout(), palette, 1.0, palette.body, accent) is first
    other = backdrop.get(layout(offset=(3, 0)), palette, 1.0, palette.body, accent)
    assert other is not first
    for k in range(MAX_BACKGROUNDS):  # push the first one out of the cache
        backdrop.get(layout(offset=(0, k + 1)), palette, 1.0, palette.body, accent)
    assert backdrop.get(layout(), palette, 1.0, palette.body, accent) is not first


def test_the_glow_lightens_the_background_behind_the_character(palette: Palette,
                                                               accent: Palette) -> None:
    lay = layout()
    bg = Backdrop(None, branded=False).get(lay, palette, 1.0, (255, 255, 255), accent)
    centre = sum(bg.get_at(lay.center)[:3])
    corner = sum(bg.get_at((lay.center[0] + 2 * lay.r, lay.center[1]))[:3])
    assert centre > corner + 20


@pytest.mark.parametrize("branded", [True, False])
def test_the_accent_edge_is_on_the_attract_panel_only_when_branded(
    palette: Palette, accent: Palette, branded: bool
) -> None:
    lay = layout(attract=True)
    logo = pygame.Surface((40, 20))
    logo.fill((0, 255, 0))
    bg = Backdrop(logo, branded).get(lay, palette, 1.0, palette.body, accent)
    panel = lay.panel_rect
    assert panel is not None
    edge = bg.get_at((panel.x + 1, panel.centery))[:3]
    assert (tuple(edge) == accent.accent) == branded
    bar = lay.topbar_rect
    logo_px = bg.get_at((bar.x + round(0.3 * bar.h) + 2, bar.centery))[:3]
    assert tuple(logo_px) == (0, 255, 0)
    talk = Backdrop(logo, branded).get(layout(), palette, 1.0, palette.body, accent)
    assert tuple(talk.get_at((bar.x + round(0.3 * bar.h) + 2, bar.centery))[:3]) != (0, 255, 0)
