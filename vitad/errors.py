"""One error class per stage with a stable code, so logs, events and metrics agree."""

from __future__ import annotations


class StageFailure(Exception):
    """Base: ``stage`` and ``code`` are stable identifiers (e.g. "asr", "asr.model_missing")."""

    stage = "pipeline"

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = f"{self.stage}.{code}"
        self.message = message


class WakeFailure(StageFailure):
    stage = "wake"


class AsrFailure(StageFailure):
    stage = "asr"


class DialogueFailure(StageFailure):
    stage = "dialogue"


class TtsFailure(StageFailure):
    stage = "tts"


class AudioFailure(StageFailure):
    stage = "audio"
