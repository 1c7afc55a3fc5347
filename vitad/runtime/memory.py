"""Keep the daemon's memory flat over months: cap glibc's per-thread malloc arenas.

Why: glibc gives every thread that allocates its own malloc arena (up to 8 × cores), and
memory freed into an arena is rarely returned to the OS. Piper's onnxruntime work on the
speaker thread grew the daemon by ~70 MiB after the first long reply and never gave it
back; with two arenas the same replies add ~4 MiB (three rounds of two replies, one of
them long, measured on the 2-core dev box). The unit also sets ``MALLOC_ARENA_MAX=2`` so
the cap applies before Python starts; this call covers ``vitad run`` started by hand.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger(__name__)

M_ARENA_MAX = -8  # from glibc's malloc.h
DEFAULT_ARENAS = 2


def limit_malloc_arenas(arenas: int = DEFAULT_ARENAS) -> bool:
    """Cap malloc arenas for threads created from now on; False where glibc is absent."""
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        return bool(libc.mallopt(M_ARENA_MAX, arenas))
    except (OSError, AttributeError) as exc:  # musl or another libc: nothing to tune
        log.debug("mallopt unavailable: %s", exc)
        return False
