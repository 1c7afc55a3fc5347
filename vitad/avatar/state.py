"""The avatar's state: a pure object (no pygame) fed by pipeline events and a clock.

The renderer only *reads* this object, so everything that moves on screen - blinks, glances,
breathing, the mouth, captions, attract cards, overlays - is decided here and can be tested
without a display. ``tick(now)`` must be called with the same clock as the events' ``t``
(seconds since the daemon started) but the state never assumes ticks are regular.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from datetime import time as dtime

from vitad.audio.schedule import Schedule, night_keys_note
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

log = logging.getLogger(__name__)

MODES = ("idle", "listening", "thinking", "speaking", "degraded", "error", "night")
TURN_MODES = ("listening", "thinking", "speaking")

# Mouth smoothing. Attack is fast so syllable onsets are visible, release slower so the
# mouth does not flicker shut between audio chunks. Levels under the gate are silence.
# Tuned with tests/avatar/test_state.py::test_lipsync_*: at 30 fps the mouth tracks a
# syllable-rate envelope with r ~ 0.95 at a one-frame (33 ms) delay.
MOUTH_ATTACK_S = 0.02
MOUTH_RELEASE_S = 0.06
MOUTH_GATE = 0.04
MOUTH_STALE_S = 0.15  # no MouthLevel for this long -> target 0 (playback stopped)
# Mouth shapes driven by phonemes (Piper alignments); "closed" also covers pauses.
VISEMES = ("closed", "open", "wide", "round")

BLINK_CLOSE_S = 0.06
BLINK_HOLD_S = 0.03
BLINK_OPEN_S = 0.10
GAZE_TAU_S = 0.06  # eyes move quickly (saccades) but not in one frame


@dataclass(frozen=True)
class Overlay:
    """An active degraded mode, as shown on screen."""

    component: str
    mode: str
    detail: str = ""


def _approach(current: float, target: float, dt: float, tau: float) -> float:
    if dt <= 0:
        return current
    return target + (current - target) * math.exp(-dt / tau)


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
        self._wallclock = wallclock or (lambda: datetime.now().time())
        # Night: quiet hours dim the screen. ``brightness`` (0.05..1) multiplies every colour
        # the renderer draws; ``night`` is the sleepy look (no info cards) while dimmed.
        self._schedule_settings = schedule or ScheduleSettings()
        self._schedule = Schedule(lambda: self._schedule_settings,
                                  now=lambda: datetime.combine(date.today(), self._wallclock()),
                                  avatar=lambda: self.settings)
        self.night = False
        self.brightness = 1.0
        self._night_checked = -math.inf
        self._log_night_keys()
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
        # Mouth
        self._mouth_target = 0.0
        self._mouth_peak = 0.0  # max level since the previous tick (peak-hold per frame)
        self._mouth_last_level_t = -math.inf
        self.mouth = 0.0
        # The mouth shape the phonemes being spoken call for (one of VISEMES), or None: then
        # the renderer opens the mouth by loudness (`mouth`) alone.
        self.viseme: str | None = None
        # Eyes
        self.eye_open = 1.0
        self._next_blink = start + self._blink_interval()
        self._blink_start = -math.inf
        self._double_blink = False
        self.gaze = (0.0, 0.0)
        self._gaze_target = (0.0, 0.0)
        self._next_glance = start + self._rng.uniform(3.0, 7.0)
        self._glance_until = -math.inf
        # Breathing
        self.breath = 0.0  # -1..1
        self._breath_phase = 0.0

    def _rebase(self, now: float) -> None:
        """First tick of a lazily started clock: move start-relative timers to ``now``."""
        shift = now - self.now
        self._started = True
        self.now = now
        self._last_turn_event += shift
        self._idle_since += shift
        self._next_blink += shift
        self._next_glance += shift
        if self._error_until != -math.inf:
            self._error_until += shift

    # ------------------------------------------------------------------ config
    def apply_settings(self, settings: AvatarSettings,
                       schedule: ScheduleSettings | None = None) -> None:
        """A reload: new settings (and quiet hours, if given) apply at the next tick."""
        self.settings = settings
        if schedule is not None:
            self._schedule_settings = schedule
        self._night_checked = -math.inf
        self._log_night_keys()

    def _log_night_keys(self) -> None:
        note = night_keys_note(self._schedule_settings, self.settings)
        if note:
            log.warning("avatar: %s", note)

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
            level = min(1.0, max(0.0, float(event.level)))
            if not math.isfinite(level):
                level = 0.0
            self.viseme = event.viseme if event.viseme in VISEMES else None
            self._mouth_target = level
            self._mouth_peak = max(self._mouth_peak, level)
            self._mouth_last_level_t = max(t, self.now)
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
            self._gaze_target = (0.0, 0.0)
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
            self._mouth_target = 0.0
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
        self._mouth_target = 0.0
        self.viseme = None
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
        self._tick_mouth(dt)
        self._tick_blink()
        self._tick_gaze(dt)
        self._tick_breath(dt)
        self._tick_night()

    def _tick_turn(self) -> None:
        now = self.now
        if self.turn_mode != "idle" and now - self._last_turn_event > self.settings.stale_turn_s:
            self._end_turn(now)
        self._flush_pending_reply()
        if now >= self._captions_clear_at:
            self._clear_captions()
            self._idle_since = now

    def _tick_mouth(self, dt: float) -> None:
        if self.now - self._mouth_last_level_t > MOUTH_STALE_S or self.turn_mode != "speaking":
            self._mouth_target = 0.0
            self._mouth_peak = 0.0
            self.viseme = None  # playback stopped: no phoneme is being said
        target = max(self._mouth_target, self._mouth_peak)
        self._mouth_peak = 0.0
        target = 0.0 if target < MOUTH_GATE else min(1.0, (target - MOUTH_GATE) / 0.7)
        tau = MOUTH_ATTACK_S if target > self.mouth else MOUTH_RELEASE_S
        self.mouth = _approach(self.mouth, target, dt, tau)
        if self.mouth < 0.01:
            self.mouth = 0.0

    def _blink_interval(self) -> float:
        # People blink every 2-10 s; a slightly skewed draw looks less mechanical than uniform.
        return 1.8 + self._rng.expovariate(1 / 2.8)

    def _tick_blink(self) -> None:
        now = self.now
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
        base = self._resting_openness()
        self.eye_open = base * (1.0 - closed)

    def _resting_openness(self) -> float:
        mode = self.mode
        if mode == "night":
            return 0.45  # sleepy
        if mode == "degraded":
            return 0.6
        if mode == "listening":
            return 1.12  # wide, attentive
        return 1.0

    def settle(self, hold_s: float = 100.0) -> None:
        """No blink or glance for ``hold_s`` (screenshots; tests of other features)."""
        self._next_blink = self.now + hold_s
        self._blink_start = -math.inf
        self._glance_until = -math.inf
        self._next_glance = self.now + hold_s

    def force_blink(self, at: float) -> None:
        """Schedule a blink (used by tests and screenshots)."""
        self._next_blink = at
        self._blink_start = -math.inf

    def _tick_gaze(self, dt: float) -> None:
        now = self.now
        mode = self.mode
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
        gx = _approach(self.gaze[0], target[0], dt, GAZE_TAU_S)
        gy = _approach(self.gaze[1], target[1], dt, GAZE_TAU_S)
        self.gaze = (gx, gy)

    def _tick_breath(self, dt: float) -> None:
        period = 6.5 if self.mode == "night" else 4.2
        self._breath_phase = (self._breath_phase + 2 * math.pi * dt / period) % (2 * math.pi)
        self.breath = math.sin(self._breath_phase)

    def _tick_night(self) -> None:
        if self.now - self._night_checked < 10.0:
            return
        self._night_checked = self.now
        levels = self._schedule.levels_at()
        self.night = levels.night
        self.brightness = max(0.05, min(1.0, levels.dim))

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
            self.night = True
            if self.brightness >= 1.0:  # the wall clock is not in a dimmed range
                self.brightness = self.settings.night_brightness
            self._night_checked = math.inf  # keep night regardless of the wall clock
