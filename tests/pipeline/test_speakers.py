"""Speakers: playback-time events, barge-in cuts, a speaker that vanishes and comes back."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from tests.fakes import FakeTts, FlakySink
from vitad import events as ev
from vitad.pipeline.endpoint import Endpoint
from vitad.pipeline.listener import Utterance
from vitad.pipeline.speakers import PIECES_AHEAD, LiveSpeaker, TimelineSpeaker
from vitad.tts.windowed import windows


def utterance(turn: str = "t1", decided_at: float = 5.0) -> Utterance:
    return Utterance(turn, "how much", "fake", Endpoint("silence", decided_at - 0.5, decided_at),
                     time.perf_counter(), 0.0)


def collect(bus: ev.EventBus) -> list[ev.Event]:
    seen: list[ev.Event] = []
    bus.subscribe(seen.append)
    return seen


def test_timeline_schedules_events_at_playback_time_and_barge_in_cuts() -> None:
    bus = ev.EventBus()
    seen = collect(bus)
    speaker = TimelineSpeaker(FakeTts(), bus, tail_s=0.3)  # type: ignore[arg-type]
    speaker.say("t1", "One two three four five six seven eight nine ten. Second sentence here.",
                utterance(), "prices")
    assert seen == []  # nothing is published before the input clock reaches it
    speaker.release(5.0)
    assert [e.type for e in seen] == []
    speaker.release(5.5)
    assert [e.type for e in seen] == ["audio_out_start", "speaking"]
    assert speaker.is_playing(5.6)
    speaker.interrupt(5.6)  # barge-in
    speaker.release()
    end = [e for e in seen if e.type == "audio_out_end"]
    assert len(end) == 1 and end[0].interrupted and end[0].t == 5.6  # type: ignore[attr-defined]
    assert [e.type for e in seen].count("speaking") == 1  # the second sentence never played
    assert not speaker.is_playing(6.0)
    track = speaker.render(10.0)
    assert track[int(5.5 * 22050) : int(5.6 * 22050)].any()  # played until the barge-in
    assert not track[int(5.61 * 22050) :].any()  # and nothing after it


def test_live_speaker_survives_a_vanishing_device_and_reopens_it() -> None:
    bus = ev.EventBus()
    seen = collect(bus)
    broken = FlakySink(fail_after=3)
    fresh = FlakySink()
    opened: list[FlakySink] = []

    def reopen() -> FlakySink:
        if not opened:
            opened.append(fresh)
            raise OSError("still unplugged")  # first retry fails: backoff
        return fresh

    speaker = LiveSpeaker(FakeTts(), broken, bus, time.monotonic, realtime=False,  # type: ignore[arg-type]
                          reopen=reopen, retry_s=(0.05, 0.2))
    speaker.start()
    try:
        speaker.say("t1", "one two three four five six seven eight", utterance(), "prices")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not any(
                e.type == "degraded" and not e.active for e in seen):  # type: ignore[attr-defined]
            time.sleep(0.05)
        degraded = [e for e in seen if e.type == "degraded"]
        assert [d.active for d in degraded] == [True, False]  # type: ignore[attr-defined]
        assert broken.closed.is_set()
        assert any(e.type == "turn_end" for e in seen), "the turn must still finish"
        speaker.say("t2", "back again", utterance("t2"), "thanks")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and fresh.writes == 0:
            time.sleep(0.05)
        assert fresh.writes > 0
    finally:
        speaker.close()


def test_live_speaker_interrupt_stops_between_blocks() -> None:
    bus = ev.EventBus()
    seen = collect(bus)
    speaker = LiveSpeaker(FakeTts(), None, bus, time.monotonic, realtime=True)  # type: ignore[arg-type]
    speaker.start()
    try:
        speaker.say("t1", " ".join(["word"] * 40), utterance(), "prices")  # 4 s of audio
        time.sleep(0.4)
        assert speaker.is_playing()
        speaker.interrupt()
        time.sleep(0.3)
        ends = [e for e in seen if e.type == "audio_out_end"]
        assert ends and ends[0].interrupted  # type: ignore[attr-defined]
    finally:
        speaker.close()


class _Voice16k(FakeTts):
    rate = 16000


def test_a_reloaded_voice_with_another_rate_reopens_the_device_at_that_rate() -> None:
    """Issue 9: LiveSpeaker.rate was fixed at construction, so a 16 kHz voice after a
    22.05 kHz one played at the wrong speed."""
    bus = ev.EventBus()
    seen = collect(bus)
    opened: list[FlakySink] = []
    rates: list[int] = []
    speaker: LiveSpeaker

    def reopen() -> FlakySink:
        rates.append(speaker.rate)  # the daemon opens the device at the voice's rate
        opened.append(FlakySink())
        return opened[-1]

    first = FlakySink()
    speaker = LiveSpeaker(FakeTts(), first, bus, time.monotonic, realtime=False,  # type: ignore[arg-type]
                          reopen=reopen, retry_s=(0.01, 0.05))
    speaker.start()
    try:
        speaker.use_voice(_Voice16k())  # type: ignore[arg-type]
        speaker.say("t1", "hello there", utterance(), "greeting")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not any(e.type == "turn_end" for e in seen):
            time.sleep(0.02)
        assert speaker.rate == 16000 and rates == [16000]
        assert first.closed and opened and opened[0].writes > 0
    finally:
        speaker.close()


class _SlowVoice(FakeTts):
    """Each chunk takes 0.3 s to "synthesize"; records when each synthesis started."""

    def __init__(self) -> None:
        super().__init__()
        self.started: dict[str, float] = {}

    def speak(self, text: str):  # type: ignore[no-untyped-def]
        for sentence in super().speak(text):
            self.started[sentence.text] = time.monotonic()
            time.sleep(0.3)
            yield sentence


def test_live_speaker_synthesizes_the_next_chunk_while_this_one_plays() -> None:
    """A blocking device write followed by the next synthesis would put that synthesis as
    silence between the chunks (mid-sentence, after a short first clause)."""
    bus = ev.EventBus()
    seen = collect(bus)
    voice = _SlowVoice()
    speaker = LiveSpeaker(voice, None, bus, time.monotonic, realtime=True)  # type: ignore[arg-type]
    speaker.start()
    try:
        speaker.say("t1", "One two three four five six seven eight. Nine ten.", utterance(), "x")
        deadline = time.monotonic() + 10
        while not any(isinstance(e, ev.TurnEnd) for e in seen) and time.monotonic() < deadline:
            time.sleep(0.05)
        said = [e for e in seen if isinstance(e, ev.SpeakingSentence)]
        assert [e.text for e in said] == ["One two three four five six seven eight.",
                                          "Nine ten."]
        # The second chunk's synthesis began while the first (0.8 s of audio) was playing,
        # so it was ready the moment the first ended: no 0.3 s hole between them.
        assert voice.started["Nine ten."] < said[0].t + 0.2
        assert said[1].t - said[0].t < 0.8 + 0.15
    finally:
        speaker.close()


def _wait_for_turn_end(seen: list[ev.Event], timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not any(isinstance(e, ev.TurnEnd) for e in seen) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert any(isinstance(e, ev.TurnEnd) for e in seen), "the reply never finished"


def test_live_speaker_plays_a_chunk_that_comes_in_pieces_as_one_sentence() -> None:
    bus = ev.EventBus()
    seen = collect(bus)
    voice = FakeTts()
    voice.piece_samples = 3000  # a cache miss decoded window by window
    sink = FlakySink()
    speaker = LiveSpeaker(voice, sink, bus, time.monotonic, realtime=False)  # type: ignore[arg-type]
    speaker.start()
    try:
        speaker.say("t1", "One two three four. Five six.", utterance(), "x")
        _wait_for_turn_end(seen)
    finally:
        speaker.close()
    said = [e.text for e in seen if isinstance(e, ev.SpeakingSentence)]  # once per chunk
    assert said == ["One two three four.", "Five six."]
    assert [e.type for e in seen].count("audio_out_start") == 1
    assert sink.samples == int(22050 * 0.1) * 6  # every piece played, nothing twice


class _FirstWriteSink(FlakySink):
    """Notes whether the chunk was already in the TTS cache at the first audio written."""

    def __init__(self, check: Callable[[], bool]) -> None:
        super().__init__()
        self.check = check
        self.cached_at_first_write: bool | None = None
        self.written: list[np.ndarray] = []

    def write(self, samples: np.ndarray) -> None:
        if self.cached_at_first_write is None:
            self.cached_at_first_write = self.check()
        self.written.append(samples.copy())
        super().write(samples)


def test_live_speaker_starts_a_miss_before_its_chunk_is_decoded(tts) -> None:  # type: ignore[no-untyped-def]
    """The real voice: on a cache miss the first window plays while the rest is decoded (the
    chunk reaches the cache only with its last piece), and the reply is all there."""
    text = "The big dryers on the back wall take cards and coins and the app."
    assert tts.windowed
    key = tts.cache_key(text)
    bus = ev.EventBus()
    seen = collect(bus)
    sink = _FirstWriteSink(lambda: tts.cache.get(key) is not None)
    speaker = LiveSpeaker(tts, sink, bus, time.monotonic, realtime=False)
    speaker.start()
    try:
        speaker.say("t1", text, utterance(), "x")
        _wait_for_turn_end(seen)
    finally:
        speaker.close()
    starts = [e for e in seen if isinstance(e, ev.AudioOutStart)]
    assert len(starts) == 1 and not starts[0].cached
    assert sink.cached_at_first_write is False
    cached = tts.cache.get(key)
    assert cached is not None
    # More pieces than the read-ahead may make while the first plays: the first write came
    # before the chunk's last piece was decoded, whatever the threads' timing.
    assert len(cached.samples) > 256 * sum(hi - lo for lo, hi in windows(10**6)[:PIECES_AHEAD + 1])
    played = np.concatenate(sink.written)
    assert len(played) >= len(cached.samples)  # the chunk, then its pause
    assert np.abs(played[: len(cached.samples)]).max() > 3000
    said = [e.text for e in seen if isinstance(e, ev.SpeakingSentence)]
    assert said == [text]
    visemes = {e.viseme for e in seen if isinstance(e, ev.MouthLevel)}
    assert len(visemes - {None}) >= 3  # the phoneme track followed across the pieces


def test_a_barge_in_stops_a_reply_that_comes_in_pieces() -> None:
    bus = ev.EventBus()
    seen = collect(bus)
    voice = FakeTts()
    voice.piece_samples = 2000  # ~90 ms pieces, as a miss's first windows
    speaker = LiveSpeaker(voice, None, bus, time.monotonic, realtime=True)  # type: ignore[arg-type]
    speaker.start()
    try:
        words = " ".join(["word"] * 20)
        speaker.say("t1", f"{words}. {words}. {words}.", utterance(), "prices")  # 6 s
        time.sleep(0.4)
        speaker.interrupt()
        asked = time.monotonic()
        while not any(e.type == "audio_out_end" for e in seen) and time.monotonic() < asked + 2:
            time.sleep(0.01)
        ends = [e for e in seen if isinstance(e, ev.AudioOutEnd)]
        assert ends and ends[0].interrupted and ends[0].t - asked < 0.2  # within a block or so
        time.sleep(0.2)
        assert len(voice.spoken) < 3  # the read-ahead stopped: the last sentence never made
    finally:
        speaker.close()
