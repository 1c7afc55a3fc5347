"""Earcons: short tones on the wake word, when listening ends, and when a turn fails.

A bus subscriber turns events into tones and hands them to the reply speaker's ``chime``,
so they leave through the same device and count as our own playback (the wake gate and the
self-voice check cover them). The speaker *mixes* a tone with a reply that starts while it is
still sounding instead of queueing the reply behind it, so a tone never delays an answer.

The tones are WAVs made by ``assets/sounds/make_earcons.py``; ``[audio] earcon_volume`` (times
the quiet-hours factor, :mod:`vitad.audio.schedule`) and ``[audio] earcons`` choose the level
and which ones play.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from vitad import events as ev
from vitad.audio.format import resample
from vitad.audio.schedule import Schedule
from vitad.audio.wavfile import AudioFileError, read_wav
from vitad.config.schema import EARCONS, AudioSettings

log = logging.getLogger(__name__)

TONES = EARCONS
MAX_TONE_S = 0.3


def sounds_dir() -> Path:
    """``assets/sounds`` in a checkout; ``<prefix>/share/vitad/sounds`` in an installed wheel."""
    checkout = Path(__file__).resolve().parents[2] / "assets" / "sounds"
    if checkout.is_dir():
        return checkout
    return Path(sys.prefix) / "share" / "vitad" / "sounds"


def load_tone(name: str, rate: int, folder: Path | None = None) -> np.ndarray:
    """One tone as float32 at ``rate``; AudioFileError when missing, unreadable or too long."""
    path = (folder or sounds_dir()) / f"{name}.wav"
    samples, file_rate = read_wav(path)
    if len(samples) > MAX_TONE_S * file_rate:
        raise AudioFileError(f"{path}: an earcon must last at most {MAX_TONE_S} s, "
                             f"this one lasts {len(samples) / file_rate:.2f} s")
    return resample(samples.astype(np.float32), file_rate, rate)


@runtime_checkable
class Chimer(Protocol):
    """The speaker side: its output rate and a way to play a short tone at input time ``t``."""

    rate: int

    def chime(self, samples: np.ndarray, t: float) -> None: ...


class Earcons:
    """Plays the wake / understood / error tones for bus events (subscribe ``on_event``)."""

    def __init__(self, speaker: Chimer, audio: Callable[[], AudioSettings],
                 schedule: Schedule | None = None, folder: Path | None = None) -> None:
        self.speaker = speaker
        self.audio = audio
        self.schedule = schedule
        self.folder = folder
        self._tones: dict[tuple[str, int], np.ndarray | None] = {}
        self._error_turns: list[str] = []  # one error tone per turn, however many errors
        self.played: list[tuple[str, float]] = []  # (tone, t): for tests and the event log

    def on_event(self, event: ev.Event) -> None:
        match event:
            case ev.Wake():
                self.play("wake", event.t)
            case ev.Transcript(final=True, text=text) if text:
                self.play("understood", event.t)
            case ev.StageError(turn_id=str(turn_id)) | ev.TurnEnd(outcome="error",
                                                                   turn_id=turn_id):
                if turn_id not in self._error_turns:
                    self._error_turns = [*self._error_turns[-7:], turn_id]
                    self.play("error", event.t)

    def volume(self) -> float:
        factor = self.schedule.earcon_volume_at() if self.schedule is not None else 1.0
        return self.audio().earcon_volume * factor

    def play(self, name: str, t: float) -> bool:
        """Play tone ``name`` at input time ``t`` unless it is switched off or silent."""
        volume = self.volume()
        if name not in self.audio().earcons or volume <= 0:
            return False
        tone = self._tone(name, self.speaker.rate)
        if tone is None:
            return False
        samples = np.clip(np.round(tone * 32767 * volume), -32768, 32767).astype(np.int16)
        self.speaker.chime(samples, t)
        self.played.append((name, t))
        del self.played[:-32]
        return True

    def _tone(self, name: str, rate: int) -> np.ndarray | None:
        key = (name, rate)
        if key not in self._tones:
            try:
                self._tones[key] = load_tone(name, rate, self.folder)
            except AudioFileError as exc:  # a broken install must not break answering
                log.error("earcon %s unusable, playing none: %s", name, exc)
                self._tones[key] = None
        return self._tones[key]
