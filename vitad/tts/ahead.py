"""Synthesize the next chunk while the current one plays.

:meth:`PiperTts.speak` is lazy: it synthesizes a chunk when asked for it. A speaker that
writes chunk *n* to a blocking device before asking for *n+1* would leave the synthesis of
*n+1* as silence between the two; with a short first clause ("For the washers:") that silence
lands in the middle of a sentence. :func:`read_ahead` asks for *n+1* on a helper thread the
moment the caller has taken *n* — ``ahead`` items ahead, never more, so a barge-in wastes at
most that many syntheses. The speaker reads pieces (vitad/tts/piper_engine.py ``pieces``):
a cached chunk whole, a missing chunk window by window; a few windows ahead keep a window
whose decode was slowed by a busy moment from leaving a hole in the audio.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator, Iterator
from typing import TypeVar

T = TypeVar("T")

_END = object()


class _Failed:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def read_ahead(items: Iterator[T], name: str = "tts-ahead",
               ahead: int = 1) -> Generator[T, None, None]:
    """The items of ``items``, each produced on a helper thread while the caller still uses
    the ones before (the first as soon as the caller asks for it), at most ``ahead`` items
    ahead of the caller. An exception from ``items`` is raised to the caller at that item.
    Closing the returned generator (or dropping it) stops the helper after the item it is on.
    """
    if ahead < 1:
        raise ValueError(f"read_ahead: ahead must be at least 1, not {ahead}")
    ready: queue.Queue[object] = queue.Queue(maxsize=ahead)  # bounded by ``wanted``
    wanted = threading.Semaphore(ahead)  # items that may be produced ahead of the caller
    stop = threading.Event()

    def produce() -> None:
        try:
            while True:
                wanted.acquire()
                if stop.is_set():
                    return
                try:
                    item: object = next(items)
                except StopIteration:
                    item = _END
                except BaseException as exc:  # handed to the caller, who decides
                    item = _Failed(exc)
                ready.put(item)
                if item is _END or isinstance(item, _Failed):
                    return
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    def consume() -> Generator[T, None, None]:
        # Started by the first next(): a generator closed before it ever ran has no
        # ``finally`` to stop a producer with.
        threading.Thread(target=produce, name=name, daemon=True).start()
        try:
            while True:
                item = ready.get()
                if item is _END:
                    return
                if isinstance(item, _Failed):
                    raise item.exc
                wanted.release()  # the next one is made while the caller uses this one
                yield item  # type: ignore[misc]  # the producer puts only T, _END or _Failed
        finally:
            stop.set()
            wanted.release()  # wakes a producer waiting for the caller, which then stops

    return consume()
