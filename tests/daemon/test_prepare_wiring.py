"""The real daemon prepares its answers in the background: after start, paused by a live turn,
again after a reload that changed a price; progress in the health document."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from tests.conftest import write_config
from vitad import events as ev
from vitad.audio.format import INTERNAL_RATE
from vitad.audio.wavfile import write_wav
from vitad.daemon.devices import Edges
from vitad.daemon.lifecycle import Daemon


def wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def prepared(daemon: Daemon) -> tuple[int, int]:
    done, total = str(daemon._health_doc()["prepared"]).split("/")
    return int(done), int(total)


def test_daemon_prepares_pauses_for_a_turn_and_re_prepares_a_new_price(tmp_path: Path) -> None:
    wav = tmp_path / "mic.wav"
    write_wav(wav, np.zeros(INTERNAL_RATE * 120, dtype=np.int16), INTERNAL_RATE)
    config = write_config(tmp_path, audio={"input": f"wav:{wav}", "output": "null"})
    cache = tmp_path / "tts-cache"
    daemon = Daemon(config, Edges(realtime=False))
    try:
        daemon.start()
        assert wait_until(lambda: prepared(daemon)[0] >= 3, 30), daemon._health_doc()
        total = prepared(daemon)[1]
        assert total > 50  # every sentence of the shipped shop's answers
        # A customer says the wake word: nothing new is synthesized until the turn ends.
        daemon.bus.publish(ev.Listening(0.0, "turn-1"))
        assert wait_until(lambda: daemon._health_doc()["prepare_state"] == "paused", 5)
        during = len(list(cache.glob("*.pcm")))
        time.sleep(1.0)
        assert len(list(cache.glob("*.pcm"))) == during
        daemon.bus.publish(ev.TurnEnd(1.0, "turn-1", outcome="answered"))
        assert wait_until(lambda: len(list(cache.glob("*.pcm"))) > during, 10)
        # A new price: the same number of sentences, the new price's among them.
        config.write_text(config.read_text().replace('"7 dollars 50"', '"9 dollars 25"'))
        daemon.reload()
        assert prepared(daemon)[1] == total
        tts = daemon.engines.tts
        assert tts is not None
        sentence = "The big washer is 9 dollars 25 for about 40 minutes."
        new_price = cache / f"{tts.cache_key(sentence)}.pcm"
        assert wait_until(new_price.exists, 90), daemon._health_doc()
    finally:
        daemon.stop()
    assert not (daemon.preparer._thread and daemon.preparer._thread.is_alive())


def test_without_preparation_a_confident_partial_is_spoken_from_the_cache(
        tmp_path: Path) -> None:
    wav = tmp_path / "mic.wav"
    write_wav(wav, np.zeros(INTERNAL_RATE * 60, dtype=np.int16), INTERNAL_RATE)
    config = write_config(tmp_path, audio={"input": f"wav:{wav}", "output": "null"},
                          tts={"prepare_ahead": False, "speculate": True})
    cache = tmp_path / "tts-cache"
    daemon = Daemon(config, Edges(realtime=False))
    try:
        daemon.start()
        assert wait_until(lambda: daemon._health_doc()["prepare_state"] == "off", 10)
        assert not list(cache.glob("*.pcm"))
        # The listener's judge reads a whole, confident question before the turn ends.
        question = "what time do you close tonight"
        complete = daemon.pipeline.listener.complete
        assert complete is not None and complete(question)
        assert wait_until(lambda: daemon._health_doc()["speculated"] == 1, 60)
        reply = daemon.engines.dialogue.preview(question).text
        tts = daemon.engines.tts
        assert tts is not None
        first = next(iter(tts.speak(reply)))  # what the speaker says first: a cache hit
        assert first.cached and len(list(cache.glob("*.pcm"))) == 1
    finally:
        daemon.stop()
