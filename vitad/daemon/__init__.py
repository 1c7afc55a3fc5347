"""``vitad run``: the appliance daemon, in parts with one job each.

* :mod:`~vitad.daemon.lifecycle` — :class:`Daemon`: start in order, stop in reverse
  (``finally``), every thread joined with a bound; :func:`run_daemon` (signals, exit codes).
* :mod:`~vitad.daemon.devices` — the microphone and speaker: open, lose, reopen with the one
  shared :class:`~vitad.bounded.Backoff`; where audio comes from (:class:`Edges`).
* :mod:`~vitad.daemon.reloader` — SIGHUP: per setting live or "needs a restart"; validate,
  load, hand over between turns; last-good copy.
* :mod:`~vitad.daemon.eventlog` — events to the main thread, the journal and STATUS=.
"""

from vitad.daemon.devices import Edges, kernel_sees_sound_device
from vitad.daemon.lifecycle import EXIT_DEVICE, EXIT_RESTART, Daemon, run_daemon

__all__ = ["EXIT_DEVICE", "EXIT_RESTART", "Daemon", "Edges", "kernel_sees_sound_device",
           "run_daemon"]
