"""The top status bar painter on its own: real fonts, real pygame surfaces, pixels checked."""

from __future__ import annotations

import numpy as np
import pygame
import pytest
from avatar_testlib import SIZES, pixels
from painter_testlib import ink_box, outside, painted

from vitad.avatar.renderer.layout import compute_layout
from vitad.avatar.renderer.statusbar import StatusBarPainter, StatusContent
from vitad.avatar.screenshot import preview_state
from vitad.config.avatar_settings import AvatarSettings

QUIET = StatusContent(captions_only=False, asr_fallback=False, error=False)
FALLBACK = QUIET._replace(asr_fallback=True)
SOUND_OFF = QUIET._replace(captions_only=True)
ERROR = QUIET._replace(error=True)


@pytest.fixture
def painter(text_cache) -> StatusBarPainter:
    return StatusBarPainter(text_cache)


def bar_box(size: tuple[int, int]) -> tuple[pygame.Rect, int]:
    lay = compute_layout(AvatarSettings(), size, False, False, (0, 0))
    return lay.topbar_rect, lay.caption_px


def paint(painter, palette, content: StatusContent, size=(1280, 720)):
    rect, px = bar_box(size)
    mask = painted(size, lambda s: painter.paint(s, rect, content, palette, px))
    return mask, rect


def test_content_follows_the_state(painter) -> None:
    settings = AvatarSettings()
    assert painter.content(preview_state(settings, "idle")) == QUIET
    assert painter.content(preview_state(settings, "asr_fallback")) == FALLBACK
    assert painter.content(preview_state(settings, "captions_only")).captions_only
    assert painter.content(preview_state(settings, "error")).error


def test_nothing_to_report_paints_nothing(painter, palette) -> None:
    mask, _ = paint(painter, palette, QUIET)
    assert not mask.any()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_fallback_is_a_small_icon_at_the_right_end(painter, palette, size) -> None:
    mask, rect = paint(painter, palette, FALLBACK, size)
    ink = ink_box(mask)
    assert ink is not None and outside(mask, rect) == 0
    assert ink.left > rect.right - 2 * rect.h and ink.w < rect.h


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_notes_are_centred_in_the_bar_in_the_warning_colour(painter, palette, size) -> None:
    for content in (SOUND_OFF, ERROR):
        rect, px = bar_box(size)
        surface = pygame.Surface(size)
        painter.paint(surface, rect, content, palette, px)
        warm = np.abs(pixels(surface) - np.array(palette.warning)).sum(axis=-1) < 40
        ink = ink_box(warm)
        assert ink is not None and outside(warm, rect) == 0
        assert ink.w > rect.w // 4 and abs(ink.centerx - rect.centerx) <= 2
    sound_off, _ = paint(painter, palette, SOUND_OFF, size)
    error, _ = paint(painter, palette, ERROR, size)
    assert np.count_nonzero(sound_off != error) > 100  # two different notes


def test_an_error_hides_the_sound_off_icon(painter, palette) -> None:
    both, _ = paint(painter, palette, SOUND_OFF._replace(error=True))
    error, _ = paint(painter, palette, ERROR)
    box_both, box_error = ink_box(both), ink_box(error)
    assert box_both is not None and box_error is not None
    # the same note and no icon (the note still keeps the icon's room: half an icon off centre)
    shift = box_error.left - box_both.left
    assert np.array_equal(np.roll(both, shift, axis=1), error)


def test_a_narrow_bar_cuts_the_note_to_one_line(painter, palette) -> None:
    rect = pygame.Rect(0, 0, 260, 40)
    mask = painted((300, 100), lambda s: painter.paint(s, rect, SOUND_OFF, palette, 60))
    ink = ink_box(mask)
    assert ink is not None and outside(mask, rect) == 0
    assert ink.h < rect.h
