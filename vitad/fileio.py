"""File helpers: atomic replace for rewritten files, bounded safe reads of named files."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path


def write_atomic(target: Path, data: bytes, *, mode: int | None = None,
                 durable: bool = False, only_if_changed: bool = False) -> bool:
    """Write ``data`` to a temp file beside ``target`` and rename it over ``target``.

    Readers see the old file or the new one, never a torn one. ``durable`` fsyncs the data
    before the rename (for files that must survive a power cut, at one more flash write).
    ``only_if_changed`` leaves ``target`` alone (same inode and mtime, no flash write) when it
    already holds exactly ``data`` with ``mode`` (when given): files rewritten at every boot
    stay untouched unless something changed. Returns whether ``target`` was written.
    Raises OSError; the temp file never outlives a failure.
    """
    if only_if_changed and _holds(target, data, mode):
        return False
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
    return True


def _holds(target: Path, data: bytes, mode: int | None) -> bool:
    """Whether ``target`` is already a regular file with exactly ``data`` (and ``mode``)."""
    try:
        if mode is not None and stat.S_IMODE(os.stat(target).st_mode) != mode:
            return False
        # Bounded by len(data): a longer file differs anyway, and a FIFO never blocks us.
        return read_regular_file(target, len(data)) == data
    except OSError:  # missing, unreadable, not a regular file, too long: write it
        return False


class UnusableFile(OSError):
    """A path that is not a readable regular file within its size bound (one-line message)."""


def read_regular_file(path: Path, max_bytes: int, what: str = "file") -> bytes:
    """Read ``path`` only if it is a regular file of at most ``max_bytes``.

    Why not ``path.read_bytes()``: a FIFO blocks the reader for ever (a hung thread the
    watchdog then restarts, again and again), a device or /dev/zero never ends, and a huge
    file exhausts memory. The file is opened non-blocking and checked with ``fstat`` on the
    very descriptor that is then read, so it cannot be swapped in between. Symlinks are
    followed (operators link configs); a symlink loop is an error like any other.
    Raises :class:`UnusableFile` naming the file, what was expected and why.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise UnusableFile(f"{path}: {what} not found") from None
    except ValueError:  # a NUL character in the path (os.open refuses it)
        raise UnusableFile(f"{str(path)!r}: {what} not found (the path holds a NUL "
                           "character)") from None
    except OSError as exc:
        raise UnusableFile(f"{path}: cannot open {what}: {exc.strerror or exc}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = "a folder" if stat.S_ISDIR(st.st_mode) else "not a regular file"
            raise UnusableFile(f"{path}: is {kind}; expected a {what}")
        if st.st_size > max_bytes:
            raise UnusableFile(f"{path}: {st.st_size} bytes; a {what} is at most {max_bytes}")
        chunks = []
        remaining = max_bytes + 1  # a file that grows while we read is still bounded
        while remaining > 0:
            try:
                chunk = os.read(fd, min(remaining, 1 << 20))
            except OSError as exc:
                raise UnusableFile(f"{path}: cannot read {what}: {exc.strerror or exc}") from None
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        data = b"".join(chunks)
        if len(data) > max_bytes:
            raise UnusableFile(f"{path}: grew past {max_bytes} bytes while read; a {what} "
                               "is at most that")
        return data
    finally:
        os.close(fd)


def real_parent(path: Path) -> Path:
    """The folder a file really lives in, without raising on symlink loops (unlike
    ``Path.resolve`` on Python 3.11, which raises RuntimeError)."""
    return Path(os.path.realpath(path)).parent
