"""Smooth motion shared by the face: exponential approach (mouth, gaze) and breathing."""

from __future__ import annotations

import math


def approach(current: float, target: float, dt: float, tau: float) -> float:
    """``current`` moved towards ``target`` over ``dt`` s with time constant ``tau`` s."""
    if dt <= 0:
        return current
    return target + (current - target) * math.exp(-dt / tau)


class Breath:
    """A slow sine in -1..1 (``value``); slower still while the character sleeps (night)."""

    def __init__(self) -> None:
        self.value = 0.0
        self._phase = 0.0

    def tick(self, dt: float, sleepy: bool) -> None:
        period = 6.5 if sleepy else 4.2
        self._phase = (self._phase + 2 * math.pi * dt / period) % (2 * math.pi)
        self.value = math.sin(self._phase)
