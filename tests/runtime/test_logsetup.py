"""Journal-style log lines: priority prefix, one line per record, turn id."""

from __future__ import annotations

import argparse
import io
import logging
import os
import subprocess
import sys
import threading

import pytest

from vitad.runtime.logsetup import (
    add_log_level_argument,
    parse_level,
    setup_logging,
    stderr_is_journal,
    syslog_priority,
    turn_context,
)


@pytest.fixture
def logs():
    buf = io.StringIO()
    root = logging.getLogger()
    old_level = root.level
    handler = setup_logging("debug", stream=buf, journal=True, enable_faulthandler=False)
    yield buf
    root.removeHandler(handler)
    root.setLevel(old_level)


def test_priority_prefixes(logs):
    log = logging.getLogger("vitad.test")
    log.debug("d")
    log.info("i")
    log.warning("w")
    log.error("e")
    log.critical("c")
    assert logs.getvalue().splitlines() == [
        "<7>vitad.test: d",
        "<6>vitad.test: i",
        "<4>vitad.test: w",
        "<3>vitad.test: e",
        "<2>vitad.test: c",
    ]


def test_traceback_folded_into_one_line(logs):
    try:
        raise ValueError("bad\nvalue")
    except ValueError:
        logging.getLogger("vitad.test").exception("it failed")
    lines = logs.getvalue().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("<3>vitad.test: it failed | Traceback (most recent call last):")
    assert "ValueError: bad | value" in lines[0]


def test_turn_id_is_per_thread_context(logs):
    log = logging.getLogger("vitad.test")
    with turn_context("t-42"):
        log.info("answering")
        other = threading.Thread(target=lambda: log.info("other thread"))
        other.start()
        other.join()
    log.info("idle")
    assert logs.getvalue().splitlines() == [
        "<6>vitad.test: answering [turn=t-42]",
        "<6>vitad.test: other thread",
        "<6>vitad.test: idle",
    ]


def test_level_filtering_and_idempotent_setup():
    buf = io.StringIO()
    root = logging.getLogger()
    old = root.level
    setup_logging("info", stream=io.StringIO(), journal=True, enable_faulthandler=False)
    h = setup_logging("warning", stream=buf, journal=True, enable_faulthandler=False)
    try:
        assert [x for x in root.handlers if x.get_name() == h.get_name()] == [h]
        logging.getLogger("vitad.test").info("hidden")
        logging.getLogger("vitad.test").warning("shown")
        assert buf.getvalue() == "<4>vitad.test: shown\n"
    finally:
        root.removeHandler(h)
        root.setLevel(old)


def test_plain_format_has_time_and_level():
    buf = io.StringIO()
    root = logging.getLogger()
    old = root.level
    h = setup_logging("info", stream=buf, journal=False, enable_faulthandler=False)
    try:
        logging.getLogger("vitad.x").warning("hello")
    finally:
        root.removeHandler(h)
        root.setLevel(old)
    line = buf.getvalue().strip()
    assert line.endswith("WARNING vitad.x: hello") and not line.startswith("<")
    assert line[:4].isdigit()


def test_journal_detection(tmp_path, monkeypatch):
    f = open(tmp_path / "stream", "w")  # noqa: SIM115
    try:
        st = os.fstat(f.fileno())
        monkeypatch.setenv("JOURNAL_STREAM", f"{st.st_dev}:{st.st_ino}")
        assert stderr_is_journal(f)
        monkeypatch.setenv("JOURNAL_STREAM", f"{st.st_dev}:{st.st_ino + 1}")
        assert not stderr_is_journal(f)
        monkeypatch.delenv("JOURNAL_STREAM")
        assert not stderr_is_journal(f)
    finally:
        f.close()


def test_levels_and_cli_option():
    assert syslog_priority(logging.INFO) == 6 and syslog_priority(5) == 7
    assert parse_level("WARNING") == logging.WARNING
    with pytest.raises(ValueError, match="expected one of"):
        parse_level("loud")
    p = argparse.ArgumentParser()
    add_log_level_argument(p)
    assert p.parse_args(["--log-level", "debug"]).log_level == "debug"
    assert p.parse_args([]).log_level == "info"


def test_sigabrt_dumps_all_thread_stacks():
    """What systemd's watchdog SIGABRT leaves in the journal: every thread's stack."""
    code = (
        "import os, signal, threading, time\n"
        "from vitad.runtime.logsetup import setup_logging\n"
        "setup_logging('info', journal=True)\n"
        "def listener_loop():\n"
        "    time.sleep(60)\n"
        "threading.Thread(target=listener_loop, daemon=True).start()\n"
        "time.sleep(0.2)\n"
        "os.kill(os.getpid(), signal.SIGABRT)\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert res.returncode != 0
    assert "Fatal Python error: Aborted" in res.stderr
    assert "listener_loop" in res.stderr
