"""Opening the display (KMSDRM first, then the desktop), presenting frames, pumping events."""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

import pygame

from vitad.config.avatar_settings import AvatarSettings

log = logging.getLogger(__name__)

_DESKTOP = "desktop"  # let SDL pick (x11 / wayland / windows / cocoa)


def _candidates(settings: AvatarSettings) -> list[str]:
    forced = os.environ.get("SDL_VIDEODRIVER")
    if forced:
        return [forced]
    if settings.driver != "auto":
        return [settings.driver]
    return ["kmsdrm", _DESKTOP]


def open_display(settings: AvatarSettings) -> pygame.Surface | None:
    """Open the screen, or log one line and return None (the daemon goes voice-only).

    KMSDRM (Raspberry Pi OS Lite, no X) is fullscreen at the screen's own mode unless
    ``fullscreen = false``; a desktop gets a window of ``settings.size``. Never raises.
    """
    if not settings.enabled:
        log.info("avatar: disabled in config ([avatar] enabled = false); voice only")
        return None
    errors: list[str] = []
    saved = os.environ.get("SDL_VIDEODRIVER")
    for driver in _candidates(settings):
        try:
            if driver == _DESKTOP:
                os.environ.pop("SDL_VIDEODRIVER", None)
            else:
                os.environ["SDL_VIDEODRIVER"] = driver
            pygame.display.init()
            if driver == "kmsdrm" and settings.fullscreen:
                screen = pygame.display.set_mode((0, 0), pygame.FULLSCREEN)
            else:
                screen = pygame.display.set_mode(settings.window_size)
            pygame.display.set_caption("vitad")
            pygame.mouse.set_visible(False)
            pygame.event.set_allowed(None)
            pygame.event.set_allowed([pygame.QUIT, pygame.WINDOWEXPOSED, pygame.VIDEORESIZE])
            log.info("avatar: display %s %dx%d", pygame.display.get_driver(), *screen.get_size())
            return screen
        except Exception as exc:  # pygame.error, missing devices, permissions...
            errors.append(f"{driver}: {exc}".strip())
            with contextlib.suppress(Exception):
                pygame.display.quit()
    if saved is None:
        os.environ.pop("SDL_VIDEODRIVER", None)
    else:
        os.environ["SDL_VIDEODRIVER"] = saved
    log.warning("avatar: no display could be opened (%s); continuing voice-only", "; ".join(errors))
    return None


def present(rects: list[pygame.Rect]) -> None:
    """Push changed rectangles to the screen (no-op if nothing changed)."""
    if rects and pygame.display.get_init() and pygame.display.get_surface() is not None:
        pygame.display.update(rects)


def pump_events() -> tuple[bool, bool]:
    """Drain the SDL queue. Returns (quit_requested, needs_full_redraw)."""
    if not pygame.display.get_init():
        return False, False
    quit_requested = redraw = False
    for ev in pygame.event.get():
        if ev.type == pygame.QUIT:
            quit_requested = True
        elif ev.type in (pygame.WINDOWEXPOSED, pygame.VIDEORESIZE):
            redraw = True
    return quit_requested, redraw


def close_display() -> None:
    if pygame.display.get_init():
        pygame.display.quit()


def new_surface(size: tuple[int, int]) -> pygame.Surface:
    """An off-screen target (screenshots, tests, benchmarks)."""
    return pygame.Surface(size)


def save_png(surface: pygame.Surface, path: str | Path) -> None:
    pygame.image.save(surface, str(path))


def surface_array(surface: pygame.Surface):  # -> numpy.ndarray (w, h, 3)
    """A copy of the pixels as a numpy array (tests and benchmarks)."""
    import pygame.surfarray

    return pygame.surfarray.array3d(surface)
