"""Appliance runtime: systemd, health, records, metrics, self-healing.

Modules (each usable on its own; :mod:`vitad.runtime.appliance` wires them together):

* :mod:`~vitad.runtime.notify` — sd_notify and the progress-based watchdog supervisor.
* :mod:`~vitad.runtime.records` — SQLite interactions/problem reports/counters (a package:
  ``schema`` file/migrations, ``reader`` queries, ``rows`` + ``connection`` writes,
  ``writer`` the queue and writer thread).
* :mod:`~vitad.runtime.health` — health model, unix-socket server and client.
* :mod:`~vitad.runtime.metrics` — Prometheus textfile metrics from events.
* :mod:`~vitad.runtime.guard` — resource ceilings -> planned restart; temp cleanup.
* :mod:`~vitad.runtime.logsetup` — journald-friendly logging.
* :mod:`~vitad.runtime.ops_cli` — ``vitad health|reports|stats``.
"""
