"""Avatar packs: the character as layered PNGs plus a ``pack.toml`` manifest (no pygame).

A pack is a folder. Its manifest says how big the character's canvas is, how many pack
pixels make one character *radius* (the screen layout's unit: the renderer scales the pack
by ``r / radius``), where each layer's centre sits on the canvas (its *anchor*), which image
each eye openness, expression and mouth shape uses, and how far the idle motions move.

This module validates a pack completely before the renderer touches it - the manifest
schema (pydantic, like vitad/config), every named file present, inside the pack and a PNG of
exactly the size its group declares, every anchor inside the canvas - and reports each
problem as one line. :func:`choose_pack` turns a bad pack into log lines and a fallback
(the bundled pack at start, the previous pack on reload): a bad pack never stops the daemon.

Image sizes come from the PNG header (the IHDR chunk is the first 24 bytes, fixed by the PNG
spec), so validation needs neither pygame nor Pillow; the renderer decodes the pixels.
"""

from __future__ import annotations

import difflib
import logging
import struct
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import ErrorDetails

from vitad.config.avatar_settings import Colour
from vitad.config.loader import one_line
from vitad.fileio import UnusableFile, read_regular_file

log = logging.getLogger(__name__)

MANIFEST = "pack.toml"
MAX_MANIFEST_BYTES = 256 * 1024
MAX_PNG_BYTES = 8 * 1024 * 1024
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
EXPRESSIONS = ("happy", "attentive", "thinking", "concerned", "sleepy")
VISEME_NAMES = ("closed", "open", "wide", "round")  # = vitad.avatar.state.VISEMES

Side = Annotated[int, Field(ge=1, le=4096)]
Size = tuple[Side, Side]
Point = tuple[float, float]
FileName = Annotated[str, Field(min_length=1, max_length=255)]
Amount = Annotated[float, Field(ge=0.0, le=1.0)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PackInfo(_Strict):
    name: Annotated[str, Field(min_length=1, max_length=80)]
    format: Literal[1] = 1
    author: str = ""
    licence: str = ""
    canvas: Size
    """The character's box in pack pixels: every layer must lie inside it."""
    radius: Annotated[float, Field(gt=0, le=4096)]
    """Pack pixels per character radius; the renderer scales by screen radius / this."""
    centre: Point
    """The character's centre on the canvas (what the screen layout positions)."""
    glow: Colour | None = None
    """Colour of the soft glow behind the character; None = ``[avatar.theme] body``."""


class Motion(_Strict):
    """Idle motion, as fractions of the character radius (so it scales with the screen)."""

    bob: Annotated[float, Field(ge=0, le=0.2)] = 0.025
    """Breathing: up and down by this much."""
    listen_lift: Annotated[float, Field(ge=0, le=0.2)] = 0.03
    """Raised by this much while listening."""
    gaze: tuple[Amount, Amount] = (0.09, 0.06)
    """How far the eyes move when glancing (x, y)."""
    brows_follow: tuple[Amount, Amount] = (0.7, 0.5)
    """Share of the eyes' movement the brows follow (x, y)."""
    mouth_follow: Amount = 0.4
    """Share of the eyes' sideways movement the mouth follows."""


class Layer(_Strict):
    file: FileName
    size: Size
    anchor: Point
    """Canvas point where the centre of the image goes."""


class EyeFrame(_Strict):
    open: Annotated[float, Field(ge=0.0, le=1.5)]
    """Openness: 0 shut, 1 normal, 1.12 wide (listening), 0.45 sleepy; nearest frame wins."""
    file: FileName


class Eyes(_Strict):
    size: Size
    left: Point
    right: Point
    frames: Annotated[list[EyeFrame], Field(min_length=1)]


class Brows(_Strict):
    """Both brows in one image per expression; a missing expression uses ``happy``."""

    size: Size
    anchor: Point
    happy: FileName
    attentive: FileName | None = None
    thinking: FileName | None = None
    concerned: FileName | None = None
    sleepy: FileName | None = None


class ClosedMouths(_Strict):
    """The resting mouth per expression; a missing expression uses ``happy``."""

    happy: FileName
    attentive: FileName | None = None
    thinking: FileName | None = None
    concerned: FileName | None = None
    sleepy: FileName | None = None


class OpenMouth(_Strict):
    level: Annotated[float, Field(gt=0.0, le=1.0)]
    """Loudness 0..1 this shape is for; the nearest level wins."""
    file: FileName


class Visemes(_Strict):
    """Mouth shapes for phoneme lip-sync (vitad.avatar.state.VISEMES)."""

    closed: FileName
    open: FileName
    wide: FileName
    round: FileName


class Mouth(_Strict):
    size: Size
    anchor: Point
    closed: ClosedMouths
    open: Annotated[list[OpenMouth], Field(min_length=1)]
    visemes: Visemes | None = None
    """Optional: without it, speech opens the mouth by loudness only."""


class Manifest(_Strict):
    pack: PackInfo
    motion: Motion = Motion()
    body: Layer
    blush: Layer | None = None
    accessories: list[Layer] = []
    eyes: Eyes
    brows: Brows | None = None
    mouth: Mouth


class PackError(Exception):
    """A pack that cannot be used; ``problems`` holds one line per problem."""

    def __init__(self, source: Path | str, problems: list[str]) -> None:
        self.source = one_line(str(source))
        self.problems = [one_line(p) for p in problems]
        super().__init__("\n".join(f"{self.source}: {p}" for p in self.problems))


@dataclass(frozen=True)
class Pack:
    """A validated pack: its folder and manifest. File names resolve with :meth:`path`."""

    root: Path
    manifest: Manifest
    stamp: tuple[tuple[str, int, int], ...] = ()
    """(file, mtime_ns, size) of every image: equal packs need not be decoded again."""

    @property
    def name(self) -> str:
        return self.manifest.pack.name

    def path(self, name: str) -> Path:
        return self.root / name


def bundled_pack_dir(name: str = "bubble") -> Path:
    """``assets/avatar/<name>`` in a checkout; ``<prefix>/share/vitad/avatar/<name>`` in an
    installed wheel (pyproject data-files), like the earcons."""
    checkout = Path(__file__).resolve().parents[2] / "assets" / "avatar" / name
    if checkout.is_dir():
        return checkout
    return Path(sys.prefix) / "share" / "vitad" / "avatar" / name


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from the PNG header; UnusableFile if it is not a readable PNG."""
    data = read_regular_file(path, MAX_PNG_BYTES, "PNG image")
    if len(data) < 24 or not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        raise UnusableFile(f"{path}: not a PNG image")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def layer_files(m: Manifest) -> Iterator[tuple[str, str, tuple[int, int]]]:
    """Every (manifest key, file name, expected size) the pack names."""
    yield "body.file", m.body.file, m.body.size
    if m.blush is not None:
        yield "blush.file", m.blush.file, m.blush.size
    for i, acc in enumerate(m.accessories):
        yield f"accessories[{i}].file", acc.file, acc.size
    for i, eye in enumerate(m.eyes.frames):
        yield f"eyes.frames[{i}].file", eye.file, m.eyes.size
    if m.brows is not None:
        for expr in EXPRESSIONS:
            name = getattr(m.brows, expr)
            if name is not None:
                yield f"brows.{expr}", name, m.brows.size
    for expr in EXPRESSIONS:
        name = getattr(m.mouth.closed, expr)
        if name is not None:
            yield f"mouth.closed.{expr}", name, m.mouth.size
    for i, shape in enumerate(m.mouth.open):
        yield f"mouth.open[{i}].file", shape.file, m.mouth.size
    if m.mouth.visemes is not None:
        for vis in VISEME_NAMES:
            yield f"mouth.visemes.{vis}", getattr(m.mouth.visemes, vis), m.mouth.size


def _anchors(m: Manifest) -> Iterator[tuple[str, tuple[float, float], tuple[int, int]]]:
    """(key, anchor, size of the image centred on it)."""
    yield "body.anchor", m.body.anchor, m.body.size
    if m.blush is not None:
        yield "blush.anchor", m.blush.anchor, m.blush.size
    for i, acc in enumerate(m.accessories):
        yield f"accessories[{i}].anchor", acc.anchor, acc.size
    yield "eyes.left", m.eyes.left, m.eyes.size
    yield "eyes.right", m.eyes.right, m.eyes.size
    if m.brows is not None:
        yield "brows.anchor", m.brows.anchor, m.brows.size
    yield "mouth.anchor", m.mouth.anchor, m.mouth.size


def _model_at(loc: tuple[str | int, ...]) -> type[BaseModel] | None:
    """The manifest model that owns the table at ``loc`` (for did-you-mean hints)."""
    model: type[BaseModel] | None = Manifest
    for part in loc:
        if model is None or isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:
            return None
        candidates = [field.annotation, *getattr(field.annotation, "__args__", ())]
        model = next((c for c in candidates
                      if isinstance(c, type) and issubclass(c, BaseModel)), None)
    return model


def _describe(error: ErrorDetails) -> str:
    """One line for one schema error: the dotted key, what was wrong, what was given."""
    loc = tuple(error["loc"])
    key = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in loc).replace(".[", "[")
    if error["type"] == "extra_forbidden":
        owner = _model_at(loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), list(owner.model_fields) if owner else [],
                                          n=1)
        return f"{key}: unknown key" + (f" (did you mean '{close[0]}'?)" if close else "")
    got = error.get("input")
    shown = "" if isinstance(got, dict | list) else f" (got {got!r})"
    return f"{key}: {error['msg']}{shown}"


def _check_geometry(m: Manifest) -> list[str]:
    cw, ch = m.pack.canvas
    problems = []
    x, y = m.pack.centre
    if not (0 <= x <= cw and 0 <= y <= ch):
        problems.append(f"pack.centre: ({x:g}, {y:g}) is outside the canvas {cw}x{ch}")
    for key, (ax, ay), (w, h) in _anchors(m):
        if not (0 <= ax <= cw and 0 <= ay <= ch):
            problems.append(f"{key}: ({ax:g}, {ay:g}) is outside the canvas {cw}x{ch}")
            continue
        # the image around it must fit too (1 px of slack for rounding in generators)
        if ax - w / 2 < -1 or ay - h / 2 < -1 or ax + w / 2 > cw + 1 or ay + h / 2 > ch + 1:
            problems.append(
                f"{key}: a {w}x{h} image centred at ({ax:g}, {ay:g}) sticks out of the "
                f"canvas {cw}x{ch}"
            )
    return problems


def _check_file(root: Path, key: str, name: str, size: tuple[int, int]) -> str | None:
    path = root / name
    try:
        inside = path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError, ValueError):
        inside = False
    if not inside:
        return f"{key}: {name!r} is outside the pack folder"
    try:
        got = png_size(path)
    except UnusableFile as exc:
        return f"{key}: {exc}"
    if got != size:
        return f"{key}: {name} is {got[0]}x{got[1]} px; expected {size[0]}x{size[1]}"
    return None


def load_pack(root: Path) -> Pack:
    """Validate the pack in folder ``root``; PackError lists every problem at once."""
    manifest_path = root / MANIFEST
    try:
        raw = read_regular_file(manifest_path, MAX_MANIFEST_BYTES, "avatar pack manifest")
        data = tomllib.loads(raw.decode("utf-8"))
    except UnusableFile as exc:
        raise PackError(root, [str(exc)]) from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise PackError(manifest_path, [f"not valid TOML: {exc}"]) from None
    try:
        manifest = Manifest.model_validate(data)
    except ValidationError as exc:
        raise PackError(manifest_path, [_describe(e) for e in exc.errors()]) from None
    problems = _check_geometry(manifest)
    checked: set[str] = set()
    for key, name, size in layer_files(manifest):
        if name in checked:  # one line per file, even when several keys name it
            continue
        checked.add(name)
        if (problem := _check_file(root, key, name, size)) is not None:
            problems.append(problem)
    if problems:
        raise PackError(manifest_path, problems)
    return Pack(root, manifest, _stamp(root, sorted(checked)))


def _stamp(root: Path, names: list[str]) -> tuple[tuple[str, int, int], ...]:
    stamps = []
    for name in names:
        try:
            st = (root / name).stat()
        except OSError:  # vanished since the check: the renderer's decode will say so
            stamps.append((name, -1, -1))
        else:
            stamps.append((name, st.st_mtime_ns, st.st_size))
    return tuple(stamps)


def choose_pack(wanted: Path | None, previous: Pack | None = None) -> Pack:
    """The pack to draw: ``wanted`` (None = the bundled one) if it is valid, else - one log
    line per problem - ``previous`` (a reload keeps what runs) or the bundled pack."""
    target = wanted if wanted is not None else bundled_pack_dir()
    if previous is not None and previous.root == target:
        try:  # the same folder: the operator may have fixed (or broken) files in place
            return load_pack(target)
        except PackError as exc:
            _log_problems(exc, f"keeping the running pack {previous.name!r}")
            return previous
    try:
        return load_pack(target)
    except PackError as exc:
        if previous is not None:
            _log_problems(exc, f"keeping the running pack {previous.name!r}")
            return previous
        if wanted is None:
            raise  # the bundled pack itself is broken: an install problem, not config
        _log_problems(exc, "using the bundled pack")
        return load_pack(bundled_pack_dir())


def _log_problems(exc: PackError, action: str) -> None:
    for problem in exc.problems:
        log.error("avatar pack %s: %s; %s", exc.source, problem, action)
