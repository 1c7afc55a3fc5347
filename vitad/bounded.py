"""The two ways the daemon stays bounded when the world misbehaves: drop-oldest queues and
capped exponential backoff. One implementation each, used by every thread edge.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def put_drop_oldest(target: queue.Queue[T], item: T) -> int:
    """Put ``item``; when ``target`` is full drop the oldest entries first.

    Returns how many entries were dropped (the caller counts them). Newest wins because
    for audio, events and replies the latest is the one that still matters.
    """
    dropped = 0
    while True:
        try:
            target.put_nowait(item)
            return dropped
        except queue.Full:
            try:
                target.get_nowait()
                dropped += 1
            except queue.Empty:
                pass  # a consumer emptied it meanwhile: just retry the put


class Backoff:
    """Capped exponential retry delays: ``initial``, 2×, 4× … up to ``maximum`` seconds.

    ``failed()`` returns the delay before the next attempt and schedules it; ``due()`` tells
    whether that moment has come; ``succeeded()`` starts over at ``initial``.
    """

    def __init__(self, initial: float, maximum: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if initial <= 0 or maximum < initial:
            raise ValueError(f"backoff needs 0 < initial <= maximum (got {initial}, {maximum})")
        self.initial = initial
        self.maximum = maximum
        self._clock = clock
        self._next_delay = initial
        self._retry_at = 0.0
        self.failures = 0

    def failed(self) -> float:
        delay = self._next_delay
        self._next_delay = min(self._next_delay * 2, self.maximum)
        self._retry_at = self._clock() + delay
        self.failures += 1
        return delay

    def succeeded(self) -> None:
        self._next_delay = self.initial
        self._retry_at = 0.0
        self.failures = 0

    def due(self) -> bool:
        return self._clock() >= self._retry_at

    def retry_now(self) -> None:
        """Make the next attempt due at once (e.g. the device name changed)."""
        self._retry_at = 0.0
