"""``kill -USR1 <pid>``: every thread's Python stack into the journal, one line per thread.

Why not ``faulthandler.register(SIGUSR1, all_threads=True)``: faulthandler walks the
interpreter's thread list from inside the C signal handler without any lock. It is meant
for the moment after a crash; on a live daemon a thread that starts or ends during the walk
(the answer preparer finishing, a device retry) makes the dump itself crash the process with
SIGSEGV — seen in CI. This handler is an ordinary Python signal handler: it runs on the main
thread between bytecodes, holding the GIL, so the thread list cannot change under it. The
main loop wakes at least every 50 ms, so the dump arrives promptly.

A main thread wedged inside C would never run it; that case is the watchdog's: systemd sends
SIGABRT and ``faulthandler.enable`` (see :mod:`vitad.runtime.logsetup`) dumps every thread
as the process dies, which is the one moment that unlocked walk is the right tool.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import traceback
from types import FrameType

log = logging.getLogger("vitad.stacks")


# Frames every thread has and that say nothing about where it is: thread start-up, and this
# module's own frames on the thread the handler interrupted.
_BOILERPLATE = {("threading.py", "_bootstrap"), ("threading.py", "_bootstrap_inner"),
                ("threading.py", "run"), ("runpy.py", "_run_module_as_main"),
                ("runpy.py", "_run_code"), ("stackdump.py", "thread_stacks"),
                ("stackdump.py", "log_thread_stacks")}


def _format(frame: FrameType) -> str:
    summary = [f for f in traceback.extract_stack(frame)
               if (f.filename.rsplit("/", 1)[-1], f.name) not in _BOILERPLATE
               and not f.filename.startswith("<frozen runpy")]
    return "".join(traceback.format_list(summary)).rstrip()


def thread_stacks() -> list[tuple[str, str]]:
    """(thread name, formatted stack) for every live thread, the main thread first."""
    names = {t.ident: t.name for t in threading.enumerate()}
    main = threading.main_thread().ident
    frames = sys._current_frames()  # a snapshot taken under the GIL
    order = sorted(frames, key=lambda ident: (ident != main, names.get(ident, "")))
    return [(names.get(ident, f"thread-{ident}"), _format(frames[ident])) for ident in order]


def log_thread_stacks(_signum: int | None = None, _frame: FrameType | None = None) -> None:
    """Log every thread's stack at warning level (usable directly as a signal handler)."""
    stacks = thread_stacks()
    log.warning("dumping %d thread stacks on request", len(stacks))
    for name, stack in stacks:
        log.warning("thread %s:\n%s", name, stack)


def install_stack_dump_signal(signum: int = signal.SIGUSR1) -> None:
    """Make ``signum`` log every thread's stack (call from the main thread)."""
    signal.signal(signum, log_thread_stacks)
