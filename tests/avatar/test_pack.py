"""Avatar pack validation (vitad/avatar/pack.py): no pygame, one line per problem."""

from __future__ import annotations

import logging
import re
import shutil
import struct
import sys
import zlib
from pathlib import Path

import pytest

from vitad.avatar.branding import check_logo, usable_logo
from vitad.avatar.pack import (
    PackError,
    bundled_pack_dir,
    choose_pack,
    layer_files,
    load_pack,
    png_size,
)
from vitad.config.avatar_settings import AvatarSettings

EXAMPLE = Path(__file__).resolve().parents[2] / "assets" / "avatar" / "examples" / "washy"


def write_png(path: Path, w: int, h: int) -> None:
    """A real (tiny, transparent) RGBA PNG of w x h, written with the stdlib."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + b"\x00" * (4 * w) for _ in range(h))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 6,
                                                                       0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


@pytest.fixture
def pack_copy(tmp_path: Path) -> Path:
    dst = tmp_path / "washy"
    shutil.copytree(EXAMPLE, dst)
    return dst


def edit_manifest(root: Path, old: str, new: str) -> None:
    path = root / "pack.toml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def problems_of(root: Path) -> list[str]:
    with pytest.raises(PackError) as info:
        load_pack(root)
    for line in str(info.value).splitlines():  # each problem is one line naming the file
        assert str(root) in line
    return info.value.problems


def test_bundled_and_example_packs_are_valid() -> None:
    bubble = load_pack(bundled_pack_dir())
    assert bubble.name == "bubble"
    m = bubble.manifest
    assert len(m.eyes.frames) == 25 and len(m.mouth.open) == 20
    assert m.mouth.visemes is not None and m.brows is not None and m.blush is not None
    washy = load_pack(EXAMPLE)
    assert washy.name == "washy" and washy.manifest.brows is None


def test_bundled_pack_is_small() -> None:
    files = {name for _, name, _ in layer_files(load_pack(bundled_pack_dir()).manifest)}
    total = sum((bundled_pack_dir() / n).stat().st_size for n in files)
    assert total < 512 * 1024, total  # the brief: well under 1 MiB


def test_png_size_reads_the_header(tmp_path: Path) -> None:
    write_png(tmp_path / "a.png", 7, 3)
    assert png_size(tmp_path / "a.png") == (7, 3)


def test_missing_layer_is_one_line(pack_copy: Path) -> None:
    (pack_copy / "eye-half.png").unlink()
    (problem,) = problems_of(pack_copy)
    assert "eyes.frames[1].file" in problem and "eye-half.png" in problem
    assert "not found" in problem


def test_wrong_size_is_one_line(pack_copy: Path) -> None:
    write_png(pack_copy / "mouth-2.png", 81, 56)
    (problem,) = problems_of(pack_copy)
    assert problem == "mouth.open[1].file: mouth-2.png is 81x56 px; expected 80x56"


def test_bad_anchor_is_one_line(pack_copy: Path) -> None:
    edit_manifest(pack_copy, "left = [142, 190]", "left = [400, 190]")
    (problem,) = problems_of(pack_copy)
    assert problem == "eyes.left: (400, 190) is outside the canvas 360x380"


def test_image_sticking_out_of_the_canvas(pack_copy: Path) -> None:
    edit_manifest(pack_copy, "anchor = [180, 258]", "anchor = [180, 370]")
    (problem,) = problems_of(pack_copy)
    assert problem.startswith("mouth.anchor: a 80x56 image centred at (180, 370) sticks out")


def test_every_problem_at_once(pack_copy: Path) -> None:
    (pack_copy / "body.png").unlink()
    (pack_copy / "mouth-3.png").write_text("not a png")
    edit_manifest(pack_copy, "right = [218, 190]", "right = [218, -5]")
    problems = problems_of(pack_copy)
    assert len(problems) == 3
    assert any("body.file" in p and "not found" in p for p in problems)
    assert any("mouth-3.png: not a PNG image" in p for p in problems)
    assert any(p.startswith("eyes.right:") for p in problems)


def test_schema_errors_name_the_key(pack_copy: Path) -> None:
    edit_manifest(pack_copy, "[motion]", "[motion]\nbobb = 0.1")
    edit_manifest(pack_copy, "radius = 160", "radius = -1")
    problems = problems_of(pack_copy)
    assert "motion.bobb: unknown key (did you mean 'bob'?)" in problems
    assert any(p.startswith("pack.radius: ") and "(got -1)" in p for p in problems)


def test_missing_required_table_and_bad_toml(pack_copy: Path) -> None:
    text = (pack_copy / "pack.toml").read_text()
    (pack_copy / "pack.toml").write_text(re.sub(r"\[mouth\].*", "", text, flags=re.S))
    assert problems_of(pack_copy) == ["mouth: Field required"]
    (pack_copy / "pack.toml").write_text("[pack\n")
    (problem,) = problems_of(pack_copy)
    assert problem.startswith("not valid TOML")


def test_not_a_pack_folder(tmp_path: Path) -> None:
    (problem,) = problems_of(tmp_path)
    assert "pack.toml" in problem and "not found" in problem


def test_files_must_stay_inside_the_pack(pack_copy: Path, tmp_path: Path) -> None:
    write_png(tmp_path / "outside.png", 360, 380)
    edit_manifest(pack_copy, 'file = "body.png"', 'file = "../outside.png"')
    (problem,) = problems_of(pack_copy)
    assert problem == "body.file: '../outside.png' is outside the pack folder"


def test_bad_pack_at_start_falls_back_to_bundled(pack_copy: Path, caplog) -> None:
    (pack_copy / "eye-open.png").unlink()
    with caplog.at_level(logging.ERROR, "vitad.avatar.pack"):
        pack = choose_pack(pack_copy)
    assert pack.root == bundled_pack_dir()
    (line,) = [r.getMessage() for r in caplog.records]
    assert "eye-open.png" in line and "using the bundled pack" in line


def test_bad_pack_on_reload_keeps_the_running_one(pack_copy: Path, caplog) -> None:
    running = choose_pack(pack_copy)
    assert running.name == "washy"
    write_png(pack_copy / "eye-open.png", 10, 10)  # broken in place, then SIGHUP
    with caplog.at_level(logging.ERROR, "vitad.avatar.pack"):
        assert choose_pack(pack_copy, running) is running
        assert choose_pack(pack_copy.parent / "nowhere", running) is running
    assert len(caplog.records) == 2
    assert all("keeping the running pack 'washy'" in r.getMessage() for r in caplog.records)


def test_pack_setting_default_and_path() -> None:
    assert AvatarSettings().pack is None
    assert AvatarSettings.model_validate({"pack": "/etc/vitad/avatar/mascot"}).pack == Path(
        "/etc/vitad/avatar/mascot")


def test_installed_location_without_a_checkout(monkeypatch) -> None:
    import vitad.avatar.pack as pack_mod

    monkeypatch.setattr(pack_mod, "__file__", "/nonexistent/vitad/avatar/pack.py")
    assert bundled_pack_dir() == Path(sys.prefix) / "share" / "vitad" / "avatar" / "bubble"


# ---------------------------------------------------------------------------- branding


def test_logo_validation(tmp_path: Path, caplog) -> None:
    write_png(tmp_path / "logo.png", 200, 80)
    assert check_logo(tmp_path / "logo.png") is None
    assert usable_logo(tmp_path / "logo.png") == tmp_path / "logo.png"
    (tmp_path / "logo.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a png")
    assert check_logo(tmp_path / "logo.jpg") == f"avatar.logo: {tmp_path}/logo.jpg: not a PNG image"
    write_png(tmp_path / "huge.png", 5000, 10)
    assert check_logo(tmp_path / "huge.png") == (
        f"avatar.logo: {tmp_path}/huge.png is 5000x10 px; expected 1..4096 px a side")
    with caplog.at_level(logging.ERROR, "vitad.avatar.branding"):
        assert usable_logo(tmp_path / "missing.png") is None
    (line,) = [r.getMessage() for r in caplog.records]
    assert "missing.png" in line and "not found" in line and "no logo" in line


def test_accent_colour_is_validated() -> None:
    assert AvatarSettings(accent_colour="#12ab34").accent_colour == "#12ab34"
    with pytest.raises(ValueError, match="accent_colour"):
        AvatarSettings.model_validate({"accent_colour": "red"})
