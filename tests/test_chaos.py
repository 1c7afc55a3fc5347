"""A short chaos run through the real `vitad run` process (CI version of bench/chaos.py).

Every fault kind once, then the cheap ones again (about 20 faults): reloads (valid, garbage,
unreadable config/intents with the daemon as an unprivileged user, symlink loop, garbage wake
model), the WAV microphone vanishing, the state tmpfs full, the DB locked, kill -9 during
problem-report writes, SIGSTOP shorter and longer than the watchdog, FIFOs in the TTS cache.
Asserts the issue's targets, scaled to the run: no unintended exit, no lost acknowledged
report, last-good never overwritten by a config that failed to load, no hang without a
withheld watchdog, every fault survived.
"""

from __future__ import annotations

import os

import pytest

from tests.chaos_lib import KINDS, ROOT_ONLY, Chaos

AGAIN = ["valid_reload", "garbage_reload", "unreadable_config", "unreadable_intents",
         "symlink_loop", "garbage_wake_model", "sigstop_short", "mic_vanish"]


@pytest.mark.slow
def test_chaos_through_the_real_daemon() -> None:
    # As root (CI) the daemon runs as nobody and the state dir is a tmpfs; as a plain user the
    # daemon runs as that user (chmod 000 still locks the owner out) and only the full disk,
    # which needs a tmpfs mount, is left out.
    kinds = [k for k in KINDS if os.geteuid() == 0 or k not in ROOT_ONLY]
    lines: list[str] = []
    plan = [*kinds, *AGAIN]
    with Chaos(seed=9, watchdog_s=4.0, log=lines.append) as chaos:
        report = chaos.run(len(plan), plan=plan)
    text = report.summary() + "\n\n" + "\n".join(lines)
    problems = report.target_problems(min_faults=len(plan), min_kinds=len(kinds))
    assert not problems, "\n".join(problems) + "\n\n" + text
    assert report.acked, "no problem report was acknowledged at all:\n" + text
    assert not report.tracebacks, text
