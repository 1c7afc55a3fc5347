"""The character ("Bubbles", a friendly soap bubble) and the screen's UI shapes, drawn in code.

Everything is drawn at ``SS``x size and smooth-scaled down once, which gives clean
anti-aliased edges. The character's functions (body, blush, accessories, eyes, brows, mouths,
visemes) now only feed the pack generator (:mod:`bubble_pack`,
``assets/avatar/make_bubble_pack.py``): the daemon draws the character from a pack's PNGs.
The UI shapes (listening badge, status icons, panels, gradient, glow) are still drawn here
at run time, once per layout, and cached by the scene.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pygame

RGB = tuple[int, int, int]
RGBA = tuple[int, int, int, int]

SS = 4  # supersampling factor
EYE_STEPS = 24  # eye openness 0..1.2 in steps of 0.05
EYE_MAX = 1.2
MOUTH_STEPS = 20
EXPRESSIONS = ("happy", "attentive", "thinking", "concerned", "sleepy")


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


def _canvas(w: int, h: int, edge: RGB = (0, 0, 0)) -> pygame.Surface:
    """Transparent supersampled canvas. ``edge`` is the colour of the transparent pixels:
    smoothscale does not premultiply alpha, so using the sprite's own edge colour avoids
    dark fringes around anti-aliased edges."""
    big = pygame.Surface((max(1, w * SS), max(1, h * SS)), pygame.SRCALPHA)
    big.fill((*edge, 0))
    return big


def _down(big: pygame.Surface, w: int, h: int) -> pygame.Surface:
    return pygame.transform.smoothscale(big, (max(1, w), max(1, h)))


def _ellipse(surf: pygame.Surface, color: RGB | RGBA, cx: float, cy: float, rx: float, ry: float):
    rect = pygame.Rect(0, 0, max(1, round(2 * rx)), max(1, round(2 * ry)))
    rect.center = (round(cx), round(cy))
    pygame.draw.ellipse(surf, color, rect)


def _arc_band(
    surf: pygame.Surface,
    color: RGB | RGBA,
    cx: float,
    cy: float,
    rx: float,
    ry: float,
    a0: float,
    a1: float,
    thick: float,
) -> None:
    """A thick elliptical arc with round caps (angles in radians, y down)."""
    n = 40
    outer, inner = [], []
    for i in range(n + 1):
        a = a0 + (a1 - a0) * i / n
        ca, sa = math.cos(a), math.sin(a)
        outer.append((cx + (rx + thick / 2) * ca, cy + (ry + thick / 2) * sa))
        inner.append((cx + (rx - thick / 2) * ca, cy + (ry - thick / 2) * sa))
    pygame.draw.polygon(surf, color, outer + inner[::-1])
    for a in (a0, a1):
        pygame.draw.circle(surf, color, (cx + rx * math.cos(a), cy + ry * math.sin(a)), thick / 2)


def build_body(r: int, p: Palette, cheeks: bool = True, bubbles: bool = True) -> pygame.Surface:
    """Body sprite, size (2.3r, 2.3r), body centre at the sprite centre. The pack generator
    draws the cheeks (:func:`build_blush`) and the bubbles (:func:`build_accessories`) as
    layers of their own."""
    size = round(2.3 * r)
    big = _canvas(size, size, p.body_shade)
    s = SS
    c = size * s / 2
    R = r * s
    _ellipse(big, p.body_shade, c, c + 0.02 * R, R, 0.96 * R)
    _ellipse(big, p.body, c - 0.03 * R, c - 0.05 * R, 0.95 * R, 0.9 * R)
    # glossy bubble highlights (drawing replaces pixels, so blend colours here, not by alpha)
    _ellipse(big, mix(p.body, p.highlight, 0.6), c - 0.5 * R, c - 0.55 * R, 0.2 * R, 0.12 * R)
    pygame.draw.circle(big, mix(p.body, p.highlight, 0.75), (c - 0.24 * R, c - 0.74 * R), 0.06 * R)
    _arc_band(
        big,
        mix(p.body, p.highlight, 0.3),
        c,
        c,
        0.82 * R,
        0.78 * R,
        math.radians(20),
        math.radians(70),
        0.05 * R,
    )
    if cheeks:
        _draw_cheeks(big, c, c, R, p)
    if bubbles:
        _draw_bubbles(big, c, c, R, p)
    return _down(big, size, size)


def _draw_cheeks(big: pygame.Surface, cx: float, cy: float, R: float, p: Palette) -> None:
    """Both cheeks around body centre (cx, cy), supersampled radius R."""
    cheek = mix(p.body, p.cheeks, 0.8)
    _ellipse(big, cheek, cx - 0.58 * R, cy + 0.2 * R, 0.15 * R, 0.09 * R)
    _ellipse(big, cheek, cx + 0.58 * R, cy + 0.2 * R, 0.15 * R, 0.09 * R)


def _draw_bubbles(big: pygame.Surface, cx: float, cy: float, R: float, p: Palette) -> None:
    """Two little bubbles floating by the head."""
    for bx, by, br in ((0.92, -0.86, 0.1), (1.06, -0.62, 0.06)):
        pygame.draw.circle(
            big, (*p.body, 220), (cx + bx * R, cy + by * R), br * R, width=max(1, round(0.025 * R))
        )
        pygame.draw.circle(
            big, (*p.highlight, 200), (cx + (bx - 0.03) * R, cy + (by - 0.03) * R), 0.022 * R
        )


# Where the blush and accessory sprites sit, relative to the body centre in radii, and their
# size in radii: just big enough for what they hold, so a frame blits few pixels.
BLUSH_CENTRE, BLUSH_SIZE = (0.0, 0.2), (1.5, 0.24)
ACCESSORIES_CENTRE, ACCESSORIES_SIZE = (0.97, -0.76), (0.36, 0.48)


def _part_sprite(
    r: int, centre: tuple[float, float], size: tuple[float, float], edge: RGB, draw
) -> tuple[pygame.Surface, tuple[int, int]]:
    """A piece of the body on its own sprite, and its centre's offset from the body centre
    in whole pixels. The sprite's width and height have the body sprite's parity, so at
    scale 1 it lands on exactly the pixels it had inside the body sprite."""
    parity = round(2.3 * r) % 2
    w, h = round(size[0] * r), round(size[1] * r)
    w, h = w + (w % 2 != parity), h + (h % 2 != parity)
    ox, oy = round(centre[0] * r), round(centre[1] * r)
    big = _canvas(w, h, edge)
    draw(big, (w / 2 - ox) * SS, (h / 2 - oy) * SS, r * SS)
    return _down(big, w, h), (ox, oy)


def build_blush(r: int, p: Palette) -> tuple[pygame.Surface, tuple[int, int]]:
    """The cheeks alone, and the offset of their centre from the body centre (px)."""
    return _part_sprite(r, BLUSH_CENTRE, BLUSH_SIZE, mix(p.body, p.cheeks, 0.8),
                        lambda big, cx, cy, R: _draw_cheeks(big, cx, cy, R, p))


def build_accessories(r: int, p: Palette) -> tuple[pygame.Surface, tuple[int, int]]:
    """The floating bubbles alone, and the offset of their centre from the body centre."""
    return _part_sprite(r, ACCESSORIES_CENTRE, ACCESSORIES_SIZE, p.body,
                        lambda big, cx, cy, R: _draw_bubbles(big, cx, cy, R, p))


def eye_size(r: int) -> tuple[int, int]:
    return round(0.36 * r), round(0.46 * r)


def build_eye(r: int, openness: float, p: Palette) -> pygame.Surface:
    """One eye. ``openness`` 0 = shut (a curved line), 1 = normal, >1 = wide (listening)."""
    w, h = eye_size(r)
    big = _canvas(w, h, p.eyes)
    s = SS
    cx, cy = w * s / 2, h * s / 2
    grow = max(1.0, openness)
    rx, ry = 0.13 * r * s * grow, 0.19 * r * s * grow
    lid = min(1.0, openness)
    if lid < 0.14:
        _arc_band(
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
        return _down(big, w, h)
    _ellipse(big, p.eyes, cx, cy, rx, ry)
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
    return _down(big, w, h)


def brows_size(r: int) -> tuple[int, int]:
    return round(1.2 * r), round(0.36 * r)


def build_brows(r: int, expression: str, p: Palette) -> pygame.Surface:
    """Both eyebrows; centred on the midpoint between the eyes."""
    w, h = brows_size(r)
    big = _canvas(w, h, p.eyes)
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
        _arc_band(
            big, col, x, y + 0.1 * r * s, 0.12 * r * s, 0.08 * r * s, a_mid - 0.8, a_mid + 0.8, th
        )
    return _down(big, w, h)


def mouth_size(r: int) -> tuple[int, int]:
    return round(0.62 * r), round(0.5 * r)


def build_mouth(r: int, expression: str, level: float, p: Palette) -> pygame.Surface:
    """Mouth sprite; (0.62r x 0.5r) with the lips' top line at 28% of the height."""
    w, h = mouth_size(r)
    big = _canvas(w, h, p.mouth)
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
            _arc_band(
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
            _arc_band(
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
        return _down(big, w, h)
    _open_shape(big, p, cx, top, rs, (0.17 + 0.05 * level) * rs, (0.05 + 0.3 * level) * rs,
                tongue=level > 0.25)
    return _down(big, w, h)


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
        _ellipse(big, p.tongue, cx, top + 0.03 * rs + depth * 0.84 - th * 0.5, tw, th)


def build_viseme(r: int, viseme: str, p: Palette) -> pygame.Surface:
    """Mouth for a phoneme class (``closed`` m/b/p, ``open`` a, ``wide`` e/i, ``round`` o/u),
    the same size and lips line as :func:`build_mouth` so they swap in place."""
    if viseme == "closed":
        w, h = mouth_size(r)
        big = _canvas(w, h, p.mouth)
        rs = r * SS
        top = h * SS * 0.28
        _arc_band(big, p.mouth, w * SS / 2, top - 0.06 * rs, 0.16 * rs, 0.1 * rs,
                  math.radians(50), math.radians(130), 0.05 * rs)
        return _down(big, w, h)
    if viseme == "open":
        return build_mouth(r, "happy", 0.7, p)
    w, h = mouth_size(r)
    big = _canvas(w, h, p.mouth)
    rs = r * SS
    cx, top = w * SS / 2, h * SS * 0.28
    if viseme == "wide":
        _open_shape(big, p, cx, top, rs, 0.27 * rs, 0.11 * rs, tongue=False)
    elif viseme == "round":
        _ellipse(big, p.mouth, cx, top + 0.15 * rs, 0.1 * rs, 0.13 * rs)
        _ellipse(big, p.tongue, cx, top + 0.22 * rs, 0.055 * rs, 0.04 * rs)
    else:
        raise ValueError(f"unknown viseme {viseme!r}")
    return _down(big, w, h)


def badge_size(r: int) -> int:
    return round(0.5 * r)


def build_listen_badge(r: int, p: Palette) -> pygame.Surface:
    """Round accent badge with a microphone glyph: 'I am listening'."""
    d = badge_size(r)
    big = _canvas(d, d, p.accent)
    s = SS
    c = d * s / 2
    pygame.draw.circle(big, p.accent, (c, c), c * 0.98)
    ink = p.background_bottom
    mw, mh = 0.28 * d * s, 0.44 * d * s
    cap = pygame.Rect(0, 0, round(mw), round(mh))
    cap.center = (round(c), round(c - 0.1 * d * s))
    pygame.draw.rect(big, ink, cap, border_radius=round(mw / 2))
    _arc_band(
        big,
        ink,
        c,
        c - 0.06 * d * s,
        0.24 * d * s,
        0.2 * d * s,
        0.15,
        math.pi - 0.15,
        0.055 * d * s,
    )
    pygame.draw.line(
        big, ink, (c, c + 0.14 * d * s), (c, c + 0.3 * d * s), max(1, round(0.055 * d * s))
    )
    pygame.draw.line(
        big,
        ink,
        (c - 0.12 * d * s, c + 0.3 * d * s),
        (c + 0.12 * d * s, c + 0.3 * d * s),
        max(1, round(0.055 * d * s)),
    )
    return _down(big, d, d)


def build_icon_mic(d: int, color: RGB, crossed: bool = False) -> pygame.Surface:
    """Small status icon: outlined circle with a mic (ASR fallback) or crossed speaker."""
    big = _canvas(d, d, color)
    s = SS
    c = d * s / 2
    th = max(1, round(0.07 * d * s))
    pygame.draw.circle(big, color, (c, c), c - th, width=th)
    if not crossed:
        cap = pygame.Rect(0, 0, round(0.22 * d * s), round(0.36 * d * s))
        cap.center = (round(c), round(c - 0.08 * d * s))
        pygame.draw.rect(big, color, cap, border_radius=round(0.11 * d * s))
        _arc_band(
            big,
            color,
            c,
            c - 0.04 * d * s,
            0.2 * d * s,
            0.16 * d * s,
            0.2,
            math.pi - 0.2,
            0.05 * d * s,
        )
        pygame.draw.line(big, color, (c, c + 0.12 * d * s), (c, c + 0.26 * d * s), th)
    else:
        pts = [
            (c - 0.26 * d * s, c - 0.1 * d * s),
            (c - 0.12 * d * s, c - 0.1 * d * s),
            (c + 0.06 * d * s, c - 0.26 * d * s),
            (c + 0.06 * d * s, c + 0.26 * d * s),
            (c - 0.12 * d * s, c + 0.1 * d * s),
            (c - 0.26 * d * s, c + 0.1 * d * s),
        ]
        pygame.draw.polygon(big, color, pts)
        pygame.draw.line(
            big,
            color,
            (c - 0.32 * d * s, c - 0.32 * d * s),
            (c + 0.32 * d * s, c + 0.32 * d * s),
            th,
        )
    return _down(big, d, d)


def build_round_rect(w: int, h: int, radius: int, color: RGBA, ss: int = 2) -> pygame.Surface:
    """Anti-aliased rounded rectangle (big panels use a lower supersample to stay cheap)."""
    big = pygame.Surface((max(1, w * ss), max(1, h * ss)), pygame.SRCALPHA)
    big.fill((*color[:3], 0))
    pygame.draw.rect(big, color, big.get_rect(), border_radius=max(0, radius * ss))
    return pygame.transform.smoothscale(big, (max(1, w), max(1, h)))


def build_gradient(w: int, h: int, top: RGB, bottom: RGB) -> pygame.Surface:
    """Vertical background gradient (a 1-pixel column scaled up: cheap and band-free)."""
    column = pygame.Surface((1, 256))
    for y in range(256):
        column.set_at((0, y), mix(top, bottom, y / 255))
    return pygame.transform.smoothscale(column, (max(1, w), max(1, h)))


def build_glow(r: int, color: RGB, strength: float = 0.35) -> pygame.Surface:
    """Soft radial glow behind the character (alpha falls off smoothly; no rings)."""
    import numpy as np

    size = max(2, round(3.6 * r))
    surf = pygame.Surface((size, size), pygame.SRCALPHA)
    surf.fill((*color, 0))
    yy, xx = np.mgrid[0:size, 0:size]
    c = (size - 1) / 2
    d = np.sqrt((xx - c) ** 2 + (yy - c) ** 2) / (size / 2)
    alpha = np.clip(1.0 - d, 0.0, 1.0) ** 2 * 255 * strength
    pixels = pygame.surfarray.pixels_alpha(surf)
    pixels[:, :] = alpha.T.astype(np.uint8)
    del pixels  # release the surface lock
    return surf
