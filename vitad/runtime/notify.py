"""systemd notification and a watchdog that pings only when every critical loop progresses.

Why a supervisor instead of a timer thread that sends ``WATCHDOG=1``: a free-running pinger
proves only that *that thread* is alive. The laundromat failure we care about is "the listener
thread is wedged in a USB read while the process looks fine" — the unit must get restarted
then. So each critical loop proves progress with :meth:`WatchdogSupervisor.beat`, and the
daemon's main loop calls :meth:`WatchdogSupervisor.tick` which pings only if no loop is
stalled. If the main loop itself hangs, nobody pings either. Never call ``tick()`` or
``Notifier.watchdog()`` from a thread whose only job is pinging.

How loops should beat:

* A loop waiting on a queue uses ``queue.get(timeout=deadline/3)`` and beats on **every**
  wakeup, work or not. Waiting for work is then visibly alive; a hang inside the work is not.
* A loop that must block in a call without a timeout (rare) wraps it in
  ``with supervisor.idle(name, max_s=...)``. While paused the deadline does not apply, but the
  loop still counts as stalled if its thread has died or it stays paused longer than ``max_s``.
* Every loop's thread is remembered at its first beat; a loop whose thread died is stalled
  at once (an uncaught exception in a loop must not go unnoticed until the deadline).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

log = logging.getLogger(__name__)

__all__ = ["Notifier", "Stall", "WatchdogSupervisor", "maybe_hang", "watchdog_interval"]


class Notifier:
    """``sd_notify`` via ``sdnotify``; every method is a cheap no-op without NOTIFY_SOCKET.

    Messages are sent with the socket connected at construction (sdnotify connects once).
    Failures to send are swallowed: notification must never take the daemon down. Nor wedge
    it: a datagram send blocks while the receiver's queue is full (a receiver that stopped
    reading), and the main loop sends STATUS=, so sends never wait — a message that does not
    fit is dropped and counted (``dropped``; a warning the first time).
    """

    def __init__(self, socket_path: str | None = None) -> None:
        path = socket_path if socket_path is not None else os.environ.get("NOTIFY_SOCKET")
        self._sd = None
        if path:
            import sdnotify

            old = os.environ.get("NOTIFY_SOCKET")
            os.environ["NOTIFY_SOCKET"] = path  # sdnotify reads only the environment
            try:
                self._sd = sdnotify.SystemdNotifier()
            finally:
                if old is None:
                    os.environ.pop("NOTIFY_SOCKET", None)
                else:
                    os.environ["NOTIFY_SOCKET"] = old
            if getattr(self._sd, "socket", None) is None:
                log.warning("notify: cannot connect to NOTIFY_SOCKET %s; notifications off", path)
                self._sd = None
        self._last_status: str | None = None
        self.dropped = 0

    @property
    def enabled(self) -> bool:
        return self._sd is not None

    def send(self, *assignments: str) -> None:
        """Send raw ``KEY=VALUE`` lines in one datagram."""
        if self._sd is not None:
            # sdnotify.notify() encodes latin-1, which garbles STATUS lines with "·" or CJK
            # text; systemd expects UTF-8, so send on sdnotify's connected socket ourselves.
            try:
                self._sd.socket.send("\n".join(assignments).encode("utf-8"),
                                     socket.MSG_DONTWAIT)
            except BlockingIOError:
                self.dropped += 1
                if self.dropped == 1:
                    log.warning("notify: NOTIFY_SOCKET is not being read (queue full); "
                                "dropping notifications rather than waiting")
            except OSError as exc:  # notification must never take the daemon down
                log.debug("notify: send failed: %s", exc)

    def ready(self, status: str | None = None) -> None:
        """READY=1: models loaded, listening. Start the watchdog ticks after this."""
        lines = ["READY=1"]
        if status:
            lines.append(f"STATUS={_one_line(status)}")
            self._last_status = status
        self.send(*lines)

    def status(self, line: str) -> None:
        """STATUS=...; shown by ``systemctl status``. Repeats of the same line are not resent."""
        if line != self._last_status:
            self._last_status = line
            self.send(f"STATUS={_one_line(line)}")

    def extend_timeout(self, seconds: float) -> None:
        """EXTEND_TIMEOUT_USEC: 'still starting, give me this much more from now'."""
        self.send(f"EXTEND_TIMEOUT_USEC={max(1, int(seconds * 1_000_000))}")

    def reloading(self) -> None:
        """RELOADING=1 (+ MONOTONIC_USEC, needed by Type=notify-reload on systemd >= 253)."""
        usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        self.send("RELOADING=1", f"MONOTONIC_USEC={usec}")

    def stopping(self) -> None:
        self.send("STOPPING=1")

    def watchdog(self) -> None:
        """WATCHDOG=1. Call only via :meth:`WatchdogSupervisor.tick` (see module doc)."""
        self.send("WATCHDOG=1")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def watchdog_interval(environ: dict[str, str] | None = None) -> float | None:
    """Seconds between ticks: half of WATCHDOG_USEC, or None if systemd's watchdog is off.

    WATCHDOG_PID, when set, must be our pid (otherwise the variable was inherited).
    """
    env = os.environ if environ is None else environ
    pid = env.get("WATCHDOG_PID")
    if pid and pid.strip() != str(os.getpid()):
        return None
    try:
        usec = int(env.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    return usec / 2 / 1_000_000 if usec > 0 else None


@dataclass(frozen=True)
class Stall:
    name: str
    age_s: float  # seconds since the last beat (or since the pause began)
    deadline_s: float
    reason: str  # "no progress" | "thread died" | "paused too long"

    def message(self) -> str:
        if self.reason == "thread died":
            return f"watchdog: loop '{self.name}' thread died; withholding WATCHDOG"
        what = "paused" if self.reason == "paused too long" else "stalled"
        return (
            f"watchdog: loop '{self.name}' {what} for {self.age_s:.1f} s "
            f"(deadline {self.deadline_s:g} s); withholding WATCHDOG"
        )


class _Loop:
    __slots__ = ("deadline_s", "last_beat", "max_pause_s", "name", "paused_at", "thread")

    def __init__(self, name: str, deadline_s: float, now: float) -> None:
        self.name = name
        self.deadline_s = deadline_s
        self.last_beat = now
        self.paused_at: float | None = None
        self.max_pause_s: float | None = None
        self.thread: threading.Thread | None = None


class WatchdogSupervisor:
    """Registry of named critical loops; :meth:`tick` pings systemd only if all progress."""

    def __init__(
        self,
        notifier: Notifier | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._notifier = notifier or Notifier()
        self._clock = clock
        self._lock = threading.Lock()
        self._loops: dict[str, _Loop] = {}
        self._reported: set[str] = set()
        self.pings = 0
        self.withheld = 0

    # --- called by loops ------------------------------------------------------------------
    def register(self, name: str, deadline_s: float) -> None:
        """Add a loop; it is considered alive now and must beat within ``deadline_s``."""
        if deadline_s <= 0:
            raise ValueError("deadline_s must be > 0")
        with self._lock:
            self._loops[name] = _Loop(name, deadline_s, self._clock())

    def unregister(self, name: str) -> None:
        """Remove a loop (e.g. a component disabled for good). Unknown names are ignored."""
        with self._lock:
            self._loops.pop(name, None)
            self._reported.discard(name)

    def beat(self, name: str) -> None:
        """Progress proof. Cheap (one uncontended lock); unknown names are ignored."""
        now = self._clock()
        with self._lock:
            loop = self._loops.get(name)
            if loop is None:
                return
            loop.last_beat = now
            loop.paused_at = None
            if loop.thread is None:
                loop.thread = threading.current_thread()

    def pause(self, name: str, max_s: float | None = None) -> None:
        """The loop is about to block legitimately without a timeout; suspend its deadline.

        ``max_s`` bounds the pause (None = unbounded, still stalled if the thread dies).
        """
        now = self._clock()
        with self._lock:
            loop = self._loops.get(name)
            if loop is not None:
                loop.paused_at = now
                loop.max_pause_s = max_s
                if loop.thread is None:
                    loop.thread = threading.current_thread()

    def resume(self, name: str) -> None:
        """End a pause; counts as a beat."""
        self.beat(name)

    @contextmanager
    def idle(self, name: str, max_s: float | None = None) -> Iterator[None]:
        self.pause(name, max_s)
        try:
            yield
        finally:
            self.resume(name)

    # --- called by the main loop ------------------------------------------------------------
    def stalls(self, now: float | None = None) -> list[Stall]:
        now = self._clock() if now is None else now
        out: list[Stall] = []
        with self._lock:
            loops = list(self._loops.values())
        for loop in loops:
            if loop.thread is not None and not loop.thread.is_alive():
                out.append(Stall(loop.name, now - loop.last_beat, loop.deadline_s, "thread died"))
            elif loop.paused_at is not None:
                age = now - loop.paused_at
                if loop.max_pause_s is not None and age > loop.max_pause_s:
                    out.append(Stall(loop.name, age, loop.max_pause_s, "paused too long"))
            elif now - loop.last_beat > loop.deadline_s:
                out.append(Stall(loop.name, now - loop.last_beat, loop.deadline_s, "no progress"))
        return out

    def check(self, now: float | None = None) -> list[str]:
        """Names of stalled loops (empty = all healthy)."""
        return [s.name for s in self.stalls(now)]

    def tick(self, now: float | None = None) -> bool:
        """Ping WATCHDOG=1 if nothing is stalled; else log each new stall once and set STATUS.

        Returns True when it pinged. Call from the daemon's main loop every
        :meth:`interval` seconds (or more often).
        """
        stalls = self.stalls(now)
        names = {s.name for s in stalls}
        for name in sorted(self._reported - names):
            log.warning("watchdog: loop '%s' is progressing again", name)
        if not stalls:
            self._reported.clear()
            self.pings += 1
            self._notifier.watchdog()
            return True
        for stall in stalls:
            if stall.name not in self._reported:
                log.error("%s", stall.message())
        self._reported = names
        self.withheld += 1
        self._notifier.status("; ".join(s.message() for s in stalls))
        return False

    @staticmethod
    def interval(default: float = 5.0) -> float:
        """How often to tick: half of WATCHDOG_USEC, or ``default`` if the watchdog is off."""
        return watchdog_interval() or default

    @property
    def names(self) -> list[str]:
        with self._lock:
            return sorted(self._loops)


_HANG_T0 = time.monotonic()


def maybe_hang(name: str) -> None:
    """TEST-ONLY fault injection: hang the calling loop forever if asked by the environment.

    ``VITAD_TEST_HANG=<loop>`` hangs loop ``<loop>`` at its first call;
    ``VITAD_TEST_HANG=<loop>@<seconds>`` hangs it once the process is that old, so a test can
    see READY=1 and a few pings before the stall. Several loops: comma-separated. The daemon
    calls ``maybe_hang("<loop name>")`` once per iteration in each critical loop; with the
    variable unset it costs one dict lookup. Never set this in production.
    """
    spec = os.environ.get("VITAD_TEST_HANG")
    if not spec:
        return
    for item in spec.split(","):
        loop, _, after = item.strip().partition("@")
        if loop != name:
            continue
        try:
            delay = float(after) if after else 0.0
        except ValueError:
            delay = 0.0
        if time.monotonic() - _HANG_T0 < delay:
            return
        log.warning("VITAD_TEST_HANG: loop '%s' hangs now (test fault injection)", name)
        while True:
            time.sleep(3600)
