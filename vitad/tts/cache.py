"""Bounded on-disk cache of synthesized sentences, keyed by voice + settings + text.

An entry is one file named by a sha256 key (``<key>.pcm``, the name format 1 had, so tools
that count entries keep working): a small header (format mark, then the phoneme
alignments as JSON, or null for a voice without them) followed by the int16 PCM, so the
audio and its alignments are stored, evicted and replaced together. Writes are atomic
(tmp + rename) so a power cut leaves either the old state or a complete entry.
:data:`FORMAT` is part of every key: entries of an older format (format 1 was bare PCM)
are never looked up again and leave by the normal LRU eviction; one that is somehow read
anyway fails the format check and counts as a miss. When the total size passes the bound the
least recently used entries (by mtime, touched on every hit) are removed. A cache folder that
cannot be written disables caching with one log line; synthesis still works.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import stat
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vitad.fileio import UnusableFile, read_regular_file, write_atomic
from vitad.tts.visemes import Alignment

log = logging.getLogger(__name__)

FORMAT = 2
_MAGIC = b"VTS2"
_HEAD = struct.Struct("<4sI")  # magic, header length


@dataclass(frozen=True)
class Speech:
    """One synthesized sentence: its audio and, where the voice gives them, the phoneme
    alignments (which phoneme produced how many of ``samples``)."""

    samples: np.ndarray  # mono int16 at the voice's rate
    alignment: Alignment | None = None


def _header(alignment: Alignment | None) -> bytes:
    """Padded to an even length so the whole file is, like the PCM (a truncated file is then
    usually odd, and caught)."""
    align = None if alignment is None else [[p, int(n)] for p, n in alignment]
    header = json.dumps({"alignment": align}, ensure_ascii=False).encode()
    return header + b" " * (len(header) % 2)


def encode_entry(speech: Speech) -> bytes:
    """The file content of an entry."""
    header = _header(speech.alignment)
    return (_HEAD.pack(_MAGIC, len(header)) + header
            + speech.samples.astype(np.int16).tobytes())


def entry_bytes(speech: Speech) -> int:
    """The size on disk of this entry (what counts against the cache's bound)."""
    return _HEAD.size + len(_header(speech.alignment)) + 2 * len(speech.samples)


def decode_entry(data: bytes) -> Speech | None:
    """An entry's content, or None when it is not a complete entry of this format."""
    if len(data) < _HEAD.size:
        return None
    magic, header_len = _HEAD.unpack_from(data)
    start = _HEAD.size + header_len
    if magic != _MAGIC or start > len(data) or (len(data) - start) % 2:
        return None
    try:
        raw = json.loads(data[_HEAD.size : start])["alignment"]
        alignment = None if raw is None else tuple((str(p), int(n)) for p, n in raw)
    except (ValueError, TypeError, KeyError):
        return None
    samples = np.frombuffer(data, dtype=np.int16, offset=start)
    if alignment is not None and sum(n for _, n in alignment) != len(samples):
        return None
    return Speech(samples, alignment)


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
        return hashlib.sha256(
            f"{FORMAT}\0{voice_id}\0{settings}\0{text}".encode()).hexdigest()

    def get(self, key: str) -> Speech | None:
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
        speech = decode_entry(data)
        if speech is None:
            log.debug("tts cache: %s is not a complete entry; removed", path.name)
            path.unlink(missing_ok=True)  # truncated by something outside our control
            self.misses += 1
            return None
        self.hits += 1
        return speech

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

    def put(self, key: str, samples: np.ndarray, alignment: Alignment | None = None) -> None:
        """Store a sentence's audio with its alignments (None: the voice gives none)."""
        if not self.enabled or entry_bytes(Speech(samples, alignment)) > self.max_bytes:
            return
        try:
            write_atomic(self.directory / f"{key}.pcm", encode_entry(Speech(samples, alignment)))
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
