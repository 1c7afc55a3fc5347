"""Rendering: pixels in the right places, at three screen sizes, headless."""

from __future__ import annotations

import numpy as np
import pytest
from avatar_testlib import SIZES, luminance, pixels, region

from vitad.avatar.renderer.colour import hex_rgb
from vitad.avatar.screenshot import STATES, preview_state
from vitad.config.avatar_settings import AvatarSettings, AvatarTheme
from vitad.config.schema import Config


def render(renderer_factory, size, state_name, caption=None, cfg=None, **kw):
    surface, r = renderer_factory(size, cfg)
    st = preview_state((cfg.avatar if cfg else AvatarSettings()), state_name, caption, **kw)
    r.draw(st)
    return surface, r, st


def mouth_rect(lay):
    mx, my = lay.mouth_center(0)
    r = lay.r
    return (mx - round(0.35 * r), my - round(0.15 * r), round(0.7 * r), round(0.6 * r))


def eye_rect(lay, side):
    ex, ey = lay.eye_center(side, 0)
    r = lay.r
    return (ex - round(0.2 * r), ey - round(0.3 * r), round(0.4 * r), round(0.6 * r))


def colour_mask(arr: np.ndarray, rgb: tuple[int, int, int], tol: float = 40) -> np.ndarray:
    return np.abs(arr - np.array(rgb, dtype=float)).sum(axis=-1) < tol


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("state_name", STATES)
def test_every_state_renders_with_character(renderer_factory, size, state_name) -> None:
    surface, r, _ = render(renderer_factory, size, state_name)
    assert surface.get_size() == size
    arr = pixels(surface)
    lay = r.layout
    cx, cy = lay.center
    # the body colour is present around the character's centre (dimmed at night)
    theme = AvatarTheme()
    body = hex_rgb(theme.body)
    if state_name == "night":
        body = tuple(round(c * AvatarSettings().night_brightness) for c in body)
    box = region(arr, (cx - lay.r // 2, cy - lay.r // 2, lay.r, lay.r))
    assert colour_mask(box, body, 30).mean() > 0.3
    assert luminance(arr).std() > 5  # not a blank screen


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_open_mouth_differs_from_closed(renderer_factory, size) -> None:
    s_open, r_open, _ = render(renderer_factory, size, "speaking", mouth_level=0.85)
    s_shut, _, st = render(renderer_factory, size, "speaking", mouth_level=0.0)
    assert st.mouth == 0.0
    lay = r_open.layout
    a, b = pixels(s_open), pixels(s_shut)
    mouth_col = hex_rgb(AvatarTheme().mouth)
    dark_open = colour_mask(region(a, mouth_rect(lay)), mouth_col, 60).sum()
    dark_shut = colour_mask(region(b, mouth_rect(lay)), mouth_col, 60).sum()
    assert dark_open > 3 * max(1, dark_shut)
    # and nothing else on the face changed
    for side in (-1, 1):
        assert np.abs(region(a, eye_rect(lay, side)) - region(b, eye_rect(lay, side))).max() < 1


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_blink_changes_only_the_eyes(renderer_factory, size) -> None:
    surface, r, st = render(renderer_factory, size, "idle")
    before = pixels(surface)
    st.eye_open = 0.0
    rects = r.draw(st)
    after = pixels(surface)
    lay = r.layout
    for side in (-1, 1):
        eb, ea = region(before, eye_rect(lay, side)), region(after, eye_rect(lay, side))
        dark_b = (luminance(eb) < 60).sum()
        dark_a = (luminance(ea) < 60).sum()
        assert dark_a < 0.5 * dark_b  # closed eye: mostly body colour
    assert np.abs(region(before, mouth_rect(lay)) - region(after, mouth_rect(lay))).max() < 1
    assert len(rects) == 1 and rects[0] == lay.stage_rect  # only the stage was redrawn


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_caption_text_lands_in_caption_panel(renderer_factory, size) -> None:
    text = "The big washer is 6 dollars 50"
    with_text, r, _ = render(renderer_factory, size, "speaking", caption=text)
    without, _, _ = render(renderer_factory, size, "speaking", caption="")
    a, b = pixels(with_text), pixels(without)
    changed = np.abs(a - b).sum(axis=-1) > 30
    rect = r.layout.caption_rect
    x, y, w, h = rect
    inside = changed[y : y + h, x : x + w].sum()
    assert inside > 200 * (size[1] / 480)  # real glyphs, scaled with the screen
    assert changed.sum() == inside  # and nothing outside the panel
    bright = luminance(region(a, rect)) > 200  # white text on the dark panel
    assert bright.sum() > 100


def test_caption_font_scales_with_height(renderer_factory) -> None:
    heights = []
    for size in SIZES:
        surface, r, _ = render(renderer_factory, size, "speaking", caption="Hello")
        arr = pixels(surface)
        rows = np.where((luminance(region(arr, r.layout.caption_rect)) > 200).any(axis=1))[0]
        heights.append(rows.max() - rows.min())
    assert heights[0] > heights[1] > heights[2] >= 12  # still readable at 800x480
    assert heights[0] >= 40  # readable from 3 m at 1080p


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize(
    "caption",
    [
        "washing " * 400,
        "W" * 3000,
        "x" + "\x00" * 10 + "y",
        "😀🧺🫧 emoji only 👍",
        "",
        "洗濯機は二十分で終わります。" * 30,
        "세탁기는 이십 분 걸립니다. " * 20,
    ],
    ids=["many-words", "one-huge-word", "nulls", "emoji", "empty", "cjk-long", "korean"],
)
def test_long_and_odd_captions_stay_in_panel(renderer_factory, size, caption) -> None:
    with_text, r, _ = render(renderer_factory, size, "speaking", caption=caption)
    without, _, _ = render(renderer_factory, size, "speaking", caption="")
    changed = np.abs(pixels(with_text) - pixels(without)).sum(axis=-1) > 30
    x, y, w, h = r.layout.caption_rect
    assert changed.sum() == changed[y : y + h, x : x + w].sum()


def test_cjk_renders_real_glyphs_with_configured_font(renderer_factory, cjk_font, monkeypatch):
    from vitad.avatar.renderer import text as rtext

    def caption_pixels(cfg, caption):
        s, r, _ = render(renderer_factory, (1280, 720), "speaking", caption=caption, cfg=cfg)
        return region(pixels(s), r.layout.caption_rect)

    cfg = Config(avatar=AvatarSettings(cjk_font=cjk_font))
    a = caption_pixels(cfg, "洗濯機は二十分です")
    b = caption_pixels(cfg, "乾燥機は三十分です")
    assert np.abs(a - b).sum(axis=-1).astype(bool).sum() > 300  # different glyphs drawn
    # control: with no CJK font at all, both strings render as identical missing-glyph boxes
    monkeypatch.setattr(rtext, "CJK_FONT_CANDIDATES", ())
    plain = Config()
    a0 = caption_pixels(plain, "洗濯機は二十分です")
    b0 = caption_pixels(plain, "乾燥機は三十分です")
    assert np.abs(a0 - b0).sum() == 0


def test_night_is_darker(renderer_factory) -> None:
    day, _, _ = render(renderer_factory, (1280, 720), "idle")
    night, _, _ = render(renderer_factory, (1280, 720), "night")
    assert luminance(pixels(night)).mean() < 0.6 * luminance(pixels(day)).mean()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_degraded_overlays(renderer_factory, size) -> None:
    warn = hex_rgb(AvatarTheme().warning)
    idle = pixels(render(renderer_factory, size, "idle")[0])
    mic, r, _ = render(renderer_factory, size, "degraded")
    mic_arr = pixels(mic)
    lay = r.layout
    assert colour_mask(region(mic_arr, lay.caption_rect), warn).sum() > 100
    assert colour_mask(region(idle, lay.caption_rect), warn).sum() == 0
    top = lay.topbar_rect
    spk = pixels(render(renderer_factory, size, "captions_only")[0])
    assert colour_mask(region(spk, top), warn).sum() > 50
    assert colour_mask(region(idle, top), warn).sum() == 0
    asr = pixels(render(renderer_factory, size, "asr_fallback")[0])
    right = (top.right - top.h * 2, top.y, top.h * 2, top.h)
    left = (top.x, top.y, top.w - top.h * 2, top.h)
    assert colour_mask(region(asr, right), warn).sum() > 20  # a small icon ...
    assert colour_mask(region(asr, left), warn).sum() == 0  # ... and no text


def test_mic_banner_uses_shop_phone(renderer_factory, config) -> None:
    from vitad.avatar.cards import mic_unavailable_text

    assert "555-0199" in mic_unavailable_text(config)
    _, r, st = render(renderer_factory, (1280, 720), "degraded")
    assert r._caption_sig(st, r.layout)[-1] == mic_unavailable_text(config)


def test_listening_cue_visible(renderer_factory) -> None:
    accent = hex_rgb(AvatarTheme().accent)
    idle, _, _ = render(renderer_factory, (1280, 720), "idle")
    lis, r, _ = render(renderer_factory, (1280, 720), "listening")
    rect = r.layout.ring_rect
    assert colour_mask(region(pixels(lis), rect), accent, 60).sum() > 500
    assert colour_mask(region(pixels(idle), rect), accent, 60).sum() == 0


def test_attract_shows_cards_and_rotates(renderer_factory, config) -> None:
    surface, r, st = render(renderer_factory, (1280, 720), "attract")
    assert r.layout.attract and r.layout.panel_rect is not None
    first = region(pixels(surface), r.layout.panel_rect).copy()
    st.tick(st.now + config.avatar.attract_card_s)
    r.draw(st)
    second = region(pixels(surface), r.layout.panel_rect)
    assert np.abs(first - second).sum() > 0


def test_nothing_changed_draws_nothing(renderer_factory) -> None:
    _, r, st = render(renderer_factory, (1280, 720), "speaking")
    renders = r.text.renders
    assert r.draw(st) == []  # same state: no work, nothing to push to the screen
    st.mouth = 0.6
    rects = r.draw(st)
    assert rects == [r.layout.stage_rect]
    assert r.text.renders == renders  # captions were not re-rasterised
    st.avatar_text = "Something new"
    rects = r.draw(st)
    assert rects == [r.layout.caption_rect]
    assert r.text.renders == renders + 1


def test_theme_colours_apply(renderer_factory, tmp_path) -> None:
    """The theme colours the screen; the character's colours are its pack's, so a recoloured
    bubble is a pack made by assets/avatar/make_bubble_pack.py --body ..."""
    from vitad.avatar.renderer.bubble_pack import write_bubble_pack

    theme = AvatarTheme(background_bottom="#00ff00", background_top="#00ff00")
    cfg = Config(avatar=AvatarSettings(theme=theme))
    surface, r, _ = render(renderer_factory, (800, 480), "idle", cfg=cfg)
    assert colour_mask(region(pixels(surface), (0, 400, 20, 20)), (0, 255, 0), 30).all()
    write_bubble_pack(tmp_path / "orange", 120, AvatarTheme(body="#ff8800"))
    cfg = Config(avatar=AvatarSettings(pack=tmp_path / "orange"))
    surface, r, _ = render(renderer_factory, (800, 480), "idle", cfg=cfg)
    cx, cy = r.layout.center
    box = region(pixels(surface), (cx - 20, cy - 20, 40, 40))
    assert colour_mask(box, (255, 136, 0), 30).mean() > 0.3


def test_scale_and_position_apply(renderer_factory) -> None:
    base = Config(avatar=AvatarSettings())
    moved = Config(avatar=AvatarSettings(scale=0.6, position=(0.3, 0.35)))
    _, r1, _ = render(renderer_factory, (1280, 720), "idle", cfg=base)
    _, r2, _ = render(renderer_factory, (1280, 720), "idle", cfg=moved)
    assert r2.layout.r < r1.layout.r
    assert abs(r2.layout.center[0] - round(0.3 * 1280)) <= 12
