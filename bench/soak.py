"""Soak benchmark: thousands of turns through the real pipeline with random faults.

Prints numbers (not a test). Each turn is real audio (Piper-synthesized "Hey Jarvis" + a
question + noise) fed as fast as possible through the real openWakeWord → Silero VAD → ASR →
dialogue → Piper (cached) → speaker → SQLite records path, while faults are injected at
random:

* the output device raises mid-reply (USB speaker unplugged) and comes back later;
* Piper raises inside synthesis;
* the database is held busy by another connection (exclusive lock);
* a garbage config is "reloaded" (must be rejected, the last good one kept) and, sometimes,
  a valid config with a changed price is applied to the next turn;
* the microphone "vanishes" (the listener restarts its clock, as after a reopen).

At the end: RSS after warm-up and at the end, open fds, threads, turns/s, faults injected and
recovered, problem reports acknowledged vs. found in the database (records lost), crashes.

Usage: python bench/soak.py [--turns 10000] [--warmup 300] [--seed 1]
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import psutil

from vitad import events as ev
from vitad.audio.format import INTERNAL_RATE, AudioChunk, resample
from vitad.config.loader import ConfigError, load_config, shipped_config_dir, validate_config
from vitad.config.runtime_settings import PrivacySettings, RuntimeSettings
from vitad.demo import laundromat_noise
from vitad.errors import TtsFailure
from vitad.pipeline.assembly import assemble
from vitad.pipeline.engines import build_dialogue, load_engines
from vitad.pipeline.speakers import LiveSpeaker
from vitad.runtime.records import RecordStore

QUESTIONS = [
    "What time do you close?", "How much is the big washer?", "Do you take credit cards?",
    "Washer five is broken.", "Where can I buy detergent?", "Dryer seven is not heating.",
    "Thank you.", "What is your phone number?",
]
CHUNK = 1280  # 80 ms


class Faults:
    def __init__(self, rng: random.Random, rate: float) -> None:
        self.rng = rng
        self.rate = rate
        self.injected: dict[str, int] = {}

    def roll_always(self, kind: str) -> bool:
        self.injected[kind] = self.injected.get(kind, 0) + 1
        return True

    def roll(self, kind: str) -> bool:
        if self.rng.random() < self.rate:
            self.injected[kind] = self.injected.get(kind, 0) + 1
            return True
        return False


class UnreliableSink:
    """An output device that sometimes vanishes mid-reply."""

    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self.samples = 0

    def write(self, samples: np.ndarray) -> None:
        # Called per 40 ms block: scale the rate so roughly `rate` of replies lose the device.
        if self.faults.rng.random() < self.faults.rate / 50 and self.faults.roll_always(
                "speaker_unplugged"):
            raise OSError("device unplugged (injected)")
        self.samples += len(samples)

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


def build_turns(engines) -> list[np.ndarray]:  # type: ignore[no-untyped-def]
    tts = engines.tts

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=10000)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--fault-rate", type=float, default=0.02)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    faults = Faults(rng, args.fault_rate)
    work = Path(tempfile.mkdtemp(prefix="vitad-soak-"))
    config = load_config(None)
    engines = load_engines(config, cache_dir=work / "tts")
    assert engines.tts is not None
    turns_audio = build_turns(engines)

    bus = ev.EventBus()
    counts: dict[str, int] = {}
    bus.subscribe(lambda e: counts.__setitem__(e.type, counts.get(e.type, 0) + 1))
    turn_done = threading.Event()
    bus.subscribe(lambda e: turn_done.set() if e.type == "turn_end" else None)

    store = RecordStore(RuntimeSettings(state_dir=work / "state", report_timeout_s=5.0),
                        PrivacySettings(), prune_interval_s=None)
    store.start()
    bus.subscribe(store.on_event)
    acked: list[int] = []
    report_failures = [0]

    def store_report(report: ev.ProblemReport) -> int | None:
        rid = store.add_report(report.machine_type, report.machine_number, report.text,
                               turn_id=report.turn_id)
        if rid is None:
            report_failures[0] += 1
        else:
            acked.append(rid)
        return rid

    real_synth = engines.tts.synthesize

    def flaky_synth(sentence: str):  # type: ignore[no-untyped-def]
        if faults.roll("tts_exception"):
            raise TtsFailure("synthesis", "injected failure")
        return real_synth(sentence)

    engines.tts.synthesize = flaky_synth  # type: ignore[method-assign]
    sink = UnreliableSink(faults)
    speaker = LiveSpeaker(engines.tts, sink, bus, time.monotonic, realtime=False,
                          reopen=lambda: sink, retry_s=(0.01, 0.05))
    speaker.start()
    pipeline = assemble(config, engines, bus, speaker, store_report=store_report)
    garbage = work / "garbage.toml"
    garbage.write_text('[wake]\nthreshold = "loud"\n[shop\nname=')
    db_path = work / "state" / "vitad.db"

    proc = psutil.Process()
    rss_warm = None
    clock = 0.0
    crashes = reloads_rejected = reloads_applied = 0
    start = time.perf_counter()
    warm_start = start
    for n in range(args.turns):
        if n == args.warmup:
            rss_warm = proc.memory_info().rss
            warm_start = time.perf_counter()
        try:
            if faults.roll("garbage_reload"):
                try:
                    load_config(garbage)
                except ConfigError:
                    reloads_rejected += 1
            if faults.roll("valid_reload"):
                data = {"shop": {"name": f"Soak {n}"},
                        "dialogue": {"intents": str(shipped_config_dir() / "intents.en.toml")}}
                new = validate_config(data, "soak", shipped_config_dir())
                pipeline.turns.dialogue = build_dialogue(new)
                reloads_applied += 1
            if faults.roll("mic_vanished"):
                engines.wake.restart_clock()
            busy = None
            if faults.roll("db_busy"):
                busy = threading.Thread(target=hold_db_busy, args=(db_path, 0.3))
                busy.start()
            turn_done.clear()
            audio = turns_audio[n % len(turns_audio)]
            for i in range(0, len(audio), CHUNK):
                pipeline.feed(AudioChunk(audio[i : i + CHUNK], INTERNAL_RATE, clock))
                clock += CHUNK / INTERNAL_RATE
            turn_done.wait(10)
            if busy is not None:
                busy.join()
        except Exception as exc:  # anything reaching here would have killed a turn loop
            crashes += 1
            print(f"turn {n}: crash {exc!r}")
        if (n + 1) % 1000 == 0:
            print(f"{n + 1} turns, rss {proc.memory_info().rss / 2**20:.0f} MiB, "
                  f"{(n + 1) / (time.perf_counter() - start):.1f} turns/s", flush=True)
    elapsed = time.perf_counter() - start
    speaker.close()
    store.flush(10)
    rss_end = proc.memory_info().rss
    store.close()
    with sqlite3.connect(db_path) as conn:
        stored = {r[0] for r in conn.execute("SELECT id FROM problem_reports")}
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
    lost = [rid for rid in acked if rid not in stored]
    warm_turns = max(1, args.turns - args.warmup)
    print("\n== soak ==")
    print(f"turns              {args.turns} ({counts.get('turn_end', 0)} turn_end events, "
          f"{counts.get('wake', 0)} wakes)")
    print(f"turns/s            {args.turns / elapsed:.2f}")
    if rss_warm:
        growth = 100 * (rss_end - rss_warm) / rss_warm
        print(f"RSS warm-up / end  {rss_warm / 2**20:.1f} / {rss_end / 2**20:.1f} MiB "
              f"({growth:+.2f} % over {warm_turns} turns, "
              f"{(time.perf_counter() - warm_start) / 60:.1f} min)")
    print(f"open fds / threads {proc.num_fds()} / {proc.num_threads()}")
    print(f"faults injected    {dict(sorted(faults.injected.items()))}")
    print(f"recovered          stage errors {counts.get('error', 0)}, degraded events "
          f"{counts.get('degraded', 0)}, reloads rejected {reloads_rejected}, "
          f"applied {reloads_applied}")
    print(f"reports            acknowledged {len(acked)}, not saved (told to call) "
          f"{report_failures[0]}, lost {len(lost)}; integrity_check {integrity}")
    print(f"crashes            {crashes}")


if __name__ == "__main__":
    main()
