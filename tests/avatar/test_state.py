"""AvatarState: pure logic, no pygame."""

from __future__ import annotations

import math
import subprocess
import sys
from datetime import time as dtime

import numpy as np
import pytest
from avatar_testlib import new_state

from vitad.avatar.state import AvatarState
from vitad.config.avatar_settings import AvatarSettings
from vitad.events import (
    AudioOutEnd,
    AudioOutStart,
    Degraded,
    Listening,
    MouthLevel,
    Reply,
    SpeakingSentence,
    SpeechEnd,
    StageError,
    Transcript,
    TurnEnd,
    Wake,
)

DT = 1 / 30


def run(st: AvatarState, seconds: float, dt: float = DT) -> None:
    end = st.now + seconds
    while st.now < end - 1e-9:
        st.tick(st.now + dt)


def test_state_module_does_not_import_pygame() -> None:
    code = (
        "import sys, vitad.avatar.state, vitad.avatar.view, vitad.avatar.screenshot, "
        "vitad.avatar.screenshot_cli; print('pygame' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_turn_flow_modes_and_captions() -> None:
    st = new_state()
    st.tick(1.0)
    assert st.mode == "idle"
    st.on_event(Wake(t=1.0, model="hey_jarvis", score=0.9))
    st.on_event(Listening(t=1.0, turn_id="a"))
    assert st.mode == "listening"
    st.on_event(Transcript(t=1.2, turn_id="a", text="how much", final=False))
    assert (st.mode, st.user_text, st.user_final) == ("listening", "how much", False)
    st.on_event(Transcript(t=1.5, turn_id="a", text="how much is a wash", final=True))
    st.on_event(SpeechEnd(t=1.5, turn_id="a", reason="silence", endpoint_t=1.6))
    assert st.mode == "thinking" and st.user_final
    st.on_event(Reply(t=1.7, turn_id="a", text="Four dollars. Forty minutes.", intent="p"))
    assert st.avatar_text == ""  # captions follow playback, not synthesis
    st.on_event(AudioOutStart(t=1.9, turn_id="a"))
    st.on_event(SpeakingSentence(t=1.9, turn_id="a", text="Four dollars."))
    assert st.mode == "speaking" and st.avatar_text == "Four dollars."
    st.on_event(SpeakingSentence(t=2.5, turn_id="a", text="Forty minutes."))
    assert st.avatar_text == "Forty minutes."
    st.on_event(AudioOutEnd(t=3.0, turn_id="a"))
    st.on_event(TurnEnd(t=3.0, turn_id="a", outcome="answered"))
    assert st.mode == "idle"
    assert st.avatar_text == "Forty minutes."  # lingers ...
    run(st, st.settings.caption_hold_s + 0.2)
    assert st.avatar_text == "" and st.user_text == ""  # ... then clears


def test_reply_shown_when_no_sentence_plays() -> None:
    st = new_state(AvatarSettings(reply_caption_delay_s=1.0))
    st.tick(0.5)
    st.on_event(Listening(t=0.5, turn_id="b"))
    st.on_event(Reply(t=0.6, turn_id="b", text="We close at 11.", intent="hours"))
    run(st, 0.5)
    assert st.avatar_text == ""
    run(st, 0.7)
    assert st.avatar_text == "We close at 11."


def test_captions_only_shows_reply_at_once() -> None:
    st = new_state()
    st.tick(0.1)
    st.on_event(Degraded(t=0.1, component="speaker", mode="speaker_unavailable", active=True))
    st.on_event(Reply(t=0.2, turn_id="c", text="Dryers are 25 cents.", intent="p"))
    assert st.captions_only and st.avatar_text == "Dryers are 25 cents."


def test_degraded_overlays_enter_and_leave() -> None:
    st = new_state()
    st.tick(0.1)
    st.on_event(Degraded(t=0.1, component="mic", mode="mic_unavailable", active=True))
    st.on_event(Degraded(t=0.1, component="asr", mode="asr_fallback", active=True))
    assert st.mode == "degraded" and st.mic_unavailable and st.asr_fallback
    st.on_event(Degraded(t=0.2, component="mic", mode="mic_unavailable", active=False))
    assert st.mode == "idle" and not st.mic_unavailable and st.asr_fallback


def test_error_is_transient() -> None:
    st = new_state(AvatarSettings(error_hold_s=2.0))
    st.tick(1.0)
    st.on_event(Listening(t=1.0, turn_id="d"))
    st.on_event(StageError(t=1.1, stage="asr", code="asr.crash", message="x"))
    assert st.mode == "error"
    run(st, 2.1)
    assert st.mode == "idle"


def test_stale_turn_returns_to_idle() -> None:
    st = new_state(AvatarSettings(stale_turn_s=5.0))
    st.tick(0.0)
    st.on_event(Listening(t=0.0, turn_id="e"))
    run(st, 4.0)
    assert st.mode == "listening"
    run(st, 1.5)
    assert st.mode == "idle"


def test_attract_after_idle_and_cards_rotate() -> None:
    s = AvatarSettings(attract_idle_s=10, attract_card_s=4)
    st = new_state(s)
    st.tick(0.0)
    run(st, 9.5, dt=0.5)
    assert not st.attract
    run(st, 1.0, dt=0.5)
    assert st.attract and st.attract_card == 0
    run(st, 4.0, dt=0.5)
    assert st.attract_card == 1
    st.on_event(Wake(t=st.now, model="hey_jarvis", score=0.9))
    assert not st.attract  # someone talks to us: back to the face


def test_night_mode_from_wallclock_and_wakes_up() -> None:
    clock = {"now": dtime(23, 0)}
    st = AvatarState(AvatarSettings(), seed=1, wallclock=lambda: clock["now"])
    st.tick(0.0)
    assert st.mode == "night"
    st.on_event(Listening(t=0.1, turn_id="n"))
    assert st.mode == "listening"  # a customer at night gets the full face
    st.on_event(TurnEnd(t=0.2, turn_id="n", outcome="no_speech"))
    assert st.mode == "night"
    clock["now"] = dtime(7, 0)
    run(st, 11.0, dt=0.5)
    assert st.mode == "idle"


def test_blinks_are_random_natural_and_seedable() -> None:
    def blink_starts(seed: int) -> list[float]:
        st = new_state(seed=seed)
        st.tick(0.0)
        starts, was_closed = [], False
        for _ in range(int(120 / DT)):
            st.tick(st.now + DT)
            closed = st.eye_open < 0.5
            if closed and not was_closed:
                starts.append(round(st.now, 3))
            was_closed = closed
        return starts

    a, b, c = blink_starts(3), blink_starts(3), blink_starts(4)
    assert a == b  # seeded: reproducible
    assert a != c  # and actually random
    gaps = np.diff(a)
    assert 10 <= len(a) <= 70  # people blink roughly every 2-10 s
    assert gaps.std() > 0.5  # not a metronome


def test_blink_closes_then_reopens() -> None:
    st = new_state()
    st.tick(0.0)
    st.settle()
    st.force_blink(1.0)
    run(st, 1.0 - DT)
    assert st.eye_open == pytest.approx(1.0)
    samples = []
    for _ in range(12):
        st.tick(st.now + 0.02)
        samples.append(st.eye_open)
    assert min(samples) < 0.2
    assert samples[-1] == pytest.approx(1.0)


def test_glances_happen_in_idle_but_not_while_listening() -> None:
    st = new_state(seed=5)
    st.tick(0.0)
    xs = []
    for _ in range(int(40 / DT)):
        st.tick(st.now + DT)
        xs.append(abs(st.gaze[0]))
    assert max(xs) > 0.2
    st.on_event(Listening(t=st.now, turn_id="g"))
    run(st, 0.5)
    ys = []
    for _ in range(int(5 / DT)):
        st.tick(st.now + DT)
        ys.append(abs(st.gaze[0]))
    assert max(ys) < 0.05  # attentive: looking at the customer


def test_breathing_is_periodic() -> None:
    st = new_state()
    st.tick(0.0)
    values = []
    for _ in range(int(10 / DT)):
        st.tick(st.now + DT)
        values.append(st.breath)
    assert max(values) > 0.9 and min(values) < -0.9


def envelope(t: np.ndarray) -> np.ndarray:
    """Synthetic speech loudness: ~4.4 syllables/s, phrase pauses, slow emphasis."""
    syll = np.abs(np.sin(2 * np.pi * 2.2 * t))
    phrase = (np.sin(2 * np.pi * 0.35 * t) > -0.6).astype(float)
    return np.clip(0.9 * syll * phrase * (0.75 + 0.25 * np.sin(2 * np.pi * 0.9 * t)), 0, 1)


def lipsync(chunk_s: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Publish MouthLevel at playback time, one per audio chunk (its mean loudness, plus
    noise), tick at 30 fps, and return (true envelope, mouth openness) per frame."""
    rng = np.random.default_rng(seed)
    st = new_state()
    st.tick(0.0)
    st.on_event(AudioOutStart(t=0.0, turn_id="l"))
    starts = np.arange(0.0, 8.0, chunk_s)
    within = np.linspace(0.0, chunk_s, 8, endpoint=False)
    levels = np.array([envelope(s + within).mean() for s in starts])
    levels += rng.normal(0, 0.03, starts.size)
    frames = np.arange(DT, 8.0, DT)
    ei = 0
    mouth = []
    for f in frames:
        while ei < starts.size and starts[ei] <= f:
            st.tick(float(starts[ei]))
            st.on_event(MouthLevel(t=float(starts[ei]), level=float(levels[ei])))
            ei += 1
        st.tick(float(f))
        mouth.append(st.mouth)
    return envelope(frames), np.array(mouth)


def pearson(a: np.ndarray, b: np.ndarray, lag: int = 0) -> float:
    """Correlation of a[t] with b[t + lag] (b delayed by ``lag`` frames)."""
    return float(np.corrcoef(a[: a.size - lag], b[lag:])[0, 1])


@pytest.mark.parametrize("chunk_s", [0.02, 0.05])
def test_lipsync_follows_playback_envelope(chunk_s: float) -> None:
    target, mouth = lipsync(chunk_s)
    # Measured: r ~ 0.84 / 0.82 at zero lag, ~ 0.955 / 0.936 at one frame (20 / 50 ms chunks).
    assert pearson(target, mouth) > 0.75
    assert max(pearson(target, mouth, lag) for lag in (0, 1)) > 0.9  # <= 33 ms behind
    assert mouth.max() > 0.6 and mouth.min() == 0.0  # opens wide, shuts in pauses


def test_lipsync_is_not_trivially_correlated() -> None:
    """Control: the same metric on a mouth driven by a different envelope stays low."""
    target, mouth = lipsync(0.02)
    shifted = np.roll(target, 4)  # 133 ms off: about half a syllable (measured r ~ 0.32)
    assert max(pearson(shifted, mouth, lag) for lag in (0, 1)) < 0.6


def test_mouth_smoothing_does_not_flicker() -> None:
    """Raw levels with jitter: the smoothed mouth moves less frame-to-frame than the input."""
    st = new_state()
    st.tick(0.0)
    st.on_event(AudioOutStart(t=0.0, turn_id="f"))
    rng = np.random.default_rng(1)
    raw = np.clip(0.5 + rng.normal(0, 0.25, 300), 0, 1)
    out = []
    for i, lvl in enumerate(raw):
        st.tick(i * DT)
        st.on_event(MouthLevel(t=i * DT, level=float(lvl)))
        st.tick(i * DT + 0.001)
        out.append(st.mouth)
    assert np.abs(np.diff(out)).mean() < 0.6 * np.abs(np.diff(raw)).mean()


def test_mouth_closes_when_playback_stops() -> None:
    st = new_state()
    st.tick(0.0)
    st.on_event(AudioOutStart(t=0.0, turn_id="m"))
    for i in range(10):
        st.tick(i * 0.02)
        st.on_event(MouthLevel(t=i * 0.02, level=0.9))
    st.tick(0.2)
    assert st.mouth > 0.5
    run(st, 0.6)  # no more levels (stall or end without AudioOutEnd)
    assert st.mouth == 0.0


def test_odd_mouth_levels_do_not_break() -> None:
    st = new_state()
    st.tick(0.0)
    for lvl in (math.nan, -3.0, 7.0, math.inf):
        st.on_event(MouthLevel(t=0.0, level=lvl))
        st.tick(st.now + DT)
        assert 0.0 <= st.mouth <= 1.0


def test_lazy_clock_starts_at_first_tick() -> None:
    st = AvatarState(
        AvatarSettings(attract_idle_s=30), seed=1, start=None, wallclock=lambda: dtime(12)
    )
    st.tick(10_000.0)  # e.g. time.monotonic() on a box that has been up for hours
    assert not st.attract and st.mode == "idle"


def test_empty_avatar_table_validates() -> None:
    s = AvatarSettings.model_validate({})
    assert s.fps == 30 and s.enabled
    with pytest.raises(ValueError):
        AvatarSettings.model_validate({"colour": "red"})
    with pytest.raises(ValueError):
        AvatarSettings.model_validate({"night_start": "22:00", "night_end": ""})
    with pytest.raises(ValueError):
        AvatarSettings.model_validate({"theme": {"body": "blue"}})
