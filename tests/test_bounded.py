"""Drop-oldest queues and capped backoff, the two bounded-resource helpers."""

from __future__ import annotations

import queue

import pytest

from vitad.bounded import Backoff, put_drop_oldest


def test_a_full_queue_drops_the_oldest_and_says_how_many() -> None:
    q: queue.Queue[int] = queue.Queue(maxsize=2)
    assert [put_drop_oldest(q, i) for i in range(5)] == [0, 0, 1, 1, 1]
    assert [q.get_nowait(), q.get_nowait()] == [3, 4]


def test_backoff_doubles_to_the_cap_and_starts_over() -> None:
    now = [100.0]
    backoff = Backoff(1.0, 5.0, clock=lambda: now[0])
    assert backoff.due()
    assert [backoff.failed() for _ in range(5)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    assert not backoff.due() and backoff.failures == 5
    now[0] += 5.0
    assert backoff.due()
    backoff.succeeded()
    assert backoff.failed() == 1.0
    backoff.retry_now()
    assert backoff.due()


def test_backoff_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="0 < initial <= maximum"):
        Backoff(0.0, 1.0)
