"""Shop branding on the attract screen: an optional logo PNG and accent colour (no pygame).

The accent colour is checked by the config schema (``#RRGGBB``). The logo is checked here,
like an avatar pack's layers: a regular file, a PNG by its header, of a sensible size. A bad
logo is one log line and no logo - never a stopped daemon.
"""

from __future__ import annotations

import logging
from pathlib import Path

from vitad.avatar.pack import png_size
from vitad.config.loader import one_line
from vitad.fileio import UnusableFile

log = logging.getLogger(__name__)

MAX_LOGO_SIDE = 4096


def check_logo(path: Path) -> str | None:
    """Why ``path`` cannot be the logo (one line), or None if it can."""
    try:
        w, h = png_size(path)
    except UnusableFile as exc:
        return f"avatar.logo: {exc}"
    if not (1 <= w <= MAX_LOGO_SIDE and 1 <= h <= MAX_LOGO_SIDE):
        return f"avatar.logo: {path} is {w}x{h} px; expected 1..{MAX_LOGO_SIDE} px a side"
    return None


def usable_logo(path: Path | None) -> Path | None:
    """``path`` if it is a usable logo; otherwise log why and return None."""
    if path is None:
        return None
    problem = check_logo(path)
    if problem is not None:
        log.error("%s; the attract screen shows no logo", one_line(problem))
        return None
    return path
