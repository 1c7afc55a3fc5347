"""Keep the daemon's memory flat over months: cap glibc's per-thread malloc arenas, and give
freed heap back to the OS after loading.

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


def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        return ctypes.CDLL(name)
    except OSError:
        return None


def limit_malloc_arenas(arenas: int = DEFAULT_ARENAS) -> bool:
    """Cap malloc arenas for threads created from now on; False where glibc is absent."""
    libc = _libc()
    if libc is None:
        return False
    try:
        return bool(libc.mallopt(M_ARENA_MAX, arenas))
    except AttributeError as exc:  # musl or another libc: nothing to tune
        log.debug("mallopt unavailable: %s", exc)
        return False


def release_free_memory() -> bool:
    """Return freed heap pages to the OS (glibc ``malloc_trim(0)``); False without glibc.

    Why: loading the models allocates and frees large scratch buffers (openWakeWord's warm-up
    batch, Piper's and the recognizer's load-time copies). glibc raises its mmap threshold
    after the first big free, so later big buffers come from the heap and stay mapped after
    they are freed: ~10-50 MiB of RSS nobody uses. Call it once loading is done (and after a
    reload); it takes a few milliseconds.
    """
    libc = _libc()
    if libc is None:
        return False
    try:
        released = libc.malloc_trim(0)
    except AttributeError as exc:  # not glibc
        log.debug("malloc_trim unavailable: %s", exc)
        return False
    log.debug("malloc_trim: %s", "memory released" if released else "nothing to release")
    return True
