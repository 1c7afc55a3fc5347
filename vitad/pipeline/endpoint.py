"""Voice activity detection and end-of-utterance decisions.

The VAD is Silero (the ONNX model bundled in openWakeWord's wheel), scored on 30 ms frames.
The :class:`Endpointer` is pure logic over per-frame speech probabilities so it can be tested
without a model.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from vitad.config.schema import ListenSettings

VAD_FRAME = 480  # 30 ms at 16 kHz


class SpeechProbability(Protocol):
    def __call__(self, frame: np.ndarray) -> float: ...

    def reset(self) -> None: ...


class SileroVad:
    """Silero VAD via openWakeWord's wrapper; returns the speech probability of one frame."""

    def __init__(self) -> None:
        from vitad.pipeline.ortsessions import import_openwakeword, lean_session

        self._vad = import_openwakeword().vad.VAD()
        self._vad.model = lean_session(self._vad.model)  # no memory arena, one thread

    def __call__(self, frame: np.ndarray) -> float:
        return float(self._vad.predict(frame, frame_size=VAD_FRAME))

    def reset(self) -> None:
        self._vad.reset_states()


# In a chatty room the VAD never reports silence: a complete partial transcript unchanged
# for [listen] stable_partial_s after the customer's own speech ends the turn anyway (see
# Endpointer.update)... when the room has gone quieter than the customer was: the median
# frame level since the partial came is at most this share of the question's (a recognizer
# can stall on words it does not know while the customer goes on at full voice).
# bench/endpoint.py measures it: a soft-spoken middle of a question in white noise can
# still pass (1 cut in 170 questions).
STABLE_LEVEL_RATIO = 0.75


# The level rule ([listen] quieter_than_customer_db) judges against the customer's own level
# only once this much of the question has been heard (a first syllable is no reference).
CUSTOMER_REFERENCE_S = 0.3
# ...and the customer's level is taken from the voiced frames since the question began that
# were louder than the room (+ ROOM_MARGIN_DB), at least this many of them: in babble the
# voiced frames also hold the room's voices before the question starts and after it ends,
# which dragged the median of all of them down to the room's own level (measured: 2 dB over
# the room for a 10 dB SNR question) so the rule never fired; worse, before the customer
# spoke, the room's voices alone would be the "customer" and the turn ended before the
# question. The percentile: the customer's loud syllables, not their pauses.
CUSTOMER_FRAMES = 5
CUSTOMER_PERCENTILE = 90
# ...and only in a room that was voices before the wake word (:class:`RoomLevel`; machines and
# hum the VAD already calls silence), and only for a frame no louder than the room was plus
# this margin: the customer's own soft last word is louder than that unless they speak no
# louder than the room, while the others' voices after the question are at the room's level.
ROOM_MARGIN_DB = 6.0
# The room was "voices" when at least this share of its VAD frames before the wake were.
ROOM_VOICED_SHARE = 0.5
# Babble's level over 30 ms frames swings -14..+9 dB around its median (measured after the
# questions of the corpus's babble clips), so single loud frames kept resetting the hangover:
# the rule judges the median level of the last this many frames (0.18 s; it lags the real end
# of the question by half of that). The median, not the RMS: one loud frame does not move it.
ROOM_LEVEL_FRAMES = 6
# The room's level is taken from audio that ended at least this long before the wake fired
# (the wake phrase itself is the customer, not the room) and at most ROOM_WINDOW_S before it.
WAKE_PHRASE_S = 1.0
ROOM_WINDOW_S = 4.0


@dataclass(frozen=True)
class Endpoint:
    reason: str  # "silence" | "early" | "stable" | "max_length" | "no_speech"
    speech_end: float  # last voiced audio (input clock); start time when no speech
    decided_at: float  # when the decision was taken (input clock)


class Endpointer:
    """Track one utterance: wait for speech, then end it after a trailing-silence hangover.

    Feed frames in order with their end times. Speech must persist for ``min_speech_s`` to
    count as started, so a cough or a door bang does not open the utterance.

    Early endpointing: the caller reports each new partial transcript with
    :meth:`note_partial` (whether it is already a complete question, and when it was heard).
    While the latest partial is complete, ``early_hangover_s`` of silence ends the turn
    ("early"), and so does that partial staying unchanged for ``stable_partial_s`` while
    voices go on around the customer ("stable") more quietly than the customer spoke (frame
    levels given to :meth:`update`). Only frames ending after the partial was heard can use
    it, so the decision never looks ahead of the audio it came from.

    In a room where others keep talking the VAD never reports silence, whatever the
    transcript: with ``quieter_than_customer_db`` voice that much below the customer's own
    level so far (and no louder than the room was) counts as silence for the hangover — the
    customer stands at the mic, the room's voices are further away. A customer who speaks no
    louder than the room (0-5 dB SNR) is helped less, but not cut either: their frames stay
    above the threshold.
    """

    def __init__(self, settings: ListenSettings, start: float, min_speech_s: float = 0.09,
                 room_level: float | None = None) -> None:
        self.settings = settings
        # RMS level of the room before the wake word (None: unknown, the customer rule alone)
        self.room_level = room_level
        self.start = start
        self.min_speech_s = min_speech_s
        self.speech_started: float | None = None
        self.last_voiced: float | None = None
        self._voiced_run = 0.0
        self.complete_since: float | None = None  # when the current complete partial came
        # (frame end, level) of the customer's voiced frames; bounded by max_utterance_s
        # (~330 frames).
        self._levels: list[tuple[float, float]] = []
        self._recent: deque[float] = deque(maxlen=ROOM_LEVEL_FRAMES)  # squared frame levels
        # the recent level (see ROOM_LEVEL_FRAMES) of frames well over the room's: the
        # customer's own voice; bounded like _levels
        self._customer: list[float] = []
        drop_db = settings.quieter_than_customer_db
        self._room_ratio = 10 ** (-drop_db / 20) if drop_db > 0 else 0.0

    def note_partial(self, complete: bool, t: float) -> None:
        """A new partial transcript heard at input time ``t``; ``complete``: a whole question."""
        self.complete_since = t if complete else None

    def update(self, probability: float, frame_start: float, frame_end: float,
               level: float | None = None) -> Endpoint | None:
        """One frame's speech probability (and its RMS ``level``, for the babble rule)."""
        s = self.settings
        if level is not None:
            self._recent.append(level * level)
        voiced = probability >= s.vad_threshold and not self._room_voice(level, frame_end)
        if voiced:
            self._voiced_run += frame_end - frame_start
            if self.speech_started is None and self._voiced_run >= self.min_speech_s:
                self.speech_started = frame_end - self._voiced_run
            if self.speech_started is not None:
                self.last_voiced = frame_end
                if level is not None:
                    self._levels.append((frame_end, level))
        else:
            self._voiced_run = 0.0
        if self.speech_started is None:
            if frame_end - self.start >= s.no_speech_timeout_s:
                return Endpoint("no_speech", self.start, frame_end)
            return None
        assert self.last_voiced is not None
        if frame_end - self.speech_started >= s.max_utterance_s:
            return Endpoint("max_length", self.last_voiced, frame_end)
        if frame_end - self.last_voiced >= s.hangover_s:
            return Endpoint("silence", self.last_voiced, frame_end)
        return self._early(frame_end)

    def _early(self, frame_end: float) -> Endpoint | None:
        since, hangover = self.complete_since, self.settings.early_hangover_s
        if since is None or hangover <= 0 or frame_end <= since:
            return None
        assert self.last_voiced is not None
        if frame_end - self.last_voiced >= hangover:
            return Endpoint("early", self.last_voiced, frame_end)
        stable_s = self.settings.stable_partial_s
        if stable_s > 0 and frame_end - since >= stable_s and self._quieter_since(since):
            # Voices never stopped, but the customer's words did: the question ended about
            # when its last word was recognised.
            return Endpoint("stable", min(since, self.last_voiced), frame_end)
        return None

    def _room_voice(self, level: float | None, frame_end: float) -> bool:
        """Is this frame voice well below the customer's own (someone else in the room)?
        (Also keeps the customer's level: recent audio clearly louder than the room.)"""
        if (not self._room_ratio or self.room_level is None or level is None
                or self.speech_started is None):
            return False
        recent = float(np.sqrt(np.median(self._recent)))
        above_room = self.room_level * 10 ** (ROOM_MARGIN_DB / 20)
        if recent > above_room:
            self._customer.append(recent)
            return False
        if (frame_end - self.speech_started < CUSTOMER_REFERENCE_S
                or len(self._customer) < CUSTOMER_FRAMES):
            return False  # the customer has not yet been heard over the room
        customer = float(np.percentile(self._customer, CUSTOMER_PERCENTILE))
        return recent < self._room_ratio * customer

    def _quieter_since(self, since: float) -> bool:
        """Is what the VAD hears since ``since`` quieter than the question was?"""
        before = [level for t, level in self._levels if t <= since]
        after = [level for t, level in self._levels if t > since]
        if not before or not after:
            return not self._levels  # no levels given: the partial alone decides
        return float(np.median(after)) <= STABLE_LEVEL_RATIO * float(np.median(before))


class RoomLevel:
    """The room before the wake word: recent input (bounded), its level, whether it was voices.

    ``note`` every input chunk while no turn is live; at the wake, :meth:`before` is the
    median chunk level of the audio that ended between ``ROOM_WINDOW_S`` and ``WAKE_PHRASE_S``
    before it, and :meth:`audio_before` that audio, for the caller's VAD to tell voices (a
    chatty room) from machines and hum (which the VAD already calls silence).
    """

    def __init__(self) -> None:
        self._chunks: deque[tuple[float, float, np.ndarray]] = deque()

    def note(self, samples: np.ndarray, end: float) -> None:
        rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float32)))) if len(samples) else 0.0
        self._chunks.append((end, rms, samples))
        while self._chunks and end - self._chunks[0][0] > ROOM_WINDOW_S:
            self._chunks.popleft()

    def _window(self, t: float) -> list[tuple[float, float, np.ndarray]]:
        return [c for c in self._chunks if t - ROOM_WINDOW_S <= c[0] <= t - WAKE_PHRASE_S]

    def before(self, t: float) -> float | None:
        levels = [rms for _, rms, _ in self._window(t)]
        return float(np.median(levels)) if levels else None

    def audio_before(self, t: float) -> np.ndarray:
        chunks = [samples for _, _, samples in self._window(t)]
        return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)
