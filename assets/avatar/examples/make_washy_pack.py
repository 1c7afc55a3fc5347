"""Draw the PNGs of "washy", the example avatar pack (a friendly washing machine).

A second, deliberately small pack: three eye frames, a resting mouth and three open ones, no
brows, blush or visemes - the least a pack needs. It also draws ``shop-logo.png``, an
example ``[avatar] logo``. Its ``pack.toml`` is written by hand (it
is the example README "Avatar" walks through); this script only draws the images, at the
sizes that manifest declares. Any paint program does the same job::

    .venv/bin/python assets/avatar/examples/make_washy_pack.py
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import pygame

HERE = Path(__file__).resolve().parent / "washy"
SS = 4  # drawn 4x larger and smooth-scaled down: anti-aliased edges

STEEL, STEEL_DARK = (143, 163, 179), (96, 114, 130)
CASE, CASE_SHADE = (246, 243, 236), (214, 208, 196)
PANEL, KNOB, LED = (201, 214, 223), (255, 122, 69), (57, 217, 138)
GLASS, GLASS_LIGHT = (43, 111, 158), (120, 180, 220)
WHITE, INK, MOUTH, TONGUE = (255, 255, 255), (27, 27, 47), (70, 20, 30), (255, 140, 120)


def canvas(size: tuple[int, int]) -> pygame.Surface:
    big = pygame.Surface((size[0] * SS, size[1] * SS), pygame.SRCALPHA)
    big.fill((0, 0, 0, 0))
    return big


def down(big: pygame.Surface, size: tuple[int, int]) -> pygame.Surface:
    return pygame.transform.smoothscale(big, size)


def body(size: tuple[int, int], radius: float) -> pygame.Surface:
    """Rounded case, control strip with two knobs and a light, steel porthole with glass."""
    big = canvas(size)
    w, h = size[0] * SS, size[1] * SS
    r = radius * SS
    case = pygame.Rect(round(0.06 * w), round(0.04 * h), round(0.88 * w), round(0.92 * h))
    pygame.draw.rect(big, CASE_SHADE, case.move(0, round(0.015 * h)), border_radius=round(0.25 * r))
    pygame.draw.rect(big, CASE, case, border_radius=round(0.25 * r))
    strip = pygame.Rect(case.x, case.y, case.w, round(0.3 * r))
    pygame.draw.rect(big, PANEL, strip, border_top_left_radius=round(0.25 * r),
                     border_top_right_radius=round(0.25 * r))
    for kx in (0.25, 0.4):
        pygame.draw.circle(big, KNOB, (case.x + kx * case.w, strip.centery), 0.09 * r)
    pygame.draw.rect(big, LED, pygame.Rect(round(case.x + 0.66 * case.w), strip.centery - 0.04 * r,
                                           round(0.2 * case.w), round(0.08 * r)),
                     border_radius=round(0.03 * r))
    cx, cy = w / 2, h * 0.55
    pygame.draw.circle(big, STEEL_DARK, (cx, cy + 0.02 * r), 0.8 * r)
    pygame.draw.circle(big, STEEL, (cx, cy), 0.8 * r)
    pygame.draw.circle(big, GLASS, (cx, cy), 0.66 * r)
    pygame.draw.arc(big, GLASS_LIGHT, pygame.Rect(cx - 0.55 * r, cy - 0.55 * r, 1.1 * r, 1.1 * r),
                    2.0, 2.9, round(0.05 * r))
    return down(big, size)


def eye(size: tuple[int, int], openness: float) -> pygame.Surface:
    big = canvas(size)
    w, h = size[0] * SS, size[1] * SS
    if openness < 0.2:  # shut: a happy arc
        pygame.draw.arc(big, WHITE, pygame.Rect(0.1 * w, 0.35 * h, 0.8 * w, 0.5 * h), 0.3, 2.84,
                        round(0.12 * w))
        return down(big, size)
    oval = pygame.Rect(0.1 * w, 0.05 * h, 0.8 * w, 0.9 * h)
    pygame.draw.ellipse(big, WHITE, oval)
    pygame.draw.circle(big, INK, (0.5 * w, 0.55 * h), 0.26 * w)
    pygame.draw.circle(big, WHITE, (0.6 * w, 0.45 * h), 0.08 * w)
    if openness < 1.0:  # upper lid down to the middle
        big.fill((0, 0, 0, 0), pygame.Rect(0, 0, w, round(0.5 * h)))
    return down(big, size)


def mouth(size: tuple[int, int], level: float) -> pygame.Surface:
    big = canvas(size)
    w, h = size[0] * SS, size[1] * SS
    if level <= 0:  # resting smile
        pygame.draw.arc(big, WHITE, pygame.Rect(0.15 * w, -0.1 * h, 0.7 * w, 0.6 * h), 3.6, 5.8,
                        round(0.07 * w))
        return down(big, size)
    depth = (0.25 + 0.6 * level) * h
    shape = pygame.Rect(0.2 * w, 0.2 * h - depth / 2, 0.6 * w, depth)
    pygame.draw.ellipse(big, MOUTH, shape)
    big.fill((0, 0, 0, 0), pygame.Rect(0, 0, w, round(0.2 * h)))  # flat top lip
    pygame.draw.ellipse(big, TONGUE, pygame.Rect(0.35 * w, 0.2 * h + depth * 0.3, 0.3 * w,
                                                 depth * 0.2))
    return down(big, size)


def shop_logo(path: Path) -> None:
    """An example ``[avatar] logo``: a wordmark on a rounded badge (any PNG will do)."""
    pygame.font.init()
    font = pygame.font.Font(None, 120)
    words = font.render("SUDS CITY", True, WHITE)
    w, h = words.get_width() + 80, words.get_height() + 40
    badge = pygame.Surface((w * SS, h * SS), pygame.SRCALPHA)
    badge.fill((*KNOB, 0))
    pygame.draw.rect(badge, KNOB, badge.get_rect(), border_radius=h * SS // 2)
    logo = down(badge, (w, h))
    logo.blit(words, words.get_rect(center=(w // 2, h // 2 + 4)))
    pygame.image.save(logo, str(path))


def main() -> None:
    m = tomllib.loads((HERE / "pack.toml").read_text(encoding="utf-8"))
    radius = m["pack"]["radius"]
    files = {m["body"]["file"]: body(tuple(m["body"]["size"]), radius)}
    for frame in m["eyes"]["frames"]:
        files[frame["file"]] = eye(tuple(m["eyes"]["size"]), frame["open"])
    msize = tuple(m["mouth"]["size"])
    files[m["mouth"]["closed"]["happy"]] = mouth(msize, 0.0)
    for shape in m["mouth"]["open"]:
        files[shape["file"]] = mouth(msize, shape["level"])
    for name, surf in files.items():
        pygame.image.save(surf, str(HERE / name))
    shop_logo(HERE.parent / "shop-logo.png")
    total = sum((HERE / n).stat().st_size for n in files)
    print(f"{HERE}: {len(files)} images, {total / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
