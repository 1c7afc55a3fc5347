"""Everything that touches pygame lives in this package (and nowhere else in vitad).

Keeping pygame behind this boundary means the daemon can import the avatar's state and
config without SDL, and a machine without a display simply runs voice-only.
"""

import os

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")  # before the first pygame import

from vitad.avatar.renderer.display import (
    close_display,
    new_surface,
    open_display,
    present,
    pump_events,
    save_png,
    surface_array,
)
from vitad.avatar.renderer.layout import Layout, compute_layout
from vitad.avatar.renderer.scene import Renderer

__all__ = [
    "Layout",
    "Renderer",
    "close_display",
    "compute_layout",
    "new_surface",
    "open_display",
    "present",
    "pump_events",
    "save_png",
    "surface_array",
]
