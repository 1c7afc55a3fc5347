"""Vosk (Kaldi) streaming recognizer with partial results and an optional phrase grammar."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from vitad.pipeline.errors import AsrFailure

log = logging.getLogger(__name__)

# Files every Vosk model directory has; checked first so a wrong path gives a clear message
# instead of Kaldi's stderr noise.
REQUIRED_FILES = ("am/final.mdl", "conf/model.conf")


def check_model_dir(path: Path) -> None:
    if not path.is_dir():
        raise AsrFailure("model_missing", f"Vosk model folder not found: {path}")
    missing = [f for f in REQUIRED_FILES if not (path / f).is_file()]
    if missing:
        raise AsrFailure(
            "model_unreadable", f"Vosk model at {path} is incomplete (missing {', '.join(missing)})"
        )


class VoskStream:
    def __init__(self, recognizer: object) -> None:
        self._rec = recognizer
        self._done: list[str] = []
        self._partial = ""

    def accept(self, samples: np.ndarray) -> None:
        if self._rec.AcceptWaveform(samples.tobytes()):  # type: ignore[attr-defined]
            # Vosk found a segment boundary inside the utterance: keep that segment's text.
            text = json.loads(self._rec.Result()).get("text", "")  # type: ignore[attr-defined]
            if text:
                self._done.append(text)
            self._partial = ""
        else:
            self._partial = json.loads(self._rec.PartialResult()).get("partial", "")  # type: ignore[attr-defined]

    def partial(self) -> str:
        return " ".join([*self._done, self._partial]).strip()

    def finish(self) -> str:
        text = json.loads(self._rec.FinalResult()).get("text", "")  # type: ignore[attr-defined]
        if text:
            self._done.append(text)
        return " ".join(self._done).strip()


class VoskRecognizer:
    name = "vosk"

    def __init__(self, model_dir: Path, use_grammar: bool = False) -> None:
        check_model_dir(model_dir)
        import vosk

        vosk.SetLogLevel(-1)
        try:
            self._model = vosk.Model(str(model_dir))
        except Exception as exc:
            raise AsrFailure("model_unreadable", f"Vosk cannot load {model_dir}: {exc}") from None
        self._vosk = vosk
        self.model_dir = model_dir
        self._use_grammar = use_grammar
        self._grammar: str | None = None

    def set_vocabulary(self, phrases: list[str]) -> None:
        """Restrict decoding to these phrases (+ [unk]); only for models with a dynamic graph."""
        if not self._use_grammar:
            return
        words = sorted({w for p in phrases for w in p.lower().split()})
        self._grammar = json.dumps([*phrases, " ".join(words), "[unk]"], ensure_ascii=False)

    def start(self) -> VoskStream:
        if self._grammar is not None:
            rec = self._vosk.KaldiRecognizer(self._model, 16000, self._grammar)
        else:
            rec = self._vosk.KaldiRecognizer(self._model, 16000)
        return VoskStream(rec)
