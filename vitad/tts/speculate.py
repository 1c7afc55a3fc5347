"""Speculative preparation: the answer's first words synthesized while the customer talks.

Every answer the shop can give is prepared in the background (vitad/tts/prepare.py), but that
preparer yields to live turns and takes a while after a start or a reload: on a Pi 4 (Piper
at a real-time factor near 0.8) the whole set takes tens of minutes, and a price change makes
the affected answers new. When the partial transcript already reads as one confident, whole
question (the early endpoint's judge, vitad/pipeline/completeness.py), the reply it will get
is known before the turn ends; synthesizing its first chunk then, in the end-of-turn silence
the listener waits out anyway, turns the miss into a cache hit.

Only the latest prediction matters: a one-slot queue (the house's drop-oldest put) holds it,
one worker thread synthesizes. A wrong guess costs one chunk's synthesis; the reply actually
given is spoken as usual.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Protocol

from vitad.bounded import put_drop_oldest
from vitad.tts.sentences import split_sentences

log = logging.getLogger(__name__)

_CLOSE = ""  # an empty chunk is never a prediction: it stops the worker


class _Cache(Protocol):
    @property
    def enabled(self) -> bool: ...

    def entry_size(self, key: str) -> int | None: ...


class SpeculativeVoice(Protocol):
    """What the speculator needs of a voice (PiperTts)."""

    @property
    def cache(self) -> _Cache: ...

    def cache_key(self, sentence: str) -> str: ...

    def spoken(self, sentence: str) -> object:
        """The sentence from the cache, or synthesized and stored there."""
        ...


class Speculator:
    """``ahead(reply)`` has the reply's first chunk in the voice's cache soon, in the
    background. ``voice`` is asked at each prediction (a reload may swap the voice)."""

    def __init__(self, voice: Callable[[], SpeculativeVoice | None]) -> None:
        self._voice = voice
        self._wanted: queue.Queue[str] = queue.Queue(maxsize=1)
        self.synthesized = 0  # chunks this speculator put into the cache
        self.already_cached = 0  # predictions whose first chunk was there already
        self._thread = threading.Thread(target=self._run, name="tts-speculate", daemon=True)
        self._thread.start()

    def ahead(self, reply: str) -> None:
        """Prepare ``reply``'s first chunk (the one the speaker waits for) if it is missing.
        Cheap and non-blocking: called from the listener thread on a confident partial."""
        chunks = split_sentences(reply)
        if chunks and chunks[0]:
            put_drop_oldest(self._wanted, chunks[0])

    def close(self, timeout: float = 2.0) -> None:
        put_drop_oldest(self._wanted, _CLOSE)
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            chunk = self._wanted.get()
            if chunk == _CLOSE:
                return
            try:
                self._prepare(chunk)
            except Exception as exc:  # an optimisation: the live turn says it anyway
                log.debug("speculative synthesis of %r failed: %s", chunk[:40], exc)

    def _prepare(self, chunk: str) -> None:
        voice = self._voice()
        if voice is None or not voice.cache.enabled:
            return
        if voice.cache.entry_size(voice.cache_key(chunk)) is not None:
            self.already_cached += 1
            return
        voice.spoken(chunk)
        self.synthesized += 1
        log.debug("speculative: prepared %r before the turn ended", chunk[:40])
