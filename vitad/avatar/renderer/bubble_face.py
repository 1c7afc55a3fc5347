"""The code-drawn character's face: eyes, brows, mouths by expression and level, visemes.

Like :mod:`bubble_body`, these only feed the pack generator (:mod:`bubble_pack`).
"""

from __future__ import annotations

import math

import pygame

from vitad.avatar.renderer.colour import Palette, mix
from vitad.avatar.renderer.supersample import SS, arc_band, canvas, downscale, ellipse

EYE_STEPS = 24  # eye openness 0..1.2 in steps of 0.05
EYE_MAX = 1.2
MOUTH_STEPS = 20


def eye_size(r: int) -> tuple[int, int]:
    return round(0.36 * r), round(0.46 * r)


def build_eye(r: int, openness: float, p: Palette) -> pygame.Surface:
    """One eye. ``openness`` 0 = shut (a curved line), 1 = normal, >1 = wide (listening)."""
    w, h = eye_size(r)
    big = canvas(w, h, p.eyes)
    s = SS
    cx, cy = w * s / 2, h * s / 2
    grow = max(1.0, openness)
    rx, ry = 0.13 * r * s * grow, 0.19 * r * s * grow
    lid = min(1.0, openness)
    if lid < 0.14:
        arc_band(
            big,
            p.eyes,
            cx,
            cy - 0.05 * r * s,
            rx * 0.95,
            0.08 * r * s,
            math.radians(15),
            math.radians(165),
            0.045 * r * s,
        )
        return downscale(big, w, h)
    ellipse(big, p.eyes, cx, cy, rx, ry)
    pygame.draw.circle(big, p.highlight, (cx + 0.4 * rx, cy - 0.45 * ry), 0.3 * rx)
    pygame.draw.circle(
        big, mix(p.eyes, p.highlight, 0.7), (cx - 0.35 * rx, cy + 0.4 * ry), 0.13 * rx
    )
    if lid < 1.0:
        # upper lid comes down 3/4 of the way, lower lid up 1/4: a calm, natural blink
        top = cy - ry + (1 - lid) * 2 * ry * 0.75
        bottom = cy + ry - (1 - lid) * 2 * ry * 0.25
        big.fill((0, 0, 0, 0), pygame.Rect(0, 0, w * s, max(0, math.floor(top))))
        big.fill((0, 0, 0, 0), pygame.Rect(0, math.ceil(bottom), w * s, h * s))
    return downscale(big, w, h)


def brows_size(r: int) -> tuple[int, int]:
    return round(1.2 * r), round(0.36 * r)


def build_brows(r: int, expression: str, p: Palette) -> pygame.Surface:
    """Both eyebrows; centred on the midpoint between the eyes."""
    w, h = brows_size(r)
    big = canvas(w, h, p.eyes)
    s = SS
    cx, cy = w * s / 2, h * s / 2
    col = p.eyes
    th = 0.06 * r * s
    for side in (-1, 1):
        x = cx + side * 0.36 * r * s
        y = cy
        tilt = 0.0
        if expression == "attentive":
            y -= 0.06 * r * s
        elif expression == "thinking":
            y -= (0.08 if side > 0 else -0.02) * r * s
            tilt = -0.25 * side
        elif expression == "concerned":
            tilt = 0.35 * side
            y -= 0.02 * r * s
        elif expression == "sleepy":
            y += 0.05 * r * s
        a_mid = -math.pi / 2 + tilt
        arc_band(
            big, col, x, y + 0.1 * r * s, 0.12 * r * s, 0.08 * r * s, a_mid - 0.8, a_mid + 0.8, th
        )
    return downscale(big, w, h)


def mouth_size(r: int) -> tuple[int, int]:
    return round(0.62 * r), round(0.5 * r)


def build_mouth(r: int, expression: str, level: float, p: Palette) -> pygame.Surface:
    """Mouth sprite; (0.62r x 0.5r) with the lips' top line at 28% of the height."""
    w, h = mouth_size(r)
    big = canvas(w, h, p.mouth)
    s = SS
    cx = w * s / 2
    top = h * s * 0.28
    rs = r * s
    if level <= 0.0:
        if expression == "thinking":
            pygame.draw.line(
                big,
                p.mouth,
                (cx - 0.05 * rs, top + 0.06 * rs),
                (cx + 0.12 * rs, top + 0.03 * rs),
                max(1, round(0.05 * rs)),
            )
            pygame.draw.circle(big, p.mouth, (cx - 0.05 * rs, top + 0.06 * rs), 0.025 * rs)
            pygame.draw.circle(big, p.mouth, (cx + 0.12 * rs, top + 0.03 * rs), 0.025 * rs)
        elif expression == "concerned":
            arc_band(
                big,
                p.mouth,
                cx,
                top + 0.14 * rs,
                0.13 * rs,
                0.07 * rs,
                math.radians(200),
                math.radians(340),
                0.05 * rs,
            )
        else:
            width = 0.14 if expression == "sleepy" else 0.2
            arc_band(
                big,
                p.mouth,
                cx,
                top - 0.02 * rs,
                width * rs,
                0.1 * rs,
                math.radians(20),
                math.radians(160),
                0.05 * rs,
            )
        return downscale(big, w, h)
    _open_shape(big, p, cx, top, rs, (0.17 + 0.05 * level) * rs, (0.05 + 0.3 * level) * rs,
                tongue=level > 0.25)
    return downscale(big, w, h)


def _open_shape(
    big: pygame.Surface,
    p: Palette,
    cx: float,
    top: float,
    rs: float,
    half_w: float,
    depth: float,
    tongue: bool,
) -> None:
    """Open mouth: flat-ish smiling top edge, rounded bottom ``depth`` deep."""
    pts = []
    n = 32
    for i in range(n + 1):  # top edge, left to right, slight smile curve
        x = -half_w + 2 * half_w * i / n
        pts.append((cx + x, top + 0.03 * rs * (x / half_w) ** 2 * -1 + 0.03 * rs))
    for i in range(n + 1):  # bottom edge, right to left
        a = math.pi * i / n
        pts.append((cx + half_w * math.cos(a), top + 0.03 * rs + depth * math.sin(a)))
    pygame.draw.polygon(big, p.mouth, pts)
    if tongue:
        tw, th = half_w * 0.55, depth * 0.3
        ellipse(big, p.tongue, cx, top + 0.03 * rs + depth * 0.84 - th * 0.5, tw, th)


def build_viseme(r: int, viseme: str, p: Palette) -> pygame.Surface:
    """Mouth for a phoneme class (``closed`` m/b/p, ``open`` a, ``wide`` e/i, ``round`` o/u),
    the same size and lips line as :func:`build_mouth` so they swap in place."""
    if viseme == "closed":
        w, h = mouth_size(r)
        big = canvas(w, h, p.mouth)
        rs = r * SS
        top = h * SS * 0.28
        arc_band(big, p.mouth, w * SS / 2, top - 0.06 * rs, 0.16 * rs, 0.1 * rs,
                  math.radians(50), math.radians(130), 0.05 * rs)
        return downscale(big, w, h)
    if viseme == "open":
        return build_mouth(r, "happy", 0.7, p)
    w, h = mouth_size(r)
    big = canvas(w, h, p.mouth)
    rs = r * SS
    cx, top = w * SS / 2, h * SS * 0.28
    if viseme == "wide":
        _open_shape(big, p, cx, top, rs, 0.27 * rs, 0.11 * rs, tongue=False)
    elif viseme == "round":
        ellipse(big, p.mouth, cx, top + 0.15 * rs, 0.1 * rs, 0.13 * rs)
        ellipse(big, p.tongue, cx, top + 0.22 * rs, 0.055 * rs, 0.04 * rs)
    else:
        raise ValueError(f"unknown viseme {viseme!r}")
    return downscale(big, w, h)
