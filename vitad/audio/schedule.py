"""Quiet hours: which reply volume, earcon volume and screen brightness apply right now.

The settings are read through a callable on every question, so a reload applies at the next
reply, and the wall clock is injected so tests can cross a boundary without waiting.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from vitad.config.schedule_settings import QuietRange, ScheduleSettings


@dataclass(frozen=True)
class Levels:
    """Factors on the normal levels (1.0 = as configured) and the quiet range in force."""

    volume: float = 1.0
    earcon_volume: float = 1.0
    dim: float = 1.0
    quiet: str | None = None  # e.g. "22:00-07:00"; None outside quiet hours


class Schedule:
    def __init__(self, settings: Callable[[], ScheduleSettings],
                 now: Callable[[], datetime] = datetime.now) -> None:
        self.settings = settings
        self.now = now

    def active(self, now: datetime | None = None) -> QuietRange | None:
        at = now or self.now()
        minute = at.hour * 60 + at.minute
        return next((r for r in self.settings().quiet if r.covers(minute)), None)

    def levels_at(self, now: datetime | None = None) -> Levels:
        r = self.active(now)
        if r is None:
            return Levels()
        return Levels(r.volume, r.earcon_volume, r.dim, r.label)

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
                "earcon_volume": levels.earcon_volume, "dim": levels.dim}
