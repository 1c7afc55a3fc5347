"""Speculative preparation: the answer's first words synthesized while the customer talks.

Every answer the shop can give is prepared in the background (vitad/tts/prepare.py), but that
preparer yields to live turns and takes a while after a start or a reload: on a Pi 4 (Piper
at a real-time factor near 0.8) the whole set takes tens of minutes, and a price change makes
the affected answers new. When the partial transcript already reads as one confident, whole
question (the early endpoint's judge, vitad/pipeline/completeness.py), the reply it will get
is known before the turn ends; synthesizing its first chunk then, in the end-of-turn silence
the listener waits out anyway, turns the miss into a cache hit.

Only the latest prediction matters: a one-slot queue (the house's drop-oldest put) holds it,
one worker thread synthesizes. The speculation must never make a turn slower than none: it
only counts if it finished before the turn ended. When the turn ends (``SpeechEnd``) a
speculation still running is dropped between two decoded windows (a voice that decodes in
windows, PiperTts.pieces), so the speaker never queues behind it; measured without that, on a
loaded 2-core box, the speaker waited for the whole speculative synthesis (a median of 1.2 s
to first audio against 0.55 s without speculation).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterator
from typing import Protocol

from vitad import events as ev
from vitad.bounded import put_drop_oldest
from vitad.tts.sentences import split_sentences

log = logging.getLogger(__name__)

_CLOSE = ""  # an empty chunk is never a prediction: it stops the worker


class _Cache(Protocol):
    @property
    def enabled(self) -> bool: ...

    def entry_size(self, key: str) -> int | None: ...


class _Piece(Protocol):
    @property
    def text(self) -> str: ...

    @property
    def last(self) -> bool: ...


class SpeculativeVoice(Protocol):
    """What the speculator needs of a voice (PiperTts)."""

    @property
    def cache(self) -> _Cache: ...

    @property
    def windowed(self) -> bool:
        """A missing chunk is decoded window by window by :meth:`pieces`."""
        ...

    def cache_key(self, sentence: str) -> str: ...

    def spoken(self, sentence: str) -> object:
        """The sentence from the cache, or synthesized (in one go) and stored there."""
        ...

    def pieces(self, text: str) -> Iterator[_Piece]:
        """``text``'s chunks as playable pieces; a missing chunk is cached at its last."""
        ...


class Speculator:
    """``ahead(reply)`` has the reply's first chunk in the voice's cache soon, in the
    background, unless the turn ends first (``on_event``: subscribe it to the bus). ``voice``
    is asked at each prediction (a reload may swap the voice; None: off)."""

    def __init__(self, voice: Callable[[], SpeculativeVoice | None]) -> None:
        self._voice = voice
        self._wanted: queue.Queue[tuple[int, str]] = queue.Queue(maxsize=1)
        self._turn = 0  # bumped when a turn ends: older predictions are dropped
        self.synthesized = 0  # first chunks this speculator put into the cache
        self.already_cached = 0  # predictions whose first chunk was there already
        self.dropped = 0  # speculations the end of their turn stopped
        self._thread = threading.Thread(target=self._run, name="tts-speculate", daemon=True)
        self._thread.start()

    def ahead(self, reply: str) -> None:
        """Prepare ``reply``'s first chunk (the one the speaker waits for) if it is missing.
        Cheap and non-blocking: called from the listener thread on a confident partial."""
        if reply.strip():
            put_drop_oldest(self._wanted, (self._turn, reply))

    def on_event(self, event: ev.Event) -> None:
        """The turn ended: what it predicted is either cached by now or no longer worth the
        CPU the speaker needs."""
        if isinstance(event, ev.SpeechEnd):
            self._turn += 1

    def close(self, timeout: float = 2.0) -> None:
        self._turn += 1
        put_drop_oldest(self._wanted, (-1, ""))
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            turn, reply = self._wanted.get()
            if turn < 0:
                return
            try:
                self._prepare(turn, reply)
            except Exception as exc:  # an optimisation: the live turn says it anyway
                log.debug("speculative synthesis of %r failed: %s", reply[:40], exc)

    def _prepare(self, turn: int, reply: str) -> None:
        voice = self._voice()
        chunks = split_sentences(reply)
        if voice is None or not voice.cache.enabled or not chunks or turn != self._turn:
            return
        first = chunks[0]
        if voice.cache.entry_size(voice.cache_key(first)) is not None:
            self.already_cached += 1
            return
        if not voice.windowed:  # one go: it cannot be stopped, so only while still in time
            voice.spoken(first)
            self.synthesized += 1
            return
        pieces = voice.pieces(reply)
        try:
            for piece in pieces:
                if turn != self._turn:
                    self.dropped += 1
                    return
                if piece.last and piece.text == first:  # cached before its last piece
                    self.synthesized += 1
                    log.debug("speculative: prepared %r before the turn ended", first[:40])
                    return
        finally:
            close = getattr(pieces, "close", None)
            if close is not None:
                close()
