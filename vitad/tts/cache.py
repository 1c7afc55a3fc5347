"""Bounded on-disk cache of synthesized sentences, keyed by voice + settings + text.

Files are raw int16 PCM named by a sha256 key; writes are atomic (tmp + rename) so a power
cut leaves either the old state or a complete entry. When the total size passes the bound the
least recently used entries (by mtime, touched on every hit) are removed. A cache folder that
cannot be written disables caching with one log line; synthesis still works.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import stat
import tempfile
from pathlib import Path

import numpy as np

from vitad.fileio import UnusableFile, read_regular_file, write_atomic

log = logging.getLogger(__name__)


class AudioCache:
    def __init__(self, directory: Path, max_bytes: int) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.enabled = max_bytes > 0
        self.hits = 0
        self.misses = 0
        if self.enabled:
            try:
                directory.mkdir(parents=True, exist_ok=True)
                with tempfile.NamedTemporaryFile(dir=directory):
                    pass
            except OSError as exc:
                log.warning("tts cache disabled: cannot write %s (%s)", directory, exc.strerror)
                self.enabled = False
        if self.enabled:
            self._clean_temp_files()

    @staticmethod
    def key(voice_id: str, text: str, settings: str) -> str:
        return hashlib.sha256(f"{voice_id}\0{settings}\0{text}".encode()).hexdigest()

    def get(self, key: str) -> np.ndarray | None:
        if not self.enabled:
            return None
        path = self.directory / f"{key}.pcm"
        try:
            # Only a regular file is read: a FIFO planted here would block the speaker
            # thread for ever (and survive every restart).
            data = read_regular_file(path, max(self.max_bytes, 2), "cache entry")
            os.utime(path)
        except UnusableFile:
            if path.is_symlink() or (path.exists() and not path.is_file()):
                log.warning("tts cache: %s is not a regular file; removed", path.name)
                with contextlib.suppress(OSError):
                    path.unlink()
            self.misses += 1
            return None
        except OSError:
            self.misses += 1
            return None
        if len(data) % 2:
            path.unlink(missing_ok=True)  # truncated by something outside our control
            self.misses += 1
            return None
        self.hits += 1
        return np.frombuffer(data, dtype=np.int16)

    def entry_size(self, key: str) -> int | None:
        """Size in bytes of a regular-file entry, or None; marks it recently used (so the
        answers prepared for the current config outlive stale ones) without counting a hit."""
        if not self.enabled:
            return None
        path = self.directory / f"{key}.pcm"
        try:
            st = path.lstat()
            if not stat.S_ISREG(st.st_mode) or st.st_size % 2:
                return None
            os.utime(path)
        except OSError:
            return None
        return st.st_size

    def put(self, key: str, samples: np.ndarray) -> None:
        if not self.enabled or samples.nbytes > self.max_bytes:
            return
        try:
            write_atomic(self.directory / f"{key}.pcm", samples.astype(np.int16).tobytes())
        except OSError as exc:
            log.warning("tts cache: cannot store entry (%s)", exc.strerror)
            return
        self._evict()

    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.directory.glob("*.pcm"))

    def _evict(self) -> None:
        entries = []
        for p in self.directory.glob("*.pcm"):
            try:
                st = p.stat()
            except FileNotFoundError:
                continue
            entries.append((st.st_mtime, st.st_size, p))
        total = sum(size for _, size, _ in entries)
        for _, size, path in sorted(entries):
            if total <= self.max_bytes:
                break
            path.unlink(missing_ok=True)
            total -= size

    def _clean_temp_files(self) -> None:
        for p in self.directory.glob("*.tmp"):
            p.unlink(missing_ok=True)
