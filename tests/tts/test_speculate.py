"""Speculative preparation: a predicted answer's first chunk lands in the cache, once."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np

from vitad.config.schema import TtsSettings
from vitad.tts.cache import AudioCache
from vitad.tts.piper_engine import PiperTts
from vitad.tts.sentences import split_sentences
from vitad.tts.speculate import Speculator

WAIT_S = 10.0


class CachingVoice:
    """Synthesizes into a real AudioCache; ``gate`` (when given) holds each synthesis."""

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
