"""One pipeline for every entry point: the daemon and simulate run the same stages."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.conftest import write_config
from vitad import events as ev
from vitad.config.loader import load_config
from vitad.pipeline.assembly import Stage, assemble
from vitad.pipeline.engines import load_engines
from vitad.pipeline.speakers import LiveSpeaker, TimelineSpeaker
from vitad.simulate import simulate


@pytest.mark.slow
def test_the_daemon_and_simulate_build_the_identical_stage_list(tmp_path: Path) -> None:
    from vitad.daemon import Daemon

    path = write_config(tmp_path, audio={"input": "wav:/nonexistent.wav", "output": "null"})
    config = load_config(path)
    engines = load_engines(config, cache_dir=tmp_path / "tts")
    daemon = Daemon(path)
    try:
        daemon.start()
        daemon_stages = daemon.pipeline.stages
        assert isinstance(daemon.pipeline.speaker, LiveSpeaker)
    finally:
        daemon.stop()
    result = simulate(config, np.zeros(16000, dtype=np.int16), engines=engines)
    assert result.stages == daemon_stages == (
        Stage.WAKE, Stage.ENDPOINT, Stage.ASR, Stage.DIALOGUE, Stage.TTS, Stage.SPEAKER)


def test_without_a_voice_the_tts_stage_is_absent(config) -> None:  # type: ignore[no-untyped-def]
    engines = load_engines(config)
    engines.tts = None  # what a voice that failed to load leaves behind
    pipeline = assemble(config, engines, ev.EventBus(), TimelineSpeaker(None, ev.EventBus()))
    assert Stage.TTS not in pipeline.stages and pipeline.stages[-1] is Stage.SPEAKER


class RecordingSpeculator:
    def __init__(self) -> None:
        self.replies: list[str] = []

    def ahead(self, reply: str) -> None:
        self.replies.append(reply)


def test_a_confident_whole_partial_has_its_answer_speculated(config) -> None:  # type: ignore[no-untyped-def]
    engines = load_engines(config)
    speculator = RecordingSpeculator()
    pipeline = assemble(config, engines, ev.EventBus(), TimelineSpeaker(None, ev.EventBus()),
                        speculator=speculator)
    complete = pipeline.listener.complete
    assert complete is not None
    question = "what time do you close tonight"
    assert not config.tts.speculate and complete(question)  # shipped off: nothing predicted
    assert speculator.replies == []
    pipeline.config = config.model_copy(
        update={"tts": config.tts.model_copy(update={"speculate": True})})
    assert not complete("how much is the")  # not finished: nothing to predict yet
    assert speculator.replies == []
    assert complete(question)
    assert speculator.replies == [engines.dialogue.preview(question).text]
    assert "11" in speculator.replies[0]  # the hours answer, from the shop's facts
