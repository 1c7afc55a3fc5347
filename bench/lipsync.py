"""Lip-sync benchmark: what phoneme alignments cost on the reply path (prints numbers).

The reply path gains: Piper returning alignments (one more model output), the cache entry's
JSON header (write and read), the viseme track built per sentence, and one lookup per 40 ms
block. Each is timed here with alignments on and off, the same voice and sentences,
interleaved so both see the same machine load:

* voice load (s) — the in-memory onnx patch is paid once at start and on a voice reload;
* synthesis of a shop sentence (cache miss, ms median) and a cache hit (ms median);
* viseme track build + block lookups per sentence (ms);
* the speaker's reply -> first audio written to the output (``LiveSpeaker``, null device),
  cache miss and hit: the part of "end of speech -> first reply audio" this feature touches
  (wake word, VAD, ASR and dialogue are unchanged by it).

Usage: python bench/lipsync.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from vitad import events as ev
from vitad.config.schema import TtsSettings
from vitad.pipeline.endpoint import Endpoint
from vitad.pipeline.listener import Utterance
from vitad.pipeline.speakers import MOUTH_BLOCK_S, LiveSpeaker
from vitad.tts.piper_engine import PiperTts
from vitad.tts.visemes import viseme_track

SENTENCES = [
    "We are open every day from 6 in the morning until 11 at night.",
    "The big washer is 7 dollars 50 for about 40 minutes.",
    "Sorry, could you say that again?",
    "Dryer 7 is out of order, I have let the owner know.",
    "You can buy detergent at the vending machine by the door.",
]


def ms(values: list[float]) -> str:
    p90 = sorted(values)[int(0.9 * (len(values) - 1))]
    return f"{statistics.median(values) * 1000:7.1f} ms (p90 {p90 * 1000:.1f})"


class FirstWrite:
    """A null output that notes when the first samples of a reply reach it."""

    def __init__(self) -> None:
        self.first: float | None = None

    def write(self, samples: object) -> None:
        if self.first is None:
            self.first = time.perf_counter()

    def close(self) -> None:
        pass


def first_audio_s(tts: PiperTts, text: str) -> float:
    """Seconds from ``say()`` to the first block written, for one reply."""
    bus, sink = ev.EventBus(), FirstWrite()
    done: list[ev.Event] = []
    bus.subscribe(lambda e: done.append(e) if isinstance(e, ev.TurnEnd) else None)
    speaker = LiveSpeaker(tts, sink, bus, time.monotonic, realtime=False)
    speaker.start()
    try:
        utt = Utterance("b", "q", "bench", Endpoint("silence", 0.0, 0.0), time.perf_counter(),
                        0.0)
        start = time.perf_counter()
        speaker.say("b", text, utt, "bench")
        while not done:
            time.sleep(0.001)
    finally:
        speaker.close()
    assert sink.first is not None
    return sink.first - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    settings = TtsSettings(noise_scale=0.0, noise_w=0.0)
    with tempfile.TemporaryDirectory(prefix="vitad-lipsync-") as tmp:
        voices: dict[bool, PiperTts] = {}
        load: dict[bool, float] = {}
        for aligned in (False, True):
            start = time.perf_counter()
            voices[aligned] = PiperTts(settings, cache_dir=Path(tmp) / str(aligned),
                                       alignments=aligned)
            load[aligned] = time.perf_counter() - start
        assert voices[True].alignments, "no alignments: is onnx installed?"
        miss: dict[bool, list[float]] = {False: [], True: []}
        hit: dict[bool, list[float]] = {False: [], True: []}
        track_s: list[float] = []
        first: dict[tuple[bool, bool], list[float]] = {(a, c): [] for a in (False, True)
                                                        for c in (False, True)}
        audio_s = 0.0
        for r in range(args.rounds):
            for sentence in SENTENCES:
                text = f"{sentence} ({r})" if r else sentence  # a new cache key each round
                for aligned in ((False, True) if r % 2 else (True, False)):
                    tts = voices[aligned]
                    start = time.perf_counter()
                    spoken = tts.spoken(text)
                    miss[aligned].append(time.perf_counter() - start)
                    start = time.perf_counter()
                    again = tts.spoken(text)
                    hit[aligned].append(time.perf_counter() - start)
                    assert again.cached
                    reply = f"So number {r} {sentence.lower()}"  # a new first sentence: a miss
                    first[aligned, False].append(first_audio_s(tts, reply))
                    first[aligned, True].append(first_audio_s(tts, reply))
                    if aligned:
                        audio_s += len(spoken.samples) / tts.rate
                        entry = tts.cache.get(tts.cache_key(text))
                        assert entry is not None and entry.alignment is not None
                        start = time.perf_counter()
                        track = viseme_track(entry.alignment)
                        block = int(tts.rate * MOUTH_BLOCK_S)
                        for i in range(0, len(spoken.samples), block):
                            track.over(i, i + block)
                        track_s.append(time.perf_counter() - start)
    n = len(miss[True])
    print(f"sentences: {n} per setting ({audio_s / n:.2f} s of audio each on average)")
    print(f"voice load:            without {load[False]:.2f} s   with alignments "
          f"{load[True]:.2f} s")
    print(f"synthesis (cache miss): without {ms(miss[False])}   with {ms(miss[True])}")
    print(f"cache hit:              without {ms(hit[False])}   with {ms(hit[True])}")
    print(f"viseme track + lookups: {ms(track_s)} per sentence")
    for c, name in ((False, "miss"), (True, "hit")):
        print(f"reply -> first audio, cache {name:4}: without {ms(first[False, c])}   "
              f"with {ms(first[True, c])}")


if __name__ == "__main__":
    main()
