"""What the main thread does with events: one journal line each, and the systemd status line.

Every thread publishes on the bus; :class:`EventPump` carries the events to the main thread
through one bounded queue (drop-oldest, counted), where they are logged and handed on.
"""

from __future__ import annotations

import logging
import queue
from collections.abc import Callable

from vitad import events as ev
from vitad.bounded import put_drop_oldest
from vitad.runtime.health import HealthModel
from vitad.runtime.notify import Notifier, WatchdogSupervisor

log = logging.getLogger("vitad.daemon")

EVENT_QUEUE_MAX = 2000
_QUIET_FIELDS = {"type", "t"}


def log_event(event: ev.Event) -> None:
    """One journal line per event; never a customer's words (only how many there were)."""
    match event:
        case ev.MouthLevel() | ev.Transcript(final=False):
            return  # 25 a second / every partial: for the avatar only
    data = {k: v for k, v in event.to_dict().items() if k not in _QUIET_FIELDS}
    match event:
        case ev.Transcript() | ev.ProblemReport():
            data["text"] = f"<{len(event.text.split())} words>"
        case ev.SpeechEnd():
            data["at"] = round(event.t, 3)  # last voiced audio, input clock
    level = logging.WARNING if isinstance(event, ev.StageError | ev.Degraded) else logging.INFO
    fields = " ".join(f"{k}={v}" for k, v in data.items() if v not in (None, "", {}))
    log.log(level, "%s %s", event.type, fields)


class EventPump:
    """Events from any thread → a bounded queue → ``dispatch`` on the main thread."""

    def __init__(self, dispatch: Callable[[ev.Event], None],
                 maxsize: int = EVENT_QUEUE_MAX) -> None:
        self._dispatch = dispatch
        self._events: queue.Queue[ev.Event] = queue.Queue(maxsize=maxsize)
        self.dropped = 0

    def put(self, event: ev.Event) -> None:
        """Any thread (a bus subscriber): newest wins when the main thread falls behind."""
        self.dropped += put_drop_oldest(self._events, event)

    def drain(self, limit: int = 500) -> None:
        """Main thread: dispatch what is queued (at most ``limit``, so frames keep coming)."""
        for _ in range(limit):
            try:
                event = self._events.get_nowait()
            except queue.Empty:
                return
            self._dispatch(event)


class StatusLine:
    """``listening · 42 chats today · mic ok``: systemd's STATUS= and the health document."""

    def __init__(self, health: HealthModel, supervisor: WatchdogSupervisor, notifier: Notifier,
                 mic_ok: Callable[[], bool], speaking: Callable[[], bool]) -> None:
        self._health = health
        self._supervisor = supervisor
        self._notifier = notifier
        self._mic_ok = mic_ok
        self._speaking = speaking
        self.line = ""
        self.degraded: dict[str, str] = {}  # component → its active degraded mode

    def note(self, event: ev.Degraded) -> None:
        if event.active:
            self.degraded[event.component] = event.mode
        else:
            self.degraded.pop(event.component, None)
        self.update(force=True)

    def update(self, force: bool = False) -> None:
        turns = self._health.snapshot().get("turns_today", 0)
        mic_ok = self._mic_ok()
        mic = "mic ok" if mic_ok else "mic unavailable"
        modes = [m.replace("_", " ") for c, m in self.degraded.items() if c != "mic"]
        if modes or not mic_ok:
            head = "degraded: " + ", ".join(modes or [mic])
        else:
            head = "speaking" if self._speaking() else "listening"
        line = f"{head} · {turns} chats today · {mic}"
        self._health.set_status(line)
        if force or line != self.line:
            self.line = line
            if not self._supervisor.check():  # a stalled loop's name stays in STATUS=
                self._notifier.status(line)
