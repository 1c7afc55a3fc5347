"""Choose the recognizer from config, falling back to PocketSphinx when Vosk cannot load."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from vitad.asr.base import Recognizer
from vitad.config.schema import AsrSettings
from vitad.pipeline.errors import AsrFailure

log = logging.getLogger(__name__)


@dataclass
class RecognizerChoice:
    recognizer: Recognizer
    fallback: bool  # True: degraded mode, Vosk was wanted but PocketSphinx is in use
    reason: str = ""


def build_recognizer(settings: AsrSettings, base_dir: Path = Path(".")) -> RecognizerChoice:
    from vitad.asr.sphinx_engine import SphinxRecognizer

    if settings.engine == "pocketsphinx":
        return RecognizerChoice(SphinxRecognizer(), fallback=False)
    from vitad.asr.vosk_engine import VoskRecognizer

    model_dir = settings.vosk_model.expanduser()
    if not model_dir.is_absolute():
        model_dir = base_dir / model_dir
    try:
        return RecognizerChoice(VoskRecognizer(model_dir, settings.use_grammar), fallback=False)
    except AsrFailure as exc:
        log.warning(
            "asr: %s; falling back to PocketSphinx (run 'vitad fetch-models' to install Vosk)",
            exc.message,
        )
        return RecognizerChoice(SphinxRecognizer(), fallback=True, reason=exc.message)
