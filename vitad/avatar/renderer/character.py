"""The character, composed from an avatar pack's layers (see :mod:`vitad.avatar.pack`).

The pack's PNGs are decoded once (:class:`PackImages`); for each screen radius (and for the
dimmed night look) every layer is smooth-scaled once into a :class:`ScaledCharacter`, so a
frame only blits ready surfaces - never scales. Positions come from the manifest: a layer's
anchor relative to the pack's centre, times ``r / radius``.
"""

from __future__ import annotations

import io
from collections import OrderedDict
from dataclasses import dataclass

import pygame

from vitad.avatar.pack import EXPRESSIONS, VISEME_NAMES, Pack, PackError, layer_files

Point = tuple[float, float]


class PackImages:
    """Every image of a validated pack, kept as its PNG bytes and decoded when a scaled
    character is built. PackError if one does not decode (its header looked right, so
    :func:`vitad.avatar.pack.load_pack` accepted it).

    Why bytes: the bundled pack is drawn for a 4K screen; decoded it is ~15 MiB of RGBA that
    a 720p box would hold for its whole life to rebuild a scaled set a few times a day (night,
    reload). The PNGs are ~0.2 MiB and decode in a fraction of a second.
    """

    def __init__(self, pack: Pack) -> None:
        self.pack = pack
        self._png: dict[str, bytes] = {}
        problems = []
        for key, name, _ in layer_files(pack.manifest):
            if name in self._png:
                continue
            try:
                data = pack.path(name).read_bytes()
                _decode(data, name)
            except (pygame.error, OSError, ValueError) as exc:
                problems.append(f"{key}: {name} cannot be decoded: {exc}")
                continue
            self._png[name] = data
        if problems:
            raise PackError(pack.root, problems)

    def get(self, name: str) -> pygame.Surface:
        return _decode(self._png[name], name)


def _decode(data: bytes, name: str) -> pygame.Surface:
    surf = pygame.image.load(io.BytesIO(data), name)
    return surf.convert_alpha() if pygame.display.get_surface() else surf


@dataclass(frozen=True)
class Placed:
    """A scaled layer and where its centre goes, relative to the character centre (px)."""

    surface: pygame.Surface
    offset: Point

    def blit(self, target: pygame.Surface, cx: float, cy: float) -> pygame.Rect:
        rect = self.surface.get_rect(
            center=(round(cx + self.offset[0]), round(cy + self.offset[1]))
        )
        return target.blit(self.surface, rect)


class ScaledCharacter:
    """Every layer of one pack scaled for one radius ``r`` (and dimmed by ``brightness``)."""

    def __init__(self, images: PackImages, r: int, brightness: float = 1.0) -> None:
        m = images.pack.manifest
        self.r = r
        self.k = k = r / m.pack.radius
        self.motion = m.motion
        centre = m.pack.centre
        cache: dict[tuple[str, tuple[int, int]], pygame.Surface] = {}

        def scaled(name: str, size: tuple[int, int]) -> pygame.Surface:
            key = (name, size)
            surf = cache.get(key)
            if surf is None:
                surf = _scale(images.get(name), size, brightness)
                cache[key] = surf
            return surf

        def dims(size: tuple[int, int]) -> tuple[int, int]:
            return max(1, round(size[0] * k)), max(1, round(size[1] * k))

        def offset(anchor: Point) -> Point:
            return (anchor[0] - centre[0]) * k, (anchor[1] - centre[1]) * k

        def place(name: str, size: tuple[int, int], anchor: Point) -> Placed:
            return Placed(scaled(name, dims(size)), offset(anchor))

        static = [place(m.body.file, m.body.size, m.body.anchor)]
        if m.blush is not None:
            static.append(place(m.blush.file, m.blush.size, m.blush.anchor))
        static += [place(a.file, a.size, a.anchor) for a in m.accessories]
        self.body = _merge(static)
        eye_dims = dims(m.eyes.size)
        self.eye_offsets = (offset(m.eyes.left), offset(m.eyes.right))
        self._eyes = sorted(
            ((f.open, scaled(f.file, eye_dims)) for f in m.eyes.frames), key=lambda f: f[0]
        )
        self._eye_memo: dict[float, pygame.Surface] = {}
        self._open_memo: dict[float, pygame.Surface] = {}
        self.brows: dict[str, Placed] = {}
        if m.brows is not None:
            brows = m.brows
            happy = place(brows.happy, brows.size, brows.anchor)
            for e in EXPRESSIONS:
                name = getattr(brows, e)
                self.brows[e] = place(name, brows.size, brows.anchor) if name else happy
        mouth = m.mouth
        mouth_dims = dims(mouth.size)
        self.mouth_offset = offset(mouth.anchor)
        happy_mouth = scaled(mouth.closed.happy, mouth_dims)
        self._closed = {
            e: scaled(n, mouth_dims) if (n := getattr(mouth.closed, e)) else happy_mouth
            for e in EXPRESSIONS
        }
        self._open = sorted(
            ((o.level, scaled(o.file, mouth_dims)) for o in mouth.open), key=lambda f: f[0]
        )
        self._visemes = (
            {v: scaled(getattr(mouth.visemes, v), mouth_dims) for v in VISEME_NAMES}
            if mouth.visemes is not None
            else {}
        )
        # the box every layer can reach (for the stage's redraw rectangle)
        cw, ch = m.pack.canvas
        self.canvas_rect = pygame.Rect(
            round(-centre[0] * k), round(-centre[1] * k), round(cw * k) + 1, round(ch * k) + 1
        )

    def eye(self, openness: float) -> pygame.Surface:
        """The frame whose openness is nearest (memoised: callers pass quantised values)."""
        surf = self._eye_memo.get(openness)
        if surf is None:
            surf = self._eye_memo[openness] = _nearest(self._eyes, openness)
        return surf

    def mouth(self, expression: str, level: float, viseme: str | None) -> pygame.Surface:
        """A viseme's shape if the phonemes give one (and the pack has it), else the open
        shape nearest ``level``, else the resting mouth of ``expression``."""
        if viseme is not None and viseme in self._visemes:
            return self._visemes[viseme]
        if level <= 0.0:
            return self._closed.get(expression, self._closed["happy"])
        surf = self._open_memo.get(level)
        if surf is None:
            surf = self._open_memo[level] = _nearest(self._open, level)
        return surf


def _nearest(frames: list[tuple[float, pygame.Surface]], value: float) -> pygame.Surface:
    return min(frames, key=lambda f: abs(f[0] - value))[1]


def _merge(layers: list[Placed]) -> Placed:
    """Layers that never move against each other (body, blush, accessories) as one surface,
    so a frame blits the character's static part once, as the code-drawn body did."""
    if len(layers) == 1:
        return layers[0]
    rects = [
        layer.surface.get_rect(center=(round(layer.offset[0]), round(layer.offset[1])))
        for layer in layers
    ]
    box = rects[0].unionall(rects[1:])
    merged = pygame.Surface(box.size, pygame.SRCALPHA)
    merged.fill((0, 0, 0, 0))
    for layer, rect in zip(layers, rects, strict=True):
        merged.blit(layer.surface, rect.move(-box.x, -box.y))
    if pygame.display.get_surface() is not None:
        merged = merged.convert_alpha()
    # get_rect(center=c) puts the top-left at c - size // 2: this offset restores box.topleft
    return Placed(merged, (box.x + box.w // 2, box.y + box.h // 2))


def _scale(src: pygame.Surface, size: tuple[int, int], brightness: float) -> pygame.Surface:
    surf = src if src.get_size() == size else pygame.transform.smoothscale(src, size)
    if brightness < 1.0:
        surf = surf.copy()
        v = max(0, min(255, round(255 * brightness)))
        surf.fill((v, v, v), special_flags=pygame.BLEND_RGB_MULT)  # alpha is left alone
    if pygame.display.get_surface() is not None:
        surf = surf.convert_alpha()
    return surf


class CharacterCache:
    """Scaled characters per (radius, brightness); a few kept (resizes, night/day)."""

    def __init__(self, images: PackImages, keep: int = 3) -> None:
        self.images = images
        self._keep = keep
        self._scaled: OrderedDict[tuple[int, float], ScaledCharacter] = OrderedDict()
        self.builds = 0

    @property
    def pack(self) -> Pack:
        return self.images.pack

    def get(self, r: int, brightness: float) -> ScaledCharacter:
        key = (r, brightness)
        ch = self._scaled.get(key)
        if ch is None:
            ch = ScaledCharacter(self.images, r, brightness)
            self.builds += 1
            self._scaled[key] = ch
            while len(self._scaled) > self._keep:
                self._scaled.popitem(last=False)
        else:
            self._scaled.move_to_end(key)
        return ch
