"""Speculative preparation: a predicted answer's first chunk lands in the cache, once."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np

from vitad import events as ev
from vitad.config.schema import TtsSettings
from vitad.tts.cache import AudioCache
from vitad.tts.piper_engine import PiperTts
from vitad.tts.sentences import split_sentences
from vitad.tts.speculate import Speculator

WAIT_S = 10.0


class CachingVoice:
    """Synthesizes into a real AudioCache in one go; ``gate`` (when given) holds each one."""

    windowed = False

    def __init__(self, cache: AudioCache, gate: threading.Event | None = None,
                 fail: set[str] | None = None) -> None:
        self.cache = cache
        self.gate = gate
        self.fail = fail or set()
        self.spoken_chunks: list[str] = []
        self.busy = threading.Event()

    def cache_key(self, sentence: str) -> str:
        return AudioCache.key("fake", sentence, "")

    def spoken(self, sentence: str) -> None:
        self.busy.set()
        if self.gate is not None:
            assert self.gate.wait(WAIT_S)
        self.spoken_chunks.append(sentence)
        if sentence in self.fail:
            raise RuntimeError("synthesis failed")
        self.cache.put(self.cache_key(sentence), np.full(50, 3, dtype=np.int16))


    def pieces(self, text: str):  # type: ignore[no-untyped-def]
        raise AssertionError("a one-go voice is asked for whole sentences only")


class Piece:
    def __init__(self, text: str, last: bool) -> None:
        self.text, self.last = text, last


class WindowedVoice(CachingVoice):
    """Decodes a missing chunk in 4 windows; ``step`` (when given) is waited on before each."""

    windowed = True

    def __init__(self, cache: AudioCache, step: threading.Semaphore | None = None) -> None:
        super().__init__(cache)
        self.step = step
        self.windows = 0

    def pieces(self, text: str):  # type: ignore[no-untyped-def]
        for chunk in split_sentences(text):
            if self.cache.entry_size(self.cache_key(chunk)) is not None:
                yield Piece(chunk, True)
                continue
            for n in range(4):
                self.busy.set()
                if self.step is not None:
                    assert self.step.acquire(timeout=WAIT_S)
                self.windows += 1
                if n == 3:  # like PiperTts: cached before its last piece is handed over
                    self.spoken_chunks.append(chunk)
                    self.cache.put(self.cache_key(chunk), np.full(50, 3, dtype=np.int16))
                yield Piece(chunk, n == 3)


def wait_for(condition, timeout: float = WAIT_S) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.005)
    return False


REPLY = "We are open from 6 in the morning until 11 at night, every day. Last wash at 10."


def test_the_first_chunk_of_a_predicted_reply_is_prepared_once(tmp_path: Path) -> None:
    voice = CachingVoice(AudioCache(tmp_path, 1 << 20))
    speculator = Speculator(lambda: voice)
    try:
        first = split_sentences(REPLY)[0]
        assert first != REPLY  # only the chunk the speaker waits for, not the whole reply
        speculator.ahead(REPLY)
        assert wait_for(lambda: voice.spoken_chunks == [first])
        speculator.ahead(REPLY)  # the same prediction again: already in the cache
        assert wait_for(lambda: speculator.already_cached == 1)
        assert voice.spoken_chunks == [first] and speculator.synthesized == 1
    finally:
        speculator.close()


def test_only_the_latest_prediction_waits_while_one_is_synthesized(tmp_path: Path) -> None:
    gate = threading.Event()
    voice = CachingVoice(AudioCache(tmp_path, 1 << 20), gate)
    speculator = Speculator(lambda: voice)
    try:
        speculator.ahead("The washers are 3 dollars.")
        assert voice.busy.wait(WAIT_S)  # the worker holds the first one
        for reply in ["Dryers take coins.", "Dryers take cards.", "Dryers take coins and cards."]:
            speculator.ahead(reply)  # partials move on while the first is synthesized
        gate.set()
        assert wait_for(lambda: len(voice.spoken_chunks) == 2)
        time.sleep(0.05)
        assert voice.spoken_chunks == ["The washers are 3 dollars.",
                                       "Dryers take coins and cards."]
    finally:
        gate.set()
        speculator.close()


def test_a_failed_synthesis_or_no_voice_leaves_the_worker_running(tmp_path: Path) -> None:
    voice = CachingVoice(AudioCache(tmp_path, 1 << 20), fail={"Broken."})
    current: list[CachingVoice | None] = [None]
    speculator = Speculator(lambda: current[0])
    try:
        speculator.ahead("Nobody speaks.")  # no usable voice (e.g. Piper failed to load)
        current[0] = voice
        speculator.ahead("Broken.")
        assert wait_for(lambda: voice.spoken_chunks == ["Broken."])
        speculator.ahead("Fine.")
        assert wait_for(lambda: voice.spoken_chunks == ["Broken.", "Fine."])
        assert speculator.synthesized == 1
    finally:
        speculator.close()


def test_a_windowed_voice_prepares_only_the_first_chunk(tmp_path: Path) -> None:
    voice = WindowedVoice(AudioCache(tmp_path, 1 << 20))
    speculator = Speculator(lambda: voice)
    try:
        speculator.ahead(REPLY)
        assert wait_for(lambda: speculator.synthesized == 1)
        assert voice.spoken_chunks == [split_sentences(REPLY)[0]] and voice.windows == 4
    finally:
        speculator.close()


def test_the_end_of_the_turn_drops_a_speculation_still_decoding(tmp_path: Path) -> None:
    # The speaker must never wait behind a speculation: when the turn ends first, it stops
    # between two windows and leaves nothing in the cache; a prediction still queued is
    # dropped without a window decoded.
    step = threading.Semaphore(0)
    voice = WindowedVoice(AudioCache(tmp_path, 1 << 20), step)
    speculator = Speculator(lambda: voice)
    try:
        speculator.ahead(REPLY)
        assert voice.busy.wait(WAIT_S)  # decoding its first window
        speculator.ahead("The dryers take coins and cards.")  # queued behind it
        speculator.on_event(ev.SpeechEnd(1.0, "turn-1", "early", 1.25))
        step.release(10)
        assert wait_for(lambda: speculator.dropped == 1 and speculator._wanted.empty())
        time.sleep(0.05)
        assert voice.windows == 1 and voice.spoken_chunks == []
        assert speculator.synthesized == 0
        # The next turn speculates as usual.
        speculator.ahead("The dryers take coins and cards.")
        assert wait_for(lambda: speculator.synthesized == 1)
    finally:
        step.release(10)
        speculator.close()


def test_a_disabled_cache_is_never_synthesized_into(tmp_path: Path) -> None:
    voice = CachingVoice(AudioCache(tmp_path, 0))
    speculator = Speculator(lambda: voice)
    speculator.ahead("The washers are 3 dollars.")
    speculator.close()
    assert voice.spoken_chunks == [] and not speculator._thread.is_alive()


def test_real_voice_the_speculated_chunk_is_a_cache_hit_for_the_speaker(tmp_path: Path) -> None:
    tts = PiperTts(TtsSettings(), cache_dir=tmp_path)
    speculator = Speculator(lambda: tts)
    try:
        speculator.ahead(REPLY)
        assert wait_for(lambda: speculator.synthesized == 1, timeout=60.0)
        first = next(iter(tts.speak(REPLY)))
        assert first.cached and first.synth_s == 0.0
        assert np.abs(first.samples).max() > 3000  # real speech
        assert first.text == split_sentences(REPLY)[0]
    finally:
        speculator.close()
