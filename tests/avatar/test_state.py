"""AvatarState: pure logic, no pygame."""

from __future__ import annotations

import subprocess
import sys
from datetime import time as dtime

import pytest
from avatar_testlib import new_state, run

from vitad.avatar.state import AvatarState
from vitad.config.avatar_settings import AvatarSettings
from vitad.events import (
    AudioOutEnd,
    AudioOutStart,
    Degraded,
    Listening,
    Reply,
    SpeakingSentence,
    SpeechEnd,
    StageError,
    Transcript,
    TurnEnd,
    Wake,
)


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
