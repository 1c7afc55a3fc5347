"""The ``[schedule]`` table: quiet hours for reply volume, earcon volume and screen dimming.

A range is written ``{ from = "22:00", to = "07:00", volume = 0.6 }`` and may cross midnight.
The levels are *factors* on the normal ones (``[audio] volume`` / ``earcon_volume``, the
screen's full brightness): "22:00-07:00 at 60 %". :mod:`vitad.audio.schedule` applies them.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def clock_minutes(value: str) -> int:
    """Minutes after midnight of an "HH:MM" time (already validated)."""
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


class QuietRange(BaseModel):
    """One quiet period, local time; ``from`` is inclusive, ``to`` exclusive."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    start: str = Field(alias="from")
    end: str = Field(alias="to")
    volume: Annotated[float, Field(ge=0, le=1)] = 1.0
    earcon_volume: Annotated[float, Field(ge=0, le=1)] = 1.0
    dim: Annotated[float, Field(ge=0.05, le=1)] = 1.0

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, v: str) -> str:
        if not isinstance(v, str) or not _CLOCK.match(v):
            raise ValueError("expected a time of day as \"HH:MM\" (00:00-23:59)")
        return v

    @model_validator(mode="after")
    def _not_empty(self) -> QuietRange:
        if self.start == self.end:
            raise ValueError(f"from and to are both {self.start}: an empty range")
        return self

    def covers(self, minute: int) -> bool:
        """Is ``minute`` (after midnight) inside this range? Handles ranges past midnight."""
        lo, hi = clock_minutes(self.start), clock_minutes(self.end)
        return lo <= minute < hi if lo < hi else minute >= lo or minute < hi

    @property
    def label(self) -> str:
        return f"{self.start}-{self.end}"


class ScheduleSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    quiet: list[QuietRange] = Field(default_factory=list)
    """Quiet hours; where ranges overlap, the first listed wins."""
