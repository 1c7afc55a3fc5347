"""The mouth: how open it is, smoothed from the playback's MouthLevel events, and its viseme.

No pygame here: :class:`vitad.avatar.state.AvatarState` owns one and the renderer reads it.
"""

from __future__ import annotations

import math

from vitad.avatar.motion import approach

# Mouth smoothing. Attack is fast so syllable onsets are visible, release slower so the
# mouth does not flicker shut between audio chunks. Levels under the gate are silence.
# Tuned with tests/avatar/test_mouth.py::test_lipsync_*: at 30 fps the mouth tracks a
# syllable-rate envelope with r ~ 0.95 at a one-frame (33 ms) delay.
MOUTH_ATTACK_S = 0.02
MOUTH_RELEASE_S = 0.06
MOUTH_GATE = 0.04
MOUTH_STALE_S = 0.15  # no MouthLevel for this long -> target 0 (playback stopped)
# Mouth shapes driven by phonemes (Piper alignments); "closed" also covers pauses.
VISEMES = ("closed", "open", "wide", "round")


class Mouth:
    """``level`` is the openness (0..1) to draw; ``viseme`` the shape the phonemes being
    spoken call for (one of :data:`VISEMES`), or None: then the renderer opens the mouth by
    loudness (``level``) alone."""

    def __init__(self) -> None:
        self._target = 0.0
        self._peak = 0.0  # max level since the previous tick (peak-hold per frame)
        self._last_level_t = -math.inf
        self.level = 0.0
        self.viseme: str | None = None

    def hear(self, level: float, viseme: str | None, now: float) -> float:
        """One MouthLevel arrived at ``now``; the level as used (clamped to 0..1)."""
        level = min(1.0, max(0.0, float(level)))
        if not math.isfinite(level):
            level = 0.0
        self.viseme = viseme if viseme in VISEMES else None
        self._target = level
        self._peak = max(self._peak, level)
        self._last_level_t = now
        return level

    def release(self) -> None:
        """Playback ended: close towards 0 (the viseme clears at the next tick)."""
        self._target = 0.0

    def stop(self) -> None:
        """The turn ended: nothing is being said."""
        self._target = 0.0
        self.viseme = None

    def tick(self, now: float, dt: float, speaking: bool) -> None:
        if now - self._last_level_t > MOUTH_STALE_S or not speaking:
            self._target = 0.0
            self._peak = 0.0
            self.viseme = None  # playback stopped: no phoneme is being said
        target = max(self._target, self._peak)
        self._peak = 0.0
        target = 0.0 if target < MOUTH_GATE else min(1.0, (target - MOUTH_GATE) / 0.7)
        tau = MOUTH_ATTACK_S if target > self.level else MOUTH_RELEASE_S
        self.level = approach(self.level, target, dt, tau)
        if self.level < 0.01:
            self.level = 0.0
