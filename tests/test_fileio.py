"""Atomic replacement: old or new content, never torn, no temp files left behind."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from vitad.fileio import write_atomic


def test_replaces_content_and_sets_mode(tmp_path: Path) -> None:
    target = tmp_path / "vitad.prom"
    target.write_bytes(b"old")
    write_atomic(target, b"new", mode=0o644, durable=True)
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["vitad.prom"]


def test_failure_keeps_the_old_file_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "busy"
    target.mkdir()  # a rename over a directory fails
    (target / "keep").write_text("x")
    with pytest.raises(OSError):
        write_atomic(target, b"new")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["busy"]
    assert (target / "keep").read_text() == "x"
    with pytest.raises(FileNotFoundError):
        write_atomic(tmp_path / "missing" / "f", b"x")
