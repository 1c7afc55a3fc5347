"""sd_notify messages over a real datagram socket; the watchdog supervisor's decisions."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
import threading
import time

from vitad.runtime.notify import Notifier, WatchdogSupervisor, maybe_hang, watchdog_interval


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_notifier_sends_each_message(fake_systemd):
    n = Notifier()
    assert n.enabled
    n.ready("listening")
    assert fake_systemd.recv() == "READY=1\nSTATUS=listening"
    n.status("degraded: mic unavailable")
    assert fake_systemd.recv() == "STATUS=degraded: mic unavailable"
    n.extend_timeout(30)
    assert fake_systemd.recv() == "EXTEND_TIMEOUT_USEC=30000000"
    n.watchdog()
    assert fake_systemd.recv() == "WATCHDOG=1"
    n.stopping()
    assert fake_systemd.recv() == "STOPPING=1"


def test_status_is_one_line_and_not_repeated(fake_systemd):
    n = Notifier()
    n.status("a\nb")
    assert fake_systemd.recv() == "STATUS=a b"
    n.status("a\nb")
    n.status("c")
    assert fake_systemd.recv() == "STATUS=c"  # the repeat was not sent


def test_a_receiver_that_stops_reading_never_blocks_the_sender(fake_systemd, caplog):
    """The daemon's main loop sends STATUS=: a full receive queue drops, it does not wait
    (bench/pipeline.py's harness read the socket only until READY, and the loop froze)."""
    n = Notifier()
    sent = threading.Event()

    def flood() -> None:
        for i in range(5000):  # far more than a datagram queue holds
            n.status(f"line {i}")
        sent.set()

    with caplog.at_level(logging.WARNING, logger="vitad.runtime.notify"):
        threading.Thread(target=flood, daemon=True).start()
        assert sent.wait(10), "send blocked on a full notify socket"
    assert n.dropped > 0
    assert sum("not being read" in r.getMessage() for r in caplog.records) == 1
    assert fake_systemd.recv() == "STATUS=line 0"  # what fitted was delivered, in order


def test_notifier_is_noop_without_socket(monkeypatch):
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    n = Notifier()
    assert not n.enabled
    n.ready("x")
    n.watchdog()  # nothing to assert beyond "does not raise"; enabled=False is the contract


def test_notifier_with_dead_socket_path_is_disabled(short_dir):
    n = Notifier(str(short_dir / "nobody-listens"))
    assert not n.enabled


def test_watchdog_interval_is_half_of_watchdog_usec():
    assert watchdog_interval({"WATCHDOG_USEC": "20000000"}) == 10.0
    pid = str(os.getpid())
    assert watchdog_interval({"WATCHDOG_USEC": "3000000", "WATCHDOG_PID": pid}) == 1.5
    assert watchdog_interval({"WATCHDOG_USEC": "20000000", "WATCHDOG_PID": "1"}) is None
    assert watchdog_interval({"WATCHDOG_USEC": "junk"}) is None
    assert watchdog_interval({}) is None


def test_supervisor_withholds_ping_and_names_stalled_loop(fake_systemd, caplog):
    clock = FakeClock()
    sup = WatchdogSupervisor(Notifier(), clock=clock)
    sup.register("listener", 10)
    sup.register("speaker", 10)
    assert sup.tick() is True
    assert fake_systemd.recv() == "WATCHDOG=1"

    clock.now += 12.3
    sup.beat("speaker")
    assert sup.check() == ["listener"]
    with caplog.at_level(logging.ERROR, logger="vitad.runtime.notify"):
        assert sup.tick() is False
        assert sup.tick() is False  # still stalled: logged only once
    msgs = fake_systemd.drain()
    assert "WATCHDOG=1" not in msgs
    assert msgs == [
        "STATUS=watchdog: loop 'listener' stalled for 12.3 s (deadline 10 s); withholding WATCHDOG"
    ]
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert errors == [
        "watchdog: loop 'listener' stalled for 12.3 s (deadline 10 s); withholding WATCHDOG"
    ]

    sup.beat("listener")
    assert sup.tick() is True
    assert fake_systemd.recv() == "WATCHDOG=1"


def test_pause_suspends_deadline_but_is_bounded():
    clock = FakeClock()
    sup = WatchdogSupervisor(Notifier(""), clock=clock)
    sup.register("speaker", 5)
    sup.pause("speaker", max_s=60)
    clock.now += 30
    assert sup.check() == []
    clock.now += 31
    [stall] = sup.stalls()
    assert (stall.name, stall.reason) == ("speaker", "paused too long")
    sup.resume("speaker")
    assert sup.check() == []
    clock.now += 6  # resumed, so the normal deadline applies again
    assert sup.check() == ["speaker"]


def test_idle_context_manager_and_unknown_names():
    clock = FakeClock()
    sup = WatchdogSupervisor(Notifier(""), clock=clock)
    sup.register("asr", 2)
    with sup.idle("asr"):
        clock.now += 100
        assert sup.check() == []
    assert sup.check() == []
    sup.beat("no-such-loop")  # ignored, not an error
    sup.unregister("asr")
    clock.now += 100
    assert sup.check() == []


def test_loop_whose_thread_died_is_stalled_at_once():
    sup = WatchdogSupervisor(Notifier(""))
    sup.register("wake", 60)
    t = threading.Thread(target=lambda: sup.beat("wake"))
    t.start()
    t.join()
    [stall] = sup.stalls()
    assert (stall.name, stall.reason) == ("wake", "thread died")


def test_beat_is_cheap():
    sup = WatchdogSupervisor(Notifier(""))
    sup.register("listener", 10)
    n = 100_000
    t0 = time.perf_counter()
    for _ in range(n):
        sup.beat("listener")
    per_call = (time.perf_counter() - t0) / n
    assert per_call < 20e-6, per_call


def test_maybe_hang_is_inert_without_env(monkeypatch):
    monkeypatch.delenv("VITAD_TEST_HANG", raising=False)
    maybe_hang("listener")
    monkeypatch.setenv("VITAD_TEST_HANG", "speaker")
    maybe_hang("listener")  # a different loop: returns


CHILD = textwrap.dedent(
    """
    import queue, threading, time
    from vitad.runtime.notify import Notifier, WatchdogSupervisor, maybe_hang
    sup = WatchdogSupervisor(Notifier())
    work = queue.Queue()
    def loop(name):
        sup.register(name, 0.5)
        while True:
            maybe_hang(name)
            try:
                work.get(timeout=0.1)
            except queue.Empty:
                pass
            sup.beat(name)
    for name in ("listener", "speaker"):
        threading.Thread(target=loop, args=(name,), daemon=True).start()
    Notifier().ready("up")
    t_end = time.monotonic() + 3.0
    while time.monotonic() < t_end:
        sup.tick()
        time.sleep(0.1)
    """
)


def test_injected_hang_stops_pings_end_to_end(fake_systemd):
    """A child daemon-like process: pings until VITAD_TEST_HANG freezes 'listener'."""
    env = {**os.environ, "VITAD_TEST_HANG": "listener@1.0"}
    proc = subprocess.Popen([sys.executable, "-c", CHILD], env=env, stderr=subprocess.PIPE)
    msgs: list[tuple[float, str]] = []
    t0 = time.monotonic()
    while proc.poll() is None:
        m = fake_systemd.recv(0.2)
        if m is not None:
            msgs.append((time.monotonic() - t0, m))
    msgs += [(time.monotonic() - t0, m) for m in fake_systemd.drain()]
    _, err = proc.communicate(timeout=5)
    texts = [m for _, m in msgs]
    assert texts[0].startswith("READY=1")
    pings = [t for t, m in msgs if m == "WATCHDOG=1"]
    stalls = [(t, m) for t, m in msgs if m.startswith("STATUS=watchdog: loop 'listener'")]
    assert len(pings) >= 3, texts
    assert stalls, texts
    assert max(pings) < stalls[0][0], "pinged after the stall was reported"
    assert not any("speaker" in m for m in texts)
    assert b"VITAD_TEST_HANG: loop 'listener' hangs now" in err
