"""Speech recognition: a small interface, Vosk and PocketSphinx engines, model fetching."""

from vitad.asr.base import Recognizer, RecognizerStream
from vitad.asr.factory import build_recognizer

__all__ = ["Recognizer", "RecognizerStream", "build_recognizer"]
