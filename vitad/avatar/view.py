"""AvatarView: the daemon-facing API (open the screen, feed events, draw frames, reload).

The daemon's main thread owns pygame: it calls :meth:`AvatarView.handle` for each event it
receives (already marshalled to the main thread) and :meth:`AvatarView.frame` from its loop.
pygame itself is imported lazily (by :mod:`vitad.avatar.renderer`) in :meth:`start`, so a
voice-only install never loads SDL.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from vitad.avatar.cards import wake_phrase_from_config
from vitad.avatar.state import RESTING_MODES, AvatarState
from vitad.config.schema import Config
from vitad.events import Event

if TYPE_CHECKING:
    from vitad.avatar.renderer import Renderer

log = logging.getLogger(__name__)


class AvatarView:
    def __init__(
        self,
        config: Config,
        wake_phrase: str | None = None,
        *,
        seed: int | None = None,
    ) -> None:
        self.config = config
        self.wake_phrase = wake_phrase or wake_phrase_from_config(config)
        self.state = AvatarState(config.avatar, seed=seed, start=None,
                                 schedule=config.schedule)
        self.renderer: Renderer | None = None
        self.quit_requested = False
        self._next_frame = 0.0
        self._screen: Any = None  # a pygame Surface once the display is open

    @property
    def active(self) -> bool:
        return self.renderer is not None

    def start(self) -> bool:
        """Open the display. False = no screen (disabled or no driver): run voice-only."""
        if not self.config.avatar.enabled:
            log.info("avatar: disabled in config ([avatar] enabled = false); voice only")
            return False
        try:
            from vitad.avatar import renderer as rmod
        except Exception as exc:  # pygame missing or broken SDL
            log.warning("avatar: pygame unavailable (%s); continuing voice-only", exc)
            return False
        screen = rmod.open_display(self.config.avatar)
        if screen is None:
            return False
        self._screen = screen
        self.renderer = rmod.Renderer(screen, self.config, self.wake_phrase)
        return True

    def handle(self, event: Event) -> None:
        """Feed one pipeline event. Call from the thread that owns pygame. Never raises."""
        resting = self.resting
        try:
            self.state.on_event(event)
        except Exception:
            log.exception("avatar: failed to handle %s", getattr(event, "type", event))
        if resting and not self.resting:
            self._next_frame = 0.0  # a customer: show it now, not at the next resting frame

    @property
    def resting(self) -> bool:
        """Nothing is happening (no turn, no error): frames at ``[avatar] idle_fps``."""
        return self.state.mode in RESTING_MODES

    def frame(self, now: float | None = None) -> None:
        """Pump SDL events and draw if a frame is due (capped at ``[avatar] fps``)."""
        if self.renderer is None:
            return
        from vitad.avatar import renderer as rmod

        now = time.monotonic() if now is None else now
        try:
            quit_requested, redraw = rmod.pump_events()
            self.quit_requested |= quit_requested
            if redraw:
                self.renderer.invalidate()
            if now < self._next_frame:
                return
            avatar = self.config.avatar
            period = 1.0 / (min(avatar.idle_fps, avatar.fps) if self.resting else avatar.fps)
            # schedule on a fixed grid so timing does not drift, but never try to catch up
            self._next_frame = max(self._next_frame + period, now + period * 0.5)
            self.state.tick(now)
            rmod.present(self.renderer.draw(self.state))
        except Exception:
            log.exception("avatar: frame failed; continuing")

    def seconds_until_next_frame(self, now: float | None = None) -> float:
        """How long the caller's loop may sleep before the next frame is due."""
        now = time.monotonic() if now is None else now
        return max(0.0, self._next_frame - now)

    def apply_config(self, config: Config, wake_phrase: str | None = None) -> None:
        """Hot reload. Theme, fonts, cards, quiet hours apply at once; a new window size or
        driver needs a restart (the screen is not reopened under a running daemon)."""
        old = self.config.avatar
        self.config = config
        if wake_phrase:
            self.wake_phrase = wake_phrase
        self.state.apply_settings(config.avatar, config.schedule)
        if self.renderer is not None:
            self.renderer.apply_config(config, self.wake_phrase)
        new = config.avatar
        if (old.enabled, old.size, old.driver, old.fullscreen) != (
            new.enabled,
            new.size,
            new.driver,
            new.fullscreen,
        ):
            log.info("avatar: display settings changed; they apply after a restart")

    def close(self) -> None:
        if self.renderer is None:
            return
        from vitad.avatar import renderer as rmod

        self.renderer = None
        self._screen = None
        rmod.close_display()
