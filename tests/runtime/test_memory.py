"""The malloc arena cap is applied where glibc exists (it is, on every supported box)."""

from __future__ import annotations

import ctypes.util

from vitad.runtime.memory import limit_malloc_arenas


def test_the_arena_cap_takes_effect_on_glibc() -> None:
    assert ctypes.util.find_library("c")  # Debian / Raspberry Pi OS
    assert limit_malloc_arenas(2) is True
