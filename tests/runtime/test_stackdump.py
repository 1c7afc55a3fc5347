"""SIGUSR1 stack dumps: every thread named, taken under the GIL, safe while threads come and go."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading

import pytest

from vitad.runtime.stackdump import install_stack_dump_signal, thread_stacks


def _parked_worker(started: threading.Event, release: threading.Event) -> None:
    started.set()
    release.wait(10)


def test_every_thread_is_listed_by_name_main_first() -> None:
    started, release = threading.Event(), threading.Event()
    worker = threading.Thread(target=_parked_worker, args=(started, release), name="parked")
    worker.start()
    try:
        started.wait(5)
        stacks = dict(thread_stacks())
        names = [name for name, _ in thread_stacks()]
    finally:
        release.set()
        worker.join(5)
    assert names[0] == threading.main_thread().name
    assert "_parked_worker" in stacks["parked"]
    assert "test_every_thread_is_listed_by_name_main_first" in stacks[names[0]]


def test_the_signal_logs_one_record_per_thread(caplog: pytest.LogCaptureFixture) -> None:
    previous = signal.getsignal(signal.SIGUSR1)
    install_stack_dump_signal(signal.SIGUSR1)
    try:
        with caplog.at_level(logging.WARNING, logger="vitad.stacks"):
            os.kill(os.getpid(), signal.SIGUSR1)
            threading.Event().wait(0.05)  # the handler runs between bytecodes of this thread
    finally:
        signal.signal(signal.SIGUSR1, previous)
    messages = [r.getMessage() for r in caplog.records]
    assert messages[0].startswith("dumping")
    assert any(m.startswith(f"thread {threading.main_thread().name}:") for m in messages)
    assert signal.getsignal(signal.SIGUSR1) is previous


def test_dumping_while_threads_start_and_end_never_crashes() -> None:
    """The case faulthandler's lock-free walk crashed on (SIGSEGV in CI): churn + dumps."""
    program = textwrap.dedent("""
        import logging, os, signal, threading, time
        logging.basicConfig(stream=open(os.devnull, "w"))
        from vitad.runtime.stackdump import install_stack_dump_signal
        install_stack_dump_signal()
        stop = time.monotonic() + 2.0
        def churn():
            while time.monotonic() < stop:
                ts = [threading.Thread(target=time.sleep, args=(0.0005,)) for _ in range(6)]
                for t in ts: t.start()
                for t in ts: t.join()
        workers = [threading.Thread(target=churn) for _ in range(3)]
        for w in workers: w.start()
        dumps = 0
        while time.monotonic() < stop:
            os.kill(os.getpid(), signal.SIGUSR1); dumps += 1; time.sleep(0.002)
        for w in workers: w.join()
        print(dumps)
    """)
    proc = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert int(proc.stdout) > 100
