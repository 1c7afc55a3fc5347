"""The stage's signature (what can move a pixel) and its painter's dirty rectangles."""

from __future__ import annotations

import pygame
from avatar_testlib import new_state

from vitad.avatar.pack import bundled_pack_dir, load_pack
from vitad.avatar.renderer.character import CharacterCache, PackImages
from vitad.avatar.renderer.colour import Palette
from vitad.avatar.renderer.layout import compute_layout, fit_to_character
from vitad.avatar.renderer.stage import StagePainter, stage_signature
from vitad.config.avatar_settings import AvatarSettings

SIZE = (800, 480)


def posed(mode: str):
    st = new_state()
    st.tick(0.0)
    st.settle()
    st.force(mode)
    st.tick(0.5)
    return st


def setup():
    lay = compute_layout(AvatarSettings(), SIZE, False, False, (0, 0))
    cache = CharacterCache(PackImages(load_pack(bundled_pack_dir())))
    ch = cache.get(lay.r, 1.0)
    return fit_to_character(lay, ch), ch, cache.pack.manifest.motion


def test_cues_only_in_their_modes() -> None:
    lay, _, motion = setup()
    sigs = {m: stage_signature(posed(m), lay, motion) for m in ("idle", "listening", "thinking")}
    expression, *_, ring, dots, listening = sigs["listening"]
    assert (expression, ring >= 0, dots, listening) == ("attentive", True, -1, True)
    expression, *_, ring, dots, listening = sigs["thinking"]
    assert (expression, ring, dots >= 0, listening) == ("thinking", -1, True, False)
    expression, *_, ring, dots, listening = sigs["idle"]
    assert (expression, ring, dots, listening) == ("happy", -1, -1, False)


def test_a_still_face_has_a_still_signature() -> None:
    lay, _, motion = setup()
    st = posed("idle")
    a = stage_signature(st, lay, motion)
    st.tick(st.now + 0.001)  # a millisecond later nothing moved a pixel
    assert stage_signature(st, lay, motion) == a


def test_leaving_listening_repaints_where_the_rings_were(palette: Palette) -> None:
    lay, ch, motion = setup()
    surf, bg = pygame.Surface(SIZE), pygame.Surface(SIZE)
    painter = StagePainter()
    listening = painter.paint(surf, bg, lay, palette, stage_signature(posed("listening"), lay,
                                                                      motion), ch, 1.0)
    assert listening == lay.ring_rect
    idle = painter.paint(surf, bg, lay, palette, stage_signature(posed("idle"), lay, motion),
                         ch, 1.0)
    assert idle.contains(lay.ring_rect)  # the rings are wiped
    again = painter.paint(surf, bg, lay, palette, stage_signature(posed("idle"), lay, motion),
                          ch, 1.0)
    assert again == lay.stage_rect and lay.ring_rect.contains(again)
