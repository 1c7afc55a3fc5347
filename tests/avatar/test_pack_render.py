"""The character drawn from avatar packs: same as the code-drawn one, example differs,
visemes, caches, bad packs at start and on reload, shop branding on the attract screen."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
from avatar_testlib import pixels, region

from vitad.avatar.pack import bundled_pack_dir, layer_files, load_pack
from vitad.avatar.renderer.bubble_pack import BUNDLED_RADIUS, write_bubble_pack
from vitad.avatar.screenshot import preview_state
from vitad.config.avatar_settings import AvatarSettings
from vitad.config.schema import Config

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "assets" / "avatar" / "examples" / "washy"
GOLDEN = Path(__file__).parent / "data" / "code-drawn-speaking-1280x720.png"
GOLDEN_AT = (450, 40)  # where the golden crop sits in the 1280x720 screenshot


def with_avatar(**settings) -> Config:
    return Config(avatar=AvatarSettings(**settings))


def render(renderer_factory, cfg: Config, state_name="speaking", size=(1280, 720), **kw):
    surface, r = renderer_factory(size, cfg)
    st = preview_state(cfg.avatar, state_name, **kw)
    r.draw(st)
    return pixels(surface), r, st


def stage(arr: np.ndarray, r) -> np.ndarray:
    s = r.layout.stage_rect
    return region(arr, (s.x, s.y, s.w, s.h))


def difference(a: np.ndarray, b: np.ndarray) -> tuple[float, float, int]:
    """(mean |a-b| per channel in levels of 255, share of pixels off by > 16, max)."""
    d = np.abs(a - b)
    worst = d.max(axis=-1)
    return float(d.mean()), float((worst > 16).mean()), int(worst.max())


@pytest.mark.parametrize("size", [(1920, 1080), (1280, 720), (800, 480)],
                         ids=lambda s: f"{s[0]}x{s[1]}")
def test_default_pack_renders_like_the_code_drawn_character(
    renderer_factory, tmp_path: Path, size
) -> None:
    """Render both: the bundled pack (drawn at radius 432, scaled to the screen) and the
    code-drawn character at the screen's own radius (the generator writes it at exactly r,
    so nothing is resampled), compared over the stage (the character's box).

    Bound: the pack is drawn 4x supersampled at radius 432 and then scaled down, the old
    character 4x supersampled at r: the same shapes with differently rounded anti-aliasing,
    so an edge pixel may differ (by up to half a pixel's coverage) and nothing else may.
    Edges are ~1-1.5 % of the stage's pixels. Measured on the stage: mean 0.2 / 1.3 / 1.6
    levels (of 255) and 0.4 / 0.9 / 1.3 % of pixels off by > 16 at 1080p / 720p / 480p;
    asserted: mean < 2 levels and < 2 % of pixels; everything outside the stage identical."""
    arr, r, _ = render(renderer_factory, Config(), size=size)
    write_bubble_pack(tmp_path / "exact", r.layout.r)
    ref, r_ref, _ = render(renderer_factory, with_avatar(pack=tmp_path / "exact"), size=size)
    assert r_ref.layout == r.layout
    mean, share, worst = difference(stage(arr, r), stage(ref, r))
    print(f"{size}: bundled pack vs code-drawn: mean {mean:.3f}, >16: {share:.3%}, max {worst}")
    assert mean < 2.0
    assert share < 0.02
    assert np.array_equal(region(arr, (0, 0, size[0], r.layout.stage_rect.y)),
                          region(ref, (0, 0, size[0], r.layout.stage_rect.y)))


def test_exact_radius_pack_matches_the_old_code_drawn_frame(renderer_factory,
                                                            tmp_path: Path) -> None:
    """Against a crop of `vitad screenshot --state speaking` made by the scene that drew the
    character itself (before packs): the layers land on the same pixels; only layer
    alpha-blending rounding is left (measured: mean 0.009, max 11 levels). The bundled pack
    against it: mean 1.2 levels, 0.8 % of pixels off by > 16 (edges, see above)."""
    import pygame

    write_bubble_pack(tmp_path / "exact", 144)
    arr, r, _ = render(renderer_factory, with_avatar(pack=tmp_path / "exact"))
    assert r.layout.r == 144
    golden = pygame.surfarray.array3d(pygame.image.load(str(GOLDEN))).transpose(1, 0, 2)
    x, y = GOLDEN_AT
    crop = arr[y : y + golden.shape[0], x : x + golden.shape[1]]
    mean, share, worst = difference(crop, golden.astype(np.float64))
    print(f"exact-radius pack vs old frame: mean {mean:.4f}, max {worst}")
    assert worst <= 16 and mean < 0.05
    bundled, _, _ = render(renderer_factory, Config())
    mean, share, _ = difference(bundled[y : y + golden.shape[0], x : x + golden.shape[1]],
                                golden.astype(np.float64))
    print(f"bundled pack vs old frame: mean {mean:.3f}, >16: {share:.3%}")
    assert mean < 2.0 and share < 0.02


def test_committed_bubble_pack_is_what_the_generator_draws(tmp_path: Path) -> None:
    import pygame

    write_bubble_pack(tmp_path / "fresh", BUNDLED_RADIUS)
    fresh = load_pack(tmp_path / "fresh")
    committed = load_pack(bundled_pack_dir())
    assert fresh.manifest == committed.manifest
    for _, name, _ in layer_files(committed.manifest):
        a = pygame.surfarray.pixels3d(pygame.image.load(str(committed.path(name))))
        b = pygame.surfarray.pixels3d(pygame.image.load(str(fresh.path(name))))
        assert np.array_equal(a, b), f"{name}: run assets/avatar/make_bubble_pack.py"


def test_example_pack_differs_visibly(renderer_factory) -> None:
    arr, r, _ = render(renderer_factory, Config())
    other, r2, _ = render(renderer_factory, with_avatar(pack=EXAMPLE))
    assert r2.character.pack.name == "washy"
    mean, share, _ = difference(stage(arr, r), stage(other, r))
    assert mean > 20 and share > 0.3
    cx, cy = r2.layout.center  # washy's porthole glass is blue, the bubble's body light blue
    lay = r2.layout
    centre = region(other, (cx - round(0.55 * lay.r), cy, 10, 10)).reshape(-1, 3).mean(axis=0)
    assert abs(centre - (43, 111, 158)).max() < 12


def test_viseme_selects_its_mouth_shape(renderer_factory) -> None:
    cfg = Config()
    surface, r = renderer_factory((1280, 720), cfg)
    st = preview_state(cfg.avatar, "speaking")
    mouths = {}
    for viseme in (None, "round", "wide", "closed"):
        st.viseme = viseme
        r.draw(st)
        mx, my = r.layout.mouth_center()
        mouths[viseme] = region(pixels(surface), (mx - 50, my - 20, 100, 80)).copy()
    ch = r.scaled_character(r.layout.r, False)
    for a in mouths:
        for b in mouths:
            if a != b:
                assert difference(mouths[a], mouths[b])[0] > 1.0, (a, b)
    assert ch.mouth("happy", 0.5, "round") is ch.mouth("happy", 0.0, "round")
    # a pack without visemes falls back to the loudness mouth
    washy = renderer_factory((1280, 720), with_avatar(pack=EXAMPLE))[1]
    ch = washy.scaled_character(144, False)
    assert ch.mouth("happy", 0.6, "round") is ch.mouth("happy", 0.6, None)


def test_layers_are_scaled_once_per_size_not_per_frame(renderer_factory) -> None:
    from vitad.events import MouthLevel

    cfg = Config()
    _, r = renderer_factory((1280, 720), cfg)
    st = preview_state(cfg.avatar, "speaking", settle=False)
    t = st.now
    for i in range(90):
        t += 1 / 30
        st.on_event(MouthLevel(t=t, level=abs(np.sin(i / 3))))
        st.tick(t)
        r.draw(st)
    assert r.character.builds == 1
    r.set_target(renderer_factory((800, 480), cfg)[0])
    r.draw(st)
    r.draw(st)
    assert r.character.builds == 2


def test_night_dims_the_pack(renderer_factory) -> None:
    day, r, _ = render(renderer_factory, Config(), "idle")
    night, r2, _ = render(renderer_factory, Config(), "night")
    cx, cy = r.layout.center
    body_day = region(day, (cx - 10, cy - 60, 20, 10)).mean()
    cx, cy = r2.layout.center
    body_night = region(night, (cx - 10, cy - 60, 20, 10)).mean()
    assert body_night == pytest.approx(body_day * AvatarSettings().night_brightness, rel=0.1)


def test_bad_pack_at_start_draws_the_bundled_one(renderer_factory, tmp_path: Path,
                                                 caplog) -> None:
    bad = tmp_path / "bad"
    shutil.copytree(EXAMPLE, bad)
    (bad / "mouth-1.png").unlink()
    with caplog.at_level(logging.ERROR):
        arr, r, _ = render(renderer_factory, with_avatar(pack=bad))
    assert r.character.pack.name == "bubble"
    (line,) = [rec.getMessage() for rec in caplog.records]
    assert "mouth-1.png" in line and "using the bundled pack" in line
    ref, _, _ = render(renderer_factory, Config())
    assert np.array_equal(arr, ref)


def test_undecodable_png_with_a_good_header(renderer_factory, tmp_path: Path, caplog) -> None:
    bad = tmp_path / "bad"
    shutil.copytree(EXAMPLE, bad)
    data = (bad / "eye-open.png").read_bytes()
    (bad / "eye-open.png").write_bytes(data[:40])  # header intact, pixels cut off
    with caplog.at_level(logging.ERROR):
        _, r, _ = render(renderer_factory, with_avatar(pack=bad))
    assert r.character.pack.name == "bubble"
    assert any("eye-open.png cannot be decoded" in rec.getMessage() for rec in caplog.records)


def test_reload_switches_packs_and_keeps_the_running_one_when_bad(
    renderer_factory, tmp_path: Path, caplog
) -> None:
    mascot = tmp_path / "mascot"
    shutil.copytree(EXAMPLE, mascot)
    _, r = renderer_factory((800, 480), Config())
    st = preview_state(AvatarSettings(), "idle")
    r.draw(st)
    assert r.character.pack.name == "bubble"
    r.apply_config(with_avatar(pack=mascot))
    r.draw(st)
    assert r.character.pack.name == "washy"
    (mascot / "pack.toml").write_text("[pack]\nname = 3\n")  # the operator breaks it
    with caplog.at_level(logging.ERROR):
        r.apply_config(with_avatar(pack=mascot, night_brightness=0.5))
        r.draw(st)
    assert r.character.pack.name == "washy"
    assert r.settings.night_brightness == 0.5  # the rest of the reload applied
    lines = [rec.getMessage() for rec in caplog.records]
    assert lines and all("keeping the running pack 'washy'" in line for line in lines)


def test_relative_pack_path_resolves_against_the_config_folder(renderer_factory,
                                                               tmp_path: Path) -> None:
    shutil.copytree(EXAMPLE, tmp_path / "packs" / "mine")
    cfg = Config(base_dir=tmp_path, avatar=AvatarSettings(pack=Path("packs/mine")))
    _, r = renderer_factory((800, 480), cfg)
    assert r.character.pack.root == tmp_path / "packs" / "mine"


# ---------------------------------------------------------------------------- branding


def logo_png(path: Path, colour=(255, 0, 255)) -> Path:
    import pygame

    surf = pygame.Surface((300, 100), pygame.SRCALPHA)
    surf.fill((*colour, 255))
    pygame.image.save(surf, str(path))
    return path


def test_logo_and_accent_on_the_attract_screen(renderer_factory, tmp_path: Path) -> None:
    logo = logo_png(tmp_path / "logo.png")
    plain, _, _ = render(renderer_factory, Config(), "attract")
    cfg = with_avatar(logo=logo, accent_colour="#00ff00")
    arr, r, st = render(renderer_factory, cfg, "attract")
    assert st.attract
    bar = r.layout.topbar_rect
    top = region(arr, (bar.x, bar.y, bar.w // 3, bar.h))
    magenta = (np.abs(top - (255, 0, 255)).sum(axis=-1) < 30).mean()
    assert magenta > 0.2
    assert (np.abs(region(plain, (bar.x, bar.y, bar.w // 3, bar.h)) - (255, 0, 255))
            .sum(axis=-1) < 30).mean() == 0
    panel = r.layout.panel_rect
    green = np.abs(region(arr, (panel.x, panel.y, panel.w, panel.h)) - (0, 255, 0)).sum(
        axis=-1) < 60
    assert green.sum() > 500  # the edge stripe and the card title
    assert green[:, :8].mean() > 0.5  # the stripe along the panel's left edge
    # not while someone is talking to it
    talk, _, _ = render(renderer_factory, cfg, "speaking")
    assert (np.abs(talk - (255, 0, 255)).sum(axis=-1) < 30).sum() == 0


def test_bad_logo_is_one_line_and_no_logo(renderer_factory, tmp_path: Path, caplog) -> None:
    (tmp_path / "logo.png").write_text("GIF89a")
    with caplog.at_level(logging.ERROR):
        arr, _, _ = render(renderer_factory, with_avatar(logo=tmp_path / "logo.png"),
                           "attract")
    (line,) = [rec.getMessage() for rec in caplog.records]
    assert line == f"avatar.logo: {tmp_path}/logo.png: not a PNG image; the attract screen " \
                   "shows no logo"
    plain, _, _ = render(renderer_factory, Config(), "attract")
    assert np.array_equal(arr, plain)


def test_reload_with_an_unchanged_pack_decodes_nothing(renderer_factory, tmp_path) -> None:
    mascot = tmp_path / "mascot"
    shutil.copytree(EXAMPLE, mascot)
    _, r = renderer_factory((800, 480), with_avatar(pack=mascot))
    running = r.character
    r.apply_config(with_avatar(pack=mascot, caption_hold_s=3.0))
    assert r.character is running
    import os

    os.utime(mascot / "eye-open.png", ns=(1, 1))  # redrawn in place: decoded again
    r.apply_config(with_avatar(pack=mascot))
    assert r.character is not running and r.character.pack.name == "washy"
