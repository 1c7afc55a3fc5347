"""Typed events: the one stream every stage publishes to.

Every event has a ``type`` (stable string, used in JSONL and logs) and ``t``: seconds on
the input audio's clock where the event relates to input audio (simulate), or seconds since
the daemon started (run). Consumers (avatar, captions, log, metrics, SQLite) subscribe to the
:class:`EventBus`; they must be quick and must not raise (a failing subscriber is logged and
skipped, never allowed to break the pipeline).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

log = logging.getLogger(__name__)


class EventType(StrEnum):
    """The stable ``type`` of every event (JSONL, logs). Consumers dispatch on the event's
    class with ``match``; this vocabulary is what leaves the process."""

    EVENT = "event"
    WAKE = "wake"
    LISTENING = "listening"
    SPEECH_START = "speech_start"
    SPEECH_END = "speech_end"
    TRANSCRIPT = "transcript"
    INTENT = "intent"
    PROBLEM_REPORT = "problem_report"
    REPLY = "reply"
    AUDIO_OUT_START = "audio_out_start"
    MOUTH = "mouth"
    SPEAKING = "speaking"
    AUDIO_OUT_END = "audio_out_end"
    TURN_END = "turn_end"
    ERROR = "error"
    DEGRADED = "degraded"


@dataclass(frozen=True)
class Event:
    """Base class. Subclasses set ``type``."""

    type: ClassVar[EventType] = EventType.EVENT
    t: float

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        return {"type": self.type.value, **data}


@dataclass(frozen=True)
class Wake(Event):
    type: ClassVar[EventType] = EventType.WAKE
    model: str
    score: float
    barge_in: bool = False


@dataclass(frozen=True)
class Listening(Event):
    """The listener opened the microphone for a question (after wake)."""

    type: ClassVar[EventType] = EventType.LISTENING
    turn_id: str


@dataclass(frozen=True)
class SpeechStart(Event):
    type: ClassVar[EventType] = EventType.SPEECH_START
    turn_id: str


@dataclass(frozen=True)
class SpeechEnd(Event):
    """End of the user's utterance as detected (last voiced audio, input clock)."""

    type: ClassVar[EventType] = EventType.SPEECH_END
    turn_id: str
    reason: str  # "silence" | "early" | "stable" | "max_length" | "no_speech" (see endpoint.py)
    endpoint_t: float  # when the endpoint decision was taken (after the hangover)


@dataclass(frozen=True)
class Transcript(Event):
    type: ClassVar[EventType] = EventType.TRANSCRIPT
    turn_id: str
    text: str
    final: bool
    engine: str = ""


@dataclass(frozen=True)
class Intent(Event):
    type: ClassVar[EventType] = EventType.INTENT
    turn_id: str
    name: str
    score: float
    slots: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ProblemReport(Event):
    """A customer reported a broken machine; other parts store it (SQLite)."""

    type: ClassVar[EventType] = EventType.PROBLEM_REPORT
    turn_id: str
    machine_type: str | None
    machine_number: int | None
    text: str


@dataclass(frozen=True)
class Reply(Event):
    type: ClassVar[EventType] = EventType.REPLY
    turn_id: str
    text: str
    intent: str


@dataclass(frozen=True)
class AudioOutStart(Event):
    """First reply audio emitted to the output."""

    type: ClassVar[EventType] = EventType.AUDIO_OUT_START
    turn_id: str
    cached: bool = False


@dataclass(frozen=True)
class MouthLevel(Event):
    """Loudness 0..1 of the reply audio at playback time (drives the avatar's mouth), and
    the mouth shape its phonemes call for (``vitad.avatar.state.VISEMES``; None when the
    voice gives no phoneme alignments: the mouth then follows loudness alone)."""

    type: ClassVar[EventType] = EventType.MOUTH
    level: float
    viseme: str | None = None


@dataclass(frozen=True)
class SpeakingSentence(Event):
    """A sentence starts playing (captions follow playback, not synthesis)."""

    type: ClassVar[EventType] = EventType.SPEAKING
    turn_id: str
    text: str


@dataclass(frozen=True)
class AudioOutEnd(Event):
    type: ClassVar[EventType] = EventType.AUDIO_OUT_END
    turn_id: str
    interrupted: bool = False


@dataclass(frozen=True)
class TurnEnd(Event):
    type: ClassVar[EventType] = EventType.TURN_END
    turn_id: str
    outcome: str  # "answered" | "no_speech" | "fallback" | "error"
    intent: str | None = None
    latency_s: float | None = None  # end of speech -> first audio


@dataclass(frozen=True)
class StageError(Event):
    type: ClassVar[EventType] = EventType.ERROR
    stage: str  # "audio_in" | "wake" | "asr" | "dialogue" | "tts" | "audio_out" | ...
    code: str  # stable code, e.g. "asr.model_missing"
    message: str
    turn_id: str | None = None


@dataclass(frozen=True)
class Degraded(Event):
    """A component entered (active=True) or left a degraded mode."""

    type: ClassVar[EventType] = EventType.DEGRADED
    component: str  # "mic" | "speaker" | "asr" | "tts" | "display" | ...
    mode: str  # e.g. "mic_unavailable", "asr_fallback", "captions_only"
    active: bool
    detail: str = ""


Subscriber = Callable[[Event], None]


class EventBus:
    """Synchronous fan-out. Thread-safe publish; subscribers run on the publisher's thread.

    The daemon bridges threads by subscribing a function that hands events to its main
    loop (``call_soon_threadsafe``); simulate uses the bus directly.
    """

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []
        self._lock = threading.Lock()

    def subscribe(self, fn: Subscriber) -> Callable[[], None]:
        with self._lock:
            self._subscribers.append(fn)

        def unsubscribe() -> None:
            with self._lock:
                if fn in self._subscribers:
                    self._subscribers.remove(fn)

        return unsubscribe

    def publish(self, event: Event) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for fn in subscribers:
            try:
                fn(event)
            except Exception:  # a broken consumer must never break the pipeline
                log.exception("event subscriber %r failed on %s", fn, event.type)
