"""Answers prepared ahead: every sentence the shop can say, synthesized into the TTS cache.

A reply that is already in the cache plays at once (a cache hit costs ~0 ms; a miss costs a
Piper run, ~0.1 s here and seconds on a Pi 4). The shop's answers are a finite set
(vitad/dialogue/replies.py), so after start and after each reload a :class:`Preparer` thread
synthesizes the sentences of that set the cache lacks. It is the lowest-priority work in the
daemon, and "low priority" is done by yielding, not by ``os.nice`` (per process on most
systems, and Piper's compute runs on onnxruntime's own threads anyway):

* it never starts a synthesis while a turn is live (``pause``: a :class:`TurnGate` set from
  the wake word to the end of the reply); a sentence already under way when a turn starts
  finishes (tens of ms here), long before that turn's reply is needed;
* after each sentence it rests at least as long as the synthesis took, so it takes at most
  half the CPU time and the wake word detector keeps up;
* it is bounded by the cache size: it stops ("full") rather than store a sentence that would
  make the cache evict answers of the current config. Before synthesizing it marks every
  current answer already cached as recently used, so what the cache evicts to make room is
  stale variants (last week's prices) first — those are left to its normal LRU eviction.

Progress (``prepared 812/840``) is in ``vitad health``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import zip_longest
from typing import Protocol

from vitad import events as ev
from vitad.tts.cache import AudioCache, Speech, entry_bytes
from vitad.tts.sentences import split_sentences

log = logging.getLogger(__name__)

MIN_REST_S = 0.05  # between two sentences, however fast the last one was
DUTY = 0.5  # at most this share of wall time is spent synthesizing
POLL_S = 0.1  # how often a paused preparer looks whether the turn is over
MAX_TURN_S = 120.0  # a turn whose end was never seen (a dropped event) stops pausing after this


class PauseSignal(Protocol):
    def is_set(self) -> bool: ...


class Voice(Protocol):
    """What the preparer needs of a voice (:class:`vitad.tts.piper_engine.PiperTts`)."""

    cache: AudioCache

    def cache_key(self, sentence: str) -> str: ...

    def render(self, sentence: str) -> Speech:
        """Audio and phoneme alignments: both are cached, so prepared answers lip-sync."""


def reply_chunks(replies: Iterable[str]) -> list[str]:
    """The sentences and clauses the speaker synthesizes for these replies, each once: the
    same :func:`split_sentences` the speaker uses, so each is one cache entry.

    First sentences first: the first audio of a reply waits for its first sentence only
    (the speaker synthesizes sentence n+1 while n plays), so a half-finished preparation
    already makes most answers start at once.
    """
    split = [split_sentences(reply) for reply in replies]
    by_position = zip_longest(*split) if split else iter(())
    return list(dict.fromkeys(c for row in by_position for c in row if c is not None))


class TurnGate:
    """Set while a turn is live: from ``Listening`` (published with the wake word) to that
    turn's ``TurnEnd``. An event-bus subscriber, so it is called on the publishing thread,
    the moment the wake word fires. Thread-safe."""

    def __init__(self, max_turn_s: float = MAX_TURN_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_turn_s = max_turn_s
        self._clock = clock
        self._lock = threading.Lock()
        self._live: dict[str, float] = {}  # turn id → when it started

    def on_event(self, event: ev.Event) -> None:
        match event:
            case ev.Listening(turn_id=turn_id):
                with self._lock:
                    self._live[turn_id] = self._clock()
            case ev.TurnEnd(turn_id=turn_id):
                with self._lock:
                    self._live.pop(turn_id, None)

    def is_set(self) -> bool:
        now = self._clock()
        with self._lock:
            for turn_id in [t for t, at in self._live.items() if now - at > self.max_turn_s]:
                del self._live[turn_id]
            return bool(self._live)


@dataclass(frozen=True)
class Progress:
    prepared: int = 0  # sentences of the current set in the cache
    total: int = 0
    state: str = "idle"  # idle | preparing | paused | done | full | off (no cache / voice)
    cached_bytes: int = 0  # their size on disk
    failed: int = 0  # sentences Piper could not say (logged)

    def health(self) -> dict[str, object]:
        return {"prepared": f"{self.prepared}/{self.total}", "prepare_state": self.state,
                "prepared_mib": round(self.cached_bytes / (1 << 20), 1)}


@dataclass(frozen=True)
class _Job:
    voice: Voice | None
    replies: Callable[[], Iterable[str]]


class Preparer:
    """The background thread; :meth:`prepare` (any thread) replaces what it works on."""

    def __init__(self, pause: PauseSignal, min_rest_s: float = MIN_REST_S,
                 duty: float = DUTY, poll_s: float = POLL_S) -> None:
        self.pause = pause
        self.min_rest_s = min_rest_s
        self.duty = duty
        self.poll_s = poll_s
        self._lock = threading.Lock()
        self._job: _Job | None = None
        self._changed = threading.Event()  # a new job, or close()
        self._closed = False
        self._idle = threading.Event()
        self._idle.set()
        self._progress = Progress()
        self._thread: threading.Thread | None = None

    def prepare(self, voice: Voice | None, replies: Callable[[], Iterable[str]]) -> None:
        """Prepare the replies ``replies()`` lists with this voice (None: captions only).

        ``replies`` is called on the preparer's thread: the caller (the daemon's main loop,
        which also draws the avatar) does none of the work, and a failure there is logged
        like any other preparation failure.
        """
        job = _Job(voice, replies)
        with self._lock:
            if self._closed:
                return
            self._job = job
            self._idle.clear()
            self._changed.set()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="preparer",
                                                daemon=True)
                self._thread.start()

    def progress(self) -> Progress:
        return self._progress

    def wait_idle(self, timeout: float) -> bool:
        """True once the current job is over (done, full, off); for tests and the bench."""
        return self._idle.wait(timeout)

    def close(self, timeout: float = 2.0) -> None:
        with self._lock:
            self._closed = True
            self._changed.set()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    # -- the thread ------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            self._changed.wait()
            with self._lock:
                self._changed.clear()
                job, closed = self._job, self._closed
            if closed:
                return
            if job is None:
                continue
            try:
                self._work(job)
            except Exception:  # preparing is an optimisation: never worth a crash
                log.exception("preparing answers failed")
            if not self._changed.is_set():
                self._idle.set()

    def _work(self, job: _Job) -> None:
        chunks = reply_chunks(job.replies())
        total = len(chunks)
        if job.voice is None or not job.voice.cache.enabled:
            self._progress = Progress(0, total, "off")
            return
        voice, cache = job.voice, job.voice.cache
        prepared, used, missing = 0, 0, []
        for chunk in chunks:
            size = cache.entry_size(voice.cache_key(chunk))  # also marks it recently used
            if size is None:
                missing.append(chunk)
            else:
                prepared, used = prepared + 1, used + size
        failed = 0
        started = time.monotonic()
        self._progress = Progress(prepared, total, "preparing", used)
        for chunk in missing:
            if not self._wait_for_quiet(self._progress):
                return
            key = voice.cache_key(chunk)
            size = cache.entry_size(key)  # a live turn may have said it meanwhile
            if size is None:
                began = time.monotonic()
                try:
                    speech = voice.render(chunk)
                except Exception as exc:  # the same sentence in a live turn says why
                    failed += 1
                    log.log(logging.WARNING if failed == 1 else logging.DEBUG,
                            "preparing %r failed: %s", chunk[:40], exc)
                    continue
                spent = time.monotonic() - began
                size = entry_bytes(speech)
                if used + size > cache.max_bytes:
                    self._progress = Progress(prepared, total, "full", used, failed)
                    log.warning("answers prepared: %d/%d, the cache is full "
                                "(tts.cache_max_mb = %.0f)", prepared, total,
                                cache.max_bytes / (1 << 20))
                    return
                cache.put(key, speech.samples, speech.alignment)
            else:
                spent = 0.0
            prepared, used = prepared + 1, used + size
            self._progress = Progress(prepared, total, "preparing", used, failed)
            rest = max(self.min_rest_s, spent * (1 - self.duty) / self.duty)
            if self._changed.wait(rest):
                return  # a reload (or close) replaced this job
        self._progress = Progress(prepared, total, "done", used, failed)
        log.info("answers prepared: %d/%d sentences, %.1f MiB, %d synthesized in %.1f s",
                 prepared, total, used / (1 << 20), len(missing) - failed,
                 time.monotonic() - started)

    def _wait_for_quiet(self, progress: Progress) -> bool:
        """Block while a turn is live; False when the job was replaced or closed."""
        while self.pause.is_set():
            self._progress = Progress(progress.prepared, progress.total, "paused",
                                      progress.cached_bytes, progress.failed)
            if self._changed.wait(self.poll_s):
                return False
        self._progress = progress
        return not self._changed.is_set()
