"""Helpers shared by the avatar tests (pixel access, states)."""

from __future__ import annotations

import numpy as np

from vitad.avatar.state import AvatarState
from vitad.config.avatar_settings import AvatarSettings

SIZES = [(1920, 1080), (1280, 720), (800, 480)]
DT = 1 / 30  # one frame at 30 fps


def pixels(surface) -> np.ndarray:
    """(h, w, 3) float array, the natural orientation for region slicing."""
    from vitad.avatar.renderer import surface_array

    return surface_array(surface).transpose(1, 0, 2).astype(np.float64)


def luminance(arr: np.ndarray) -> np.ndarray:
    return 0.2126 * arr[..., 0] + 0.7152 * arr[..., 1] + 0.0722 * arr[..., 2]


def region(arr: np.ndarray, rect) -> np.ndarray:
    x, y, w, h = rect
    return arr[max(0, y) : y + h, max(0, x) : x + w]


def new_state(settings: AvatarSettings | None = None, **kw) -> AvatarState:
    from datetime import time as dtime

    kw.setdefault("seed", 1)
    kw.setdefault("wallclock", lambda: dtime(12, 0))
    return AvatarState(settings, **kw)


def run(st: AvatarState, seconds: float, dt: float = DT) -> None:
    """Tick ``st`` forward ``seconds`` in steps of ``dt``."""
    end = st.now + seconds
    while st.now < end - 1e-9:
        st.tick(st.now + dt)
