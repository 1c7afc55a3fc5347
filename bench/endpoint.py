"""Endpoint benchmark: how soon after the question ends does the turn end? (not a test)

Runs the REAL pipeline (openWakeWord → Silero VAD → ASR partials → completeness judge →
dialogue) through ``vitad.simulate.simulate`` over the accuracy corpus
(``bench/corpus/out/manifest.json``, where ``speech_t`` = [start, end] of each question),
once with early endpointing (``[listen] early_hangover_s``) and once without, and prints per
noise kind (babble included):

* latency: endpoint decision − true end of speech (``speech_t[1]``), median / p90 / max;
* false cut-offs: turns decided before ``speech_t[1] − 0.1 s`` (the question was cut);
* how turns ended: early (short hangover), stable (babble rule), silence, max_length;
* intent accuracy (as bench/accuracy.py counts it), to see that early turns still answer.

Replies are not synthesized (captions only), unless ``--speak``: then every reply the shop
can give is prepared ahead into the TTS cache first (as the daemon does after start) and the
table adds true end of speech → first reply audio (issue 12: p90 ≤ 1.0 s on babble clips), on
the input clock with the real synthesis time (see vitad/simulate.py). Corpus and config
handling are shared with bench/accuracy.py.

Usage:
  python bench/endpoint.py [--engine pocketsphinx|vosk|whisper] [--split dev|test|all]
         [--early 0.24] [--stable 0.4] [--room-db 10] [--noise babble,white]
         [--every N] [--limit N] [--speak] [--vad-denoise off|webrtc|rnnoise|deepfilternet]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script from anywhere
sys.path.insert(0, str(REPO / "bench"))

from accuracy import (  # noqa: E402
    CORPUS,
    ClipResult,
    TimedRecognizer,
    build_config,
    new_results_file,
    pick_turn,
    setup_from,
)

from vitad import events as ev  # noqa: E402
from vitad.audio.wavfile import read_wav_internal  # noqa: E402

CUT_MARGIN_S = 0.1  # decided this much before the true end of speech: the question was cut
NOISE_ORDER = ["none", "white", "pink", "washer", "dryer", "babble"]


def turn_end(events: list[ev.Event], clip: dict) -> ev.SpeechEnd | None:
    """The SpeechEnd of the turn woken nearest the clip's wake phrase (as pick_turn)."""
    listening = [e for e in events if isinstance(e, ev.Listening)]
    if not listening:
        return None
    target = clip["wake_t"][1]
    turn = min(listening, key=lambda e: abs(e.t - target)).turn_id
    return next((e for e in events if isinstance(e, ev.SpeechEnd) and e.turn_id == turn), None)


def first_reply_audio(events: list[ev.Event], end: ev.SpeechEnd | None) -> float | None:
    """When the reply to the turn ``end`` closed started playing (input clock), if it did."""
    if end is None:
        return None
    return next((e.t for e in events
                 if isinstance(e, ev.AudioOutStart) and e.turn_id == end.turn_id), None)


def prepare_all_replies(engines: Any) -> None:
    """Every reply the shop can give into the TTS cache, as the daemon's preparer does."""
    import threading

    from vitad.dialogue.replies import all_replies
    from vitad.tts.prepare import Preparer

    preparer = Preparer(threading.Event(), min_rest_s=0.0, duty=1.0)  # no rests: nothing else runs
    try:
        preparer.prepare(engines.tts, lambda: all_replies(engines.dialogue))
        preparer.wait_idle(3600)
        progress = preparer.progress()
        print(f"  prepared {progress.prepared}/{progress.total} reply chunks", file=sys.stderr)
    finally:
        preparer.close()


def run(engine: str, early_s: float, clips: list[dict], corpus: Path,
        stable_s: float = 0.0, room_db: float | None = None,
        speak: bool = False, vad_denoise: str | None = None) -> list[dict[str, Any]]:
    """One row per clip: latency, cut-off, reason, correct — early on and off (and with
    ``speak``, when the reply's first audio started)."""
    from vitad.pipeline.engines import load_engines
    from vitad.simulate import simulate

    tmp = Path(tempfile.mkdtemp(prefix="vitad-ep-"))
    config = build_config(setup_from(engine, "off", None, None, []), tmp)
    engines = load_engines(config, cache_dir=tmp / "tts-cache")
    if speak:
        prepare_all_replies(engines)
    else:
        engines.tts = None  # captions only
    timed = TimedRecognizer(engines.recognizer)
    engines.recognizer = timed  # type: ignore[assignment]
    room: dict[str, Any] = {} if room_db is None else {"quieter_than_customer_db": room_db}
    if vad_denoise is not None:
        room["vad_noise_suppression"] = vad_denoise
    variants = {
        mode: config.model_copy(update={"listen": config.listen.model_copy(
            update={"early_hangover_s": s, "stable_partial_s": stable, **room})})
        for mode, s, stable in (("off", 0.0, 0.0), ("early", early_s, stable_s))
    }
    rows = []
    for i, clip in enumerate(clips):
        samples = read_wav_internal(corpus / clip["file"])
        row: dict[str, Any] = {"id": clip["id"], "noise": clip["noise"],
                               "snr_db": clip["snr_db"], "true_end": clip["speech_t"][1]}
        for mode, cfg in variants.items():
            sim = simulate(cfg, samples, engines=engines)
            timed.close_open_stream()
            end = turn_end(sim.events, clip)
            text, intent, slots = pick_turn(sim.events, clip)
            result = ClipResult(clip, len(sim.of_type("wake")), text, intent, slots, None)
            decided = end.endpoint_t if end is not None else None
            audio_t = first_reply_audio(sim.events, end)
            row[mode] = {
                "reason": end.reason if end is not None else None,
                "decided": decided,
                "latency": None if decided is None or end is None or end.reason == "no_speech"
                else decided - clip["speech_t"][1],
                "cut": decided is not None and decided < clip["speech_t"][1] - CUT_MARGIN_S,
                "correct": result.correct, "text": text,
                "reply_audio": None if audio_t is None else audio_t - clip["speech_t"][1],
            }
        rows.append(row)
        if (i + 1) % 10 == 0:
            print(f"  {i + 1}/{len(clips)} clips", file=sys.stderr, flush=True)
    return rows


def _stats(values: list[float]) -> str:
    if not values:
        return "–"
    v = sorted(values)
    p90 = v[max(0, math.ceil(0.9 * len(v)) - 1)]  # nearest rank
    return f"{statistics.median(v):.2f} / {p90:.2f} / {v[-1]:.2f}"


def table(rows: list[dict[str, Any]], early_s: float) -> str:
    head = ["noise", "n", "latency off (med/p90/max s)", f"latency early {early_s:g}",
            "gain (med s)", "gain on early turns (med s)", "cut-offs off", "cut-offs early",
            "early / stable turns",
            "acc off", "acc early"]
    speak = any(r["early"].get("reply_audio") is not None for r in rows)
    if speak:
        head.append(f"end of speech → reply audio, early {early_s:g} (med/p90/max s)")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    kinds = [k for k in NOISE_ORDER if any(r["noise"] == k for r in rows)]
    kinds += sorted({r["noise"] for r in rows} - set(kinds))
    for kind in [*kinds, "all"]:
        group = [r for r in rows if kind == "all" or r["noise"] == kind]
        if not group:
            continue
        off = [r["off"]["latency"] for r in group if r["off"]["latency"] is not None]
        on = [r["early"]["latency"] for r in group if r["early"]["latency"] is not None]
        gains = [r["off"]["latency"] - r["early"]["latency"] for r in group
                 if r["off"]["latency"] is not None and r["early"]["latency"] is not None]
        early_gains = [r["off"]["latency"] - r["early"]["latency"] for r in group
                       if r["early"]["reason"] in ("early", "stable")
                       and r["off"]["latency"] is not None]
        n = len(group)
        early = sum(r["early"]["reason"] == "early" for r in group)
        stable = sum(r["early"]["reason"] == "stable" for r in group)
        replies = [r["early"]["reply_audio"] for r in group
                   if r["early"].get("reply_audio") is not None]
        lines.append("| " + " | ".join([
            kind, str(n), _stats(off), _stats(on),
            f"{statistics.median(gains):.2f}" if gains else "–",
            f"{statistics.median(early_gains):.2f}" if early_gains else "–",
            f"{sum(r['off']['cut'] for r in group)}/{n}",
            f"{sum(r['early']['cut'] for r in group)}/{n}",
            f"{early} / {stable}",
            f"{sum(r['off']['correct'] for r in group)}/{n}",
            f"{sum(r['early']['correct'] for r in group)}/{n}",
            *([_stats(replies)] if speak else []),
        ]) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", default="pocketsphinx",
                        choices=["pocketsphinx", "vosk", "whisper"])
    parser.add_argument("--split", default="dev", choices=["dev", "test", "all"])
    parser.add_argument("--early", type=float, default=0.24,
                        help="early_hangover_s of the early run (the other run: 0, off)")
    parser.add_argument("--every", type=int, default=1, help="only every Nth clip")
    parser.add_argument("--limit", type=int, help="only the first N clips")
    parser.add_argument("--stable", type=float, default=0.0,
                        help="[listen] stable_partial_s of the early run (the babble rule)")
    parser.add_argument("--room-db", type=float, default=None,
                        help="[listen] quieter_than_customer_db of both runs (default: shipped)")
    parser.add_argument("--room-margin", type=float, default=None,
                        help="override vitad.pipeline.endpoint.ROOM_MARGIN_DB (dB over the "
                             "room's level before the wake that still counts as the room)")
    parser.add_argument("--vad-denoise", choices=["off", "webrtc", "rnnoise", "deepfilternet"],
                        help="[listen] vad_noise_suppression of both runs (default: shipped)")
    parser.add_argument("--noise", help="only these noise kinds (comma-separated)")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--speak", action="store_true",
                        help="prepare every reply ahead and time the reply's first audio too")
    parser.add_argument("--table", type=Path, metavar="RESULTS_JSON",
                        help="print the table of an earlier run's results file and stop")
    args = parser.parse_args()
    if args.table is not None:
        saved = json.loads(args.table.read_text())
        print(table(saved["rows"], saved["early_hangover_s"]))
        return

    if args.room_margin is not None:
        import vitad.pipeline.endpoint

        vitad.pipeline.endpoint.ROOM_MARGIN_DB = args.room_margin
    manifest_path = args.corpus / "manifest.json"
    if not manifest_path.exists():
        sys.exit(f"endpoint: no corpus at {manifest_path}; run bench/corpus/generate.py first")
    manifest = json.loads(manifest_path.read_text())
    clips = [c for c in manifest["clips"] if c["type"] == "utterance"
             and (args.split == "all" or c["split"] == args.split)]
    if args.noise:
        clips = [c for c in clips if c["noise"] in args.noise.split(",")]
    clips = clips[:: max(args.every, 1)]
    clips = clips[: args.limit] if args.limit else clips
    print(f"endpoint: {len(clips)} questions of the '{args.split}' split, {args.engine}",
          file=sys.stderr)
    started = time.perf_counter()
    rows = run(args.engine, args.early, clips, args.corpus, args.stable, args.room_db,
               args.speak, args.vad_denoise)
    out = new_results_file("endpoint")
    out.write_text(json.dumps({"split": args.split, "engine": args.engine,
                               "early_hangover_s": args.early,
                               "stable_partial_s": args.stable, "room_db": args.room_db,
                               "room_margin_db": args.room_margin,
                               "vad_denoise": args.vad_denoise,
                               "cut_margin_s": CUT_MARGIN_S,
                               "corpus_fingerprint": manifest.get("fingerprint"),
                               "rows": rows}, indent=1))
    print(f"End of speech → endpoint decision, '{args.split}' split, {args.engine}, "
          f"hangover off = [listen] hangover_s only; a cut-off = decided before the true end "
          f"− {CUT_MARGIN_S:g} s ({time.perf_counter() - started:.0f} s)\n")
    print(table(rows, args.early))
    print(f"\nresults: {out.relative_to(REPO)}")


if __name__ == "__main__":
    main()
