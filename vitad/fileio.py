"""Atomic file replacement, shared by everything that rewrites a file readers may be using."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def write_atomic(target: Path, data: bytes, *, mode: int | None = None,
                 durable: bool = False) -> None:
    """Write ``data`` to a temp file beside ``target`` and rename it over ``target``.

    Readers see the old file or the new one, never a torn one. ``durable`` fsyncs the data
    before the rename (for files that must survive a power cut, at one more flash write).
    Raises OSError; the temp file never outlives a failure.
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            if durable:
                out.flush()
                os.fsync(out.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
