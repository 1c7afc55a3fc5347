"""The eyes (blinks, glances, resting openness), driven through AvatarState and directly."""

from __future__ import annotations

import random

import numpy as np
import pytest
from avatar_testlib import DT, new_state, run

from vitad.avatar.eyes import RESTING_OPENNESS, Eyes
from vitad.events import Listening


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


@pytest.mark.parametrize("mode", ["idle", "night", "degraded", "listening"])
def test_resting_openness_by_mode(mode: str) -> None:
    eyes = Eyes(random.Random(1), 0.0)
    eyes.settle(0.0, 100.0)
    eyes.tick(1.0, DT, mode)
    assert eyes.open == pytest.approx(RESTING_OPENNESS.get(mode, 1.0))
    assert (eyes.open < 1.0) == (mode in ("night", "degraded"))


def test_thinking_looks_up_and_aside() -> None:
    eyes = Eyes(random.Random(1), 0.0)
    eyes.settle(0.0, 100.0)
    for i in range(30):
        eyes.tick(i * DT, DT, "thinking")
    assert eyes.gaze[0] > 0.5 and eyes.gaze[1] < -0.5


def test_a_lazy_start_shifts_the_first_blink() -> None:
    def openness(shift: float) -> list[float]:
        eyes = Eyes(random.Random(2), 0.0)
        eyes.shift(shift)
        seen = []
        for i in range(int(1.7 / DT)):  # blinks are at least 1.8 s apart
            eyes.tick(1000.0 + i * DT, DT, "idle")
            seen.append(eyes.open)
        return seen

    assert min(openness(1000.0)) == 1.0  # the first blink is 1.8+ s after the new start
    assert min(openness(0.0)) < 0.5  # unshifted, it is long overdue and happens at once
