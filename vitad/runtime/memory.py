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
import time
from collections.abc import Callable

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


# An idle box gives freed heap back this often: Piper's synthesis frees large buffers that
# glibc keeps mapped. Measured: preparing the shop's 121 reply chunks left the voice's process
# at 224 MiB, 174 MiB after a trim; a trim takes ~1 ms idle, ~10 ms after synthesis.
IDLE_TRIM_S = 60.0


class IdleTrim:
    """:func:`release_free_memory` at most every ``every_s``, and only when told the box is
    idle (a trim while a turn is live would only delay it by milliseconds, but there is no
    point: the turn is about to allocate again)."""

    def __init__(self, every_s: float = IDLE_TRIM_S,
                 clock: Callable[[], float] = time.monotonic,
                 release: Callable[[], bool] = release_free_memory) -> None:
        self.every_s = every_s
        self._clock = clock
        self._release = release
        self._last = clock()
        self.trims = 0

    def maybe(self, idle: bool) -> bool:
        """Trim if idle and due; whether it did."""
        now = self._clock()
        if not idle or now - self._last < self.every_s:
            return False
        self._release()
        self._last, self.trims = now, self.trims + 1
        return True
