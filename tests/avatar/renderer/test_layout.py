"""Screen geometry: regions that never overlap, a character that stays in its room."""

from __future__ import annotations

import pygame
import pytest
from avatar_testlib import SIZES

from vitad.avatar.pack import bundled_pack_dir, load_pack
from vitad.avatar.renderer.character import CharacterCache, PackImages
from vitad.avatar.renderer.layout import compute_layout, fit_to_character
from vitad.config.avatar_settings import AvatarSettings


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("position", [(0.0, 0.0), (1.0, 1.0), (0.5, 0.36)])
def test_the_character_stays_between_the_top_bar_and_the_captions(size, position) -> None:
    settings = AvatarSettings(scale=2.0, position=position)
    lay = compute_layout(settings, size, attract=False, night=False, offset=(0, 0))
    assert lay.caption_rect is not None and lay.panel_rect is None
    cx, cy = lay.center
    assert cy - 1.3 * lay.r >= lay.topbar_rect.bottom - 1
    assert cy + 1.3 * lay.r <= lay.caption_rect.top + 1
    assert 1.4 * lay.r - 1 <= cx <= size[0] - 1.4 * lay.r + 1
    assert not lay.topbar_rect.colliderect(lay.caption_rect)


@pytest.mark.parametrize("size", SIZES)
def test_attract_has_a_card_panel_beside_the_character_and_no_captions(size) -> None:
    lay = compute_layout(AvatarSettings(), size, attract=True, night=False, offset=(0, 0))
    assert lay.caption_rect is None and lay.panel_rect is not None
    assert lay.center[0] < lay.panel_rect.left
    assert not lay.topbar_rect.colliderect(lay.panel_rect)


def test_the_orbit_offset_moves_everything_but_the_top_bar() -> None:
    still = compute_layout(AvatarSettings(), (1280, 720), False, False, (0, 0))
    moved = compute_layout(AvatarSettings(), (1280, 720), False, False, (5, -3))
    assert moved.center == (still.center[0] + 5, still.center[1] - 3)
    assert moved.caption_rect == still.caption_rect.move(5, -3)
    assert moved.topbar_rect == still.topbar_rect


@pytest.mark.parametrize("size", [(1280, 720), (800, 480)])
def test_the_fitted_stage_holds_the_pack_and_its_motion(size) -> None:
    lay = compute_layout(AvatarSettings(), size, attract=False, night=False, offset=(0, 0))
    ch = CharacterCache(PackImages(load_pack(bundled_pack_dir()))).get(lay.r, 1.0)
    fitted = fit_to_character(lay, ch)
    assert fitted.bob_amp == max(1, round(ch.motion.bob * lay.r))
    reach = ch.canvas_rect.move(lay.center).inflate(0, 2 * fitted.bob_amp)
    screen = pygame.Rect(0, 0, *size)
    assert fitted.stage_rect.contains(reach.clip(screen))
    assert fitted.stage_rect.contains(lay.stage_rect)
    assert fitted.ring_rect.contains(fitted.stage_rect)
