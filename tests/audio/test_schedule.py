"""Quiet hours: ranges (across midnight too), validation, a live volume change, the screen's
dimming on the same schedule (and the deprecated [avatar] night_* keys)."""

from __future__ import annotations

import time
from datetime import datetime

import numpy as np
import pytest

from tests.conftest import config_dict
from tests.fakes import FakeTts
from vitad import events as ev
from vitad.audio.schedule import Levels, Schedule, night_keys_note
from vitad.config.loader import ConfigError, shipped_config_dir, validate_config
from vitad.config.schedule_settings import QuietRange, ScheduleSettings
from vitad.pipeline.endpoint import Endpoint
from vitad.pipeline.listener import Utterance
from vitad.pipeline.speakers import LiveSpeaker


def at(hh: int, mm: int) -> datetime:
    return datetime(2026, 11, 26, hh, mm)


def quiet(*ranges: dict) -> ScheduleSettings:
    return ScheduleSettings(quiet=[QuietRange.model_validate(r) for r in ranges])


NIGHT = {"from": "22:00", "to": "07:00", "volume": 0.6, "earcon_volume": 0.3, "dim": 0.5}


@pytest.mark.parametrize(("now", "volume"), [
    (at(21, 59), 1.0), (at(22, 0), 0.6), (at(23, 59), 0.6), (at(0, 0), 0.6),
    (at(3, 30), 0.6), (at(6, 59), 0.6), (at(7, 0), 1.0), (at(12, 0), 1.0),
])
def test_a_range_across_midnight(now: datetime, volume: float) -> None:
    schedule = Schedule(lambda: quiet(NIGHT))
    assert schedule.volume_at(now) == volume
    levels = schedule.levels_at(now)
    assert (levels.quiet == "22:00-07:00") == (volume < 1)
    assert levels.earcon_volume == (0.3 if volume < 1 else 1.0)
    assert levels.dim == (0.5 if volume < 1 else 1.0)


def test_a_same_day_range_and_the_first_match_wins() -> None:
    schedule = Schedule(lambda: quiet({"from": "13:00", "to": "14:00", "volume": 0.2}, NIGHT,
                                      {"from": "13:30", "to": "15:00", "volume": 0.9}))
    assert schedule.volume_at(at(12, 59)) == 1.0
    assert schedule.volume_at(at(13, 45)) == 0.2  # both match: the first listed
    assert schedule.volume_at(at(14, 30)) == 0.9
    assert schedule.volume_at(at(15, 0)) == 1.0
    assert Schedule(lambda: ScheduleSettings()).health(at(3, 0)) == {
        "quiet": None, "volume": 1.0, "earcon_volume": 1.0, "dim": 1.0,
        "dim_from": "schedule"}


def test_the_settings_are_read_live() -> None:
    current = [quiet()]
    schedule = Schedule(lambda: current[0], now=lambda: at(23, 0))
    assert schedule.volume_at() == 1.0
    current[0] = quiet(NIGHT)  # a reload
    assert schedule.volume_at() == 0.6
    assert schedule.health()["quiet"] == "22:00-07:00"


@pytest.mark.parametrize(("ranges", "line"), [
    ([{"from": "22:60", "to": "07:00"}], 'schedule.quiet[0].from: Value error, expected a time '
                                          'of day as "HH:MM" (00:00-23:59) (got \'22:60\')'),
    ([{"from": "22:00", "to": "7:00"}], "schedule.quiet[0].to: Value error, expected a time of "
                                        "day as \"HH:MM\" (00:00-23:59) (got '7:00')"),
    ([{"from": "22:00"}], "schedule.quiet[0].to: Field required"),
    ([{"from": "08:00", "to": "08:00"}], "schedule.quiet[0]: Value error, from and to are both "
                                         "08:00: an empty range"),
    ([NIGHT, {"from": "01:00", "to": "02:00", "volum": 0.5}],
     "schedule.quiet[1].volum: unknown key (did you mean 'volume'?)"),
    ([{"from": "22:00", "to": "07:00", "volume": 1.5}],
     "schedule.quiet[0].volume: Input should be less than or equal to 1 (got 1.5)"),
])
def test_bad_ranges_are_one_clear_line_each(tmp_path, ranges: list[dict], line: str) -> None:
    with pytest.raises(ConfigError) as err:
        validate_config(config_dict(tmp_path, schedule={"quiet": ranges}), "vitad.toml",
                        shipped_config_dir())
    assert err.value.problems == [line]


class Recorder:
    """A sink that keeps what was written."""

    def __init__(self) -> None:
        self.blocks: list[np.ndarray] = []

    def write(self, samples: np.ndarray) -> None:
        self.blocks.append(samples.copy())

    def close(self) -> None:
        pass


def _reply_peak(speaker: LiveSpeaker, sink: Recorder, bus: ev.EventBus, turn: str) -> int:
    done: list[ev.Event] = []
    unsubscribe = bus.subscribe(lambda e: done.append(e) if e.type == "turn_end" else None)
    sink.blocks.clear()
    utt = Utterance(turn, "hi", "fake", Endpoint("silence", 1.0, 1.5), time.perf_counter(), 0.0)
    speaker.say(turn, "one two three", utt, "hello")
    deadline = time.monotonic() + 5
    while not done and time.monotonic() < deadline:
        time.sleep(0.01)
    unsubscribe()
    assert done, "the reply never finished"
    return int(max(np.abs(b.astype(np.int32)).max() for b in sink.blocks if len(b)))


def test_the_reply_volume_changes_at_the_boundary() -> None:
    """The speaker asks the schedule on each reply; a fake clock crosses 22:00."""
    clock = [at(21, 59)]
    schedule = Schedule(lambda: quiet(NIGHT), now=lambda: clock[0])
    bus, sink = ev.EventBus(), Recorder()
    speaker = LiveSpeaker(FakeTts(), sink, bus, time.monotonic, volume=0.5,  # type: ignore[arg-type]
                          realtime=False, schedule=schedule)
    speaker.start()
    try:
        day = _reply_peak(speaker, sink, bus, "t1")
        clock[0] = at(22, 0)
        night = _reply_peak(speaker, sink, bus, "t2")
        clock[0] = at(7, 0)
        morning = _reply_peak(speaker, sink, bus, "t3")
    finally:
        speaker.close()
    assert day == pytest.approx(8000 * 0.5, abs=2)  # FakeTts peaks at 8000; [audio] volume
    assert night == pytest.approx(8000 * 0.5 * 0.6, abs=2)
    assert morning == day


def test_the_volume_and_the_screen_change_together_at_the_boundary() -> None:
    """One injected clock drives the speaker's schedule and the avatar's: at 22:00 the reply
    is quieter and the screen dims (within the state's 10 s check), at 07:00 both return."""
    from vitad.avatar.state import AvatarState
    from vitad.config.avatar_settings import AvatarSettings

    clock = [at(21, 59)]
    settings = quiet(NIGHT)
    schedule = Schedule(lambda: settings, now=lambda: clock[0])
    state = AvatarState(AvatarSettings(), seed=1, schedule=settings,
                        wallclock=lambda: clock[0].time())
    bus, sink = ev.EventBus(), Recorder()
    speaker = LiveSpeaker(FakeTts(), sink, bus, time.monotonic,  # type: ignore[arg-type]
                          realtime=False, schedule=schedule)
    speaker.start()
    seen = []
    try:
        for t, (hh, mm) in enumerate([(21, 59), (22, 0), (7, 0)]):
            clock[0] = at(hh, mm)
            state.tick(t * 11.0)
            seen.append((_reply_peak(speaker, sink, bus, f"t{t}"), state.brightness,
                         state.mode, schedule.health()["dim"]))
    finally:
        speaker.close()
    assert [s[1:] for s in seen] == [(1.0, "idle", 1.0), (0.5, "night", 0.5),
                                     (1.0, "idle", 1.0)]
    assert seen[1][0] == pytest.approx(seen[0][0] * 0.6, abs=2) and seen[2][0] == seen[0][0]


def test_dim_comes_from_the_first_range_in_force_that_sets_it() -> None:
    schedule = Schedule(lambda: quiet({"from": "22:00", "to": "07:00", "volume": 0.6},
                                      {"from": "20:00", "to": "08:00", "dim": 0.4}))
    assert schedule.levels_at(at(23, 0)) == Levels(0.6, 1.0, 0.4, "22:00-07:00", True)
    assert schedule.levels_at(at(21, 0)) == Levels(1.0, 1.0, 0.4, "20:00-08:00", True)
    assert schedule.levels_at(at(12, 0)) == Levels()


def test_the_deprecated_avatar_night_keys_dim_until_the_schedule_does() -> None:
    from vitad.config.avatar_settings import AvatarSettings

    avatar = AvatarSettings()  # the defaults: 22:00-06:00 at 0.35, as before [schedule]
    volume_only = quiet({"from": "22:00", "to": "07:00", "volume": 0.6})
    schedule = Schedule(lambda: volume_only, avatar=lambda: avatar)
    assert schedule.health(at(23, 0)) == {"quiet": "22:00-07:00", "volume": 0.6,
                                          "earcon_volume": 1.0, "dim": 0.35,
                                          "dim_from": "[avatar] night_*"}
    assert schedule.levels_at(at(6, 30)).dim == 1.0  # the avatar's night ends at 06:00
    assert night_keys_note(volume_only, avatar) is None  # defaults: nothing to say
    avatar = AvatarSettings(night_start="23:00", night_end="05:00")
    assert schedule.levels_at(at(22, 30)).dim == 1.0 and schedule.levels_at(at(23, 0)).night
    assert night_keys_note(volume_only, avatar) == (
        '[avatar] night_start, [avatar] night_end: deprecated; write the night as [schedule] '
        'quiet = [{ from = "23:00", to = "05:00", dim = 0.35 }]')
    with_dim = quiet(NIGHT)
    assert night_keys_note(with_dim, avatar) == (
        "[avatar] night_start, [avatar] night_end: deprecated and ignored, [schedule] quiet "
        "ranges set dim")
    schedule = Schedule(lambda: with_dim, avatar=lambda: avatar)
    assert schedule.levels_at(at(23, 30)).dim == 0.5
    assert schedule.levels_at(at(7, 30)).dim == 1.0  # the avatar's 05:00 no longer counts
    assert schedule.health(at(23, 30))["dim_from"] == "schedule"
