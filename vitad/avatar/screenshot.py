"""Render any avatar state headless to a PNG (docs, support tickets, config previews).

The state is reached by feeding the same events the pipeline would publish, so a screenshot
shows what the daemon really draws.
"""

from __future__ import annotations

from datetime import time as dtime
from pathlib import Path

from vitad.avatar.cards import wake_phrase_from_config
from vitad.avatar.state import AvatarState
from vitad.config.avatar_settings import AvatarSettings
from vitad.config.schema import Config
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
    Wake,
)

STATES = (
    "idle",
    "listening",
    "thinking",
    "speaking",
    "attract",
    "night",
    "degraded",
    "captions_only",
    "asr_fallback",
    "error",
)
DEFAULT_QUESTION = "How much is the big washer?"
DEFAULT_ANSWER = "The big washer is 6 dollars 50 and a cycle takes 40 minutes."
MIN_SIZE, MAX_SIZE = 160, 7680
FRAME = 1 / 30


def parse_size(text: str) -> tuple[int, int]:
    """'1280x720' -> (1280, 720); ValueError with a readable message otherwise."""
    parts = text.lower().strip().split("x")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise ValueError(f"bad size {text!r}: expected WIDTHxHEIGHT, e.g. 1280x720")
    w, h = int(parts[0]), int(parts[1])
    if not (MIN_SIZE <= w <= MAX_SIZE and MIN_SIZE <= h <= MAX_SIZE):
        raise ValueError(f"bad size {text!r}: each side must be {MIN_SIZE}..{MAX_SIZE} pixels")
    return w, h


def preview_state(
    settings: AvatarSettings,
    state_name: str,
    caption: str | None = None,
    seed: int = 7,
    mouth_level: float = 0.75,
    settle: bool = True,
) -> AvatarState:
    """An :class:`AvatarState` driven by events into ``state_name``.

    ``settle`` holds blinks and glances off so a picture has open eyes looking ahead;
    benchmarks pass False to keep the character's natural motion."""
    if state_name not in STATES:
        raise ValueError(f"unknown state {state_name!r}; expected one of {', '.join(STATES)}")
    night = state_name == "night"
    st = AvatarState(settings, seed=seed, wallclock=lambda: dtime(23, 30) if night else dtime(12))
    t = 1.0
    st.tick(t)

    def step(n: int = 1) -> None:
        nonlocal t
        for _ in range(n):
            t += FRAME
            st.tick(t)

    def ask(final: bool) -> None:
        st.on_event(Wake(t=t, model="hey_jarvis", score=0.9))
        st.on_event(Listening(t=t, turn_id="preview"))
        step()
        text = (
            caption
            if caption is not None and state_name in ("listening", "thinking")
            else (DEFAULT_QUESTION)
        )
        st.on_event(Transcript(t=t, turn_id="preview", text=text, final=final))
        if final:
            st.on_event(SpeechEnd(t=t, turn_id="preview", reason="silence", endpoint_t=t))
        step()

    def say() -> None:
        ask(final=True)
        text = DEFAULT_ANSWER if caption is None else caption
        st.on_event(Reply(t=t, turn_id="preview", text=text, intent="prices"))
        st.on_event(AudioOutStart(t=t, turn_id="preview"))
        st.on_event(SpeakingSentence(t=t, turn_id="preview", text=text))
        for _ in range(8):
            st.on_event(MouthLevel(t=t, level=mouth_level))
            step()

    if state_name == "listening":
        ask(final=False)
    elif state_name == "thinking":
        ask(final=True)
    elif state_name == "speaking":
        say()
    elif state_name == "captions_only":
        st.on_event(Degraded(t=t, component="speaker", mode="speaker_unavailable", active=True))
        ask(final=True)
        text = DEFAULT_ANSWER if caption is None else caption
        st.on_event(Reply(t=t, turn_id="preview", text=text, intent="prices"))
        step()
    elif state_name == "asr_fallback":
        st.on_event(Degraded(t=t, component="asr", mode="asr_fallback", active=True))
        ask(final=False)
    elif state_name == "degraded":
        st.on_event(Degraded(t=t, component="mic", mode="mic_unavailable", active=True))
        step()
    elif state_name == "error":
        ask(final=True)
        st.on_event(StageError(t=t, stage="dialogue", code="dialogue.crash", message="preview"))
        step()
    elif state_name == "attract":
        t += settings.attract_idle_s + 0.5
        st.tick(t)
    elif state_name in ("idle", "night") and caption is not None:
        st.on_event(Reply(t=t, turn_id="preview", text=caption, intent="preview"))
        st.on_event(SpeakingSentence(t=t, turn_id="preview", text=caption))
        st.on_event(AudioOutStart(t=t, turn_id="preview"))
        step()
        st.on_event(AudioOutEnd(t=t, turn_id="preview"))
    if settle:  # eyes open and no glance for a clean picture, whatever the RNG did
        st.settle()
    if state_name == "speaking":
        st.on_event(MouthLevel(t=t, level=mouth_level))
        step()
    else:
        step(8)
    return st


def render_screenshot(
    config: Config,
    state_name: str,
    output_png: str | Path,
    size: tuple[int, int] = (1280, 720),
    caption: str | None = None,
    wake_phrase: str | None = None,
) -> Path:
    """Render ``state_name`` at ``size`` off-screen and write a PNG. Raises ValueError on a
    bad state or size (the CLI turns that into exit code 2)."""
    w, h = size
    if not (MIN_SIZE <= w <= MAX_SIZE and MIN_SIZE <= h <= MAX_SIZE):
        raise ValueError(f"bad size {w}x{h}: each side must be {MIN_SIZE}..{MAX_SIZE} pixels")
    state = preview_state(config.avatar, state_name, caption)
    from vitad.avatar import renderer as rmod

    surface = rmod.new_surface((w, h))
    r = rmod.Renderer(surface, config, wake_phrase or wake_phrase_from_config(config))
    r.draw(state)
    out = Path(output_png)
    if out.parent and not out.parent.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
    rmod.save_png(surface, out)
    return out
