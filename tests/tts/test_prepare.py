"""Answers prepared ahead: the background preparer, its pause while a turn is live, its bound.

A fake voice (records every synthesis, over a real AudioCache) for the orchestration; one
test with the real Piper voice.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from vitad import events as ev
from vitad.config.loader import load_config, shipped_config_dir
from vitad.config.schema import TtsSettings
from vitad.dialogue.replies import all_replies
from vitad.pipeline.engines import build_dialogue
from vitad.tts.cache import AudioCache, Speech, entry_bytes
from vitad.tts.piper_engine import PiperTts
from vitad.tts.prepare import Preparer, TurnGate, reply_chunks

WAIT_S = 10.0


class RecordingVoice:
    """Records each synthesis and whether the pause was set when it started."""

    def __init__(self, cache: AudioCache, pause: threading.Event,
                 on_render: dict[int, threading.Event] | None = None) -> None:
        self.cache = cache
        self.pause = pause
        self.calls: list[tuple[float, str]] = []
        self.started_while_paused: list[str] = []
        self.on_render = on_render or {}  # call number → an event the call sets (a turn)

    def cache_key(self, sentence: str) -> str:
        return AudioCache.key("fake", sentence, "")

    def render(self, sentence: str) -> Speech:
        if self.pause.is_set():
            self.started_while_paused.append(sentence)
        self.calls.append((time.monotonic(), sentence))
        event = self.on_render.get(len(self.calls))
        if event is not None:
            event.set()  # a turn starts while this sentence is being synthesized
        return Speech(np.full(100 + len(sentence), 7, dtype=np.int16))


def quick(pause: threading.Event | TurnGate) -> Preparer:
    return Preparer(pause, min_rest_s=0.001, poll_s=0.01)


REPLIES = ["We are open until 11. The last wash starts at 10.",
           "The dryer is 1 dollar 50.", "Sorry, could you say that again?",
           "We are open until 11. Bring coins."]


def test_prepares_each_missing_sentence_once(tmp_path: Path) -> None:
    pause = threading.Event()
    voice = RecordingVoice(AudioCache(tmp_path, 1 << 20), pause)
    preparer = quick(pause)
    try:
        preparer.prepare(voice, lambda: REPLIES)
        assert preparer.wait_idle(WAIT_S)
        chunks = reply_chunks(REPLIES)
        # Each once, first sentences of all replies first (what the first audio waits for).
        assert chunks == ["We are open until 11.", "The dryer is 1 dollar 50.",
                          "Sorry, could you say that again?", "The last wash starts at 10.",
                          "Bring coins."]
        assert [s for _, s in voice.calls] == chunks
        progress = preparer.progress()
        assert (progress.prepared, progress.total, progress.state) == (5, 5, "done")
        assert progress.health()["prepared"] == "5/5"
        for chunk in chunks:
            assert voice.cache.get(voice.cache_key(chunk)) is not None
        preparer.prepare(voice, lambda: REPLIES)  # a reload with nothing new: nothing to synthesize
        assert preparer.wait_idle(WAIT_S)
        assert len(voice.calls) == 5 and preparer.progress().prepared == 5
    finally:
        preparer.close()


def test_a_price_change_re_prepares_exactly_the_affected_answers(tmp_path: Path) -> None:
    config = load_config(shipped_config_dir() / "vitad.toml")
    old_dialogue = build_dialogue(config)
    machines = [m.model_copy(update={"price": "8 dollars 25"}) if m.id == "washer_large"
                else m for m in config.shop.machines]
    new_config = config.model_copy(update={"shop": config.shop.model_copy(
        update={"machines": machines})})
    new_dialogue = build_dialogue(new_config)
    pause = threading.Event()
    voice = RecordingVoice(AudioCache(tmp_path, 64 << 20), pause)
    preparer = quick(pause)
    try:
        preparer.prepare(voice, lambda: all_replies(old_dialogue))
        assert preparer.wait_idle(WAIT_S)
        first = len(voice.calls)
        assert first == len(reply_chunks(all_replies(old_dialogue))) > 50
        preparer.prepare(voice, lambda: all_replies(new_dialogue))  # the reload
        assert preparer.wait_idle(WAIT_S)
        again = [s for _, s in voice.calls[first:]]
        assert again and all("8 dollars 25" in s for s in again)
        new_chunks = reply_chunks(all_replies(new_dialogue))
        assert set(again) == {c for c in new_chunks if "8 dollars 25" in c}
        assert preparer.progress().prepared == len(new_chunks)
    finally:
        preparer.close()


def test_no_synthesis_starts_while_a_turn_is_live(tmp_path: Path) -> None:
    pause = threading.Event()
    preparer = quick(pause)
    # The 2nd synthesis is under way when a customer says the wake word.
    voice = RecordingVoice(AudioCache(tmp_path, 1 << 20), pause, on_render={2: pause})
    try:
        preparer.prepare(voice, lambda: REPLIES)
        time.sleep(0.5)  # the turn: nothing may start during it
        assert len(voice.calls) == 2
        assert preparer.progress().state == "paused"
        assert preparer.progress().prepared == 2  # the one under way finished and counts
        turn_over = time.monotonic()
        pause.clear()
        assert preparer.wait_idle(WAIT_S)
        assert len(voice.calls) == 5
        assert all(t >= turn_over for t, _ in voice.calls[2:])
        assert voice.started_while_paused == []
    finally:
        preparer.close()


def test_paused_from_the_start_prepares_nothing_until_the_turn_ends(tmp_path: Path) -> None:
    gate = TurnGate()
    gate.on_event(ev.Listening(0.0, "t1"))
    voice = RecordingVoice(AudioCache(tmp_path, 1 << 20), threading.Event())
    preparer = quick(gate)
    try:
        preparer.prepare(voice, lambda: REPLIES)
        assert not preparer.wait_idle(0.3)
        assert voice.calls == [] and preparer.progress().state == "paused"
        gate.on_event(ev.TurnEnd(1.0, "t1", outcome="answered"))
        assert preparer.wait_idle(WAIT_S)
        assert len(voice.calls) == 5
    finally:
        preparer.close()


def test_turn_gate_follows_overlapping_turns_and_forgets_a_lost_end() -> None:
    now = [0.0]
    gate = TurnGate(max_turn_s=60.0, clock=lambda: now[0])
    assert not gate.is_set()
    gate.on_event(ev.Wake(0.0, "hey_jarvis", 0.9))
    gate.on_event(ev.Listening(0.0, "t1"))
    assert gate.is_set()
    gate.on_event(ev.Listening(3.0, "t2"))  # barge-in: t2 starts before t1's TurnEnd
    gate.on_event(ev.TurnEnd(3.1, "t1", outcome="answered"))
    assert gate.is_set()
    gate.on_event(ev.TurnEnd(5.0, "t2", outcome="answered"))
    assert not gate.is_set()
    gate.on_event(ev.Listening(6.0, "t3"))  # its TurnEnd is never seen (a dropped event)
    now[0] = 59.0
    assert gate.is_set()
    now[0] = 61.0
    assert not gate.is_set()


def test_stops_when_the_cache_is_full_and_evicts_only_stale_entries(tmp_path: Path) -> None:
    pause = threading.Event()
    chunks = reply_chunks(REPLIES)
    sizes = [entry_bytes(Speech(np.zeros(100 + len(c), np.int16))) for c in chunks]
    cache = AudioCache(tmp_path, sum(sizes[:3]) + 10)  # room for three of the five
    voice = RecordingVoice(cache, pause)
    stale = AudioCache.key("fake", "The dryer is 1 dollar.", "")  # last week's price
    cache.put(stale, np.zeros(100, dtype=np.int16))
    os.utime(tmp_path / f"{stale}.pcm", (1, 1))
    preparer = quick(pause)
    try:
        preparer.prepare(voice, lambda: REPLIES)
        assert preparer.wait_idle(WAIT_S)
        progress = preparer.progress()
        assert (progress.prepared, progress.total, progress.state) == (3, 5, "full")
        assert len(voice.calls) == 4  # the 4th did not fit: not stored, nothing evicted
        assert cache.size_bytes() <= cache.max_bytes
        present = [c for c in chunks if cache.entry_size(voice.cache_key(c)) is not None]
        assert present == chunks[:3]  # what it prepared is kept; the stale one made room
        assert cache.entry_size(stale) is None
    finally:
        preparer.close()


def test_no_cache_or_no_voice_is_off(tmp_path: Path) -> None:
    pause = threading.Event()
    preparer = quick(pause)
    try:
        preparer.prepare(None, lambda: REPLIES)
        assert preparer.wait_idle(WAIT_S)
        assert preparer.progress().state == "off"
        voice = RecordingVoice(AudioCache(tmp_path, 0), pause)
        preparer.prepare(voice, lambda: REPLIES)
        assert preparer.wait_idle(WAIT_S)
        assert preparer.progress().state == "off" and voice.calls == []
    finally:
        preparer.close()


def test_real_voice_prepared_sentences_are_cache_hits(tmp_path: Path) -> None:
    tts = PiperTts(TtsSettings(), cache_dir=tmp_path)
    replies = ["We close at 11 at night. The dryer is 1 dollar 50.", "Hello!"]
    preparer = Preparer(threading.Event())
    try:
        preparer.prepare(tts, lambda: replies)
        assert preparer.wait_idle(60.0)
        assert preparer.progress().prepared == 3
        assert len(list(tmp_path.glob("*.pcm"))) == 3
        for reply in replies:
            spoken = list(tts.speak(reply))
            assert spoken and all(s.cached and s.synth_s == 0.0 for s in spoken)
            assert all(np.abs(s.samples).max() > 3000 for s in spoken)  # real speech
            assert all(s.visemes is not None for s in spoken)  # prepared answers lip-sync
        assert tts.cache.hits == 3 and tts.cache.misses == 0
    finally:
        preparer.close()


def test_a_failure_is_logged_and_the_next_job_still_runs(tmp_path: Path,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> list[str]:
        raise RuntimeError("template walk broke")

    pause = threading.Event()
    voice = RecordingVoice(AudioCache(tmp_path, 1 << 20), pause)
    preparer = quick(pause)
    try:
        preparer.prepare(voice, broken)
        assert preparer.wait_idle(WAIT_S)
        assert "preparing answers failed" in caplog.text and voice.calls == []
        preparer.prepare(voice, lambda: REPLIES)
        assert preparer.wait_idle(WAIT_S)
        assert preparer.progress().state == "done" and len(voice.calls) == 5
    finally:
        preparer.close()
