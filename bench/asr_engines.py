"""ASR engine benchmark: prints numbers (not a test).

Whisper (faster-whisper tiny.en, int8, the packaged copy) against PocketSphinx on short
Piper clips of laundromat questions, clean and with laundromat noise at 10 dB SNR:

* time of ``finish()`` per utterance = the wait after the endpoint (median, p90);
  target: Whisper ≤ 0.6 s median on this box
* word error rate (digits read as words, punctuation ignored)
* beam 1 vs 5, vocabulary bias off / initial_prompt / hotwords
* noise-only clips: how many hallucinations Whisper produced and how many were rejected
* RSS of a process with only PocketSphinx, only Whisper, and both (the second-pass setup)
  loaded (psutil, in fresh subprocesses so the numbers include neither Piper nor each other)

Usage: python bench/asr_engines.py [--clips 20] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from rapidfuzz.distance import Levenshtein

from vitad.asr.base import Recognizer
from vitad.asr.sphinx_engine import SphinxRecognizer
from vitad.asr.whisper_engine import (
    WhisperRecognizer,
    normalize_text,
    packaged_model_dir,
)
from vitad.audio.format import INTERNAL_RATE, resample
from vitad.config.loader import load_config
from vitad.demo import at_snr, laundromat_noise

# Written for this bench (not the intents' examples, not bench/corpus paraphrases).
QUESTIONS = [
    "how much is the big washer", "what time do you close", "is the laundromat open on sunday",
    "do you take credit cards", "dryer seven is not heating", "washer three ate my quarters",
    "where can i buy detergent", "how long does the small washer take",
    "how much does the dryer cost", "can i pay with my phone", "the change machine is empty",
    "i left a jacket here yesterday", "how do i start the washer",
    "what is the phone number of the owner", "are pets allowed inside",
    "is there wifi here", "washer number twelve is leaking", "how much for the giant washer",
    "when do you open in the morning", "do you sell dryer sheets",
]
_NUMBER_TEXT = ("zero one two three four five six seven eight nine ten eleven twelve thirteen "
                "fourteen fifteen sixteen seventeen eighteen nineteen twenty")
NUMBERS = _NUMBER_TEXT.split()


def words(text: str) -> list[str]:
    return [NUMBERS[int(w)] if w.isdigit() and int(w) <= 20 else w
            for w in normalize_text(text).split()]


def wer(refs: list[str], hyps: list[str]) -> float:
    errors = sum(Levenshtein.distance(words(r), words(h)) for r, h in zip(refs, hyps, strict=True))
    return errors / sum(len(words(r)) for r in refs)



def noise_clips(seed: int = 11) -> dict[str, np.ndarray]:
    """Things the VAD could pass on a bad day that contain no words."""
    rng = np.random.default_rng(seed)
    t = np.arange(3 * INTERNAL_RATE) / INTERNAL_RATE
    beeps = 6000 * np.sin(2 * np.pi * 880 * t) * (np.sin(2 * np.pi * 1.5 * t) > 0.3)
    clank = np.zeros_like(t)
    for start in rng.integers(0, len(t) - 800, 6):
        clank[start : start + 800] += rng.normal(0, 9000, 800) * np.exp(-np.arange(800) / 150)
    clips = {
        "hum (machines)": laundromat_noise(len(t), 300, seed),
        "loud hum": laundromat_noise(len(t), 3000, seed + 1),
        "white noise": rng.normal(0, 2500, len(t)),
        "beeps": beeps,
        "clanks": clank + laundromat_noise(len(t), 150, seed + 2),
        "faint hiss": rng.normal(0, 200, len(t)),
    }
    return {k: np.clip(v, -32768, 32767).astype(np.int16) for k, v in clips.items()}


Timed = tuple[list[str], list[float], list[float]]  # texts, wall s, CPU s of finish()


def run(rec: Recognizer, clips: list[np.ndarray]) -> Timed:
    """Stream each clip in 80 ms chunks, then time finish() (wall and process CPU)."""
    texts, walls, cpus = [], [], []
    for clip in clips:
        stream = rec.start()
        for i in range(0, len(clip), 1280):
            stream.accept(clip[i : i + 1280])
        wall, cpu = time.perf_counter(), time.process_time()
        texts.append(stream.finish())
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return texts, walls, cpus


def row(label: str, audio: str, questions: list[str], timed: Timed) -> None:
    texts, walls, cpus = timed
    print(f"{label:30} {audio:6} {wer(questions, texts):6.1%} {statistics.median(walls):9.3f}"
          f" {p90(walls):7.3f} {statistics.median(cpus):8.3f}")


def p90(values: list[float]) -> float:
    return sorted(values)[max(0, round(0.9 * len(values)) - 1)]


def rss_child(what: str) -> None:
    """Subprocess body: load one engine, decode one clip, print RSS in MiB."""
    import psutil

    audio = np.zeros(INTERNAL_RATE * 2, np.int16)
    audio[8000:16000] = (3000 * np.sin(np.arange(8000) / 5)).astype(np.int16)
    base = psutil.Process().memory_info().rss
    streams = []
    if what in ("sphinx", "both"):
        streams.append(SphinxRecognizer().start())
    if what in ("whisper", "both"):
        streams.append(WhisperRecognizer(packaged_model_dir()).start())
    for stream in streams:
        stream.accept(audio)
        stream.finish()
    rss = psutil.Process().memory_info().rss
    print(json.dumps({"base_mib": base / 2**20, "rss_mib": rss / 2**20}))


def measure_rss(what: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, "--rss-child", what], capture_output=True,
                         text=True, check=True, timeout=300).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=len(QUESTIONS))
    parser.add_argument("--quick", action="store_true", help="beam 1, prompt on/off only")
    parser.add_argument("--rss-child", choices=["sphinx", "whisper", "both"],
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child:
        rss_child(args.rss_child)
        return

    from vitad.tts.piper_engine import PiperTts

    config = load_config(None)
    cache = Path(tempfile.mkdtemp(prefix="asr-bench-"))
    tts = PiperTts(config.tts.model_copy(update={"noise_scale": 0.0, "noise_w": 0.0}),
                   config.base_dir, cache)
    from vitad.pipeline.engines import build_dialogue

    vocabulary = build_dialogue(config).vocabulary()

    def say(text: str) -> np.ndarray:
        voice = np.concatenate([s.samples for s in tts.speak(text)])
        pad = np.zeros(int(0.3 * INTERNAL_RATE), np.int16)
        # What the listener hands over: a little lead-in, the question, the 0.5 s hangover.
        return np.concatenate([pad, resample(voice, tts.rate, INTERNAL_RATE), pad, pad])

    questions = QUESTIONS[: args.clips]
    clean = [say(q) for q in questions]
    sets = {"clean": clean,
            "10 dB": [at_snr(c, 10.0, seed=i) for i, c in enumerate(clean)]}
    print(f"{len(questions)} Piper clips, mean {np.mean([len(c) for c in clean]) / 16000:.1f} s"
          f" (incl. 0.9 s padding); {os.cpu_count()} cores, load average"
          f" {os.getloadavg()[0]:.1f} (others' work skews wall times)\n")

    model_dir = packaged_model_dir()
    start = time.perf_counter()
    rec = WhisperRecognizer(model_dir)
    print(f"whisper tiny.en load: {time.perf_counter() - start:.2f} s, {rec.threads} threads")
    rec.set_vocabulary(vocabulary)
    print(f"prompt: {rec.prompt!r}\n")
    run(rec, clean[:2])  # warm-up

    print("finish() time = the wait after the endpoint; CPU = process CPU seconds (all threads),"
          " a check on a busy box")
    print(f"{'engine':30} {'audio':6} {'WER':>6} {'median s':>9} {'p90 s':>7} {'CPU s':>8}")
    variants = [(1, "off"), (1, "prompt")] if args.quick else [
        (1, "off"), (1, "prompt"), (1, "hotwords"), (5, "off"), (5, "prompt")]
    for beam, bias in variants:
        rec.beam_size, rec.bias = beam, bias
        for name, clips in sets.items():
            timed = run(rec, clips)
            texts = timed[0]
            row(f"whisper beam {beam} bias {bias}", name, questions, timed)
            misses = [(q, t) for q, t in zip(questions, texts, strict=True)
                      if words(q) != words(t)]
            for q, t in misses[:4]:
                print(f"{'':32}{q!r} -> {t!r}")
    sphinx = SphinxRecognizer()
    for name, clips in sets.items():
        row("pocketsphinx", name, questions, run(sphinx, clips))

    print("\nnoise-only clips (3 s each), beam 1, prompt on:")
    rec.beam_size, rec.bias = 1, "prompt"
    invented = passed = 0
    for name, clip in noise_clips().items():
        result = rec.transcribe(clip)
        invented += bool(result.raw.strip(" ."))
        passed += bool(result.text)
        print(f"  {name:16} Whisper said {result.raw!r:24} -> {result.text!r:4} {result.rejected}")
    print(f"  words invented on noise: {invented} of {len(noise_clips())} clips;"
          f" passed the checks: {passed}")

    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")
    print("\nRSS (fresh process, engine loaded + one decode):")
    for what in ("sphinx", "whisper", "both"):
        r = measure_rss(what)
        print(f"  {what:8} {r['rss_mib']:6.0f} MiB (python + numpy before loading:"
              f" {r['base_mib']:.0f} MiB)")


if __name__ == "__main__":
    main()
