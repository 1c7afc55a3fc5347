"""Chaos run through the REAL `vitad run` process (issue 9).

The harness plays systemd and a hostile operator at once:

* it starts ``python -m vitad run`` as an unprivileged user (``nobody`` via ``setpriv`` when
  the harness is root, like ``User=vitad``), with a real AF_UNIX datagram ``NOTIFY_SOCKET``,
  ``WATCHDOG_USEC`` (so the daemon pings) and ``STATE_DIRECTORY`` (as systemd sets it); the
  state directory is a small tmpfs when root, so "disk full" is real;
* the microphone is ``wav:PATH``. A WAV input is read once at open and paced in real time,
  then silence; so audio (a spoken problem report) is fed by writing the other of two WAV
  "slots" and reloading with ``[audio] input`` pointing at it: the daemon reopens the mic;
* faults are injected from outside the process, one at a time, each followed by a check;
* it is systemd: a process that stops pinging for ``WATCHDOG_USEC`` is SIGKILLed and
  restarted; a process that exits is restarted at once with the fault still in place
  (``Restart=always``; exit 78 is recorded as a dark box, then the harness restores a good
  config and starts it anyway so the run can go on).

Nothing here imports the daemon's internals except the Piper voice (to synthesize the
customer) and the WAV writer. Every wait has a timeout; the child is killed and the tmpfs
unmounted in ``finally``.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import stat
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import tomli_w

REPO = Path(__file__).resolve().parents[1]
NOBODY = 65534
INTERNAL_RATE = 16000

KINDS = (
    "valid_reload", "garbage_reload", "unreadable_config", "unreadable_intents",
    "symlink_loop", "garbage_wake_model", "mic_vanish", "disk_full", "db_locked",
    "kill9_report", "sigstop_short", "sigstop_long", "fifo_cache",
)
# Kinds where the harness itself ends the process (kill -9 / watchdog kill): not unintended.
HARNESS_KILLS = {"kill9_report", "sigstop_long"}
# Kinds where a real hang is injected: a withheld watchdog is expected there only.
HANG_KINDS = {"sigstop_long"}
ROOT_ONLY = {"disk_full"}  # needs a tmpfs mount
# Relative frequency in a seeded random run (cheap reload faults are cheap; restarts cost s).
WEIGHTS = {
    "valid_reload": 7, "garbage_reload": 8, "unreadable_config": 5, "unreadable_intents": 5,
    "symlink_loop": 5, "garbage_wake_model": 5, "mic_vanish": 4, "disk_full": 3,
    "db_locked": 3, "kill9_report": 2, "sigstop_short": 4, "sigstop_long": 2, "fifo_cache": 2,
}
# What the customer says. Phrases PocketSphinx (the fallback ASR on a box without the Vosk
# English model, as here) hears as a report in the Piper voice; "dryer seven is not heating"
# often comes out as a clarify/fallback turn, which acknowledges nothing.
REPORTS = ["Washer five is broken.", "Dryer four is broken.", "Washer two is broken."]

SAVED_RE = re.compile(r"problem report #(\d+) saved")
TURN_RE = re.compile(r" listening turn_id=(\S+)")


class HarnessError(Exception):
    """The harness itself could not do what it needed (a timeout waiting for the daemon)."""


# --- results ---------------------------------------------------------------------------------

@dataclass
class KindStats:
    injected: int = 0
    survived: int = 0
    recovered: int = 0
    recover_s: list[float] = field(default_factory=list)
    withheld: int = 0
    lost: int = 0
    unintended_exits: int = 0


@dataclass
class Failure:
    n: int
    kind: str
    what: str
    detail: str = ""

    def line(self) -> str:
        detail = f"\n      {self.detail.strip()}" if self.detail.strip() else ""
        return f"#{self.n} {self.kind}: {self.what}{detail.replace(chr(10), chr(10) + '      ')}"


@dataclass
class FaultResult:
    kind: str
    survived: bool = True
    recover_s: float | None = None
    withheld: int = 0
    harness_killed: bool = False
    unintended_exit: bool = False
    notes: list[str] = field(default_factory=list)


@dataclass
class Report:
    kinds: dict[str, KindStats]
    failures: list[Failure]
    acked: set[int]
    lost: set[int]
    last_good_violations: int
    unwatched_hangs: int
    dark_boxes: int
    restarts: int
    tracebacks: dict[str, int]
    elapsed_s: float
    recover_limit_s: float
    fifo_hits: int = 0

    @property
    def injected(self) -> int:
        return sum(k.injected for k in self.kinds.values())

    @property
    def unintended_exits(self) -> int:
        return sum(k.unintended_exits for k in self.kinds.values())

    def kinds_injected(self) -> int:
        return sum(1 for k in self.kinds.values() if k.injected)

    def table(self) -> str:
        head = (f"{'fault kind':<20}{'injected':>9}{'survived':>9}"
                f"{'recov<=' + format(self.recover_limit_s, 'g') + 's':>11}{'max s':>7}"
                f"{'wd withheld':>12}{'acks lost':>10}{'unint. exits':>13}")
        rows = [head, "-" * len(head)]
        total = KindStats()
        for name, k in self.kinds.items():
            if not k.injected:
                continue
            worst = f"{max(k.recover_s):.1f}" if k.recover_s else "-"
            rows.append(f"{name:<20}{k.injected:>9}{k.survived:>9}{k.recovered:>11}{worst:>7}"
                        f"{k.withheld:>12}{k.lost:>10}{k.unintended_exits:>13}")
            for attr in ("injected", "survived", "recovered", "withheld", "lost",
                         "unintended_exits"):
                setattr(total, attr, getattr(total, attr) + getattr(k, attr))
        rows.append("-" * len(head))
        rows.append(f"{'total':<20}{total.injected:>9}{total.survived:>9}{total.recovered:>11}"
                    f"{'':>7}{total.withheld:>12}{total.lost:>10}{total.unintended_exits:>13}")
        return "\n".join(rows)

    def summary(self) -> str:
        lines = [
            self.table(),
            "",
            f"kinds injected                 {self.kinds_injected()} of {len(self.kinds)}",
            f"acknowledged problem reports   {len(self.acked)} (lost: {len(self.lost)}"
            f"{' ' + str(sorted(self.lost)) if self.lost else ''})",
            f"last-good overwritten by a config that failed to load: "
            f"{self.last_good_violations}",
            f"hangs without a withheld watchdog: {self.unwatched_hangs}",
            f"exit 78 (systemd would leave the box dark): {self.dark_boxes}",
            f"restarts by the harness-as-systemd: {self.restarts}",
            f"FIFO faults where the daemon looked a planted FIFO up: {self.fifo_hits} of "
            f"{self.kinds['fifo_cache'].injected}",
            f"elapsed                        {self.elapsed_s:.0f} s",
        ]
        if self.tracebacks:
            lines.append("tracebacks in the daemon log (last line: count):")
            lines += [f"  {n:>4} x {last}" for last, n in sorted(self.tracebacks.items())]
        if self.failures:
            lines.append(f"failures ({len(self.failures)}):")
            lines += ["  " + f.line() for f in self.failures]
        return "\n".join(lines)

    def target_problems(self, min_faults: int = 500, min_kinds: int = 10) -> list[str]:
        out = []
        if self.injected < min_faults:
            out.append(f"only {self.injected} faults injected (< {min_faults})")
        if self.kinds_injected() < min_kinds:
            out.append(f"only {self.kinds_injected()} kinds (< {min_kinds})")
        if self.unintended_exits:
            out.append(f"{self.unintended_exits} unintended exits")
        if self.lost:
            out.append(f"{len(self.lost)} acknowledged reports lost: {sorted(self.lost)}")
        if self.last_good_violations:
            out.append(f"last-good overwritten by a failed config {self.last_good_violations}x")
        if self.unwatched_hangs:
            out.append(f"{self.unwatched_hangs} hangs without a withheld watchdog")
        unexpected = {k: s.withheld for k, s in self.kinds.items()
                      if s.withheld and k not in HANG_KINDS}
        if unexpected:
            out.append(f"watchdog withheld where no hang was injected: {unexpected}")
        not_survived = {k: s.injected - s.survived for k, s in self.kinds.items()
                        if s.injected > s.survived}
        if not_survived:
            out.append(f"faults not survived: {not_survived}")
        return out


# --- the notify socket (systemd's side) ------------------------------------------------------

class NotifySocket:
    """An AF_UNIX datagram socket like systemd's; a thread records (time, line) forever."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        os.chmod(path, 0o777)  # the daemon runs as another user
        self.sock.settimeout(0.2)
        self._lock = threading.Lock()
        self.messages: list[tuple[float, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="notify", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            now = time.monotonic()
            with self._lock:
                for line in data.decode("utf-8", "replace").splitlines():
                    self.messages.append((now, line))
                if len(self.messages) > 200_000:
                    del self.messages[:100_000]

    def since(self, t0: float, prefix: str) -> list[float]:
        with self._lock:
            return [t for t, m in self.messages if t >= t0 and m.startswith(prefix)]

    def last(self, prefix: str, before: float | None = None) -> float | None:
        with self._lock:
            for t, m in reversed(self.messages):
                if m.startswith(prefix) and (before is None or t < before):
                    return t
        return None

    def last_status(self) -> str:
        with self._lock:
            for _, m in reversed(self.messages):
                if m.startswith("STATUS="):
                    return m[7:]
        return ""

    def close(self) -> None:
        self._stop.set()
        self.sock.close()
        self._thread.join(2)
        with contextlib.suppress(OSError):
            self.path.unlink()


def query_health(path: Path, timeout: float = 3.0) -> dict[str, Any] | None:
    """The `vitad health` protocol: connect, read one JSON document. None = no answer."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(str(path))
            chunks = []
            while data := s.recv(65536):
                chunks.append(data)
        doc = json.loads(b"".join(chunks))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def wait_until(pred: Callable[[], Any], timeout: float, step: float = 0.05) -> Any:
    end = time.monotonic() + timeout
    while True:
        value = pred()
        if value or time.monotonic() >= end:
            return value
        time.sleep(step)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- the harness -----------------------------------------------------------------------------

class Chaos:
    """One daemon, one work folder, faults one at a time. Use as a context manager."""

    def __init__(self, seed: int = 1, watchdog_s: float = 4.0, recover_limit_s: float = 15.0,
                 unprivileged: bool | None = None, tmpfs_mb: int = 8,
                 log: Callable[[str], None] | None = None, keep: bool = False,
                 daemon_src: Path = REPO) -> None:
        self.rng = random.Random(seed)
        self.watchdog_s = watchdog_s
        self.recover_limit_s = recover_limit_s
        self.root = os.geteuid() == 0
        self.unprivileged = self.root if unprivileged is None else unprivileged
        self.tmpfs_mb = tmpfs_mb
        self.say = log or (lambda s: None)
        self.keep = keep
        self.daemon_src = daemon_src  # another checkout: prove a bug is caught before its fix
        self.work = Path(tempfile.mkdtemp(prefix="vitad-chaos-"))
        self.mounted = False
        self.proc: subprocess.Popen[bytes] | None = None
        self.generation = 0
        self.restart_times: list[float] = []
        self.kinds = {k: KindStats() for k in KINDS}
        self.failures: list[Failure] = []
        self.acked: dict[int, int | None] = {}  # report id -> machine number
        self.lost: set[int] = set()
        self.last_good_violations = 0
        self.unwatched_hangs = 0
        self.dark_boxes = 0
        self.restarts = 0
        self.tracebacks: dict[str, int] = {}
        self.fifo_hits = 0  # FIFO faults where the daemon did look a planted FIFO up
        self._last_kind = KINDS[0]
        self.n = 0
        self._last_good_flagged = -1
        self.price = 750
        self.slot = "a"
        self.good_config_shas: set[str] = set()
        self.bad_config_shas: set[str] = set()
        self.intents_sha = ""
        self._log_offsets: dict[int, int] = {}
        self._report_audio: list[np.ndarray] = []
        self._spoken_index: int | None = None
        self._restore: list[Callable[[], None]] = []
        self.notify: NotifySocket | None = None
        self.started = time.monotonic()

    # -- setup / teardown ------------------------------------------------------------------

    def __enter__(self) -> Chaos:
        try:
            self._setup()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def cfg(self) -> Path:
        return self.work / "vitad.toml"

    @property
    def intents(self) -> Path:
        return self.work / "intents.toml"

    @property
    def state(self) -> Path:
        return self.work / "state"

    @property
    def health_sock(self) -> Path:
        return self.work / "run" / "health.sock"

    @property
    def cache(self) -> Path:
        return self.work / "tts-cache"

    def _chown(self, path: Path) -> None:
        if self.unprivileged:
            os.chown(path, NOBODY, NOBODY)

    def _setup(self) -> None:
        os.chmod(self.work, 0o755)
        for name in ("run", "tts-cache", "home", "logs", "mic", "models"):
            (self.work / name).mkdir()
        for name in ("run", "tts-cache", "home"):
            self._chown(self.work / name)
        self.state.mkdir()
        if self.root:
            opts = f"size={self.tmpfs_mb}m,mode=0750"
            if self.unprivileged:
                opts += f",uid={NOBODY},gid={NOBODY}"
            subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "vitad-chaos", str(self.state)],
                           check=True, timeout=30)
            self.mounted = True
        self._chown(self.state)
        shutil.copyfile(self.daemon_src / "config" / "intents.en.toml", self.intents)
        os.chmod(self.intents, 0o644)
        self.intents_sha = sha(self.intents.read_bytes())
        self._synthesize()
        self._write_slot(self.slot, self._idle())
        self.write_good()
        self.notify = NotifySocket(self.work / "notify.sock")
        self.start_daemon()
        if not self.wait_ready(self.started, 90):
            raise HarnessError("the daemon did not reach READY=1 at first start:\n"
                               + self.log_tail())
        self._first_ping()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._undo()
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(OSError):
                self.proc.send_signal(signal.SIGCONT)
                self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if self.notify is not None:
            self.notify.close()
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.state)], check=False, timeout=30)
            self.mounted = False
        if not self.keep:
            shutil.rmtree(self.work, ignore_errors=True)

    # -- audio ---------------------------------------------------------------------------

    def _synthesize(self) -> None:
        """The customer: the bundled Piper voice saying "Hey Jarvis" + a problem, in noise."""
        sys.path.insert(0, str(REPO))
        from vitad.audio.format import resample
        from vitad.config.loader import shipped_config_dir, validate_config
        from vitad.demo import laundromat_noise
        from vitad.tts.piper_engine import PiperTts

        data = tomllib.loads((shipped_config_dir() / "vitad.toml").read_text())
        data["dialogue"]["intents"] = str(shipped_config_dir() / "intents.en.toml")
        data["tts"].update(noise_scale=0.0, noise_w=0.0)
        cfg = validate_config(data, "chaos voice", shipped_config_dir())
        tts = PiperTts(cfg.tts, cfg.base_dir, self.work / "harness-tts")

        def voice(text: str) -> np.ndarray:
            samples = np.concatenate([s.samples for s in tts.speak(text)])
            return resample(samples, tts.rate, INTERNAL_RATE)

        def gap(s: float) -> np.ndarray:
            return np.zeros(int(s * INTERNAL_RATE), np.int16)

        wake = voice("Hey Jarvis.")
        for i, text in enumerate(REPORTS):
            audio = np.concatenate([gap(1.2), wake, gap(0.3), voice(text), gap(1.5)])
            mixed = audio.astype(np.float32) + laundromat_noise(len(audio), 50.0, seed=i)
            self._report_audio.append(np.clip(mixed, -32768, 32767).astype(np.int16))
        shutil.rmtree(self.work / "harness-tts", ignore_errors=True)

    @staticmethod
    def _idle() -> np.ndarray:
        return np.zeros(INTERNAL_RATE // 2, np.int16)

    def _slot_path(self, slot: str) -> Path:
        return self.work / "mic" / f"{slot}.wav"

    def _write_slot(self, slot: str, samples: np.ndarray) -> Path:
        from vitad.audio.wavfile import write_wav

        path = self._slot_path(slot)
        tmp = path.with_suffix(".tmp")
        write_wav(tmp, samples, INTERNAL_RATE)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
        return path

    # -- config --------------------------------------------------------------------------

    def config_dict(self) -> dict[str, Any]:
        """The shipped config of the daemon's source tree, with the chaos run's paths."""
        data = tomllib.loads((self.daemon_src / "config" / "vitad.toml").read_text())
        data["dialogue"]["intents"] = str(self.intents)
        data["tts"]["cache_dir"] = str(self.cache)
        data["avatar"]["enabled"] = False
        data["audio"].update(input=f"wav:{self._slot_path(self.slot)}", output="null")
        data.setdefault("runtime", {}).update(
            state_dir=str(self.state), health_socket=str(self.health_sock),
            cache_dir=str(self.work / "home"), device_retry_initial_s=0.5,
            device_retry_max_s=2.0, loop_deadline_s=6.0)
        data["shop"]["machines"][1]["price"] = f"{self.price // 100} dollars {self.price % 100}"
        return data

    def _write_config_bytes(self, data: bytes) -> None:
        tmp = self.cfg.with_name("vitad.toml.tmp")
        tmp.write_bytes(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, self.cfg)

    def write_good(self) -> bytes:
        data = tomli_w.dumps(self.config_dict()).encode()
        self._write_config_bytes(data)
        self.good_config_shas.add(sha(data))
        return data

    def write_bad(self, data: bytes) -> None:
        self.bad_config_shas.add(sha(data))
        self._write_config_bytes(data)

    def last_good_sha(self) -> tuple[str | None, str | None]:
        folder = self.state / "last-good"
        out: list[str | None] = []
        for name in ("vitad.toml", "intents.toml"):
            try:
                out.append(sha((folder / name).read_bytes()))
            except OSError:
                out.append(None)
        return out[0], out[1]

    # -- the process (we are systemd) ----------------------------------------------------

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("NOTIFY_", "WATCHDOG_", "VITAD_", "PYTEST"))}
        env.update(NOTIFY_SOCKET=str(self.work / "notify.sock"),
                   WATCHDOG_USEC=str(int(self.watchdog_s * 1_000_000)),
                   STATE_DIRECTORY=str(self.state), HOME=str(self.work / "home"),
                   PYTHONUNBUFFERED="1", PYTHONFAULTHANDLER="1", SDL_VIDEODRIVER="dummy",
                   SDL_AUDIODRIVER="dummy", PYTHONPATH=str(self.daemon_src))
        return env

    def start_daemon(self) -> None:
        self.generation += 1
        log_path = self.work / "logs" / f"daemon-{self.generation}.log"
        self._log_offsets[self.generation] = 0
        cmd = [sys.executable, "-m", "vitad", "run", "--config", str(self.cfg)]
        if self.unprivileged:
            cmd = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                   *cmd]
        with log_path.open("wb") as out:
            self.proc = subprocess.Popen(cmd, env=self._env(), cwd=self.work / "home",
                                         stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        self.restart_times.append(time.monotonic())

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_text(self, generation: int | None = None) -> str:
        gen = self.generation if generation is None else generation
        path = self.work / "logs" / f"daemon-{gen}.log"
        try:
            return path.read_text(errors="replace")
        except OSError:
            return ""

    def log_mark(self) -> int:
        return len(self.log_text().encode())

    def log_since(self, mark: int) -> str:
        return self.log_text().encode()[mark:].decode(errors="replace")

    def log_tail(self, lines: int = 25) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def wait_ready(self, after: float, timeout: float) -> bool:
        assert self.notify is not None
        return bool(wait_until(
            lambda: self.notify.since(after, "READY=1") or not self.alive(), timeout)
        ) and bool(self.notify.since(after, "READY=1"))

    def _first_ping(self) -> None:
        assert self.notify is not None
        t = time.monotonic()
        if not wait_until(lambda: self.notify.since(t, "WATCHDOG=1") or not self.alive(),
                          self.watchdog_s + 2):
            raise HarnessError("no WATCHDOG=1 after READY=1")

    def kill(self, sig: int = signal.SIGKILL) -> int | None:
        if self.proc is None:
            return None
        with contextlib.suppress(OSError):
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(15)

    def restart(self, res: FaultResult | None, why: str, keep_fault: bool = False) -> bool:
        """systemd's Restart=always. With keep_fault the files stay as the fault left them."""
        self._scan_log()
        if self.alive():
            self.kill()
        if not keep_fault:
            self._undo()
            self._idle_input()
        self.restarts += 1
        t = time.monotonic()
        self.start_daemon()
        ok = self.wait_ready(t, 60)
        if ok:
            with contextlib.suppress(HarnessError):
                self._first_ping()
        if not ok and res is not None:
            rc = self.proc.poll() if self.proc else None
            self._fail(res.kind, f"restart after {why} did not reach READY=1 (exit {rc})",
                       self.log_tail(15))
            if rc == 78:
                self.dark_boxes += 1
        return ok

    def _idle_input(self) -> None:
        """Point the config at an idle (silent) mic slot, so a restart does not replay a report."""
        self.slot = "b" if self.slot == "a" else "a"
        self._write_slot(self.slot, self._idle())
        self.write_good()

    def ensure_running(self) -> None:
        if self.alive():
            return
        if not self.restart(None, "ensure running") and not self.restart(
                None, "ensure running, 2nd try"):
            raise HarnessError("cannot get the daemon running again:\n" + self.log_tail())

    # -- bookkeeping ---------------------------------------------------------------------

    def _fail(self, kind: str, what: str, detail: str = "") -> None:
        self.failures.append(Failure(self.n, kind, what, detail))
        self.say(f"  FAIL #{self.n} {kind}: {what}")

    def _scan_log(self) -> None:
        """Acknowledged report ids and tracebacks, from every generation's log."""
        for gen in range(1, self.generation + 1):
            text = self.log_text(gen)
            start = self._log_offsets.get(gen, 0)
            if len(text) <= start:
                continue
            # Only whole lines: the daemon may be writing.
            end = text.rfind("\n", start) + 1
            if end <= start:
                continue
            chunk = text[start:end]
            self._log_offsets[gen] = end
            for m in SAVED_RE.finditer(chunk):
                self.acked.setdefault(int(m.group(1)), None)
            lines = chunk.splitlines()
            for i, line in enumerate(lines):
                if line.startswith("Traceback"):
                    last = next((x for x in lines[i + 1:] if x and not x.startswith(" ")),
                                "?")
                    self.tracebacks[last[:160]] = self.tracebacks.get(last[:160], 0) + 1

    def verify_reports(self, kind: str) -> int:
        """Every acknowledged report must be in `vitad reports`; returns how many are lost."""
        self._scan_log()
        if not self.acked:
            return 0
        cmd = [sys.executable, "-m", "vitad", "reports", "--all", "--json",
               "--config", str(self.cfg)]
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=60,
                                 env=self._env(), cwd=self.work)
        except subprocess.TimeoutExpired:
            self._fail(kind, "`vitad reports` timed out")
            return 0
        if out.returncode != 0:
            self._fail(kind, f"`vitad reports` exit {out.returncode}", out.stderr[-800:])
            return 0
        try:
            present = {int(r["id"]) for r in json.loads(out.stdout)}
        except (ValueError, KeyError, TypeError):
            self._fail(kind, "`vitad reports --json` printed no JSON list", out.stdout[-400:])
            return 0
        missing = set(self.acked) - present - self.lost
        if missing:
            self.lost |= missing
            self._fail(kind, f"acknowledged reports missing from `vitad reports`: "
                       f"{sorted(missing)}", f"present ids: {sorted(present)[-20:]}")
        return len(missing)

    def check_last_good(self, kind: str) -> None:
        """last-good/ holds only configs that loaded; counted at most once per fault."""
        if self._last_good_flagged == self.n:
            return
        cfg_sha, intents_sha = self.last_good_sha()
        if cfg_sha is None:
            return
        before = self.last_good_violations
        if cfg_sha in self.bad_config_shas:
            self.last_good_violations += 1
            self._fail(kind, "last-good/vitad.toml overwritten by a config that failed to load")
        elif cfg_sha not in self.good_config_shas:
            self.last_good_violations += 1
            self._fail(kind, "last-good/vitad.toml is not any config that loaded (torn write?)")
        if intents_sha is not None and intents_sha != self.intents_sha:
            self.last_good_violations += 1
            self._fail(kind, "last-good/intents.toml differs from every good intents file")
        if self.last_good_violations > before:
            self.last_good_violations = before + 1
            self._last_good_flagged = self.n

    # -- common steps --------------------------------------------------------------------

    def sighup(self) -> tuple[float, int]:
        """SIGHUP; returns (time, log mark) to look for the outcome after."""
        mark = self.log_mark()
        t = time.monotonic()
        assert self.proc is not None
        self.proc.send_signal(signal.SIGHUP)
        return t, mark

    def reload_outcome(self, t: float, mark: int, timeout: float = 15.0) -> str:
        """'reloaded' | 'rejected' | 'exited' | 'timeout' (READY=1 must be re-sent)."""
        assert self.notify is not None
        wait_until(lambda: self.notify.since(t, "READY=1") or not self.alive(), timeout)
        if not self.alive():
            return "exited"
        if not self.notify.since(t, "READY=1"):
            return "timeout"
        text = self.log_since(mark)
        if "reload rejected" in text:
            return "rejected"
        if "reloaded" in text:
            return "reloaded"
        return "ready"

    def play(self, samples: np.ndarray) -> float:
        """Feed audio: write the other slot, point [audio] input at it, reload."""
        self.slot = "b" if self.slot == "a" else "a"
        self._write_slot(self.slot, samples)
        self.write_good()
        t, mark = self.sighup()
        outcome = self.reload_outcome(t, mark)
        if outcome != "reloaded":
            raise HarnessError(f"feeding audio: the reload was {outcome}")
        return t

    def feed_report(self, kind: str, timeout: float = 20.0, until: str = "reply",
                    index: int | None = None) -> str:
        """Play a spoken problem report; 'saved' | 'not_saved' | 'no_report' | 'exited' |
        'hung'.

        ``until="reply"`` returns once the report was stored (or not) and the reply chosen:
        the reply then plays (in real time, through the null speaker) while the next fault
        goes in. ``until="turn_end"`` waits for the whole reply to be spoken.
        """
        mark = self.log_mark()
        if index is None:
            index = self.rng.randrange(len(self._report_audio))
        audio = self._report_audio[index]
        self.play(audio)
        end = time.monotonic() + len(audio) / INTERNAL_RATE + timeout
        while time.monotonic() < end:
            if not self.alive():
                return "exited"
            text = self.log_since(mark).split("reloaded", 1)[-1]
            turn = TURN_RE.search(text)  # our turn (an earlier reply may still be playing)
            if turn is None:
                time.sleep(0.1)
                continue
            text = text[turn.start():]
            tid = f"turn_id={turn.group(1)}"
            done = f"turn_end {tid}" in text or (until != "turn_end" and f"reply {tid}" in text)
            if done:
                self._spoken_index = index  # its reply sentences are in the TTS cache now
                if SAVED_RE.search(text):
                    return "saved"
                if "could not be saved" in text or "not stored" in text:
                    return "not_saved"
                return "no_report"
            time.sleep(0.1)
        text = self.log_since(mark)
        return "hung" if " wake " in text or "listening" in text else "no_report"

    def health(self, timeout: float = 3.0) -> dict[str, Any] | None:
        return query_health(self.health_sock, timeout)

    def wait_component(self, name: str, states: tuple[str, ...], timeout: float) -> bool:
        def ok() -> bool:
            doc = self.health(1.0)
            return bool(doc) and doc.get("components", {}).get(name, {}).get("state") in states
        return bool(wait_until(ok, timeout, 0.1))

    def _undo(self) -> None:
        while self._restore:
            fn = self._restore.pop()
            try:
                fn()
            except Exception as exc:  # keep undoing the rest
                self.say(f"  (undo failed: {exc})")

    def _on_undo(self, fn: Callable[[], None]) -> None:
        self._restore.append(fn)

    def _exited(self, res: FaultResult, during: str) -> None:
        """The daemon exited by itself: record it, then restart it as systemd would (the fault
        still in place) and record whether that brings it back."""
        assert self.proc is not None
        rc = self.proc.poll()
        res.unintended_exit = True
        self._scan_log()
        self._fail(res.kind, f"daemon exited ({rc}) during {during}", self.log_tail(12))
        if rc == 78:
            self.dark_boxes += 1
            self._fail(res.kind, "exit 78: systemd would not restart (dark box)")
            return
        t = time.monotonic()
        if self.restart(res, f"exit {rc} (fault still in place)", keep_fault=True):
            res.recover_s = time.monotonic() - t
            res.notes.append("came back after a systemd-style restart")

    # -- faults --------------------------------------------------------------------------

    def _reload_fault(self, res: FaultResult, inject: Callable[[], None],
                      expect: tuple[str, ...] = ("rejected",)) -> None:
        before = self.last_good_sha()
        inject()
        t, mark = self.sighup()
        outcome = self.reload_outcome(t, mark)
        if outcome == "exited":
            self._exited(res, "reload")
            return
        if outcome == "timeout":
            res.survived = False
            self._fail(res.kind, "no READY=1 within 15 s after SIGHUP", self.log_tail(8))
            return
        res.recover_s = time.monotonic() - t
        if outcome not in expect:
            self._fail(res.kind, f"reload outcome '{outcome}', expected {'/'.join(expect)}",
                       _grep(self.log_since(mark), ("reload", "config")))
        if "rejected" in expect and self.last_good_sha() != before:
            self.check_last_good(res.kind)

    def fault_valid_reload(self, res: FaultResult) -> None:
        self.price += 25
        data = self.write_good()
        t, mark = self.sighup()
        outcome = self.reload_outcome(t, mark)
        if outcome == "exited":
            self._exited(res, "valid reload")
            return
        if outcome != "reloaded":
            res.survived = False
            self._fail(res.kind, f"valid reload: {outcome}", self.log_since(mark)[-600:])
            return
        res.recover_s = time.monotonic() - t
        if not wait_until(lambda: self.last_good_sha()[0] == sha(data), 3):
            self._fail(res.kind, "last-good not updated after a valid reload")

    def fault_garbage_reload(self, res: FaultResult) -> None:
        good = self.config_dict()
        variant = self.rng.randrange(5)
        if variant == 0:
            data = b'[shop\nname = "Bubbles"\n'
        elif variant == 1:
            good["listen"]["hangover_s"] = "long"
            data = tomli_w.dumps(good).encode()
        elif variant == 2:
            good["audio"]["volumee"] = 1.0
            data = tomli_w.dumps(good).encode()
        elif variant == 3:
            data = b"\xff\xfe\x00garbage\x00" + os.urandom(64)
        else:
            good["dialogue"]["intents"] = str(self.work / "no-such-intents.toml")
            data = tomli_w.dumps(good).encode()
        self._on_undo(self.write_good)
        self._reload_fault(res, lambda: self.write_bad(data))

    def fault_unreadable_config(self, res: FaultResult) -> None:
        self._on_undo(lambda: os.chmod(self.cfg, 0o644))
        self._reload_fault(res, lambda: os.chmod(self.cfg, 0))

    def fault_unreadable_intents(self, res: FaultResult) -> None:
        self._on_undo(lambda: os.chmod(self.intents, 0o644))
        self._reload_fault(res, lambda: os.chmod(self.intents, 0))

    def fault_symlink_loop(self, res: FaultResult) -> None:
        real = self.cfg.with_name("vitad.toml.real")
        loop = self.cfg.with_name("vitad.toml.loop")

        def inject() -> None:
            os.replace(self.cfg, real)
            os.symlink(loop.name, self.cfg)
            os.symlink(self.cfg.name, loop)

        def undo() -> None:
            for p in (self.cfg, loop):
                if p.is_symlink():
                    p.unlink()
            if real.exists():
                os.replace(real, self.cfg)
        self._on_undo(undo)
        self._reload_fault(res, inject)

    def fault_garbage_wake_model(self, res: FaultResult) -> None:
        model = self.work / "models" / f"wake-{self.n}.onnx"
        model.write_bytes(os.urandom(self.rng.choice([0, 17, 4096, 65536])))
        os.chmod(model, 0o644)
        data = self.config_dict()
        data["wake"]["models"] = [str(model)]
        blob = tomli_w.dumps(data).encode()

        def undo() -> None:
            # Back to a good config the way an operator would: fix the file, reload.
            self.write_good()
            if self.alive():
                t, mark = self.sighup()
                if self.reload_outcome(t, mark) != "reloaded":
                    self._fail(res.kind, "reload back to the good config failed")
            model.unlink(missing_ok=True)
        self._on_undo(undo)
        self._reload_fault(res, lambda: self.write_bad(blob), expect=("rejected",))
        self.check_last_good(res.kind)  # even if the reload "succeeded" (checked once per fault)

    def fault_mic_vanish(self, res: FaultResult) -> None:
        slot = "b" if self.slot == "a" else "a"
        path = self._write_slot(slot, self._idle())
        gone = path.with_suffix(".gone")
        os.replace(path, gone)
        self._on_undo(lambda: os.replace(gone, path) if gone.exists() else None)
        self.slot = slot
        self.write_good()  # [audio] input -> the vanished file
        t, mark = self.sighup()
        outcome = self.reload_outcome(t, mark)
        if outcome == "exited":
            self._exited(res, "reload to a vanished mic")
            return
        if not self.wait_component("mic", ("degraded", "failed"), 5):
            res.notes.append("mic never reported degraded")
            self._fail(res.kind, "health mic not degraded within 5 s of the WAV vanishing")
        time.sleep(self.rng.uniform(0.5, 2.5))
        t_back = time.monotonic()
        os.replace(gone, path)
        if self.wait_component("mic", ("ok",), self.recover_limit_s + 5):
            res.recover_s = time.monotonic() - t_back
        else:
            res.survived = self.alive()
            self._fail(res.kind, "mic not ok again after the WAV came back",
                       json.dumps((self.health() or {}).get("components", {}).get("mic")))
        if not self.alive():
            self._exited(res, "mic vanish")

    def fault_disk_full(self, res: FaultResult) -> None:
        if not self.mounted:
            raise HarnessError("disk_full needs a tmpfs (root)")
        filler = self.state / "filler"
        self._on_undo(lambda: filler.unlink(missing_ok=True))
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            block = b"\0" * 65536
            with contextlib.suppress(OSError):
                while os.write(fd, block):
                    pass
            with contextlib.suppress(OSError):
                while os.write(fd, b"\0" * 512):
                    pass
        finally:
            os.close(fd)
        action = self.rng.randrange(3)
        if action == 0:
            outcome = self.feed_report(res.kind)
            res.notes.append(f"report while full: {outcome}")
            if outcome == "exited":
                self._exited(res, "report on a full disk")
                return
            if outcome == "hung":
                self._hang(res, "report on a full disk")
        elif action == 1:
            self.price += 25
            data = self.write_good()
            t, mark = self.sighup()
            outcome = self.reload_outcome(t, mark)
            res.notes.append(f"valid reload while full: {outcome}")
            if outcome == "exited":
                self._exited(res, "valid reload on a full disk")
                return
            if self.last_good_sha()[0] == sha(data):
                res.notes.append("last-good written on a full disk")
        else:
            time.sleep(self.rng.uniform(1.0, 3.0))
        if not self.alive():
            self._exited(res, "full disk")
            return
        if self.health() is None:
            res.survived = False
            self._fail(res.kind, "no health answer while the disk was full")
        t_free = time.monotonic()
        filler.unlink()
        if self.wait_component("db", ("ok",), self.recover_limit_s):
            res.recover_s = time.monotonic() - t_free
        else:
            self._fail(res.kind, "db not ok again after the disk was freed",
                       json.dumps((self.health() or {}).get("components", {}).get("db")))

    def fault_db_locked(self, res: FaultResult) -> None:
        db = self.state / "vitad.db"
        hold = self.rng.uniform(2.0, 4.0)
        code = ("import sqlite3,sys,time\n"
                f"c=sqlite3.connect({str(db)!r},timeout=10,isolation_level=None)\n"
                "c.execute('BEGIN EXCLUSIVE');print('locked',flush=True)\n"
                f"time.sleep({hold});c.execute('ROLLBACK')\n")
        cmd = [sys.executable, "-c", code]
        if self.unprivileged:  # as the daemon's user: root-owned -wal/-shm would lock it out
            cmd = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *cmd]
        locker = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True)

        def stop_locker() -> None:
            if locker.poll() is None:
                locker.kill()
            locker.wait(10)
        self._on_undo(stop_locker)
        t = time.monotonic()
        line = locker.stdout.readline() if locker.stdout else ""
        if "locked" not in line:
            why = locker.stderr.read() if locker.stderr else ""
            raise HarnessError(f"could not lock the DB: {why}")
        if self.rng.random() < 0.5:
            outcome = self.feed_report(res.kind)
            res.notes.append(f"report while locked: {outcome}")
            if outcome == "exited":
                self._exited(res, "report with the DB locked")
                return
            if outcome == "hung":
                self._hang(res, "report with the DB locked")
        else:
            if self.health() is None:
                res.survived = False
                self._fail(res.kind, "no health answer while the DB was locked")
        with contextlib.suppress(subprocess.TimeoutExpired):
            locker.wait(max(0.0, hold - (time.monotonic() - t)) + 10)
        t_free = time.monotonic()
        if self.wait_component("db", ("ok",), self.recover_limit_s):
            res.recover_s = time.monotonic() - t_free
        elif self.alive():
            self._fail(res.kind, "db not ok after the lock was released",
                       json.dumps((self.health() or {}).get("components", {}).get("db")))
        if not self.alive():
            self._exited(res, "DB locked")

    def fault_kill9_report(self, res: FaultResult) -> None:
        mark = self.log_mark()
        audio = self._report_audio[self.rng.randrange(len(self._report_audio))]
        self.play(audio)
        end = time.monotonic() + len(audio) / INTERNAL_RATE + 15
        when = self.rng.random()
        killed_at = "end of audio"
        while time.monotonic() < end and self.alive():
            text = self.log_since(mark).split("reloaded", 1)[-1]
            turn = TURN_RE.search(text)
            if turn is not None:
                text, tid = text[turn.start():], f"turn_id={turn.group(1)}"
                if when < 0.7 and f"problem_report {tid}" in text:
                    time.sleep(self.rng.uniform(0.0, 0.05))  # right in the report write
                    killed_at = "report write"
                    break
                if when >= 0.7 and (SAVED_RE.search(text) or f"reply {tid}" in text):
                    killed_at = "after the reply was chosen"
                    break
            time.sleep(0.01)
        if not self.alive():
            self._exited(res, "report")
            return
        res.harness_killed = True
        self.kill(signal.SIGKILL)
        res.notes.append(f"killed at {killed_at}")
        t = time.monotonic()
        if self.restart(res, "kill -9"):
            res.recover_s = time.monotonic() - t
        else:
            res.survived = False
        lost = self.verify_reports(res.kind)
        self.kinds[res.kind].lost += lost

    def fault_sigstop_short(self, res: FaultResult) -> None:
        assert self.proc is not None and self.notify is not None
        pause = self.rng.uniform(0.3, 0.3 * self.watchdog_s)
        self.proc.send_signal(signal.SIGSTOP)
        self._on_undo(lambda: self.proc.send_signal(signal.SIGCONT) if self.alive() else None)
        time.sleep(pause)
        self.proc.send_signal(signal.SIGCONT)
        t = time.monotonic()
        if wait_until(lambda: self.notify.since(t, "WATCHDOG=1") or not self.alive(),
                      self.watchdog_s + 2) and self.alive():
            res.recover_s = time.monotonic() - t + pause
        elif not self.alive():
            self._exited(res, "SIGSTOP/SIGCONT")

    def fault_sigstop_long(self, res: FaultResult) -> None:
        assert self.proc is not None and self.notify is not None
        self.proc.send_signal(signal.SIGSTOP)
        # systemd: no WATCHDOG=1 for WatchdogSec -> kill (SIGABRT, then SIGKILL) + restart.
        last = self.notify.last("WATCHDOG=1") or time.monotonic()
        wait_until(lambda: time.monotonic() - last > self.watchdog_s, self.watchdog_s + 3)
        res.harness_killed = True
        self.kill(signal.SIGKILL)
        t = time.monotonic()
        if self.restart(res, "watchdog kill"):
            res.recover_s = time.monotonic() - t
        else:
            res.survived = False

    def fault_fifo_cache(self, res: FaultResult) -> None:
        """Every cache entry becomes a FIFO, then the customer says what was last answered,
        so the reply's sentences are looked up under those names."""
        if self._spoken_index is None or not any(self.cache.glob("*.pcm")):
            self.feed_report(res.kind, until="turn_end", timeout=40)  # fills the cache
        index = self._spoken_index
        entries = sorted(self.cache.glob("*.pcm"))
        if not entries:
            raise HarnessError("the TTS cache stayed empty")
        planted = []
        for path in entries:
            path.unlink(missing_ok=True)
            os.mkfifo(path, 0o666)
            self._chown(path)
            planted.append(path)

        def undo() -> None:
            for p in planted:
                with contextlib.suppress(OSError):
                    if stat.S_ISFIFO(p.lstat().st_mode):
                        p.unlink()
        self._on_undo(undo)
        outcome = self.feed_report(res.kind, timeout=40, until="turn_end", index=index)
        hit = outcome == "hung" or any(not _is_fifo(p) for p in planted)
        self.fifo_hits += hit
        res.notes.append(f"report with FIFOs in the cache: {outcome}, "
                         f"{'a FIFO was read' if hit else 'no FIFO was looked up'}")
        if outcome == "exited":
            self._exited(res, "reply with a FIFO in the cache")
        elif outcome != "hung":
            res.recover_s = 0.0  # the reply went on: nothing to recover from
        else:
            self._hang(res, "reply with a FIFO in the TTS cache")

    def _hang(self, res: FaultResult, what: str) -> None:
        """A turn that never ended: systemd kills it only if the watchdog is withheld."""
        assert self.notify is not None
        t = time.monotonic()
        wait_until(lambda: time.monotonic() - (self.notify.last("WATCHDOG=1") or t)
                   > self.watchdog_s, 12)
        last = self.notify.last("WATCHDOG=1") or t
        stuck = self._thread_dump()
        if time.monotonic() - last > self.watchdog_s:
            res.withheld += 1
            self._fail(res.kind, f"hang: {what}; watchdog withheld (systemd restarts)", stuck)
            res.harness_killed = True
            self.kill(signal.SIGKILL)
            t0 = time.monotonic()
            if self.restart(res, "watchdog kill after a hang"):
                res.recover_s = time.monotonic() - t0
        else:
            self.unwatched_hangs += 1
            res.survived = False
            self._fail(res.kind, f"hang: {what}; WATCHDOG=1 still sent (nobody restarts)",
                       stuck)

    def _thread_dump(self) -> str:
        """SIGUSR1 makes the daemon dump every thread (faulthandler); return the stuck frames."""
        if not self.alive():
            return ""
        mark = self.log_mark()
        assert self.proc is not None
        self.proc.send_signal(signal.SIGUSR1)
        time.sleep(0.5)
        dump = self.log_since(mark)
        keep = [ln for ln in dump.splitlines() if "vitad/" in ln or "Thread" in ln]
        return "\n".join(keep[:30])

    # -- one fault, then the checks ------------------------------------------------------

    def inject(self, kind: str) -> FaultResult:
        self.n += 1
        if self.proc is not None and not self.alive():  # died after the last fault's checks
            rc = self.proc.poll()
            self._scan_log()
            self.kinds[self._last_kind].unintended_exits += 1
            self._fail(self._last_kind, f"daemon exited ({rc}) after the fault's checks",
                       self.log_tail(12))
        self._last_kind = kind
        self.ensure_running()
        res = FaultResult(kind)
        t0 = time.monotonic()
        restarts0 = len(self.restart_times)
        try:
            getattr(self, f"fault_{kind}")(res)
        except HarnessError as exc:
            self._fail(kind, f"harness: {exc}", self.log_tail(6))
            res.survived = self.alive()
        finally:
            self._undo()
        if not self.alive() and not res.unintended_exit:
            self._exited(res, "the check after the fault")
        self._after(res, t0, restarts0)
        return res

    def _after(self, res: FaultResult, t0: float, restarts0: int) -> None:
        assert self.notify is not None
        stats = self.kinds[res.kind]
        stats.injected += 1
        # Pings: any gap > WatchdogSec while our process lived (gaps across a restart and the
        # deliberate SIGSTOP of sigstop_long excluded) is a withheld watchdog.
        if res.kind != "sigstop_long":
            res.withheld = max(res.withheld, self._gaps(t0, restarts0))
        else:
            res.withheld = 1
        # Alive, answering health, pinging again.
        alive = self.alive()
        doc = self.health() if alive else None
        # A ping within one tick interval (WATCHDOG_USEC/2) of now, or a new one soon.
        t = time.monotonic() - self.watchdog_s / 2 - 0.3
        pinging = alive and bool(wait_until(
            lambda: self.notify.since(t, "WATCHDOG=1") or not self.alive(),
            self.watchdog_s + 2)) and self.alive()
        if not (alive and doc is not None and pinging):
            res.survived = False
            if alive:
                if doc is None and pinging:
                    self.unwatched_hangs += 1
                self._fail(res.kind, f"after the fault: health {'ok' if doc else 'NO ANSWER'},"
                           f" pinging {pinging}", self._thread_dump())
        if res.unintended_exit and res.kind not in HARNESS_KILLS:
            res.survived = False
            stats.unintended_exits += 1
        if res.survived:
            stats.survived += 1
        if res.recover_s is not None:
            stats.recover_s.append(res.recover_s)
            if res.recover_s <= self.recover_limit_s and res.survived:
                stats.recovered += 1
        stats.withheld += res.withheld
        if res.withheld and res.kind not in HANG_KINDS and not any(
                f.n == self.n and "hang" in f.what for f in self.failures):
            self._fail(res.kind, f"watchdog withheld {res.withheld}x (no hang injected)",
                       _grep(self.log_text(), ("watchdog:",))[-800:])
        self.check_last_good(res.kind)
        self._scan_log()

    def _gaps(self, t0: float, restarts0: int) -> int:
        assert self.notify is not None
        restarts = self.restart_times[restarts0:]
        pings = self.notify.since(t0, "WATCHDOG=1")
        before = self.notify.last("WATCHDOG=1", before=t0)
        if before is not None:
            pings = [before, *pings]
        now = time.monotonic()
        if self.alive():
            pings.append(now)  # still alive with no ping since the last one counts too
        count = 0
        for a, b in itertools.pairwise(pings):
            if b - a > self.watchdog_s + 0.5 and not any(a <= r <= b for r in restarts):
                count += 1
        return count

    def schedule(self, faults: int, round_robin: bool) -> list[str]:
        kinds = [k for k in KINDS if self.root or k not in ROOT_ONLY]
        if round_robin:
            return [kinds[i % len(kinds)] for i in range(faults)]
        first = list(kinds)
        self.rng.shuffle(first)
        rest = self.rng.choices(kinds, weights=[WEIGHTS[k] for k in kinds],
                                k=max(0, faults - len(first)))
        return (first + rest)[:faults]

    def run(self, faults: int, round_robin: bool = False,
            max_seconds: float | None = None, plan: list[str] | None = None) -> Report:
        plan = self.schedule(faults, round_robin) if plan is None else plan
        for i, kind in enumerate(plan):
            if max_seconds is not None and time.monotonic() - self.started > max_seconds:
                self.say(f"time limit reached after {i} faults")
                break
            res = self.inject(kind)
            self.say(f"[{i + 1}/{len(plan)}] {kind:<19} survived={res.survived} "
                     f"recover={'-' if res.recover_s is None else f'{res.recover_s:.1f}s'}"
                     f"{' withheld=' + str(res.withheld) if res.withheld else ''}"
                     f"{' EXIT' if res.unintended_exit else ''}"
                     f"{' (' + '; '.join(res.notes) + ')' if res.notes else ''}")
        self.ensure_running()
        self.verify_reports("final check")  # lost ones land in self.lost
        self._cli_health_shape()
        self._db_integrity()
        self._scan_log()
        return Report(self.kinds, self.failures, set(self.acked), set(self.lost),
                      self.last_good_violations, self.unwatched_hangs, self.dark_boxes,
                      self.restarts, dict(self.tracebacks), time.monotonic() - self.started,
                      self.recover_limit_s, self.fifo_hits)

    def _db_integrity(self) -> None:
        """PRAGMA integrity_check on a copy (never open the live DB as root: -shm ownership)."""
        copy = self.work / "db-copy"
        copy.mkdir(exist_ok=True)
        for suffix in ("", "-wal"):
            src = self.state / f"vitad.db{suffix}"
            if src.exists():
                shutil.copyfile(src, copy / f"vitad.db{suffix}")
        if not (copy / "vitad.db").exists():
            self._fail("final check", "no records database after the run")
        elif not db_is_sane(copy / "vitad.db"):
            self._fail("final check", "records database fails PRAGMA integrity_check")

    def _cli_health_shape(self) -> None:
        """`vitad health` (the operator's command) answers JSON with every component."""
        cmd = [sys.executable, "-m", "vitad", "health", "--config", str(self.cfg)]
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=60,
                                 env=self._env(), cwd=self.work)
        except subprocess.TimeoutExpired:
            self._fail("final check", "`vitad health` timed out")
            return
        try:
            doc = json.loads(out.stdout)
        except ValueError:
            self._fail("final check", f"`vitad health` exit {out.returncode}, no JSON",
                       (out.stdout + out.stderr)[-600:])
            return
        if out.returncode not in (0, 1) or "components" not in doc:
            self._fail("final check", f"`vitad health` exit {out.returncode}", out.stdout[-600:])


def _is_fifo(path: Path) -> bool:
    try:
        return stat.S_ISFIFO(path.lstat().st_mode)
    except OSError:
        return False


def _grep(text: str, words: tuple[str, ...]) -> str:
    return "\n".join(ln for ln in text.splitlines() if any(w in ln for w in words))[-1500:]


@contextlib.contextmanager
def chaos(**kwargs: Any) -> Iterator[Chaos]:
    with Chaos(**kwargs) as c:
        yield c


def db_is_sane(path: Path) -> bool:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
