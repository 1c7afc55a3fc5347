"""Load every engine a pipeline needs, degrading instead of dying where that makes sense.

* Vosk model missing → PocketSphinx (degraded "asr_fallback").
* Piper voice unusable → captions only (degraded "captions_only").
* Wake-word models or the dialogue unusable → a real startup error (nothing can work).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from vitad import events as ev
from vitad.asr.base import Recognizer
from vitad.asr.factory import build_recognizer
from vitad.config.loader import resolve
from vitad.config.schema import Config
from vitad.dialogue.engine import Dialogue
from vitad.dialogue.intents import load_intents
from vitad.pipeline.endpoint import SileroVad
from vitad.pipeline.errors import TtsFailure
from vitad.pipeline.wake import SelfVoiceCheck, WakeDetector
from vitad.tts.piper_engine import PiperTts

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class Engines:
    wake: WakeDetector
    self_check: SelfVoiceCheck
    vad: SileroVad
    recognizer: Recognizer
    tts: PiperTts | None
    dialogue: Dialogue
    degraded: list[ev.Degraded] = field(default_factory=list)
    load_s: dict[str, float] = field(default_factory=dict)


def build_dialogue(config: Config) -> Dialogue:
    intents = load_intents(resolve(config, config.dialogue.intents))
    return Dialogue(intents, config.shop, config.dialogue.min_score,
                    config.dialogue.session_timeout_s, config.dialogue.max_sessions)


def load_engines(config: Config, cache_dir: Path | None = None,
                 progress: Callable[[str], None] = lambda stage: None) -> Engines:
    """Load everything; ``progress(stage)`` is called before each slow load (the daemon
    sends EXTEND_TIMEOUT_USEC there, so systemd waits for a slow SD card)."""
    timings: dict[str, float] = {}
    degraded: list[ev.Degraded] = []

    def timed(name: str, fn: Callable[[], T]) -> T:
        progress(name)
        start = time.perf_counter()
        value = fn()
        timings[name] = round(time.perf_counter() - start, 3)
        return value

    dialogue = timed("dialogue", lambda: build_dialogue(config))
    wake = timed("wake", lambda: WakeDetector(config.wake, config.base_dir))
    self_check = timed("self_check", lambda: SelfVoiceCheck(config.wake, config.base_dir))
    vad = timed("vad", SileroVad)
    choice = timed("asr", lambda: build_recognizer(config.asr, config.base_dir))
    if choice.fallback:
        degraded.append(ev.Degraded(0.0, "asr", "asr_fallback", True, choice.reason))
    choice.recognizer.set_vocabulary(dialogue.vocabulary())
    tts: PiperTts | None
    try:
        tts = timed("tts", lambda: PiperTts(config.tts, config.base_dir, cache_dir))
    except TtsFailure as exc:
        log.error("tts: %s; replies will be captions only", exc.message)
        degraded.append(ev.Degraded(0.0, "tts", "captions_only", True, exc.message))
        tts = None
    return Engines(wake, self_check, vad, choice.recognizer, tts, dialogue, degraded, timings)
