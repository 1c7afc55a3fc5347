"""Resource guard: notice slow leaks and plan a clean restart at the next idle moment.

Why: a 24x7 process with native libraries (onnxruntime, PortAudio, SDL) can leak memory,
file descriptors or threads over weeks. Rather than wait for the OOM killer mid-sentence,
the daemon samples its usage, and after ``guard_strikes`` consecutive samples over a ceiling
it plans a restart; the daemon performs it when no turn is in progress (notify STOPPING=1,
exit non-zero; ``Restart=always`` brings it back in ~2 s plus model loading).

Guard restarts are held back until ``guard_min_uptime_s``: a process over its ceiling right
after start is a mis-sized ceiling, and restarting it would only feed StartLimitBurst.

Low free disk is reported as a *warning*, not a restart reason: restarting frees no disk.
The daemon should run :func:`cleanup_temp` and keep going (the records store copes with
a full disk on its own).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from vitad.config.runtime_settings import RuntimeSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Usage:
    rss_mb: float
    open_fds: int
    threads: int
    free_disk_mb: float | None  # None if the state dir cannot be stat'ed


@dataclass(frozen=True)
class Verdict:
    usage: Usage
    over: list[str] = field(default_factory=list)  # ceilings exceeded in this sample
    restart: list[str] = field(default_factory=list)  # reasons to restart (strikes reached)
    warnings: list[str] = field(default_factory=list)  # e.g. low disk: act, don't restart


class ResourceGuard:
    """Compare process usage with the ceilings in :class:`RuntimeSettings`.

    Call :meth:`check` every ``runtime.guard_interval_s`` from the main loop. When
    :attr:`restart_reasons` is non-empty, restart at the next idle moment.
    """

    def __init__(
        self,
        runtime: RuntimeSettings | None = None,
        process: psutil.Process | None = None,
        clock: Callable[[], float] = time.monotonic,
        disk_path: Path | None = None,
    ) -> None:
        self.runtime = runtime or RuntimeSettings()
        self._process = process or psutil.Process()
        self._clock = clock
        self._started = clock()
        self._disk_path = Path(disk_path or self.runtime.state_dir)
        self._strikes: dict[str, int] = {}
        self._disk_low = False
        self.restart_reasons: list[str] = []

    def sample(self) -> Usage:
        with self._process.oneshot():
            rss = self._process.memory_info().rss / 2**20
            fds = self._process.num_fds()
            threads = self._process.num_threads()
        free: float | None
        try:
            free = shutil.disk_usage(self._disk_path).free / 2**20
        except OSError:
            free = None
        return Usage(round(rss, 1), fds, threads, None if free is None else round(free, 1))

    def check(self, usage: Usage | None = None) -> Verdict:
        """One sample. Returns what is over, what warrants a restart now, and warnings."""
        u = usage or self.sample()
        r = self.runtime
        over: dict[str, str] = {}
        if u.rss_mb > r.max_rss_mb:
            over["rss"] = f"rss {u.rss_mb:.0f} MB > max_rss_mb {r.max_rss_mb}"
        if u.open_fds > r.max_fds:
            over["fds"] = f"open fds {u.open_fds} > max_fds {r.max_fds}"
        if u.threads > r.max_threads:
            over["threads"] = f"threads {u.threads} > max_threads {r.max_threads}"
        for key in list(self._strikes):
            if key not in over:
                del self._strikes[key]
        for key in over:
            self._strikes[key] = self._strikes.get(key, 0) + 1

        warnings = []
        if u.free_disk_mb is not None and u.free_disk_mb < r.min_free_disk_mb:
            warnings.append(
                f"free disk {u.free_disk_mb:.0f} MB in {self._disk_path} "
                f"< min_free_disk_mb {r.min_free_disk_mb}"
            )
        if warnings and not self._disk_low:
            log.warning("guard: %s", warnings[0])
        elif not warnings and self._disk_low:
            log.warning("guard: free disk in %s is above min_free_disk_mb again", self._disk_path)
        self._disk_low = bool(warnings)

        due = [over[k] for k, n in self._strikes.items() if n >= r.guard_strikes]
        uptime = self._clock() - self._started
        if due and uptime < r.guard_min_uptime_s:
            for reason in due:
                log.warning(
                    "guard: %s, but uptime %.0f s < guard_min_uptime_s; not restarting "
                    "(ceiling too low for this device?)",
                    reason,
                    uptime,
                )
            due = []
        if due and not self.restart_reasons:
            log.warning("guard: planning a restart at the next idle moment: %s", "; ".join(due))
        if due:
            self.restart_reasons = due
        return Verdict(u, list(over.values()), due, warnings)


def cleanup_temp(
    dirs: Iterable[Path],
    max_age_s: float = 3600.0,
    patterns: tuple[str, ...] = ("vitad-*", "*.tmp"),
    now: float | None = None,
) -> tuple[int, int]:
    """Delete regular files matching ``patterns`` older than ``max_age_s`` in ``dirs``.

    Not recursive, never follows symlinks. Returns (files removed, bytes freed). Run at start
    (leftovers from a killed previous run) and when disk runs low.
    """
    now = time.time() if now is None else now
    removed = freed = 0
    for d in dirs:
        d = Path(d)
        if not d.is_dir():
            continue
        seen: set[Path] = set()
        for pattern in patterns:
            for p in d.glob(pattern):
                if p in seen:
                    continue
                seen.add(p)
                with contextlib.suppress(OSError):
                    st = p.lstat()
                    if not os.path.isfile(p) or p.is_symlink():
                        continue
                    if now - st.st_mtime < max_age_s:
                        continue
                    p.unlink()
                    removed += 1
                    freed += st.st_size
    if removed:
        log.info("guard: removed %d stale temp file(s), %d bytes", removed, freed)
    return removed, freed
