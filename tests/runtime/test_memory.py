"""The malloc arena cap and the heap trim work where glibc exists (every supported box)."""

from __future__ import annotations

import ctypes.util

import psutil

from vitad.runtime.memory import IdleTrim, limit_malloc_arenas, release_free_memory

MIB = 1024 * 1024


def test_the_arena_cap_takes_effect_on_glibc() -> None:
    assert ctypes.util.find_library("c")  # Debian / Raspberry Pi OS
    assert limit_malloc_arenas(2) is True


def test_freed_heap_goes_back_to_the_os() -> None:
    """64 KiB blocks come from the heap; with a live block above them, glibc keeps them
    mapped after ``free`` until the trim."""
    me = psutil.Process()
    blocks = [bytearray(b"x" * 65536) for _ in range(1200)]  # ~75 MiB, touched
    pin = bytearray(b"y" * 65536)  # above them: the heap top cannot shrink past it
    held = me.memory_info().rss
    del blocks
    kept = me.memory_info().rss
    assert release_free_memory() is True
    trimmed = me.memory_info().rss
    assert held - kept < 20 * MIB, "freed blocks were already returned; the test shows nothing"
    assert kept - trimmed > 50 * MIB, (held / MIB, kept / MIB, trimmed / MIB)
    assert pin[0] == ord("y")


def test_an_idle_box_trims_at_most_once_a_period_and_never_while_busy() -> None:
    now = [0.0]
    released: list[float] = []
    trim = IdleTrim(60.0, clock=lambda: now[0], release=lambda: released.append(now[0]) or True)
    now[0] = 59.0
    assert not trim.maybe(idle=True)  # not due yet
    now[0] = 61.0
    assert not trim.maybe(idle=False)  # a turn is live
    assert trim.maybe(idle=True) and released == [61.0]
    now[0] = 100.0
    assert not trim.maybe(idle=True)  # the period counts from the last trim
    now[0] = 121.0
    assert trim.maybe(idle=True) and released == [61.0, 121.0] and trim.trims == 2
