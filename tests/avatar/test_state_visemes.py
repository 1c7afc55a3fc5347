"""Phoneme lip-sync end to end: the real voice's alignments -> the speaker's MouthLevel
events at playback time -> ``AvatarState.viseme``; and no alignments -> loudness only."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from vitad import events as ev
from vitad.avatar.state import VISEMES, AvatarState
from vitad.config.avatar_settings import AvatarSettings
from vitad.config.schema import TtsSettings
from vitad.pipeline.endpoint import Endpoint
from vitad.pipeline.listener import Utterance
from vitad.pipeline.speakers import MOUTH_BLOCK_S, LiveSpeaker
from vitad.tts.piper_engine import PiperTts
from vitad.tts.visemes import viseme_track

SENTENCE = "We open at seven every morning."  # one chunk: no clause to split the reply at


class PositionSink:
    """An output that counts the samples played so far (the playback position)."""

    def __init__(self) -> None:
        self.position = 0

    def write(self, samples: np.ndarray) -> None:
        self.position += len(samples)

    def close(self) -> None:
        pass


def play(tts: PiperTts) -> list[tuple[int, ev.MouthLevel]]:
    """Speak SENTENCE; each MouthLevel with the playback position it was published at."""
    bus, sink = ev.EventBus(), PositionSink()
    seen: list[tuple[int, ev.MouthLevel]] = []
    done: list[ev.Event] = []

    def record(event: ev.Event) -> None:
        if isinstance(event, ev.MouthLevel):
            seen.append((sink.position, event))
        elif isinstance(event, ev.TurnEnd):
            done.append(event)

    bus.subscribe(record)
    speaker = LiveSpeaker(tts, sink, bus, time.monotonic, realtime=False)
    speaker.start()
    try:
        utt = Utterance("t1", "when do you open", "test", Endpoint("silence", 1.0, 1.5),
                        time.perf_counter(), 0.0)
        speaker.say("t1", SENTENCE, utt, "hours")
        deadline = time.monotonic() + 30
        while not done and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        speaker.close()
    assert done, "the reply never finished"
    return seen


def follow(events: list[tuple[int, ev.MouthLevel]], rate: int) -> tuple[AvatarState, list]:
    """Feed the events to a state at their playback times; (state, viseme after each)."""
    st = AvatarState(AvatarSettings(), seed=1)
    st.on_event(ev.AudioOutStart(0.0, "t1"))
    shown = []
    for position, event in events:
        st.tick(position / rate)
        st.on_event(event)
        st.tick(position / rate + 0.01)
        shown.append((st.viseme, st.mouth))
    return st, shown


def test_the_viseme_follows_what_is_playing(tts: PiperTts) -> None:
    events = play(tts)
    speech = tts.cache.get(tts.cache_key(SENTENCE))
    assert speech is not None and speech.alignment is not None
    track = viseme_track(speech.alignment)
    block = int(tts.rate * MOUTH_BLOCK_S)
    blocks = [(pos, e) for pos, e in events if pos < len(speech.samples)]
    assert len(blocks) == -(-len(speech.samples) // block)
    # Published as each block starts playing, with the shape of *that* block.
    for pos, event in blocks:
        assert event.viseme == track.over(pos, pos + block), pos
    assert {e.viseme for _, e in blocks} == set(VISEMES)
    assert events[-1][1].level == 0.0 and events[-1][1].viseme is None  # playback over
    st, shown = follow(blocks, tts.rate)
    assert [v for v, _ in shown] == [e.viseme for _, e in blocks]
    st.tick(st.now + 0.3)  # no more audio: back to no shape
    assert st.viseme is None and st.mouth == 0.0


def test_no_alignments_leaves_the_viseme_none_and_the_mouth_moves(tmp_path: Path) -> None:
    plain = PiperTts(TtsSettings(noise_scale=0.0, noise_w=0.0), cache_dir=tmp_path,
                     alignments=False)
    events = play(plain)
    assert events and all(e.viseme is None for _, e in events)
    _, shown = follow(events, plain.rate)
    assert all(v is None for v, _ in shown)
    assert max(m for _, m in shown) > 0.5  # loudness still drives the mouth


def test_an_unknown_viseme_is_ignored() -> None:
    st = AvatarState(AvatarSettings(), seed=1)
    st.on_event(ev.MouthLevel(0.0, 0.5, "round"))
    assert st.viseme == "round"
    st.on_event(ev.MouthLevel(0.0, 0.5, "pout"))
    assert st.viseme is None
