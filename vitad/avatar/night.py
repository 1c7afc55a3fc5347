"""Quiet hours on screen: the sleepy night look and the screen's brightness.

The ``[schedule]`` table's quiet ranges (:mod:`vitad.audio.schedule`) are read against the
injected wall clock at most every ``CHECK_S`` s (a frame must not pay for it); a reload or a
forced preview night takes effect at once.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from datetime import date, datetime
from datetime import time as dtime

from vitad.audio.schedule import Schedule, night_keys_note
from vitad.config.avatar_settings import AvatarSettings
from vitad.config.schedule_settings import ScheduleSettings

log = logging.getLogger(__name__)

CHECK_S = 10.0


class NightDimmer:
    """``brightness`` (0.05..1) multiplies every colour the renderer draws; ``night`` is the
    sleepy look (no info cards) while dimmed. ``avatar`` returns the current ``[avatar]``
    settings (their deprecated ``night_*`` keys still make a night without a schedule)."""

    def __init__(self, schedule: ScheduleSettings | None,
                 avatar: Callable[[], AvatarSettings], wallclock: Callable[[], dtime]) -> None:
        self._settings = schedule or ScheduleSettings()
        self._avatar = avatar
        self._schedule = Schedule(lambda: self._settings,
                                  now=lambda: datetime.combine(date.today(), wallclock()),
                                  avatar=avatar)
        self.night = False
        self.brightness = 1.0
        self._checked = -math.inf
        self._log_night_keys()

    def apply(self, schedule: ScheduleSettings | None) -> None:
        """A reload (of ``[schedule]`` if given, and of ``[avatar]``): check at the next tick."""
        if schedule is not None:
            self._settings = schedule
        self._checked = -math.inf
        self._log_night_keys()

    def _log_night_keys(self) -> None:
        note = night_keys_note(self._settings, self._avatar())
        if note:
            log.warning("avatar: %s", note)

    def tick(self, now: float) -> None:
        if now - self._checked < CHECK_S:
            return
        self._checked = now
        levels = self._schedule.levels_at()
        self.night = levels.night
        self.brightness = max(0.05, min(1.0, levels.dim))

    def force_night(self, brightness: float) -> None:
        """Night regardless of the wall clock (previews); dimmed to ``brightness`` unless the
        clock is already in a dimmed range."""
        self.night = True
        if self.brightness >= 1.0:  # the wall clock is not in a dimmed range
            self.brightness = brightness
        self._checked = math.inf  # keep night regardless of the wall clock
