"""The mouth: lip-sync to the playback envelope, smoothing, gating, odd levels."""

from __future__ import annotations

import math

import numpy as np
import pytest
from avatar_testlib import DT, new_state, run

from vitad.avatar.mouth import MOUTH_GATE, Mouth
from vitad.events import AudioOutStart, MouthLevel


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


def test_hear_clamps_and_drops_unknown_visemes() -> None:
    mouth = Mouth()
    assert mouth.hear(7.0, "round", 0.0) == 1.0 and mouth.viseme == "round"
    assert mouth.hear(-3.0, "shout", 0.0) == 0.0 and mouth.viseme is None
    assert mouth.hear(math.inf, "open", 0.0) == 1.0


def test_levels_under_the_gate_keep_the_mouth_shut() -> None:
    mouth = Mouth()
    for i in range(10):
        mouth.hear(MOUTH_GATE * 0.9, None, i * DT)
        mouth.tick(i * DT, DT, speaking=True)
    assert mouth.level == 0.0
    mouth.hear(0.8, "open", 10 * DT)
    mouth.tick(10 * DT, DT, speaking=True)
    assert mouth.level > 0.5


def test_not_speaking_closes_the_mouth_and_clears_the_viseme() -> None:
    mouth = Mouth()
    mouth.hear(0.9, "wide", 0.0)
    mouth.tick(0.0, DT, speaking=True)
    assert mouth.level > 0.5 and mouth.viseme == "wide"
    for i in range(1, 10):
        mouth.tick(i * DT, DT, speaking=False)
    assert mouth.level == 0.0 and mouth.viseme is None
