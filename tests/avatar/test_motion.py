"""Breathing and the exponential approach shared by the mouth and the gaze."""

from __future__ import annotations

import math

import pytest
from avatar_testlib import DT, new_state

from vitad.avatar.motion import Breath, approach


def test_breathing_is_periodic() -> None:
    st = new_state()
    st.tick(0.0)
    values = []
    for _ in range(int(10 / DT)):
        st.tick(st.now + DT)
        values.append(st.breath)
    assert max(values) > 0.9 and min(values) < -0.9


def test_approach_moves_one_time_constant() -> None:
    assert approach(0.0, 1.0, 0.0, 0.1) == 0.0  # no time, no move
    assert approach(0.0, 1.0, 0.1, 0.1) == pytest.approx(1 - math.exp(-1))
    assert approach(1.0, 0.0, 10.0, 0.1) == pytest.approx(0.0, abs=1e-9)


def test_sleepy_breathing_is_slower() -> None:
    def crossings(sleepy: bool) -> int:
        b, n, last = Breath(), 0, 0.0
        for _ in range(int(30 / DT)):
            b.tick(DT, sleepy)
            n += (last < 0.0) != (b.value < 0.0)
            last = b.value
        return n

    assert crossings(sleepy=True) < crossings(sleepy=False)
