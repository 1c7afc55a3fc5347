"""Earcons: the bundled tones, which events sound which tone, and how the speakers play them."""

from __future__ import annotations

import importlib.util
import threading
import time
import wave
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from tests.fakes import FakeTts
from vitad import events as ev
from vitad.audio.schedule import Schedule
from vitad.config.schedule_settings import QuietRange, ScheduleSettings
from vitad.config.schema import AudioSettings
from vitad.pipeline.earcons import MAX_TONE_S, TONES, Earcons, load_tone, sounds_dir
from vitad.pipeline.endpoint import Endpoint
from vitad.pipeline.listener import Utterance
from vitad.pipeline.speakers import CHIME_BLOCK_S, LiveSpeaker, TimelineSpeaker

RATE = 22050


@pytest.mark.parametrize("name", TONES)
def test_the_bundled_tones_are_short_quiet_and_clean(name: str) -> None:
    path = sounds_dir() / f"{name}.wav"
    assert path.stat().st_size < 16 * 1024
    with wave.open(str(path)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, RATE)
        samples = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32)
    assert 0.1 <= len(samples) / RATE <= MAX_TONE_S
    peak = np.abs(samples).max() / 32768
    assert 0.1 < peak <= 0.3  # audible, but well below full scale (about -12 dBFS)
    edge = int(0.001 * RATE)  # faded in and out: no click at either end
    assert np.abs(samples[:edge]).max() < 0.05 * peak * 32768
    assert np.abs(samples[-edge:]).max() < 0.05 * peak * 32768


def test_the_committed_tones_are_what_the_script_makes() -> None:
    spec = importlib.util.spec_from_file_location("make_earcons",
                                                  sounds_dir() / "make_earcons.py")
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    for name in TONES:
        with wave.open(str(sounds_dir() / f"{name}.wav")) as w:
            committed = w.readframes(w.getnframes())
        assert script.render(script.TONES[name]).tobytes() == committed, name


def test_a_tone_is_resampled_to_the_voice_rate() -> None:
    at_16k = load_tone("wake", 16000)
    assert len(at_16k) == pytest.approx(len(load_tone("wake", RATE)) * 16000 / RATE, abs=2)


class Chimes:
    rate = RATE

    def __init__(self) -> None:
        self.played: list[tuple[float, np.ndarray]] = []

    def chime(self, samples: np.ndarray, t: float) -> None:
        self.played.append((t, samples))


def turn_events() -> list[ev.Event]:
    return [
        ev.Wake(1.0, "hey_jarvis", 0.9),
        ev.Listening(1.0, "t1"),
        ev.Transcript(1.5, "t1", "how", final=False),
        ev.SpeechEnd(2.0, "t1", "silence", 2.5),
        ev.Transcript(2.5, "t1", "how much", final=True),
        ev.StageError(2.6, "tts", "tts.failed", "boom", "t1"),
        ev.TurnEnd(2.7, "t1", outcome="error"),  # the same turn: one error tone
        ev.Wake(5.0, "hey_jarvis", 0.9),
        ev.Transcript(8.0, "t2", "", final=True),  # nothing heard: no "understood"
        ev.StageError(9.0, "audio_in", "audio_in.failed", "mic"),  # not a turn's error
    ]


def test_events_map_to_tones() -> None:
    chimes = Chimes()
    earcons = Earcons(chimes, lambda: AudioSettings(earcon_volume=1.0))
    for event in turn_events():
        earcons.on_event(event)
    assert earcons.played == [("wake", 1.0), ("understood", 2.5), ("error", 2.6), ("wake", 5.0)]
    wake = chimes.played[0][1]
    assert wake.dtype == np.int16 and np.abs(wake).max() == pytest.approx(0.25 * 32767, abs=2)


@pytest.mark.parametrize(("audio", "expected"), [
    (AudioSettings(earcon_volume=0.0), []),
    (AudioSettings(earcons=[]), []),
    (AudioSettings(earcons=["error"]), ["error"]),
    (AudioSettings(earcons=["wake", "understood"]), ["wake", "understood", "wake"]),
])
def test_volume_zero_or_a_tone_off_plays_nothing(audio: AudioSettings,
                                                 expected: list[str]) -> None:
    chimes = Chimes()
    earcons = Earcons(chimes, lambda: audio)
    for event in turn_events():
        earcons.on_event(event)
    assert [name for name, _ in earcons.played] == expected
    assert len(chimes.played) == len(expected)


def test_quiet_hours_scale_the_tones() -> None:
    night = ScheduleSettings(quiet=[QuietRange.model_validate(
        {"from": "22:00", "to": "07:00", "earcon_volume": 0.3})])
    clock = [datetime(2026, 1, 1, 21, 59)]
    chimes = Chimes()
    earcons = Earcons(chimes, lambda: AudioSettings(earcon_volume=0.5),
                      Schedule(lambda: night, now=lambda: clock[0]))
    earcons.play("wake", 1.0)
    clock[0] = datetime(2026, 1, 1, 22, 0)
    earcons.play("wake", 2.0)
    day, late = (int(np.abs(s).max()) for _, s in chimes.played)
    assert late == pytest.approx(day * 0.3, abs=2)


def test_a_missing_tone_is_logged_not_raised(tmp_path: Path, caplog) -> None:
    chimes = Chimes()
    earcons = Earcons(chimes, lambda: AudioSettings(), folder=tmp_path)
    assert earcons.play("wake", 1.0) is False
    assert chimes.played == [] and "earcon wake unusable" in caplog.text


def utterance(turn: str, decided_at: float) -> Utterance:
    return Utterance(turn, "how much", "fake", Endpoint("silence", decided_at - 0.5, decided_at),
                     time.perf_counter(), 0.0)


def test_the_timeline_gates_and_mixes_a_tone_without_moving_the_reply() -> None:
    bus = ev.EventBus()
    speaker = TimelineSpeaker(FakeTts(), bus, tail_s=0.3)  # type: ignore[arg-type]
    tone = (load_tone("understood", RATE) * 32767).astype(np.int16)
    speaker.chime(tone, 5.0)
    assert speaker.is_playing(5.0) and speaker.is_playing(5.0 + 0.19 + 0.29)
    assert not speaker.is_playing(5.0 + 0.19 + 0.31)
    assert np.abs(speaker.reference(5.1)).max() > 1000  # the self-voice check hears it
    seen: list[ev.Event] = []
    bus.subscribe(seen.append)
    speaker.say("t1", "one two", utterance("t1", 5.0), "hello")  # ready at once
    speaker.release()
    (start,) = [e for e in seen if isinstance(e, ev.AudioOutStart)]
    assert start.t < 5.05  # not queued behind the 0.19 s tone
    track = speaker.render(6.0).astype(np.int32)
    i, offset = round(5.0 * RATE), round(start.t * RATE) - round(5.0 * RATE)
    reply = next(FakeTts().speak("one two")).samples
    expected = tone.astype(np.int32)
    expected[offset:] += reply[: len(tone) - offset]
    assert np.array_equal(track[i : i + len(tone)], np.clip(expected, -32768, 32767))


class PacedSink:
    """Writes take real time, like a sound card: (wall time, samples) per write."""

    def __init__(self) -> None:
        self.writes: list[tuple[float, np.ndarray]] = []
        self.lock = threading.Lock()

    def write(self, samples: np.ndarray) -> None:
        with self.lock:
            self.writes.append((time.monotonic(), samples.copy()))
        time.sleep(len(samples) / RATE)

    def close(self) -> None:
        pass


def test_the_live_speaker_plays_a_tone_gated_and_never_delays_a_reply() -> None:
    bus, sink = ev.EventBus(), PacedSink()
    ended = threading.Event()
    bus.subscribe(lambda e: ended.set() if e.type == "turn_end" else None)
    speaker = LiveSpeaker(FakeTts(), sink, bus, time.monotonic, tail_s=0.3)  # type: ignore[arg-type]
    speaker.start()
    try:
        tone = (load_tone("error", RATE) * 32767).astype(np.int16)  # 0.28 s
        speaker.chime(tone)
        assert speaker.is_playing()  # gated from the moment it is asked for
        time.sleep(0.06)
        asked = time.monotonic()
        speaker.say("t1", "one two three four", utterance("t1", 1.0), "hello")  # 0.4 s
        assert ended.wait(5)
        assert speaker.is_playing()  # the playback tail
    finally:
        speaker.close()
    reply = next(FakeTts().speak("one two three four")).samples
    chime_blocks = [(w, s) for w, s in sink.writes if len(s) == int(RATE * CHIME_BLOCK_S)]
    first_reply_t = next(w for w, s in sink.writes if len(s) == int(RATE * 0.04))
    assert chime_blocks and chime_blocks[0][0] < asked  # the tone started on its own
    assert first_reply_t - asked < CHIME_BLOCK_S + 0.1  # not after the rest (0.22 s) of the tone
    played = np.concatenate([s for _, s in sink.writes]).astype(np.int32)
    heard = sum(len(s) for _, s in chime_blocks)
    # Every sample of the tone was played exactly once: alone, then mixed into the reply.
    rest = tone[heard:].astype(np.int32)
    assert np.array_equal(played[:heard], tone[:heard])
    assert np.array_equal(played[heard : heard + len(rest)],
                          np.clip(reply[: len(rest)].astype(np.int32) + rest, -32768, 32767))
