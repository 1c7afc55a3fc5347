"""Quiet hours: which reply volume, earcon volume and screen brightness apply right now.

The settings are read through a callable on every question, so a reload applies at the next
reply, and the wall clock is injected so tests can cross a boundary without waiting.

The screen: the first quiet range in force that sets ``dim`` gives its brightness. Until any
range sets ``dim``, the older ``[avatar] night_start / night_end / night_brightness`` keys
(default 22:00-06:00 at 0.35) still dim it, so a box whose config predates ``[schedule]``
keeps its night; they are deprecated (:func:`night_keys_note`), the schedule wins over them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from vitad.config.avatar_settings import AvatarSettings
from vitad.config.schedule_settings import QuietRange, ScheduleSettings

NIGHT_KEYS = ("night_start", "night_end", "night_brightness")


@dataclass(frozen=True)
class Levels:
    """Factors on the normal levels (1.0 = as configured) and the quiet range in force."""

    volume: float = 1.0
    earcon_volume: float = 1.0
    dim: float = 1.0
    quiet: str | None = None  # e.g. "22:00-07:00"; None outside quiet hours
    night: bool = False  # the screen is in its night look (dimmed, sleepy, no info cards)
    dim_from: str = "schedule"  # "schedule" or "[avatar] night_*" (the deprecated keys)


def sets_dim(settings: ScheduleSettings) -> bool:
    """Does the schedule govern the screen? Once any quiet range sets ``dim``, it does."""
    return any("dim" in r.model_fields_set for r in settings.quiet)


def avatar_night(avatar: AvatarSettings) -> QuietRange | None:
    """The ``[avatar] night_*`` window as a quiet range that only dims, or None (unset)."""
    if not avatar.night_start or not avatar.night_end or avatar.night_start == avatar.night_end:
        return None
    return QuietRange.model_validate({"from": avatar.night_start, "to": avatar.night_end,
                                      "dim": avatar.night_brightness})


def night_keys_note(settings: ScheduleSettings, avatar: AvatarSettings) -> str | None:
    """The one log line for a config that sets the deprecated ``[avatar] night_*`` keys."""
    given = [k for k in NIGHT_KEYS if k in avatar.model_fields_set]
    if not given:
        return None
    keys = ", ".join(f"[avatar] {k}" for k in given)
    if sets_dim(settings):
        return f"{keys}: deprecated and ignored, [schedule] quiet ranges set dim"
    return (f"{keys}: deprecated; write the night as [schedule] quiet = "
            f"[{{ from = \"{avatar.night_start}\", to = \"{avatar.night_end}\", "
            f"dim = {avatar.night_brightness} }}]")


class Schedule:
    def __init__(self, settings: Callable[[], ScheduleSettings],
                 now: Callable[[], datetime] = datetime.now,
                 avatar: Callable[[], AvatarSettings] | None = None) -> None:
        """``avatar``: the ``[avatar]`` settings, for its deprecated night keys (None: the
        screen follows the schedule alone)."""
        self.settings = settings
        self.now = now
        self.avatar = avatar

    def active(self, now: datetime | None = None) -> QuietRange | None:
        at = now or self.now()
        minute = at.hour * 60 + at.minute
        return next((r for r in self.settings().quiet if r.covers(minute)), None)

    def levels_at(self, now: datetime | None = None) -> Levels:
        at = now or self.now()
        minute = at.hour * 60 + at.minute
        settings = self.settings()
        r = next((q for q in settings.quiet if q.covers(minute)), None)
        volume, earcon, label = (1.0, 1.0, None) if r is None else (
            r.volume, r.earcon_volume, r.label)
        if sets_dim(settings) or self.avatar is None:
            screen = next((q for q in settings.quiet
                           if "dim" in q.model_fields_set and q.covers(minute)), None)
            dim = 1.0 if screen is None else screen.dim
            return Levels(volume, earcon, dim, label, dim < 1.0)
        night = avatar_night(self.avatar())
        if night is None or not night.covers(minute):
            return Levels(volume, earcon, 1.0, label, False, "[avatar] night_*")
        return Levels(volume, earcon, night.dim, label, True, "[avatar] night_*")

    def volume_at(self, now: datetime | None = None) -> float:
        """The reply volume factor (multiplies ``[audio] volume``); 1.0 outside quiet hours."""
        return self.levels_at(now).volume

    def earcon_volume_at(self, now: datetime | None = None) -> float:
        """The earcon volume factor (multiplies ``[audio] earcon_volume``)."""
        return self.levels_at(now).earcon_volume

    def health(self, now: datetime | None = None) -> dict[str, Any]:
        """For ``vitad health``: the quiet range in force (or null) and its factors."""
        levels = self.levels_at(now)
        return {"quiet": levels.quiet, "volume": levels.volume,
                "earcon_volume": levels.earcon_volume, "dim": levels.dim,
                "dim_from": levels.dim_from}
