"""Load every engine a pipeline needs, degrading instead of dying where that makes sense.

* Vosk model missing → PocketSphinx (degraded "asr_fallback").
* Piper voice unusable → captions only (degraded "captions_only").
* Wake-word models or the dialogue unusable → a real startup error (nothing can work).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol, TypeVar

from vitad import events as ev
from vitad.asr.base import Recognizer
from vitad.asr.correction import apply_domain
from vitad.asr.factory import build_recognizer, build_second_pass, models_present
from vitad.asr.twopass import TwoPassRecognizer, confident_above
from vitad.config.loader import ConfigError, resolve
from vitad.config.schema import Config
from vitad.dialogue.domain import Domain, build_domain
from vitad.dialogue.engine import Dialogue
from vitad.dialogue.intents import load_intents
from vitad.errors import AsrFailure, StageFailure, TtsFailure
from vitad.pipeline.endpoint import SileroVad
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
    domain: Domain | None = None  # the sentences the recognizer was given

    @property
    def asr_degraded(self) -> bool:
        """The recognizer is a fallback or lacks its second pass (a reload retries it)."""
        return any(d.component == "asr" and d.active for d in self.degraded)


def build_dialogue(config: Config) -> Dialogue:
    intents = load_intents(resolve(config, config.dialogue.intents))
    return Dialogue(intents, config.shop, config.dialogue.min_score,
                    config.dialogue.session_timeout_s, config.dialogue.max_sessions,
                    confirm_score=config.dialogue.confirm_score,
                    confirm_margin=config.dialogue.confirm_margin,
                    confirm_heard_below=config.dialogue.confirm_heard_below,
                    clear_score=config.dialogue.clear_score,
                    clear_heard_min=config.dialogue.clear_heard_min)


def load_engines(config: Config, cache_dir: Path | None = None,
                 progress: Callable[[str], None] = lambda stage: None,
                 reuse: tuple[Config, Engines] | None = None,
                 strict_tts: bool = False) -> Engines:
    """Load everything; ``progress(stage)`` is called before each slow load (the daemon
    sends EXTEND_TIMEOUT_USEC there, so systemd waits for a slow SD card).

    ``reuse=(old_config, old_engines)`` (a reload) keeps the wake models, the VAD, the
    recognizer and the voice whose settings did not change instead of loading a second copy.
    Keeping them also keeps their state: a reload while a customer says the wake word or a
    question hears it exactly as without the reload. ``strict_tts``
    raises when the voice cannot load (a reload must not swap to a config whose voice is
    broken); otherwise a broken voice is the degraded "captions only" mode.
    """
    timings: dict[str, float] = {}
    degraded: list[ev.Degraded] = []

    def timed(name: str, fn: Callable[[], T]) -> T:
        progress(name)
        start = time.perf_counter()
        value = fn()
        timings[name] = round(time.perf_counter() - start, 3)
        return value

    old_config, old = reuse if reuse is not None else (None, None)
    # A detector that came up degraded (its verifier file missing or broken) is built again
    # even for the same [wake]: the file may have been repaired since.
    same_wake = old is not None and old_config is not None and not old.wake.degraded and (
        old_config.wake == config.wake and old_config.base_dir == config.base_dir)
    same_tts = old is not None and old_config is not None and old.tts is not None and (
        old_config.tts == config.tts and old_config.base_dir == config.base_dir)

    dialogue = timed("dialogue", lambda: build_dialogue(config))
    if same_wake and old is not None:
        wake, self_check = old.wake, old.self_check
    else:
        wake = timed("wake", lambda: WakeDetector(config.wake, config.base_dir))
        self_check = timed("self_check",
                           lambda: SelfVoiceCheck(config.wake, config.base_dir, share=wake))
    degraded += wake.degraded  # e.g. a broken [wake] verifier: the wake model alone
    if old is not None and not wake.degraded:  # a reload fixed it: health says ok again
        degraded += [replace(d, active=False) for d in old.degraded
                     if d.component == "wake" and d.active]
    vad = old.vad if old is not None else timed("vad", SileroVad)
    # The shop's domain sentences restrict/correct the recognizer ([asr] domain).
    domain = build_domain(config, dialogue)
    if (old is not None and old_config is not None and old_config.asr == config.asr
            and old_config.base_dir == config.base_dir and old.domain == domain
            and (not old.asr_degraded or not models_present(config.asr, config.base_dir))):
        # A new price or voice: same sentences, same recognizer (and its adaptation to the
        # room). One that fell back is kept too while its model is still missing; once
        # `vitad fetch-models` installed it, the reload loads the configured engine.
        recognizer = old.recognizer
        degraded += [d for d in old.degraded if d.component == "asr" and d.active]
    else:
        recognizer = _load_recognizer(config, domain, degraded, timed)
    tts: PiperTts | None
    try:
        if same_tts and old is not None:
            tts = old.tts
        else:
            tts = timed("tts", lambda: PiperTts(config.tts, config.base_dir, cache_dir))
    except TtsFailure as exc:
        if strict_tts:
            raise
        log.error("tts: %s; replies will be captions only", exc.message)
        degraded.append(ev.Degraded(0.0, "tts", "captions_only", True, exc.message))
        tts = None
    return Engines(wake, self_check, vad, recognizer, tts, dialogue, degraded, timings, domain)


class _Timed(Protocol):
    def __call__(self, name: str, fn: Callable[[], T]) -> T: ...


def _load_recognizer(config: Config, domain: Domain, degraded: list[ev.Degraded],
                     timed: _Timed) -> Recognizer:
    """The configured engine (or its fallback), given the domain, with its second pass."""
    choice = timed("asr", lambda: build_recognizer(config.asr, config.base_dir))
    if choice.fallback:
        degraded.append(ev.Degraded(0.0, "asr", "asr_fallback", True, choice.reason))
    recognizer = apply_domain(choice.recognizer, domain, config.asr)
    return timed("asr_second_pass",
                 lambda: _with_second_pass(recognizer, domain, config, degraded))


def _with_second_pass(primary: Recognizer, domain: Domain, config: Config,
                      degraded: list[ev.Degraded]) -> Recognizer:
    """``[asr] second_pass = "whisper"``: Whisper re-decodes what the streaming engine was
    unsure of. The primary is already domain-corrected, so "unsure" means its transcript is
    not close to any of the shop's sentences (or is empty); Whisper's text is corrected the
    same way. A Whisper model that cannot load leaves the primary alone (degraded mode)."""
    try:
        secondary = build_second_pass(config.asr, config.base_dir)
    except AsrFailure as exc:
        log.error("asr: second pass unavailable: %s", exc.message)
        degraded.append(ev.Degraded(0.0, "asr", "second_pass_unavailable", True, exc.message))
        return primary
    if secondary is None:
        return primary
    secondary = apply_domain(secondary, domain, config.asr)
    return TwoPassRecognizer(primary, secondary,
                             confident_above(config.asr.second_pass_confidence))


def prepare_engines(config: Config, cache_dir: Path | None = None,
                    progress: Callable[[str], None] = lambda stage: None,
                    reuse: tuple[Config, Engines] | None = None,
                    strict_tts: bool = False) -> Engines:
    """:func:`load_engines`, with a model the config names that cannot load reported as a
    config problem (:class:`ConfigError`), like a typo: the caller then keeps or falls back
    to the last good config instead of exiting (a garbage wake model must not darken a box).
    """
    try:
        return load_engines(config, cache_dir, progress, reuse, strict_tts)
    except StageFailure as exc:
        key = _CONFIG_KEY_OF_STAGE.get(exc.stage, exc.stage)
        raise ConfigError(key, [f"{exc.message} ({exc.code})"]) from None


# Which setting to fix when a stage's model cannot load.
_CONFIG_KEY_OF_STAGE = {"wake": "wake.models", "tts": "tts.voice", "asr": "asr"}
