"""read_ahead: the next chunk is made while the caller uses the current one, never more."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from vitad.tts.ahead import read_ahead

WAIT_S = 5.0


class Source:
    """A generator that records which items were made and signals each one."""

    def __init__(self, n: int, fail_at: int | None = None) -> None:
        self.n = n
        self.fail_at = fail_at
        self.made: list[int] = []
        self.made_event = [threading.Event() for _ in range(n + 1)]
        self.closed = threading.Event()

    def __iter__(self) -> Iterator[int]:
        try:
            for i in range(self.n):
                if i == self.fail_at:
                    raise ValueError(f"item {i} failed")
                self.made.append(i)
                self.made_event[i].set()
                yield i
        finally:
            self.closed.set()


def test_the_next_item_is_made_while_the_caller_holds_this_one() -> None:
    source = Source(3)
    items = read_ahead(iter(source))
    assert next(items) == 0
    # The caller has not asked for item 1, yet it is being made (the speaker plays item 0).
    assert source.made_event[1].wait(WAIT_S)
    assert not source.made_event[2].wait(0.2)  # one ahead, never two
    assert list(items) == [1, 2]
    assert source.closed.wait(WAIT_S)


def test_closing_stops_the_producer_after_the_item_it_is_on() -> None:
    source = Source(10)
    items = read_ahead(iter(source))
    assert next(items) == 0
    assert source.made_event[1].wait(WAIT_S)
    items.close()  # a barge-in
    assert source.closed.wait(WAIT_S)
    assert source.made == [0, 1]


def test_an_error_reaches_the_caller_at_its_item() -> None:
    source = Source(3, fail_at=1)
    items = read_ahead(iter(source))
    assert next(items) == 0
    with pytest.raises(ValueError, match="item 1 failed"):
        next(items)


def test_an_empty_source_ends_at_once() -> None:
    assert list(read_ahead(iter(Source(0)))) == []


def test_a_few_items_ahead_when_asked_never_more() -> None:
    source = Source(8)
    items = read_ahead(iter(source), ahead=3)
    assert next(items) == 0
    assert source.made_event[3].wait(WAIT_S)  # the caller holds 0; 1, 2 and 3 are made
    assert not source.made_event[4].wait(0.2)
    assert next(items) == 1
    assert source.made_event[4].wait(WAIT_S)
    items.close()
    assert source.closed.wait(WAIT_S)
    assert source.made == [0, 1, 2, 3, 4]


def test_ahead_must_be_positive() -> None:
    with pytest.raises(ValueError, match="ahead must be at least 1"):
        read_ahead(iter(Source(1)), ahead=0)
