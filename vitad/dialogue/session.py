"""Bounded, expiring conversation state so short follow-ups ("and the dryer?") work."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Session:
    last_intent: str | None = None
    last_slots: dict[str, Any] = field(default_factory=dict)
    updated: float = 0.0
    # "Do you mean …?" asked last turn: the guessed intent and the slots heard with it
    # (a slots.Slots; typed loosely so the session knows nothing of slot extraction).
    pending_intent: str | None = None
    pending_slots: Any = None
    # Questions not understood in a row: the first gets "say that again", later ones the
    # phone number.
    failures: int = 0


class SessionStore:
    """At most ``max_sessions`` sessions; each forgotten ``timeout_s`` after its last turn."""

    def __init__(self, timeout_s: float, max_sessions: int) -> None:
        self.timeout_s = timeout_s
        self.max_sessions = max_sessions
        self._sessions: OrderedDict[str, Session] = OrderedDict()

    def get(self, key: str, now: float) -> Session:
        self._expire(now)
        session = self._sessions.pop(key, None) or Session(updated=now)
        self._sessions[key] = session
        while len(self._sessions) > self.max_sessions:
            self._sessions.popitem(last=False)
        return session

    def _expire(self, now: float) -> None:
        for key in [k for k, s in self._sessions.items() if now - s.updated > self.timeout_s]:
            del self._sessions[key]

    def __len__(self) -> int:
        return len(self._sessions)
