"""Logging for journald: one line per record on stderr with a ``<N>`` syslog priority prefix.

Why stderr + prefix instead of a journald library: no extra dependency, and with
``SyslogLevelPrefix=yes`` (the default) journald strips ``<3>`` and files the line at priority
3, so ``journalctl -u vitad -p warning`` works. Tracebacks are folded into the same line
(`` | ``-separated) because journald turns every newline into a separate entry, which
interleaves with other threads and loses the priority of continuation lines.

When stderr is *not* the journal (a terminal, ``vitad simulate``), a human format with
timestamps is used instead; detection uses ``JOURNAL_STREAM`` as documented in
systemd.exec(5).

The current turn id (a :class:`~contextvars.ContextVar`) is appended as ``[turn=<id>]``.
ContextVars do not flow into new threads by themselves: each stage thread sets it with
:func:`turn_context` while it works on a turn.
"""

from __future__ import annotations

import argparse
import contextlib
import faulthandler
import logging
import os
import sys
from collections.abc import Iterator
from contextvars import ContextVar
from typing import TextIO

turn_id_var: ContextVar[str | None] = ContextVar("vitad_turn_id", default=None)

LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
}
_HANDLER_NAME = "vitad-stderr"


def syslog_priority(levelno: int) -> int:
    """Python level -> syslog priority (3 err, 4 warning, 6 info, 7 debug; 2 crit)."""
    if levelno >= logging.CRITICAL:
        return 2
    if levelno >= logging.ERROR:
        return 3
    if levelno >= logging.WARNING:
        return 4
    if levelno >= logging.INFO:
        return 6
    return 7


class _TurnFilter(logging.Filter):
    """Stamp the record with the turn id of the *emitting* thread/context."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "turn_id"):
            record.turn_id = turn_id_var.get()
        return True


class JournalFormatter(logging.Formatter):
    """``<prio>logger: message [turn=id]`` on one line (journald adds time and unit)."""

    def __init__(self, journal: bool = True) -> None:
        super().__init__(datefmt="%Y-%m-%d %H:%M:%S")
        self.journal = journal

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            message = f"{message}\n{record.exc_text}"
        if record.stack_info:
            message = f"{message}\n{self.formatStack(record.stack_info)}"
        turn = getattr(record, "turn_id", None)
        if turn:
            message = f"{message} [turn={turn}]"
        message = " | ".join(line for line in message.splitlines() if line.strip())
        if self.journal:
            return f"<{syslog_priority(record.levelno)}>{record.name}: {message}"
        stamp = self.formatTime(record, self.datefmt)
        return f"{stamp} {record.levelname:<7} {record.name}: {message}"


def stderr_is_journal(stream: TextIO | None = None) -> bool:
    """True if ``stream`` (default stderr) is the journal stream systemd connected us to."""
    value = os.environ.get("JOURNAL_STREAM", "")
    dev, _, ino = value.partition(":")
    if not (dev and ino):
        return False
    try:
        st = os.fstat((stream or sys.stderr).fileno())
    except (OSError, ValueError, AttributeError):
        return False
    return f"{st.st_dev}:{st.st_ino}" == value


def parse_level(name: str) -> int:
    try:
        return LEVELS[name.strip().lower()]
    except KeyError:
        raise ValueError(
            f"unknown log level {name!r}; expected one of {', '.join(LEVELS)}"
        ) from None


def setup_logging(
    level: str | int = "info",
    stream: TextIO | None = None,
    journal: bool | None = None,
    enable_faulthandler: bool = True,
) -> logging.Handler:
    """Install the one stderr handler on the root logger (idempotent; replaces ours only).

    ``journal=None`` auto-detects (see :func:`stderr_is_journal`). With
    ``enable_faulthandler`` a fatal signal — including the SIGABRT systemd sends on a
    watchdog timeout — dumps every thread's Python stack to stderr, i.e. into the journal,
    which is exactly what you need to see *where* a loop hung.
    """
    lvl = parse_level(level) if isinstance(level, str) else int(level)
    out = stream or sys.stderr
    if journal is None:
        journal = stderr_is_journal(out)
    handler = logging.StreamHandler(out)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(JournalFormatter(journal=journal))
    handler.addFilter(_TurnFilter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(lvl)
    if enable_faulthandler:
        with contextlib.suppress(OSError, ValueError, AttributeError, RuntimeError):
            faulthandler.enable(file=out, all_threads=True)
    return handler


@contextlib.contextmanager
def turn_context(turn_id: str | None) -> Iterator[None]:
    """Within this block, log lines of this thread/task carry ``[turn=<turn_id>]``."""
    token = turn_id_var.set(turn_id)
    try:
        yield
    finally:
        turn_id_var.reset(token)


def add_log_level_argument(parser: argparse.ArgumentParser, default: str = "info") -> None:
    """Add ``--log-level {debug,info,warning,error}`` to a CLI parser."""
    parser.add_argument(
        "--log-level",
        default=default,
        choices=["debug", "info", "warning", "error"],
        help=f"log verbosity (default {default})",
    )
