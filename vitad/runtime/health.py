"""Health: a model the daemon updates, a unix-socket server, and the client for `vitad health`.

Why a unix socket that writes one JSON document and closes: it needs no HTTP stack, works
with ``IPAddressDeny=any``/``RestrictAddressFamilies=AF_UNIX``, file permissions (0660, group
vitad) decide who may ask, and ``socat - UNIX-CONNECT:/run/vitad/health.sock`` works in an
emergency. The server thread never blocks the daemon: the provider callback runs on the server
thread and must be quick (snapshotting :class:`HealthModel` is).

Exit codes of ``vitad health`` (:func:`exit_code`): 0 healthy, 1 degraded, 2 not running or
unreachable.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import psutil

from vitad import events as ev

log = logging.getLogger(__name__)

STATES = ("ok", "degraded", "failed", "disabled")
COMPONENTS = ("mic", "speaker", "wake", "asr", "tts", "display", "db")
EXIT_OK, EXIT_DEGRADED, EXIT_DOWN = 0, 1, 2
EXIT_NO_PERMISSION = 4  # the daemon may well be running: we may not ask it

# Degraded(component=...) names in vitad.events -> health component names.
_EVENT_COMPONENTS = {"audio_in": "mic", "audio_out": "speaker", "avatar": "display"}


@dataclass
class ComponentHealth:
    state: str = "ok"
    last_error: str | None = None
    since: float = 0.0  # unix time of the last state change
    mode: str | None = None  # active degraded mode, e.g. "mic_unavailable"
    fallback: bool | None = None  # asr only: running on the fallback engine

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"state": self.state, "last_error": self.last_error}
        if self.mode is not None:
            out["mode"] = self.mode
        if self.fallback is not None:
            out["fallback"] = self.fallback
        out["since"] = round(self.since, 3)
        return out


class HealthModel:
    """Thread-safe health state. The daemon sets component states; the server snapshots it.

    Also an EventBus subscriber (:meth:`on_event`): Degraded events set a component degraded
    (and back to ok), TurnEnd counts turns today, StageError records a component's last error.
    """

    def __init__(self, components: tuple[str, ...] = COMPONENTS) -> None:
        self._lock = threading.Lock()
        now = time.time()
        self._components = {name: ComponentHealth(since=now) for name in components}
        self._components.setdefault("asr", ComponentHealth(since=now)).fallback = False
        self._started = time.monotonic()
        self._started_wall = now
        self._status = "starting"
        self._turns_today = 0
        self._turn_day = datetime.now().date()
        self._last_turn_at: float | None = None
        self._extra: dict[str, Any] = {}
        self._process = psutil.Process()

    def set(
        self,
        component: str,
        state: str,
        error: str | None = None,
        *,
        mode: str | None = None,
        fallback: bool | None = None,
    ) -> None:
        """Set a component's state. ``error`` (if given) becomes its last_error."""
        if state not in STATES:
            raise ValueError(f"unknown health state {state!r}; expected one of {STATES}")
        with self._lock:
            comp = self._components.setdefault(component, ComponentHealth())
            if comp.state != state:
                comp.since = time.time()
            comp.state = state
            comp.mode = mode if state != "ok" else None
            if error is not None:
                comp.last_error = error
            if fallback is not None:
                comp.fallback = fallback

    def error(self, component: str, message: str) -> None:
        """Record a component's last error without changing its state."""
        with self._lock:
            self._components.setdefault(component, ComponentHealth()).last_error = message

    def set_status(self, line: str) -> None:
        with self._lock:
            self._status = line

    def set_extra(self, key: str, value: Any) -> None:
        """Extra JSON-able fields (e.g. db counters, guard reasons)."""
        with self._lock:
            self._extra[key] = value

    def seed_turns_today(self, n: int) -> None:
        """Start the day's turn count from the records DB after a restart."""
        with self._lock:
            self._turns_today = n

    def note_turn(self, when: float | None = None) -> None:
        when = time.time() if when is None else when
        with self._lock:
            day = datetime.fromtimestamp(when).date()
            if day != self._turn_day:
                self._turn_day, self._turns_today = day, 0
            self._turns_today += 1
            self._last_turn_at = when

    def on_event(self, event: ev.Event) -> None:
        match event:
            case ev.Degraded():
                comp = _EVENT_COMPONENTS.get(event.component, event.component)
                fallback = (event.mode == "asr_fallback") if comp == "asr" else None
                if event.active:
                    self.set(comp, "degraded", event.detail or None, mode=event.mode,
                             fallback=fallback)
                else:
                    self.set(comp, "ok", mode=None, fallback=False if comp == "asr" else None)
            case ev.TurnEnd():
                self.note_turn()
            case ev.StageError():
                comp = _EVENT_COMPONENTS.get(event.stage, event.stage)
                with self._lock:
                    target = self._components.get(comp)
                    message = f"{event.code}: {event.message}"
                    if target is not None:
                        target.last_error = message
                    self._extra["last_error"] = {"stage": event.stage, "error": message}

    def overall(self) -> str:
        with self._lock:
            states = {c.state for c in self._components.values()}
        return "ok" if states <= {"ok", "disabled"} else "degraded"

    def snapshot(self) -> dict[str, Any]:
        """The health JSON document."""
        rss_mb = fds = threads = None
        with contextlib.suppress(psutil.Error, OSError), self._process.oneshot():
            rss_mb = round(self._process.memory_info().rss / 2**20, 1)
            fds = self._process.num_fds()
            threads = self._process.num_threads()
        with self._lock:
            today = datetime.now().date()
            turns_today = self._turns_today if today == self._turn_day else 0
            components = {k: v.to_dict() for k, v in self._components.items()}
            doc = {
                "state": "ok",
                "status": self._status,
                "pid": os.getpid(),
                "started_at": round(self._started_wall, 3),
                "uptime_s": round(time.monotonic() - self._started, 1),
                "rss_mb": rss_mb,
                "open_fds": fds,
                "threads": threads,
                "turns_today": turns_today,
                "last_turn_at": self._last_turn_at,
                "components": components,
                **self._extra,
            }
        states = {c["state"] for c in components.values()}
        doc["state"] = "ok" if states <= {"ok", "disabled"} else "degraded"
        return doc


class HealthServer:
    """Serve ``provider()`` as one JSON document per connection on a unix stream socket."""

    def __init__(
        self,
        path: Path | str,
        provider: Callable[[], dict[str, Any]],
        mode: int = 0o660,
        on_beat: Callable[[], None] | None = None,
        accept_timeout_s: float = 0.5,
    ) -> None:
        self.path = Path(path)
        self._provider = provider
        self._mode = mode
        self._on_beat = on_beat
        self._accept_timeout_s = accept_timeout_s
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.served = 0

    def start(self) -> bool:
        """Bind and start serving. False (logged) if the socket cannot be created."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._remove_stale()
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            old_umask = os.umask(0o177)  # never world-accessible, not even for a moment
            try:
                sock.bind(str(self.path))
            finally:
                os.umask(old_umask)
            os.chmod(self.path, self._mode)
            sock.listen(8)
            sock.settimeout(self._accept_timeout_s)
        except OSError as exc:
            log.error("health: cannot listen on %s: %s", self.path, exc.strerror or exc)
            return False
        self._sock = sock
        self._stop.clear()
        self._thread = threading.Thread(target=self._serve, name="health", daemon=True)
        self._thread.start()
        return True

    def _remove_stale(self) -> None:
        try:
            st = self.path.lstat()
        except FileNotFoundError:
            return
        if not stat.S_ISSOCK(st.st_mode):
            raise OSError(f"{self.path} exists and is not a socket; refusing to replace it")
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        probe.settimeout(0.5)
        try:
            probe.connect(str(self.path))
            log.warning("health: another process answers on %s; taking the socket over", self.path)
        except OSError:
            pass  # stale socket from a previous run
        finally:
            probe.close()
        self.path.unlink()

    def _serve(self) -> None:
        assert self._sock is not None
        while not self._stop.is_set():
            if self._on_beat is not None:
                self._on_beat()
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                if self._stop.is_set():
                    return
                time.sleep(0.1)
                continue
            with conn:
                try:
                    doc = self._provider()
                except Exception as exc:  # a broken provider must still answer something
                    log.exception("health: provider failed")
                    doc = {"state": "degraded", "status": f"health provider failed: {exc}"}
                try:
                    conn.settimeout(1.0)
                    conn.sendall(json.dumps(doc, default=str).encode() + b"\n")
                    self.served += 1
                except OSError:
                    pass  # client went away

    def stop(self) -> None:
        self._stop.set()
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_RDWR)  # wakes a blocked accept() on Linux
            self._sock.close()
        if self._thread is not None:
            self._thread.join(2.0)
            self._thread = None
        if self._sock is not None:
            with contextlib.suppress(OSError):
                if stat.S_ISSOCK(self.path.lstat().st_mode):
                    self.path.unlink()
            self._sock = None


class HealthUnreachable(Exception):
    """Why nothing answered: "not running", "permission denied", "no answer"."""


def ask_health(path: Path | str, timeout: float = 2.0) -> dict[str, Any]:
    """Ask a running daemon; raises :class:`HealthUnreachable` saying why nobody answered."""
    deadline = time.monotonic() + timeout
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(str(path))
            chunks = []
            while True:
                sock.settimeout(max(0.01, deadline - time.monotonic()))
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        doc = json.loads(b"".join(chunks))
    except PermissionError:
        raise HealthUnreachable("permission denied") from None
    except (FileNotFoundError, ConnectionRefusedError):
        raise HealthUnreachable("not running") from None
    except (OSError, ValueError):
        raise HealthUnreachable("no answer") from None
    if not isinstance(doc, dict):
        raise HealthUnreachable("no answer")
    return doc


def query_health(path: Path | str, timeout: float = 2.0) -> dict[str, Any] | None:
    """Ask a running daemon; None if nothing answers (not running, no permission, garbage)."""
    try:
        return ask_health(path, timeout)
    except HealthUnreachable:
        return None


def exit_code(doc: dict[str, Any] | None) -> int:
    """0 healthy, 1 degraded (or anything unexpected), 2 not running / unreachable."""
    if doc is None:
        return EXIT_DOWN
    return EXIT_OK if doc.get("state") == "ok" else EXIT_DEGRADED
