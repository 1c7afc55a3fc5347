"""One pipeline, assembled in one place: wake → endpoint → ASR → dialogue → TTS → speaker.

``vitad run``, ``vitad simulate``/``demo`` and the benchmarks all call :func:`assemble`; they
differ only in their audio source, their speaker (a real device or a timeline on the input
clock) and their clock. The stage order is explicit (like Home Assistant's assist_pipeline)
so a test can prove that the daemon and simulate run the very same stages.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from enum import StrEnum
from typing import Protocol

import numpy as np

from vitad import events as ev
from vitad.audio.format import AudioChunk
from vitad.audio.schedule import Schedule
from vitad.config.schema import Config
from vitad.pipeline.completeness import judge_for
from vitad.pipeline.earcons import Chimer, Earcons
from vitad.pipeline.engines import Engines
from vitad.pipeline.listener import Listener, Utterance
from vitad.pipeline.turns import TurnHandler
from vitad.pipeline.wake import Detection

log = logging.getLogger(__name__)


class Stage(StrEnum):
    WAKE = "wake"
    ENDPOINT = "endpoint"
    ASR = "asr"
    DIALOGUE = "dialogue"
    TTS = "tts"
    SPEAKER = "speaker"


class ReplySpeaker(Protocol):
    """What the pipeline needs from a speaker (LiveSpeaker and TimelineSpeaker)."""

    def say(self, turn_id: str, text: str, utt: Utterance, intent: str) -> None: ...

    def is_playing(self, t: float) -> bool: ...

    def reference(self, t: float) -> np.ndarray:
        """The reply audio that was playing around input time ``t`` (16 kHz)."""
        ...

    def interrupt(self, t: float) -> None:
        """Stop the reply now (a customer's barge-in at input time ``t``)."""
        ...


class Speculation(Protocol):
    """Prepares a predicted reply's first words (vitad.tts.speculate.Speculator)."""

    def ahead(self, reply: str) -> None: ...


class Pipeline:
    """The assembled stages; :func:`assemble` builds it (the only place callbacks are wired)."""

    def __init__(self, config: Config, engines: Engines, bus: ev.EventBus,
                 speaker: ReplySpeaker,
                 store_report: Callable[[ev.ProblemReport], int | None] | None = None,
                 schedule: Schedule | None = None,
                 speculator: Speculation | None = None) -> None:
        self.config = config
        self.engines = engines
        self.speaker = speaker
        self.speculator = speculator
        self._judge = judge_for(engines.dialogue)
        # Wake / understood / error tones through the reply speaker (one that can chime).
        self.earcons: Earcons | None = None
        if isinstance(speaker, Chimer):
            self.earcons = Earcons(speaker, lambda: self.config.audio, schedule)
            bus.subscribe(self.earcons.on_event)
        self.turns = TurnHandler(engines.dialogue, speaker, bus, store_report=store_report)
        self.listener = Listener(
            config.wake, config.listen, engines.wake, engines.vad, engines.recognizer, bus,
            on_utterance=self.turns, gate=speaker.is_playing, barge_in=self.barge_in,
            partials=config.asr.partials, complete=self._complete,
        )

    @property
    def stages(self) -> tuple[Stage, ...]:
        """The stages this pipeline runs, in order (no TTS when the voice is unusable)."""
        order = [Stage.WAKE, Stage.ENDPOINT, Stage.ASR, Stage.DIALOGUE]
        if self.engines.tts is not None:
            order.append(Stage.TTS)
        order.append(Stage.SPEAKER)
        return tuple(order)

    def feed(self, chunk: AudioChunk) -> None:
        self.listener.feed(chunk)

    def use(self, config: Config, engines: Engines) -> None:
        """Switch to reloaded settings and engines. Between turns, on the feeding thread."""
        self._judge = judge_for(engines.dialogue)
        self.listener.replace(config.wake, config.listen, engines.wake, engines.vad,
                              engines.recognizer, partials=config.asr.partials,
                              complete=self._complete)
        self.turns.dialogue = engines.dialogue
        self.config, self.engines = config, engines

    def _complete(self, text: str) -> bool:
        """The early endpoint's question: is this partial a whole, confident question? When
        it is, its answer is known before the turn ends: with ``[tts] speculate`` the
        speculator (the daemon's; a simulation runs faster than real time and has none)
        prepares its first words."""
        verdict = self._judge(text)
        if verdict and self.speculator is not None and self.config.tts.speculate:
            try:
                self.speculator.ahead(self.engines.dialogue.preview(text).text)
            except Exception:  # an optimisation: the turn goes on as it would without
                log.exception("speculative answer failed")
        return verdict

    def barge_in(self, detection: Detection, t: float) -> bool:
        """A wake word while we speak: a customer interrupting, or our own voice?"""
        heard_self, peak = self.engines.self_check.heard_self(self.speaker.reference(t))
        if heard_self:
            log.info("wake during playback ignored: our own voice scores %.2f", peak)
            return False
        log.info("barge-in: %s (%.2f) while speaking", detection.model, detection.score)
        self.speaker.interrupt(t)
        return True


def assemble(config: Config, engines: Engines, bus: ev.EventBus, speaker: ReplySpeaker,
             store_report: Callable[[ev.ProblemReport], int | None] | None = None,
             schedule: Schedule | None = None,
             speculator: Speculation | None = None) -> Pipeline:
    """wake → endpoint → ASR → dialogue → TTS → speaker, from loaded engines."""
    return Pipeline(config, engines, bus, speaker, store_report, schedule, speculator)
