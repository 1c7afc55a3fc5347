"""The eyes: random natural blinks and glances, and where the character looks per mode.

No pygame here: :class:`vitad.avatar.state.AvatarState` owns one and the renderer reads it.
Blinks and glances draw from the state's seeded ``random.Random`` so they are reproducible.
"""

from __future__ import annotations

import math
import random

from vitad.avatar.motion import approach

BLINK_CLOSE_S = 0.06
BLINK_HOLD_S = 0.03
BLINK_OPEN_S = 0.10
GAZE_TAU_S = 0.06  # eyes move quickly (saccades) but not in one frame
# How open the eyes rest, by mode (1.0 otherwise).
RESTING_OPENNESS = {"night": 0.45, "degraded": 0.6, "listening": 1.12}  # sleepy .. wide


class Eyes:
    """``open`` is the openness to draw (0 shut, 1 normal, >1 wide); ``gaze`` where they look
    (x, y in -1..1 of the pack's gaze reach)."""

    def __init__(self, rng: random.Random, start: float) -> None:
        self._rng = rng
        self.open = 1.0
        self._next_blink = start + self._blink_interval()
        self._blink_start = -math.inf
        self._double_blink = False
        self.gaze = (0.0, 0.0)
        self._gaze_target = (0.0, 0.0)
        self._next_glance = start + self._rng.uniform(3.0, 7.0)
        self._glance_until = -math.inf

    def shift(self, by: float) -> None:
        """Move the next blink and glance by ``by`` s (a lazily started clock)."""
        self._next_blink += by
        self._next_glance += by

    def look_ahead(self) -> None:
        """Drop any glance aside: someone just spoke to us."""
        self._gaze_target = (0.0, 0.0)

    def settle(self, now: float, hold_s: float) -> None:
        """No blink or glance for ``hold_s`` from ``now``."""
        self._next_blink = now + hold_s
        self._blink_start = -math.inf
        self._glance_until = -math.inf
        self._next_glance = now + hold_s

    def force_blink(self, at: float) -> None:
        self._next_blink = at
        self._blink_start = -math.inf

    def tick(self, now: float, dt: float, mode: str) -> None:
        self._tick_blink(now, mode)
        self._tick_gaze(now, dt, mode)

    def _blink_interval(self) -> float:
        # People blink every 2-10 s; a slightly skewed draw looks less mechanical than uniform.
        return 1.8 + self._rng.expovariate(1 / 2.8)

    def _tick_blink(self, now: float, mode: str) -> None:
        if now >= self._next_blink and self._blink_start < self._next_blink:
            self._blink_start = now
            self._double_blink = self._rng.random() < 0.12
            self._next_blink = now + self._blink_interval()
        total = BLINK_CLOSE_S + BLINK_HOLD_S + BLINK_OPEN_S
        e = now - self._blink_start
        if self._double_blink and total <= e < 2 * total:
            e -= total
        if e < 0 or e >= total:
            closed = 0.0
        elif e < BLINK_CLOSE_S:
            closed = e / BLINK_CLOSE_S
        elif e < BLINK_CLOSE_S + BLINK_HOLD_S:
            closed = 1.0
        else:
            closed = 1.0 - (e - BLINK_CLOSE_S - BLINK_HOLD_S) / BLINK_OPEN_S
        self.open = RESTING_OPENNESS.get(mode, 1.0) * (1.0 - closed)

    def _tick_gaze(self, now: float, dt: float, mode: str) -> None:
        if mode == "thinking":
            target = (0.55, -0.6)
        elif mode in ("listening", "speaking", "error"):
            target = (0.0, 0.0)
            if mode == "speaking" and now >= self._next_glance:
                # small, short looks aside while talking
                self._gaze_target = (self._rng.uniform(-0.3, 0.3), self._rng.uniform(-0.15, 0.1))
                self._glance_until = now + self._rng.uniform(0.4, 0.9)
                self._next_glance = now + self._rng.uniform(2.0, 4.0)
            if now < self._glance_until:
                target = self._gaze_target
        else:
            if now >= self._next_glance:
                self._gaze_target = (self._rng.uniform(-1, 1), self._rng.uniform(-0.5, 0.4))
                self._glance_until = now + self._rng.uniform(0.7, 1.8)
                self._next_glance = self._glance_until + self._rng.uniform(3.0, 8.0)
            target = self._gaze_target if now < self._glance_until else (0.0, 0.0)
        gx = approach(self.gaze[0], target[0], dt, GAZE_TAU_S)
        gy = approach(self.gaze[1], target[1], dt, GAZE_TAU_S)
        self.gaze = (gx, gy)
