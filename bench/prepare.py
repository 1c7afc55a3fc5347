"""Answers prepared ahead: how many variants a shop has, their size on disk, the time to make
them (not a test).

Enumerates every reply of a config (vitad/dialogue/replies.py), splits them into the
sentences the speaker synthesizes, and prepares them all with the real Piper voice into a
fresh cache directory through the daemon's :class:`Preparer` (with its rests between
sentences, never paused here), then prints:

* replies and distinct sentences (cache entries), how many mention a price, and how many a
  price change of each machine re-prepares;
* disk size of the prepared cache, seconds of audio;
* pure synthesis time (sum over sentences) and the wall time the background preparer needs
  with its rests (≤ 50 % duty);
* a second pass over the same set: every sentence a cache hit (0 synthesized).

Usage: python bench/prepare.py [--config config/vitad.toml] [--show]
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

from vitad.config.loader import load_config, shipped_config_dir
from vitad.dialogue.replies import all_replies
from vitad.pipeline.engines import build_dialogue
from vitad.tts.cache import Speech
from vitad.tts.piper_engine import PiperTts
from vitad.tts.prepare import Preparer, reply_chunks


class TimedVoice:
    """The real voice, timing each synthesis."""

    def __init__(self, tts: PiperTts) -> None:
        self.tts = tts
        self.cache = tts.cache
        self.synth_s: list[float] = []

    def cache_key(self, sentence: str) -> str:
        return self.tts.cache_key(sentence)

    def render(self, sentence: str) -> Speech:
        start = time.perf_counter()
        samples = self.tts.render(sentence)
        self.synth_s.append(time.perf_counter() - start)
        return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=shipped_config_dir() / "vitad.toml")
    parser.add_argument("--show", action="store_true", help="print every sentence")
    args = parser.parse_args()
    config = load_config(args.config)
    dialogue = build_dialogue(config)
    started = time.perf_counter()
    replies = all_replies(dialogue)
    chunks = reply_chunks(replies)
    enumerate_ms = (time.perf_counter() - started) * 1000
    prices = {m.price for m in config.shop.machines}
    priced = [c for c in chunks if any(p in c for p in prices)]
    if args.show:
        for chunk in chunks:
            print(f"  {chunk}")
    with tempfile.TemporaryDirectory(prefix="vitad-prepare-") as tmp:
        tts = PiperTts(config.tts, base_dir=args.config.parent, cache_dir=Path(tmp))
        voice = TimedVoice(tts)
        preparer = Preparer(threading.Event())
        try:
            started = time.perf_counter()
            preparer.prepare(voice, lambda: replies)
            preparer.wait_idle(3600)
            wall_s = time.perf_counter() - started
            progress = preparer.progress()
            disk = sum(p.stat().st_size for p in Path(tmp).glob("*.pcm"))
            first = len(voice.synth_s)
            preparer.prepare(voice, lambda: replies)  # a restart / a reload with nothing new
            preparer.wait_idle(60)
            again = len(voice.synth_s) - first
        finally:
            preparer.close()
    audio_s = disk / 2 / tts.rate
    synth = sorted(voice.synth_s)
    print(f"config: {args.config}")
    print(f"replies: {len(replies)}  sentences (cache entries): {len(chunks)}  "
          f"naming a price: {len(priced)}  (enumerated in {enumerate_ms:.0f} ms)")
    per_machine = ", ".join(f"{m.id} {sum(m.price in c for c in chunks)}"
                            for m in config.shop.machines)
    print(f"sentences re-prepared by a price change, per machine: {per_machine}")
    print(f"prepared: {progress.prepared}/{progress.total} ({progress.state}), "
          f"failed {progress.failed}")
    print(f"disk: {disk / (1 << 20):.1f} MiB for {audio_s:.0f} s of audio at {tts.rate} Hz "
          f"(cache bound tts.cache_max_mb = {config.tts.cache_max_mb:.0f})")
    print(f"synthesis: {sum(synth):.1f} s in total, per sentence median "
          f"{synth[len(synth) // 2] * 1000:.0f} ms, max {synth[-1] * 1000:.0f} ms")
    print(f"background preparer wall time (rests included): {wall_s:.1f} s")
    print(f"second pass (restart/reload, nothing new): {again} synthesized")


if __name__ == "__main__":
    main()
