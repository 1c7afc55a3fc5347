"""Soak benchmark: thousands of turns through the real daemon with random faults.

Prints numbers (not a test). It runs the real :class:`vitad.daemon.Daemon` — its start/stop,
main loop, listener thread, microphone supervisor, speaker, reloader and records — with only
the audio edges swapped (:class:`vitad.daemon.Edges`): a microphone that feeds real audio
(Piper-synthesized "Hey Jarvis" + a question + noise) as fast as the listener takes it, and
a speaker that does not wait out the reply. Faults are injected at random, each through the
part of the daemon that handles it in production:

* the output device raises mid-reply (USB speaker unplugged); the speaker reopens it;
* Piper raises inside synthesis;
* the database is held busy by another connection (exclusive lock);
* a garbage config is reloaded via ``Daemon.reload`` (must be rejected, the last good one
  kept) and, sometimes, a valid config with a changed price (applied between turns);
* the microphone vanishes and refuses the first reopen; the supervisor backs off and
  reopens it.

At the end: RSS after warm-up and at the end, open fds, threads, turns/s, faults injected and
recovered, problem reports acknowledged vs. found in the database (records lost), crashes.

Usage: python bench/soak.py [--turns 10000] [--warmup 300] [--fault-rate 0.02] [--seed 1]
"""

from __future__ import annotations

import argparse
import queue
import random
import sqlite3
import sys
import tempfile
import threading
import time
import tomllib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import psutil
import tomli_w

from vitad import events as ev
from vitad.audio.format import INTERNAL_RATE, AudioChunk, resample
from vitad.config.loader import shipped_config_dir
from vitad.config.schema import Config
from vitad.daemon import Daemon, Edges
from vitad.demo import laundromat_noise
from vitad.errors import TtsFailure
from vitad.tts.piper_engine import PiperTts

QUESTIONS = [
    "What time do you close?", "How much is the big washer?", "Do you take credit cards?",
    "Washer five is broken.", "Where can I buy detergent?", "Dryer seven is not heating.",
    "Thank you.", "What is your phone number?",
]
CHUNK = 1280  # 80 ms
GARBAGE = '[wake]\nthreshold = "loud"\n[shop\nname='
IDLE_STEP_S = 0.1  # while waiting, one 80 ms chunk of silence per 0.1 s keeps the mic alive


class Faults:
    def __init__(self, rng: random.Random, rate: float) -> None:
        self.rng = rng
        self.rate = rate
        self.injected: dict[str, int] = {}
        self._lock = threading.Lock()  # the speaker thread rolls too

    def roll_always(self, kind: str) -> bool:
        with self._lock:
            self.injected[kind] = self.injected.get(kind, 0) + 1
        return True

    def roll(self, kind: str) -> bool:
        if self.rng.random() < self.rate:
            return self.roll_always(kind)
        return False


class SoakMic:
    """The daemon's microphone (a :class:`vitad.audio.endpoints.Source`), fed by :class:`Feeder`."""

    def __init__(self, feeder: Feeder, max_chunks: int) -> None:
        self.feeder = feeder
        self.queue: queue.Queue[AudioChunk] = queue.Queue(maxsize=max_chunks)
        self.dropped = 0
        self.error = ""
        self.failed = threading.Event()

    def open(self) -> None:
        self.feeder.opened(self)

    def close(self) -> None:
        pass


class Feeder:
    """The soak's side of the microphone: audio on its own clock, as fast as it is taken."""

    def __init__(self) -> None:
        self.t = 0.0
        self.current: SoakMic | None = None
        self.opens = 0
        self.refuse_opens = 0
        self.stalls = 0

    def make_source(self, config: Config, clock: Callable[[], float]) -> SoakMic:
        return SoakMic(self, config.audio.max_queue_chunks)

    def opened(self, mic: SoakMic) -> None:
        if self.refuse_opens > 0:
            self.refuse_opens -= 1
            raise OSError("input device 'soak' not found (injected)")
        self.current = mic
        self.opens += 1

    def vanish(self) -> None:
        mic, self.current = self.current, None
        self.refuse_opens = 1
        if mic is not None:
            mic.error = "input stream stopped (injected)"
            mic.failed.set()

    def _chunk(self, samples: np.ndarray) -> AudioChunk:
        chunk = AudioChunk(samples, INTERNAL_RATE, self.t)
        self.t += len(samples) / INTERNAL_RATE
        return chunk

    def feed(self, audio: np.ndarray) -> None:
        """Every chunk of ``audio``, blocking while the listener is behind (no drops)."""
        for i in range(0, len(audio), CHUNK):
            mic = self.current
            if mic is None:
                return
            try:
                mic.queue.put(self._chunk(audio[i : i + CHUNK]), timeout=5)
            except queue.Full:
                self.stalls += 1

    def idle_until(self, done: Callable[[], bool], timeout: float) -> bool:
        """Paced silence (the mic stays alive) until ``done()`` or ``timeout`` seconds."""
        silence = np.zeros(CHUNK, np.int16)
        now = time.monotonic()
        end, next_silence = now + timeout, now
        while not done() and now < end:
            mic = self.current
            if now >= next_silence and mic is not None and not mic.queue.full():
                mic.queue.put_nowait(self._chunk(silence))
                next_silence = now + IDLE_STEP_S
            time.sleep(0.01)
            now = time.monotonic()
        return done()


class UnreliableSink:
    """An output device that sometimes vanishes mid-reply (a :class:`Sink`)."""

    def __init__(self, faults: Faults) -> None:
        self.faults = faults

    def open(self) -> None:
        pass

    def write(self, samples: np.ndarray) -> None:
        # Called per 40 ms block: scale the rate so roughly `rate` of replies lose the device.
        if self.faults.rng.random() < self.faults.rate / 50 and self.faults.roll_always(
                "speaker_unplugged"):
            raise OSError("device unplugged (injected)")

    def close(self) -> None:
        pass


def hold_db_busy(db_path: Path, seconds: float) -> None:
    """Another process-like writer holding an exclusive lock (e.g. an operator's sqlite3)."""
    conn = sqlite3.connect(db_path, timeout=1)
    try:
        conn.execute("BEGIN EXCLUSIVE")
        time.sleep(seconds)
        conn.rollback()
    finally:
        conn.close()


def build_turns(tts: PiperTts) -> list[np.ndarray]:
    def say(text: str) -> np.ndarray:
        voice = np.concatenate([s.samples for s in tts.speak(text)])
        return resample(voice, tts.rate, INTERNAL_RATE)

    gap = np.zeros(int(0.25 * INTERNAL_RATE), np.int16)
    tail = np.zeros(int(0.8 * INTERNAL_RATE), np.int16)
    lead = np.zeros(int(0.6 * INTERNAL_RATE), np.int16)
    wake = say("Hey Jarvis.")
    turns = []
    for i, q in enumerate(QUESTIONS):
        audio = np.concatenate([lead, wake, gap, say(q), tail]).astype(np.float32)
        audio += laundromat_noise(len(audio), 50.0, seed=i)
        turns.append(np.clip(audio, -32768, 32767).astype(np.int16))
    return turns


def soak_config(work: Path) -> str:
    """The shipped config with the soak's folders, fast device retries and no screen."""
    data = tomllib.loads((shipped_config_dir() / "vitad.toml").read_text())
    data["dialogue"]["intents"] = str(shipped_config_dir() / "intents.en.toml")
    data["tts"]["cache_dir"] = str(work / "tts")
    data["audio"].update(input="soak", output="soak")
    data["avatar"]["enabled"] = False
    data.setdefault("runtime", {}).update(
        state_dir=str(work / "state"), cache_dir=str(work / "cache"),
        health_socket=str(work / "health.sock"), device_retry_initial_s=0.05,
        device_retry_max_s=0.5)
    return tomli_w.dumps(data)


class Soak:
    """The driver thread: turns and faults into the running daemon."""

    def __init__(self, daemon: Daemon, feeder: Feeder, faults: Faults, config: Path,
                 args: argparse.Namespace) -> None:
        self.daemon = daemon
        self.feeder = feeder
        self.faults = faults
        self.config = config
        self.good = config.read_text()
        self.args = args
        self.counts: dict[str, int] = {}
        self.turn_done = threading.Event()
        self.acked: list[int] = []
        self.report_failures = 0
        self.crashes = 0
        self.missed = 0
        self.rss_warm: int | None = None
        self.rss_end = 0
        self.warm_start = self.start = self.elapsed = 0.0
        self.turns = 0
        self.feed_s = self.reply_s = 0.0  # feeding a turn's audio / waiting for its turn_end
        daemon.bus.subscribe(self._count)

    def _count(self, event: ev.Event) -> None:
        self.counts[event.type] = self.counts.get(event.type, 0) + 1
        match event:
            case ev.TurnEnd():
                self.turn_done.set()
            case ev.StageError(code="listener.failed"):
                self.crashes += 1  # the listener survived an exception that reached it

    def instrument(self) -> None:
        """After start: count acknowledged reports, make Piper fail now and then."""
        assert self.daemon.rt is not None and self.daemon.engines.tts is not None
        records = self.daemon.rt.records
        add_report = records.add_report

        def counted(*a, **kw):  # type: ignore[no-untyped-def]
            rid = add_report(*a, **kw)
            if rid is None:
                self.report_failures += 1
            else:
                self.acked.append(rid)
            return rid

        records.add_report = counted  # type: ignore[method-assign]
        tts = self.daemon.engines.tts  # a reload that keeps the voice keeps this object
        synthesize = tts.synthesize

        def flaky(sentence: str) -> tuple[np.ndarray, bool, float]:
            if self.faults.roll("tts_exception"):
                raise TtsFailure("synthesis", "injected failure")
            return synthesize(sentence)

        tts.synthesize = flaky  # type: ignore[method-assign]

    def reload(self, text: str, kind: str) -> bool:
        """Write ``text`` as the config and reload the real daemon; True once it decided."""
        reloader = self.daemon.reloader
        before = reloader.applied + reloader.rejected
        self.config.write_text(text)
        self.daemon.request_reload()
        decided = self.feeder.idle_until(
            lambda: reloader.applied + reloader.rejected > before, 60)
        if not decided:
            print(f"{kind}: no decision within 60 s")
        return decided

    def vanish_mic(self, n: int) -> None:
        """Unplug the microphone; the daemon's supervisor must notice and reopen it."""
        opens = self.feeder.opens
        self.feeder.vanish()
        if not self.feeder.idle_until(lambda: self.feeder.opens > opens, 30):
            print(f"turn {n}: the microphone was not reopened within 30 s")

    def run(self, turns_audio: list[np.ndarray]) -> None:
        try:
            self._run(turns_audio)
        except Exception as exc:  # anything reaching here would have killed the harness
            self.crashes += 1
            print(f"soak driver: crash {exc!r}")
        finally:
            self.daemon.request_stop()

    def _run(self, turns_audio: list[np.ndarray]) -> None:
        proc = psutil.Process()
        db_path = Path(self.daemon.config.runtime.state_dir) / "vitad.db"
        self.start = self.warm_start = time.perf_counter()
        for n in range(self.args.turns):
            if self.daemon.stopped:
                print(f"turn {n}: the daemon stopped (exit code {self.daemon.exit_code})")
                break
            if n == self.args.warmup:
                self.rss_warm = proc.memory_info().rss
                self.warm_start = time.perf_counter()
            if self.faults.roll("garbage_reload"):
                self.reload(GARBAGE, "garbage_reload")
                self.config.write_text(self.good)
            if self.faults.roll("valid_reload"):
                price = f'price = "{n % 9 + 1} dollars 25"'
                self.reload(self.good.replace('price = "7 dollars 50"', price), "valid_reload")
            if self.faults.roll("mic_vanished"):
                self.vanish_mic(n)
            busy = None
            if self.faults.roll("db_busy"):
                busy = threading.Thread(target=hold_db_busy, args=(db_path, 0.3))
                busy.start()
            self.turn_done.clear()
            t0 = time.perf_counter()
            self.feeder.feed(turns_audio[n % len(turns_audio)])
            t1 = time.perf_counter()
            if not self.feeder.idle_until(self.turn_done.is_set, 10):
                self.missed += 1
            self.feed_s += t1 - t0
            self.reply_s += time.perf_counter() - t1
            if busy is not None:
                busy.join()
            self.turns = n + 1
            if self.turns % 1000 == 0:
                print(f"{self.turns} turns, rss {proc.memory_info().rss / 2**20:.0f} MiB, "
                      f"{self.turns / (time.perf_counter() - self.start):.1f} turns/s",
                      flush=True)
        self.elapsed = time.perf_counter() - self.start
        assert self.daemon.rt is not None
        self.daemon.rt.records.flush(10)
        self.rss_end = proc.memory_info().rss

    def report(self, db_path: Path) -> None:
        with sqlite3.connect(db_path) as conn:
            stored = {r[0] for r in conn.execute("SELECT id FROM problem_reports")}
            integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        lost = [rid for rid in self.acked if rid not in stored]
        proc = psutil.Process()
        reloader = self.daemon.reloader
        warm_turns = max(1, self.turns - self.args.warmup)
        print("\n== soak (the real daemon) ==")
        print(f"turns              {self.turns} ({self.counts.get('turn_end', 0)} turn_end "
              f"events, {self.counts.get('wake', 0)} wakes, {self.missed} unanswered)")
        print(f"turns/s            {self.turns / max(self.elapsed, 1e-9):.2f} (per turn: "
              f"{self.feed_s / max(self.turns, 1):.2f} s feeding, "
              f"{self.reply_s / max(self.turns, 1):.2f} s until turn_end)")
        if self.rss_warm:
            growth = 100 * (self.rss_end - self.rss_warm) / self.rss_warm
            print(f"RSS warm-up / end  {self.rss_warm / 2**20:.1f} / {self.rss_end / 2**20:.1f} "
                  f"MiB ({growth:+.2f} % over {warm_turns} turns, "
                  f"{(self.start + self.elapsed - self.warm_start) / 60:.1f} min)")
        print(f"open fds / threads {proc.num_fds()} / {proc.num_threads()} (after stop)")
        print(f"faults injected    {dict(sorted(self.faults.injected.items()))}")
        print(f"recovered          stage errors {self.counts.get('error', 0)}, degraded events "
              f"{self.counts.get('degraded', 0)}, reloads rejected {reloader.rejected}, "
              f"applied {reloader.applied}, mic opens {self.feeder.opens}")
        print(f"reports            acknowledged {len(self.acked)}, not saved (told to call) "
              f"{self.report_failures}, lost {len(lost)}; integrity_check {integrity}")
        print(f"crashes            {self.crashes} (daemon exit code {self.daemon.exit_code}, "
              f"events dropped {self.daemon.events.dropped}, feed stalls {self.feeder.stalls})")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--turns", type=int, default=10000)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--fault-rate", type=float, default=0.02)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    faults = Faults(random.Random(args.seed), args.fault_rate)
    work = Path(tempfile.mkdtemp(prefix="vitad-soak-"))
    config = work / "vitad.toml"
    config.write_text(soak_config(work))
    feeder = Feeder()
    daemon = Daemon(config, Edges(source=feeder.make_source,
                                  sink=lambda cfg, rate: UnreliableSink(faults), realtime=False))
    soak = Soak(daemon, feeder, faults, config, args)
    try:
        daemon.start()
        assert daemon.engines.tts is not None, "the soak needs the Piper voice"
        built = threading.Event()  # keep the microphone alive while the turns are synthesized
        idle = threading.Thread(target=feeder.idle_until, args=(built.is_set, 600))
        idle.start()
        turns_audio = build_turns(daemon.engines.tts)
        built.set()
        idle.join()
        soak.instrument()
        driver = threading.Thread(target=soak.run, args=(turns_audio,), name="soak")
        driver.start()
        daemon.run_forever()  # the main thread, as under systemd, until the driver is done
        driver.join()
    finally:
        daemon.stop()
    soak.report(Path(daemon.config.runtime.state_dir) / "vitad.db")
    return 1 if soak.crashes else 0


if __name__ == "__main__":
    sys.exit(main())
