"""Choose the recognizer from config, falling back to PocketSphinx when Vosk or Whisper
cannot load; build the optional Whisper second pass."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from vitad.asr.base import Recognizer
from vitad.config.schema import AsrSettings
from vitad.errors import AsrFailure

log = logging.getLogger(__name__)


@dataclass
class RecognizerChoice:
    recognizer: Recognizer
    fallback: bool  # True: degraded mode, Vosk/Whisper was wanted but PocketSphinx is in use
    reason: str = ""


def _whisper(settings: AsrSettings, base_dir: Path) -> Recognizer:
    from vitad.asr.whisper_engine import WhisperRecognizer, resolve_model_dir

    return WhisperRecognizer(resolve_model_dir(settings.whisper_model, base_dir),
                             beam_size=settings.whisper_beam_size,
                             threads=settings.whisper_threads, bias=settings.whisper_bias)


def _vosk_model_dir(settings: AsrSettings, base_dir: Path) -> Path:
    model_dir = settings.vosk_model.expanduser()
    return model_dir if model_dir.is_absolute() else base_dir / model_dir


def _vosk(settings: AsrSettings, base_dir: Path) -> Recognizer:
    from vitad.asr.vosk_engine import VoskRecognizer

    return VoskRecognizer(_vosk_model_dir(settings, base_dir), settings.use_grammar)


def models_present(settings: AsrSettings, base_dir: Path = Path(".")) -> bool:
    """Are the model files the settings name on disk (Vosk, Whisper, the second pass)?

    A reload uses it to tell whether a recognizer that fell back should be loaded again
    (after `vitad fetch-models`) or kept: a fresh decoder has not adapted to the room yet.
    """
    from vitad.asr.whisper_engine import check_model_dir, resolve_model_dir

    if settings.engine == "vosk" and not _vosk_model_dir(settings, base_dir).is_dir():
        return False
    if settings.engine == "whisper" or settings.second_pass == "whisper":  # not "auto"
        try:
            check_model_dir(resolve_model_dir(settings.whisper_model, base_dir))
        except AsrFailure:
            return False
    return True


def build_recognizer(settings: AsrSettings, base_dir: Path = Path(".")) -> RecognizerChoice:
    from vitad.asr.sphinx_engine import SphinxRecognizer

    if settings.engine == "pocketsphinx":
        return RecognizerChoice(SphinxRecognizer(), fallback=False)
    build, hint = ((_whisper, "vitad fetch-models whisper") if settings.engine == "whisper"
                   else (_vosk, "vitad fetch-models"))
    try:
        return RecognizerChoice(build(settings, base_dir), fallback=False)
    except AsrFailure as exc:
        log.warning(
            "asr: %s; falling back to PocketSphinx (run '%s' to install %s)",
            exc.message, hint, settings.engine.capitalize(),
        )
        return RecognizerChoice(SphinxRecognizer(), fallback=True, reason=exc.message)


def build_second_pass(settings: AsrSettings, base_dir: Path = Path(".")) -> Recognizer | None:
    """The recognizer for ``[asr] second_pass`` (wrap it with vitad.asr.twopass), or None.

    None when the setting is "off", or when Whisper is already the primary engine (a second
    Whisper pass over the same audio could only repeat it). Raises AsrFailure when the second
    pass is wanted but its model cannot load: the caller reports a degraded mode and runs
    without it.

    "auto" decides on this box: Whisper when its model is installed and a question would take
    it at most ``second_pass_budget_s`` (measured, :meth:`WhisperRecognizer.probe_seconds`),
    else none, with one log line saying why — never a degraded mode. A NUC keeps it; a Pi 4
    (seconds per question) or a box without `vitad fetch-models whisper` goes without.
    """
    if settings.second_pass == "off" or settings.engine == "whisper":
        return None
    if settings.second_pass == "whisper":
        return _whisper(settings, base_dir)
    try:
        whisper = _whisper(settings, base_dir)
    except AsrFailure as exc:
        log.info("asr: second pass (auto) off: %s", exc.message)
        return None
    probe = getattr(whisper, "probe_seconds", None)
    cost = probe() if probe is not None else 0.0
    if cost > settings.second_pass_budget_s:
        log.info("asr: second pass (auto) off: Whisper would take ~%.1f s per question on this "
                 "box (budget [asr] second_pass_budget_s = %.1f s)",
                 cost, settings.second_pass_budget_s)
        return None
    log.info("asr: second pass (auto) on: Whisper ~%.2f s per question on this box", cost)
    return whisper
