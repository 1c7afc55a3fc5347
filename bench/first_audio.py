"""First reply audio on a cache miss: reply text → the first chunk's audio ready (not a test).

For every reply the shipped shop can give (the enumeration the answer preparer uses,
vitad/dialogue/replies.py), with the TTS cache empty, it times ``next(tts.speak(text))`` —
the call the speaker makes before it can play anything — and prints the median, p90 and max
of that wall time (and of the process CPU time it took), plus the first chunk's length in
characters and in seconds of audio. Issue 12's target: median ≤ 80 ms on this box (Home
Assistant's Wyoming Piper: 152–180 ms median for the same voice).

The box is shared, and Piper's time grows with every other busy process: the load average
before and after is printed. ``--compare`` (the default) also times, interleaved with the
above so both see the same load, the first chunk as it was cut before the first-chunk rule
(``split_chunks(text, short_first=False)``: the whole first sentence unless it was over 80
characters).

Usage: python bench/first_audio.py [--config config/vitad.toml] [--repeat 1] [--show 10]
       [--no-compare]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from vitad.config.loader import load_config, shipped_config_dir
from vitad.dialogue.replies import all_replies
from vitad.pipeline.engines import build_dialogue
from vitad.tts.piper_engine import PiperTts
from vitad.tts.sentences import split_chunks


@dataclass
class Figures:
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    chars: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    slow: list[tuple[float, str]] = field(default_factory=list)


def _quantiles(values: list[float]) -> tuple[float, float, float]:
    """Median, p90 (nearest rank) and max."""
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
    return statistics.median(ordered), p90, ordered[-1]


def _row(name: str, values: list[float], unit: str, scale: float = 1.0, fmt: str = ".0f") -> str:
    median, p90, top = (v * scale for v in _quantiles(values))
    return (f"  {name:<26} median {median:{fmt}} {unit}  p90 {p90:{fmt}} {unit}  "
            f"max {top:{fmt}} {unit}")


def _first_audio(tts: PiperTts, cache_dir: Path, text: str, figures: Figures,
                 whole: bool = False) -> None:
    """Time the speaker's first ``next()`` on ``tts.speak(text)`` with an empty cache
    (``whole``: ``tts.spoken(text)``, the text as one chunk, as the speaker did before)."""
    for entry in cache_dir.glob("*.pcm"):  # a cache miss
        entry.unlink()
    stream = tts.speak(text)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    first = tts.spoken(text) if whole else next(stream, None)
    elapsed, spent = time.perf_counter() - wall0, time.process_time() - cpu0
    stream.close()
    if first is None:
        return
    assert not first.cached, "the cache was not empty"
    figures.wall.append(elapsed)
    figures.cpu.append(spent)
    figures.chars.append(len(first.text))
    figures.seconds.append(len(first.samples) / tts.rate)
    figures.slow.append((elapsed, first.text))


def _print(title: str, figures: Figures, show: int) -> None:
    print(title)
    print(_row("first audio (wall)", figures.wall, "ms", 1000))
    print(_row("first audio (process CPU)", figures.cpu, "ms", 1000))
    print(_row("first chunk length", figures.chars, "chars"))
    print(_row("first chunk audio", figures.seconds, "s", fmt=".2f"))
    within = sum(w <= 0.080 for w in figures.wall)
    print(f"  first audio <= 80 ms: {within}/{len(figures.wall)}")
    for elapsed, text in sorted(figures.slow, reverse=True)[:show]:
        print(f"    {elapsed * 1000:5.0f} ms  {len(text):3d} chars  {text}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=shipped_config_dir() / "vitad.toml")
    parser.add_argument("--repeat", type=int, default=1, help="passes over all replies")
    parser.add_argument("--show", type=int, default=0, metavar="N",
                        help="print the N slowest first chunks")
    parser.add_argument("--no-compare", dest="compare", action="store_false",
                        help="skip the interleaved run of the previous first chunks")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    config = load_config(args.config)
    replies = all_replies(build_dialogue(config))
    load_before = os.getloadavg()[0]
    now, before = Figures(), Figures()
    with tempfile.TemporaryDirectory(prefix="vitad-first-audio-") as tmp:
        cache_dir = Path(tmp)
        tts = PiperTts(config.tts, base_dir=args.config.parent, cache_dir=cache_dir)
        tts.render("Warm up the voice.")  # the first run of a session pays one-off costs
        for n in range(args.repeat):
            for i, reply in enumerate(replies):
                old = split_chunks(reply, short_first=False)
                runs = [(reply, now, False)]
                if args.compare and old:
                    runs.append((old[0].text, before, True))
                if (i + n) % 2:
                    runs.reverse()  # neither always runs first
                for text, figures, whole in runs:
                    _first_audio(tts, cache_dir, text, figures, whole)
    print(f"config: {args.config}")
    print(f"replies: {len(replies)} x {args.repeat} passes, every one a cache miss; "
          f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after "
          f"({os.cpu_count()} cpus)")
    _print("first chunk as split now:", now, args.show)
    if args.compare:
        _print("first chunk as split before the first-chunk rule (same run, interleaved):",
               before, args.show)


if __name__ == "__main__":
    main()
