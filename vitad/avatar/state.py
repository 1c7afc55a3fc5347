"""The avatar's state: a pure object (no pygame) fed by pipeline events and a clock.

The renderer only *reads* this object, so everything that moves on screen - blinks, glances,
breathing, the mouth, captions, attract cards, overlays - is decided here and can be tested
without a display. ``tick(now)`` must be called with the same clock as the events' ``t``
(seconds since the daemon started) but the state never assumes ticks are regular.

This module is the turn state machine (events -> mode, captions, overlays, attract); the
face's timing has modules of its own: mouth.py (lip-sync, visemes), eyes.py (blinks, gaze),
motion.py (breathing) and night.py (quiet hours' dim).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from datetime import time as dtime

from vitad.avatar.eyes import Eyes
from vitad.avatar.motion import Breath
from vitad.avatar.mouth import MOUTH_GATE, VISEMES, Mouth
from vitad.avatar.night import NightDimmer
from vitad.config.avatar_settings import AvatarSettings
from vitad.config.schedule_settings import ScheduleSettings
from vitad.events import (
    AudioOutEnd,
    AudioOutStart,
    Degraded,
    Event,
    Intent,
    Listening,
    MouthLevel,
    Reply,
    SpeakingSentence,
    SpeechEnd,
    SpeechStart,
    StageError,
    Transcript,
    TurnEnd,
    Wake,
)

__all__ = ["MODES", "RESTING_MODES", "TURN_MODES", "VISEMES", "AvatarState", "Overlay"]

MODES = ("idle", "listening", "thinking", "speaking", "degraded", "error", "night")
TURN_MODES = ("listening", "thinking", "speaking")
# Nobody is talking to us: only breathing, blinks and cards move ([avatar] idle_fps).
RESTING_MODES = ("idle", "degraded", "night")


@dataclass(frozen=True)
class Overlay:
    """An active degraded mode, as shown on screen."""

    component: str
    mode: str
    detail: str = ""


class AvatarState:
    """Everything the renderer needs, advanced by events and :meth:`tick`.

    ``seed`` makes blinks and glances reproducible; ``wallclock`` returns local time of day
    (injected so tests can be night or day); ``schedule`` is the ``[schedule]`` table, whose
    quiet ranges dim the screen (``brightness``, night mode; :mod:`vitad.audio.schedule`).
    ``start=None`` starts the clock at the first :meth:`tick`. Timers use the clock given to
    :meth:`tick`, not ``event.t``: events may be stamped on another clock (simulate uses the
    input audio's), and what matters on screen is when an event *arrives* (MouthLevel is
    published at playback time).
    """

    def __init__(
        self,
        settings: AvatarSettings | None = None,
        *,
        seed: int | None = None,
        wallclock: Callable[[], dtime] | None = None,
        start: float | None = 0.0,
        schedule: ScheduleSettings | None = None,
    ) -> None:
        self.settings = settings or AvatarSettings()
        self._rng = random.Random(seed)
        self._night = NightDimmer(schedule, lambda: self.settings,
                                  wallclock or (lambda: datetime.now().time()))
        self._init_timers(0.0 if start is None else start)
        self._started = start is not None

    def _init_timers(self, start: float) -> None:
        self.now = start
        # Turn
        self.turn_mode = "idle"
        self.turn_id: str | None = None
        self._last_turn_event = start
        self._idle_since = start
        self._error_until = -math.inf
        self.error_code = ""
        # Captions
        self.user_text = ""
        self.user_final = False
        self.avatar_text = ""
        self._pending_reply: tuple[float, str] | None = None
        self._sentence_seen = False
        self._captions_clear_at = math.inf
        self.caption_version = 0
        # Degraded overlays keyed by component
        self.overlays: dict[str, Overlay] = {}
        # The face
        self._mouth = Mouth()
        self._eyes = Eyes(self._rng, start)
        self._breath = Breath()

    def _rebase(self, now: float) -> None:
        """First tick of a lazily started clock: move start-relative timers to ``now``."""
        shift = now - self.now
        self._started = True
        self.now = now
        self._last_turn_event += shift
        self._idle_since += shift
        self._eyes.shift(shift)
        if self._error_until != -math.inf:
            self._error_until += shift

    # ------------------------------------------------------------------ config
    def apply_settings(self, settings: AvatarSettings,
                       schedule: ScheduleSettings | None = None) -> None:
        """A reload: new settings (and quiet hours, if given) apply at the next tick."""
        self.settings = settings
        self._night.apply(schedule)

    # ------------------------------------------------------------------ the face
    # Previews and tests pose the face directly, hence the setters.
    @property
    def mouth(self) -> float:
        """How open the mouth is, 0..1 (:class:`vitad.avatar.mouth.Mouth`)."""
        return self._mouth.level

    @mouth.setter
    def mouth(self, value: float) -> None:
        self._mouth.level = value

    @property
    def viseme(self) -> str | None:
        """The mouth shape the phonemes being spoken call for (one of VISEMES), or None."""
        return self._mouth.viseme

    @viseme.setter
    def viseme(self, value: str | None) -> None:
        self._mouth.viseme = value

    @property
    def eye_open(self) -> float:
        """Eye openness: 0 shut, 1 normal, >1 wide (:class:`vitad.avatar.eyes.Eyes`)."""
        return self._eyes.open

    @eye_open.setter
    def eye_open(self, value: float) -> None:
        self._eyes.open = value

    @property
    def gaze(self) -> tuple[float, float]:
        return self._eyes.gaze

    @property
    def breath(self) -> float:
        """Breathing, -1..1."""
        return self._breath.value

    @property
    def night(self) -> bool:
        """The sleepy night look (quiet hours; :class:`vitad.avatar.night.NightDimmer`)."""
        return self._night.night

    @property
    def brightness(self) -> float:
        """0.05..1, multiplies every colour the renderer draws."""
        return self._night.brightness

    # ------------------------------------------------------------------ derived
    @property
    def error_active(self) -> bool:
        return self.now < self._error_until

    @property
    def mic_unavailable(self) -> bool:
        return "mic" in self.overlays

    @property
    def captions_only(self) -> bool:
        return "speaker" in self.overlays

    @property
    def asr_fallback(self) -> bool:
        return "asr" in self.overlays

    @property
    def mode(self) -> str:
        """One of :data:`MODES`; a turn in progress wins over resting states."""
        if self.error_active:
            return "error"
        if self.turn_mode != "idle":
            return self.turn_mode
        if self.mic_unavailable:
            return "degraded"
        if self.night:
            return "night"
        return "idle"

    @property
    def attract(self) -> bool:
        """Show rotating info cards: nobody has talked to us for a while (not at night)."""
        return (
            self.mode in ("idle", "degraded")
            and not self.user_text
            and not self.avatar_text
            and self.now - self._idle_since >= self.settings.attract_idle_s
        )

    @property
    def attract_card(self) -> int:
        """Index of the card to show (callers take it modulo their card count)."""
        elapsed = self.now - self._idle_since - self.settings.attract_idle_s
        return max(0, int(elapsed // self.settings.attract_card_s))

    @property
    def orbit(self) -> tuple[float, float]:
        """Slow burn-in shift in -1..1 units (the renderer scales it to pixels)."""
        phase = 2 * math.pi * self.now / self.settings.orbit_period_s
        return math.cos(phase), math.sin(2 * phase) * 0.5

    # ------------------------------------------------------------------ events
    def on_event(self, event: Event) -> None:
        """Consume one pipeline event. Never raises on unknown or odd events."""
        t = self.now
        if isinstance(event, MouthLevel):
            level = self._mouth.hear(event.level, event.viseme, max(t, self.now))
            if level > MOUTH_GATE and self.turn_mode in ("thinking", "idle", "listening"):
                self._set_turn_mode("speaking", t)
            self._last_turn_event = max(t, self.now)
            return
        if isinstance(event, Wake | Listening):
            new_turn = getattr(event, "turn_id", None)
            if self.turn_mode == "idle" or isinstance(event, Wake) or new_turn != self.turn_id:
                self._clear_captions()
            self.turn_id = new_turn or self.turn_id
            self._set_turn_mode("listening", t)
            self._eyes.look_ahead()
        elif isinstance(event, SpeechStart):
            self._set_turn_mode("listening", t)
        elif isinstance(event, Transcript):
            self._set_user_text(event.text, event.final)
            if event.final:
                self._set_turn_mode("thinking", t)
            elif self.turn_mode == "idle":
                self._set_turn_mode("listening", t)
        elif isinstance(event, SpeechEnd):
            self._set_turn_mode("thinking", t)
        elif isinstance(event, Intent):
            if self.turn_mode != "speaking":
                self._set_turn_mode("thinking", t)
        elif isinstance(event, Reply):
            self._pending_reply = (t, event.text)
            self._sentence_seen = False
            if self.captions_only:
                self._set_avatar_text(event.text)
        elif isinstance(event, SpeakingSentence):
            self._sentence_seen = True
            self._set_avatar_text(event.text)
            self._set_turn_mode("speaking", t)
        elif isinstance(event, AudioOutStart):
            self._set_turn_mode("speaking", t)
        elif isinstance(event, AudioOutEnd):
            self._mouth.release()
            self._end_turn(t)
        elif isinstance(event, TurnEnd):
            if event.outcome == "no_speech" and not self.avatar_text:
                self._clear_captions()
            self._flush_pending_reply(force=True)
            self._end_turn(t)
        elif isinstance(event, StageError):
            self._error_until = t + self.settings.error_hold_s
            self.error_code = event.code
            self._end_turn(t)
        elif isinstance(event, Degraded):
            if event.active:
                self.overlays[event.component] = Overlay(event.component, event.mode, event.detail)
            else:
                self.overlays.pop(event.component, None)
            self.caption_version += 1
        self._last_turn_event = max(t, self.now)

    def _set_turn_mode(self, mode: str, t: float) -> None:
        if mode != self.turn_mode:
            self.turn_mode = mode
        self._captions_clear_at = math.inf
        self._last_turn_event = max(t, self.now)

    def _end_turn(self, t: float) -> None:
        self.turn_mode = "idle"
        self._idle_since = max(t, self.now)
        self._mouth.stop()
        if self.user_text or self.avatar_text:
            self._captions_clear_at = self._idle_since + self.settings.caption_hold_s

    def _set_user_text(self, text: str, final: bool) -> None:
        if text != self.user_text or final != self.user_final:
            self.user_text = text
            self.user_final = final
            self.caption_version += 1

    def _set_avatar_text(self, text: str) -> None:
        self._pending_reply = None
        if text != self.avatar_text:
            self.avatar_text = text
            self.caption_version += 1

    def _clear_captions(self) -> None:
        self._pending_reply = None
        self._sentence_seen = False
        if self.user_text or self.avatar_text:
            self.user_text = ""
            self.avatar_text = ""
            self.user_final = False
            self.caption_version += 1
        self._captions_clear_at = math.inf

    def _flush_pending_reply(self, force: bool = False) -> None:
        if self._pending_reply is None or self._sentence_seen:
            return
        t, text = self._pending_reply
        if force or self.now - t >= self.settings.reply_caption_delay_s:
            self._set_avatar_text(text)

    # ------------------------------------------------------------------ time
    def tick(self, now: float) -> None:
        """Advance animation and timers to ``now`` (monotonic seconds, same clock as events)."""
        if not self._started:
            self._rebase(now)
        dt = max(0.0, min(now - self.now, 0.5))  # clamp so a stall does not jump animations
        self.now = max(now, self.now)
        self._tick_turn()
        self._mouth.tick(self.now, dt, speaking=self.turn_mode == "speaking")
        mode = self.mode
        self._eyes.tick(self.now, dt, mode)
        self._breath.tick(dt, sleepy=mode == "night")
        self._night.tick(self.now)

    def _tick_turn(self) -> None:
        now = self.now
        if self.turn_mode != "idle" and now - self._last_turn_event > self.settings.stale_turn_s:
            self._end_turn(now)
        self._flush_pending_reply()
        if now >= self._captions_clear_at:
            self._clear_captions()
            self._idle_since = now

    def settle(self, hold_s: float = 100.0) -> None:
        """No blink or glance for ``hold_s`` (screenshots; tests of other features)."""
        self._eyes.settle(self.now, hold_s)

    def force_blink(self, at: float) -> None:
        """Schedule a blink (used by tests and screenshots)."""
        self._eyes.force_blink(at)

    # ------------------------------------------------------------------ helpers for previews
    def force(self, mode: str, now: float | None = None) -> None:
        """Put the state straight into ``mode`` (screenshots and tests; not for the daemon)."""
        if mode not in MODES:
            raise ValueError(f"unknown avatar state {mode!r}")
        t = self.now if now is None else now
        self.turn_mode = mode if mode in TURN_MODES else "idle"
        self._last_turn_event = t
        if mode == "error":
            self._error_until = t + self.settings.error_hold_s
        if mode == "degraded":
            self.overlays["mic"] = Overlay("mic", "mic_unavailable")
        if mode == "night":
            self._night.force_night(self.settings.night_brightness)
