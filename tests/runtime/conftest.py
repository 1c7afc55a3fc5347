"""Fixtures for the runtime tests: short socket paths, a fake systemd notify socket, tmpfs."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from vitad.config.runtime_settings import RuntimeSettings


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A directory with a short path: AF_UNIX paths are limited to 107 bytes."""
    d = Path(tempfile.mkdtemp(prefix="vt-", dir="/tmp"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


class FakeSystemd:
    """The receiving end of NOTIFY_SOCKET: a real AF_UNIX datagram socket."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(2.0)

    def recv(self, timeout: float = 2.0) -> str | None:
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(4096).decode()
        except TimeoutError:
            return None

    def drain(self, timeout: float = 0.05) -> list[str]:
        out = []
        while (msg := self.recv(timeout)) is not None:
            out.append(msg)
        return out

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def fake_systemd(short_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSystemd]:
    fs = FakeSystemd(short_dir / "notify")
    monkeypatch.setenv("NOTIFY_SOCKET", str(fs.path))
    yield fs
    fs.close()


@pytest.fixture
def runtime(tmp_path: Path) -> RuntimeSettings:
    return RuntimeSettings(state_dir=tmp_path / "state", cache_dir=tmp_path / "cache")


@pytest.fixture
def tiny_tmpfs(short_dir: Path) -> Iterator[Path]:
    """A 256 KiB tmpfs (needs root / CAP_SYS_ADMIN; skipped, with the reason, otherwise)."""
    mnt = short_dir / "mnt"
    mnt.mkdir()
    res = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k,mode=0755", "tmpfs", str(mnt)],
        capture_output=True,
        text=True,
    )
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {res.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)
