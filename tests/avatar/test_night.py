"""The screen's night on the quiet-hours schedule (vitad/avatar/night.py), as AvatarState
shows it: ``brightness`` and night mode."""

from __future__ import annotations

from datetime import time as dtime

import pytest

from vitad.avatar.state import AvatarState
from vitad.config.avatar_settings import AvatarSettings
from vitad.config.schedule_settings import QuietRange, ScheduleSettings


def quiet(*ranges: dict) -> ScheduleSettings:
    return ScheduleSettings(quiet=[QuietRange.model_validate(r) for r in ranges])


def test_brightness_follows_the_schedule_and_a_reload_applies_at_the_next_check() -> None:
    clock = {"now": dtime(12, 0)}
    st = AvatarState(AvatarSettings(), seed=1, wallclock=lambda: clock["now"],
                     schedule=quiet({"from": "13:00", "to": "14:00", "dim": 0.6}))
    st.tick(0.0)
    assert (st.brightness, st.mode) == (1.0, "idle")
    clock["now"] = dtime(13, 0)
    st.tick(5.0)
    assert st.brightness == 1.0  # checked every 10 s, not every frame
    st.tick(10.0)
    assert (st.brightness, st.mode) == (0.6, "night")
    st.apply_settings(AvatarSettings(), quiet({"from": "12:00", "to": "15:00", "dim": 0.2}))
    st.tick(10.1)  # a reload is applied at once
    assert st.brightness == 0.2
    st.apply_settings(AvatarSettings())  # no [schedule] given: the last one stays
    st.tick(10.2)
    assert st.brightness == 0.2
    st.apply_settings(AvatarSettings(), quiet())
    st.tick(10.3)  # no range sets dim: the [avatar] night (22:00-06:00) is not now
    assert (st.brightness, st.mode) == (1.0, "idle")


def test_without_a_schedule_the_avatar_night_dims_as_before() -> None:
    st = AvatarState(AvatarSettings(), seed=1, wallclock=lambda: dtime(23, 0))
    st.tick(0.0)
    assert (st.brightness, st.mode) == (0.35, "night")
    off = AvatarState(AvatarSettings(night_start="", night_end=""), seed=1,
                      wallclock=lambda: dtime(23, 0))
    off.tick(0.0)
    assert (off.brightness, off.mode) == (1.0, "idle")


def test_a_volume_only_range_does_not_make_night() -> None:
    st = AvatarState(AvatarSettings(night_start="", night_end=""), seed=1,
                     wallclock=lambda: dtime(13, 30),
                     schedule=quiet({"from": "13:00", "to": "14:00", "volume": 0.5}))
    st.tick(0.0)
    assert (st.brightness, st.mode) == (1.0, "idle")


def test_the_deprecated_night_keys_are_one_log_line(caplog: pytest.LogCaptureFixture) -> None:
    AvatarState(AvatarSettings(), seed=1)
    assert "deprecated" not in caplog.text  # the defaults are not the operator's doing
    AvatarState(AvatarSettings(night_brightness=0.2), seed=1)
    lines = [r.getMessage() for r in caplog.records if "deprecated" in r.getMessage()]
    assert lines == ["avatar: [avatar] night_brightness: deprecated; write the night as "
                     '[schedule] quiet = [{ from = "22:00", to = "06:00", dim = 0.2 }]']


def test_a_forced_night_screenshot_is_dimmed() -> None:
    st = AvatarState(AvatarSettings(), seed=1, wallclock=lambda: dtime(12, 0))
    st.tick(0.0)
    st.force("night")
    assert (st.brightness, st.mode) == (0.35, "night")


@pytest.mark.parametrize("dim", [0.6, 0.2])
def test_the_renderer_draws_the_schedules_brightness(renderer_factory, dim: float) -> None:
    """The screen's body colour at night is the day colour times the schedule's dim."""
    import numpy as np
    from avatar_testlib import pixels, region

    from vitad.avatar.renderer.colour import hex_rgb
    from vitad.config.avatar_settings import AvatarTheme

    schedule = quiet({"from": "22:00", "to": "07:00", "dim": dim})
    st = AvatarState(AvatarSettings(), seed=1, wallclock=lambda: dtime(23, 0), schedule=schedule)
    st.tick(0.0)
    st.settle()
    assert (st.mode, st.brightness) == ("night", dim)
    surface, r = renderer_factory((800, 480))
    r.draw(st)
    cx, cy = r.layout.center
    box = region(pixels(surface), (cx - r.layout.r // 2, cy - r.layout.r // 2, r.layout.r,
                                   r.layout.r))
    body = np.array([round(c * dim) for c in hex_rgb(AvatarTheme().body)], dtype=float)
    assert (np.abs(box - body).sum(axis=-1) < 30).mean() > 0.3
