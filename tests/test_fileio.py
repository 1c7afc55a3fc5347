"""Atomic replacement: old or new content, never torn, no temp files left behind."""

from __future__ import annotations

import os
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


def test_only_if_changed_leaves_an_identical_file_untouched(tmp_path: Path) -> None:
    target = tmp_path / "vitad-wifi.nmconnection"
    assert write_atomic(target, b"psk=x\n", mode=0o600, only_if_changed=True)  # missing: written
    before = target.stat()
    assert not write_atomic(target, b"psk=x\n", mode=0o600, only_if_changed=True)
    after = target.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert [p.name for p in tmp_path.iterdir()] == [target.name]


@pytest.mark.parametrize(("old", "old_mode"), [
    (b"psk=y\n", 0o600),         # other text
    (b"psk=x\n", 0o644),         # same text, loosened mode: a secret must not stay readable
    (b"psk=x\nmore\n", 0o600),   # longer (read only up to the new length)
    (b"psk=\n", 0o600),          # shorter
])
def test_only_if_changed_rewrites_other_text_or_mode(tmp_path: Path, old: bytes,
                                                     old_mode: int) -> None:
    target = tmp_path / "f"
    target.write_bytes(old)
    target.chmod(old_mode)
    inode = target.stat().st_ino
    assert write_atomic(target, b"psk=x\n", mode=0o600, only_if_changed=True)
    assert target.read_bytes() == b"psk=x\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.stat().st_ino != inode


def test_only_if_changed_without_mode_compares_text_only(tmp_path: Path) -> None:
    target = tmp_path / "f"
    target.write_bytes(b"same")
    target.chmod(0o640)
    assert not write_atomic(target, b"same", only_if_changed=True)
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_only_if_changed_replaces_a_fifo_without_blocking(tmp_path: Path) -> None:
    target = tmp_path / "f"
    os.mkfifo(target)
    assert write_atomic(target, b"x", mode=0o644, only_if_changed=True)
    assert target.is_file() and target.read_bytes() == b"x"
