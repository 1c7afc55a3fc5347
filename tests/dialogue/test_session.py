"""The bounded, expiring session store."""

from __future__ import annotations

from vitad.dialogue.session import SessionStore


def test_a_session_is_kept_between_turns() -> None:
    store = SessionStore(timeout_s=10, max_sessions=4)
    first = store.get("kiosk", now=0.0)
    first.last_intent = "prices"
    first.updated = 0.0
    assert store.get("kiosk", now=9.0) is first


def test_a_session_expires_after_the_timeout() -> None:
    store = SessionStore(timeout_s=10, max_sessions=4)
    store.get("kiosk", now=0.0).last_intent = "prices"
    again = store.get("kiosk", now=10.5)
    assert again.last_intent is None and again.updated == 10.5


def test_the_timeout_counts_from_the_last_update() -> None:
    store = SessionStore(timeout_s=10, max_sessions=4)
    session = store.get("kiosk", now=0.0)
    session.last_intent = "prices"
    session.updated = 8.0
    assert store.get("kiosk", now=17.0).last_intent == "prices"


def test_the_store_is_bounded_oldest_used_first_out() -> None:
    store = SessionStore(timeout_s=1000, max_sessions=3)
    for i in range(50):
        store.get(f"k{i}", now=float(i)).last_intent = f"i{i}"
        assert len(store) <= 3
    assert len(store) == 3
    store.get("k47", now=50.0)  # touching k47 makes k48 the oldest
    store.get("new", now=51.0)
    assert store.get("k47", now=52.0).last_intent == "i47"
    assert store.get("k48", now=53.0).last_intent is None


def test_expired_sessions_are_dropped_on_access() -> None:
    store = SessionStore(timeout_s=10, max_sessions=100)
    for i in range(20):
        store.get(f"k{i}", now=0.0)
    assert len(store) == 20
    store.get("late", now=100.0)
    assert len(store) == 1
