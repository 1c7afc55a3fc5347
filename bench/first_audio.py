"""First reply audio on a cache miss: reply text → the first playable audio (not a test).

For every reply the shipped shop can give (the enumeration the answer preparer uses,
vitad/dialogue/replies.py), with the TTS cache empty, it times the call the speaker makes
before it can play anything, and prints the median, p90 and max of that wall time (and of
the process CPU time it took), plus the first piece's length in seconds of audio:

* **windowed** (what the speaker does now): ``next(tts.pieces(text))``, the first chunk's
  text side plus its first small decoder window (vitad/tts/windowed.py);
* **one-shot** (before): ``next(tts.speak(text))``, the whole first chunk synthesized.

The two are interleaved reply by reply (neither always first) so both see the same load.
Both runs also play the rest of the reply on paper: each later piece (a window, or for the
one-shot run a chunk) is made as soon as the speaker's read-ahead allows (windowed:
``PIECES_AHEAD`` pieces ahead of the one playing; one-shot, before: one chunk ahead), and a
piece ready only after the audio before it ran out would have been a hole in the reply;
those are counted. Each missed chunk as played is also compared with its cache entry (what a
hit plays later): the same samples, the level difference, and how much the limiter bent
(vitad/tts/level.py).
Issue 12's target: first audio ≤ 80 ms on this box (Home Assistant's Wyoming Piper: 152–180
ms median for the same voice).

The box is shared, and Piper's time grows with every other busy process: the load average
before and after is printed. ``--old-chunks`` also times the first chunk as it was cut
before the first-chunk rule (``split_chunks(text, short_first=False)``), one-shot.

Usage: python bench/first_audio.py [--config config/vitad.toml] [--repeat 1] [--show 10]
       [--old-chunks]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vitad.config.loader import load_config, shipped_config_dir
from vitad.dialogue.replies import all_replies
from vitad.pipeline.engines import build_dialogue
from vitad.pipeline.speakers import PIECES_AHEAD
from vitad.tts.level import KNEE
from vitad.tts.piper_engine import PiperTts, SpokenPiece
from vitad.tts.sentences import split_chunks


@dataclass
class Figures:
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    chars: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    slow: list[tuple[float, str]] = field(default_factory=list)
    pieces: int = 0  # later pieces of windowed replies
    late: list[float] = field(default_factory=list)  # by how much each late one was late
    late_starts: int = 0  # of those, a chunk's first piece (the next chunk's text side)
    level_db: list[float] = field(default_factory=list)  # a miss's RMS - its cached copy's
    same: int = 0  # missed chunks whose cached copy is what played, sample for sample
    above_knee: int = 0  # samples the level's limiter bent (of ``played``)
    played: int = 0

    def add(self, wall: float, cpu: float, text: str, seconds: float) -> None:
        self.wall.append(wall)
        self.cpu.append(cpu)
        self.chars.append(len(text))
        self.seconds.append(seconds)
        self.slow.append((wall, text))


def _quantiles(values: list[float]) -> tuple[float, float, float]:
    """Median, p90 (nearest rank) and max."""
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
    return statistics.median(ordered), p90, ordered[-1]


def _row(name: str, values: list[float], unit: str, scale: float = 1.0, fmt: str = ".0f") -> str:
    median, p90, top = (v * scale for v in _quantiles(values))
    return (f"  {name:<26} median {median:{fmt}} {unit}  p90 {p90:{fmt}} {unit}  "
            f"max {top:{fmt}} {unit}")


def _clear(cache_dir: Path) -> None:
    for entry in cache_dir.glob("*.pcm"):  # a cache miss
        entry.unlink()


def _first_audio(tts: PiperTts, cache_dir: Path, text: str, figures: Figures) -> None:
    """Time the first ``next(tts.speak(text))`` (one-shot: the whole first chunk) with an
    empty cache, then play the reply on paper as the speaker did before (each chunk
    synthesized while the one before plays: one ahead)."""
    _clear(cache_dir)
    chunks = tts.speak(text)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    first = next(chunks, None)
    elapsed, spent = time.perf_counter() - wall0, time.process_time() - cpu0
    if first is None:
        return
    assert not first.cached, "the cache was not empty"
    figures.add(elapsed, spent, first.text, len(first.samples) / tts.rate)
    made = [(elapsed, SpokenPiece.whole(first))]
    while True:
        start = time.perf_counter()
        chunk = next(chunks, None)
        if chunk is None:
            break
        made.append((time.perf_counter() - start, SpokenPiece.whole(chunk)))
    _play_on_paper(tts, made, 1, figures)


def _old_first_chunk(tts: PiperTts, cache_dir: Path, text: str, figures: Figures) -> None:
    """Time ``tts.spoken(text)``: ``text`` synthesized as one chunk, with an empty cache."""
    _clear(cache_dir)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    first = tts.spoken(text)
    elapsed, spent = time.perf_counter() - wall0, time.process_time() - cpu0
    figures.add(elapsed, spent, first.text, len(first.samples) / tts.rate)


def _windowed(tts: PiperTts, cache_dir: Path, text: str, figures: Figures) -> None:
    """Time ``next(tts.pieces(text))`` with an empty cache, then play the reply on paper as
    the speaker does (``PIECES_AHEAD`` pieces ahead of the one playing)."""
    _clear(cache_dir)
    pieces = tts.pieces(text)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    first = next(pieces, None)
    elapsed, spent = time.perf_counter() - wall0, time.process_time() - cpu0
    if first is None:
        return
    assert not first.cached, "the cache was not empty"
    figures.add(elapsed, spent, first.text, len(first.samples) / tts.rate)
    made = [(elapsed, first)]  # (seconds to make it, piece), made back to back
    while True:
        start = time.perf_counter()
        piece = next(pieces, None)
        if piece is None:
            break
        made.append((time.perf_counter() - start, piece))
    _play_on_paper(tts, made, PIECES_AHEAD, figures)
    _compare_level(tts, [piece for _, piece in made], figures)


def _compare_level(tts: PiperTts, pieces: list[SpokenPiece], figures: Figures) -> None:
    """Each chunk as the miss played it against its cache entry (what a hit plays)."""
    played: list[np.ndarray] = []
    for piece in pieces:
        played.append(piece.samples)
        if not piece.last:
            continue
        miss, played = np.concatenate(played).astype(np.float64), []
        cached = tts.cache.get(tts.cache_key(piece.text))
        if cached is None or not len(miss):
            continue
        hit = cached.samples.astype(np.float64)
        figures.same += len(miss) == len(hit) and bool(np.array_equal(miss, hit))
        rms = [float(np.sqrt(np.mean(a**2))) for a in (miss, hit)]
        figures.level_db.append(20 * np.log10(max(rms[0], 1e-9) / max(rms[1], 1e-9)))
        figures.above_knee += int(np.count_nonzero(np.abs(hit) > KNEE * 32767))
        figures.played += len(hit)


def _play_on_paper(tts: PiperTts, made: list[tuple[float, SpokenPiece]], ahead: int,
                   figures: Figures) -> None:
    """The reply's pieces, each made (taking the time measured) as soon as it is at most
    ``ahead`` pieces ahead of the one playing, each played when made and when the audio
    before it (and its pause) is over; a piece made after that is late: a hole."""
    ready: list[float] = []  # when each piece was made, from asking for the first
    plays: list[float] = []  # when each piece starts playing
    for k, (took, piece) in enumerate(made):
        allowed = plays[k - ahead] if k >= ahead else 0.0
        ready.append(max(ready[-1] if ready else 0.0, allowed) + took)
        if k == 0:
            plays.append(ready[0])
            continue
        _, before = made[k - 1]
        due = plays[-1] + len(before.samples) / tts.rate + (
            tts.pause_s(before.ends_sentence) if before.last else 0.0)
        figures.pieces += 1
        if ready[-1] > due:
            figures.late.append(ready[-1] - due)
            figures.late_starts += piece.first
        plays.append(max(due, ready[-1]))


def _median_ms(values: list[float]) -> float:
    return statistics.median(values) * 1000 if values else 0.0


def _print(title: str, figures: Figures, show: int) -> None:
    print(title)
    print(_row("first audio (wall)", figures.wall, "ms", 1000))
    print(_row("first audio (process CPU)", figures.cpu, "ms", 1000))
    print(_row("first chunk length", figures.chars, "chars"))
    print(_row("first piece audio", figures.seconds, "s", fmt=".2f"))
    within = sum(w <= 0.080 for w in figures.wall)
    print(f"  first audio <= 80 ms: {within}/{len(figures.wall)}")
    if figures.pieces:
        worst = max(figures.late, default=0.0) * 1000
        print(f"  later pieces made after the audio before them ran out: "
              f"{len(figures.late)}/{figures.pieces} ({figures.late_starts} of them a "
              f"chunk's first; median by {_median_ms(figures.late):.0f} ms, worst by "
              f"{worst:.0f} ms)")
    if figures.level_db:
        worst = max(figures.level_db, key=abs)
        print(f"  a miss vs its cached copy: {figures.same}/{len(figures.level_db)} chunks the "
              f"same samples, level {statistics.median(figures.level_db):+.2f} dB median, "
              f"{worst:+.2f} dB worst; limiter: {figures.above_knee / figures.played:.3%} of "
              f"samples")
    for elapsed, text in sorted(figures.slow, reverse=True)[:show]:
        print(f"    {elapsed * 1000:5.0f} ms  {len(text):3d} chars  {text}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=shipped_config_dir() / "vitad.toml")
    parser.add_argument("--repeat", type=int, default=1, help="passes over all replies")
    parser.add_argument("--show", type=int, default=0, metavar="N",
                        help="print the N slowest first chunks")
    parser.add_argument("--old-chunks", action="store_true",
                        help="also time the first chunks as cut before the first-chunk rule")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    config = load_config(args.config)
    replies = all_replies(build_dialogue(config))
    load_before = os.getloadavg()[0]
    windowed, one_shot, old = Figures(), Figures(), Figures()
    with tempfile.TemporaryDirectory(prefix="vitad-first-audio-") as tmp:
        cache_dir = Path(tmp)
        tts = PiperTts(config.tts, base_dir=args.config.parent, cache_dir=cache_dir)
        if not tts.windowed:
            print("this voice cannot be decoded in windows (see the log): both runs one-shot")
        tts.render("Warm up the voice.")  # the first run of a session pays one-off costs
        for n in range(args.repeat):
            for i, reply in enumerate(replies):
                runs = [lambda r=reply: _windowed(tts, cache_dir, r, windowed),
                        lambda r=reply: _first_audio(tts, cache_dir, r, one_shot)]
                chunks = split_chunks(reply, short_first=False)
                if args.old_chunks and chunks:
                    runs.append(lambda c=chunks[0].text: _old_first_chunk(tts, cache_dir, c,
                                                                          old))
                if (i + n) % 2:
                    runs.reverse()  # neither always runs first
                for run in runs:
                    run()
    print(f"config: {args.config}")
    print(f"replies: {len(replies)} x {args.repeat} passes, every one a cache miss; "
          f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after "
          f"({os.cpu_count()} cpus)")
    _print("windowed decode (now: first window of the first chunk):", windowed, args.show)
    _print("one-shot (before: the whole first chunk; same run, interleaved):", one_shot,
           args.show)
    if args.old_chunks:
        _print("one-shot, first chunk as cut before the first-chunk rule:", old, args.show)


if __name__ == "__main__":
    main()
