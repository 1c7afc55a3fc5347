"""Accuracy benchmark: does the box understand customers in a loud laundromat? (not a test)

Runs the REAL pipeline (openWakeWord → Silero VAD → [noise suppression] → ASR → dialogue)
through ``vitad.simulate.simulate`` over the corpus of ``bench/corpus/generate.py`` (run that
first; ``make bench-accuracy`` does both) and prints, per configuration, a markdown table:

* intent accuracy overall and by SNR — correct = the expected intent, and the expected
  machine kind/number when the paraphrase names one; for out-of-domain questions the
  correct outcome is "fallback". A missed wake word counts as not correct.
* WER of the final transcript (utterances whose wake word fired; reference = paraphrase)
* wrong answers — a real intent answered that was not the expected one (or the wrong
  machine); for out-of-domain questions and clips without the wake word, any real answer
* clarify rate (intent "clarify"), repeat rate ("fallback" on an in-domain question)
* right after a yes: correct, or a confirmation ("Do you mean the price of washer 6?") that
  names the expected intent and machine, so the customer's "yes" gets the right answer — the
  flow the dialogue is built for (issue 11 item 8); intent accuracy does not count these
* false wakes on clips without the wake word, and per hour on a long babble + machine stream
* wake recall per voice and per noise kind
* ASR time after the endpoint (wall time of the recognizer's finish(), median / p90)

Replies are not synthesized (captions only): this measures understanding, not speech.

Usage:
  python bench/accuracy.py [--engine pocketsphinx|whisper|vosk] [--noise off|webrtc|rnnoise|
         deepfilternet] [--domain on|off] [--second-pass off|whisper] [--set asr.key=value]
         [--split test|dev|all] [--limit N] [--matrix] [--no-stream]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rapidfuzz.distance import Levenshtein

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script from anywhere

from vitad.audio.wavfile import chunks_from_array, read_wav_internal  # noqa: E402
from vitad.config.loader import (  # noqa: E402
    ConfigError,
    sandbox_config_dict,
    shipped_config_dir,
    validate_config,
)
from vitad.config.schema import Config  # noqa: E402
from vitad.dialogue.text import normalize  # noqa: E402

CORPUS = REPO / "bench" / "corpus" / "out"
RESULTS = REPO / "bench" / "results"
NOT_ANSWERS = {"fallback", "clarify"}
SNR_ORDER = ["clean", "30", "20", "15", "10", "5", "0"]


# ------------------------------------------------------------------ configurations


@dataclass
class Setup:
    """One benchmark row: a name and its config overrides (section → key → value)."""

    name: str
    overrides: dict[str, dict[str, Any]]


def setup_from(engine: str, noise: str, domain: str | None, second_pass: str | None,
               extra: list[str]) -> Setup:
    asr: dict[str, Any] = {"engine": engine}
    if engine == "whisper" or second_pass == "whisper":
        asr["whisper_model"] = "packaged"
    if domain is not None:
        asr["domain"] = domain == "on"
    if second_pass is not None:
        asr["second_pass"] = second_pass
    overrides: dict[str, dict[str, Any]] = {"asr": asr, "listen": {"noise_suppression": noise}}
    for item in extra:
        key, _, raw = item.partition("=")
        section, _, name = key.partition(".")
        if not (section and name and _):
            sys.exit(f"--set {item!r}: expected SECTION.KEY=VALUE (e.g. asr.domain=false)")
        try:
            value = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw  # a bare word is a string
        overrides.setdefault(section, {})[name] = value
    parts = [engine, f"noise={noise}"]
    if domain is not None:
        parts.append(f"domain={domain}")
    if second_pass not in (None, "off"):
        parts.append(f"2nd={second_pass}")
    parts += extra
    return Setup(" ".join(parts), overrides)


def build_config(setup: Setup, tmp: Path) -> Config:
    """The shipped config with temp paths, avatar off, and the setup's overrides."""
    data = sandbox_config_dict(tmp, **setup.overrides)
    return validate_config(data, setup.name, shipped_config_dir())


# ------------------------------------------------------------------ timing the recognizer


class TimedRecognizer:
    """Wraps the configured recognizer; records the wall time of each stream's finish()."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.finish_s: list[float] = []
        self.confidence: list[float | None] = []  # the stream's own, after each finish()
        self._open: list[Any] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def start(self) -> Any:
        stream = self._inner.start()
        finish = stream.finish
        timings, confidences = self.finish_s, self.confidence
        done: list[bool] = []

        def timed_finish() -> str:
            start = time.perf_counter()
            try:
                return finish()
            finally:
                timings.append(time.perf_counter() - start)
                confidences.append(getattr(stream, "confidence", None))
                done.append(True)

        stream.finish = timed_finish
        self._open = [(stream, done)]
        return stream

    def close_open_stream(self) -> None:
        """simulate() can end inside a turn (still waiting for a question); a recognizer
        with one decoder (PocketSphinx) cannot start the next clip until it is finished."""
        for stream, done in self._open:
            if not done:
                stream.finish()
        self._open = []


# ------------------------------------------------------------------ scoring


@dataclass
class ClipResult:
    clip: dict
    wakes: int
    transcript: str | None
    intent: str | None
    slots: dict
    asr_s: float | None
    confidence: float | None = None  # the recognizer's, 0..1 (None: it gives none)

    @property
    def in_domain(self) -> bool:
        return self.clip["type"] == "utterance" and self.clip["intent"] != "fallback"

    @property
    def answered(self) -> bool:
        return self.intent is not None and self.intent not in NOT_ANSWERS

    @property
    def correct(self) -> bool:
        c = self.clip
        if c["type"] != "utterance":
            return not self.answered
        if c["intent"] == "fallback":
            return self.intent == "fallback"
        return (self.intent == c["intent"]
                and (c["kind"] is None or self.slots.get("machine_type") == c["kind"])
                and (c["number"] is None or self.slots.get("machine_number") == c["number"]))

    @property
    def wrong(self) -> bool:
        return self.answered and not self.correct

    @property
    def right_after_yes(self) -> bool:
        """Correct, or a confirmation whose candidate is the right answer (a "yes" gets it)."""
        if self.correct:
            return True
        c = self.clip
        return (c["type"] == "utterance" and self.intent == "clarify"
                and self.slots.get("candidate") == c["intent"]
                and (c["kind"] is None or self.slots.get("machine_type") == c["kind"])
                and (c["number"] is None or self.slots.get("machine_number") == c["number"]))


def pick_turn(events: list, clip: dict) -> tuple[str | None, str | None, dict]:
    """The turn that answers this clip's question: the one woken nearest the wake phrase."""
    turns: dict[str, dict[str, Any]] = {}
    wake_t: list[float] = []
    for e in events:
        if e.type == "wake":
            wake_t.append(e.t)
        elif e.type == "listening":
            turns.setdefault(e.turn_id, {"t": e.t})
        elif e.type == "transcript" and e.final:
            turns.setdefault(e.turn_id, {"t": e.t})["text"] = e.text
        elif e.type == "intent":
            turns.setdefault(e.turn_id, {"t": e.t}).update(intent=e.name, slots=dict(e.slots))
    if not turns:
        return None, None, {}
    target = clip.get("wake_t", [0.0, 0.0])[1]
    best = min(turns.values(), key=lambda t: abs(t["t"] - target))
    return best.get("text"), best.get("intent"), best.get("slots", {})


def wer(reference: str, hypothesis: str) -> tuple[int, int]:
    """(word edits, reference words); rapidfuzz's Levenshtein works on word lists."""
    ref, hyp = normalize(reference).split(), normalize(hypothesis).split()
    return Levenshtein.distance(ref, hyp), len(ref)


def rate(hits: int, n: int) -> str:
    return f"{100 * hits / n:.0f}%" if n else "–"


def summarize(results: list[ClipResult]) -> dict[str, Any]:
    utt = [r for r in results if r.clip["type"] == "utterance"]
    indomain = [r for r in utt if r.in_domain]
    ood = [r for r in utt if not r.in_domain]
    silent = [r for r in results if r.clip["type"] != "utterance"]
    woke = [r for r in utt if r.wakes > 0]
    by_snr: dict[str, list[ClipResult]] = {}
    for r in utt:
        snr = r.clip["snr_db"]
        by_snr.setdefault("clean" if snr is None else f"{snr:g}", []).append(r)
    edits = words = 0
    for r in woke:
        e, n = wer(r.clip["text"], r.transcript or "")
        edits, words = edits + e, words + n
    asr = sorted(r.asr_s for r in results if r.asr_s is not None)

    def group(key: str) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {}
        for r in utt:
            hit = out.setdefault(r.clip[key], [0, 0])
            hit[0] += r.wakes > 0
            hit[1] += 1
        return out

    return {
        "n_utterances": len(utt), "n_in_domain": len(indomain), "n_out_of_domain": len(ood),
        "n_silent_clips": len(silent),
        "intent_accuracy": _frac(sum(r.correct for r in utt), len(utt)),
        "intent_accuracy_when_woken": _frac(sum(r.correct for r in woke), len(woke)),
        "right_after_yes": _frac(sum(r.right_after_yes for r in utt), len(utt)),
        "accuracy_by_snr": {k: [sum(r.correct for r in v), len(v)] for k, v in by_snr.items()},
        "wer": _frac(edits, words),
        "wrong_answers": [sum(r.wrong for r in results), len(results)],
        "wrong_in_domain": [sum(r.wrong for r in indomain), len(indomain)],
        "wrong_out_of_domain": [sum(r.wrong for r in ood), len(ood)],
        "wrong_without_wake": [sum(r.wrong for r in silent), len(silent)],
        "clarify": [sum(r.intent == "clarify" for r in utt), len(utt)],
        "repeat_in_domain": [sum(r.intent == "fallback" for r in indomain), len(indomain)],
        "no_answer": [sum(r.intent is None for r in utt), len(utt)],
        "false_wake_clips": [sum(r.wakes > 0 for r in silent), len(silent)],
        "wake_recall": _frac(len(woke), len(utt)),
        "wake_recall_by_voice": group("voice"),
        "wake_recall_by_noise": group("noise"),
        "asr_s_median": statistics.median(asr) if asr else None,
        "asr_s_p90": asr[int(0.9 * (len(asr) - 1))] if asr else None,
    }


def _frac(a: float, b: int) -> float | None:
    return a / b if b else None


# ------------------------------------------------------------------ running


def run_setup(setup: Setup, clips: list[dict], corpus: Path) -> dict[str, Any]:
    from vitad.pipeline.engines import load_engines
    from vitad.simulate import simulate

    tmp = Path(tempfile.mkdtemp(prefix="vitad-acc-"))
    try:
        config = build_config(setup, tmp)
    except ConfigError as exc:
        return {"name": setup.name, "rejected": "; ".join(exc.problems)}
    try:
        start = time.perf_counter()
        engines = load_engines(config, cache_dir=tmp / "tts-cache")
    except Exception as exc:  # a missing model/package: report the row, keep benchmarking
        return {"name": setup.name, "rejected": f"{type(exc).__name__}: "
                f"{getattr(exc, 'message', exc)}"}
    load_s = time.perf_counter() - start
    engines.tts = None  # captions only: understanding is measured, not speech
    timed = TimedRecognizer(engines.recognizer)
    engines.recognizer = timed  # type: ignore[assignment]
    degraded = [f"{d.component}:{d.mode}" for d in engines.degraded]
    results: list[ClipResult] = []
    started = time.perf_counter()
    audio_s = 0.0
    try:
        for i, clip in enumerate(clips):
            samples = read_wav_internal(corpus / clip["file"])
            audio_s += len(samples) / 16000
            before = len(timed.finish_s)
            sim = simulate(config, samples, engines=engines)
            asr = timed.finish_s[before:]
            timed.close_open_stream()
            text, intent, slots = pick_turn(sim.events, clip)
            results.append(ClipResult(clip, len(sim.of_type("wake")), text, intent, slots,
                                      asr[0] if asr else None,
                                      timed.confidence[before] if asr else None))
            if (i + 1) % 25 == 0:
                print(f"  [{setup.name}] {i + 1}/{len(clips)} clips", file=sys.stderr,
                      flush=True)
    except Exception as exc:  # one broken engine must not end the matrix
        return {"name": setup.name, "rejected": f"failed at clip {clip['id']}: "
                f"{type(exc).__name__}: {exc}"}
    return {"name": setup.name, "overrides": setup.overrides, "degraded": degraded,
            "engine": engines.recognizer.name, "load_s": round(load_s, 2),
            "rtf": round((time.perf_counter() - started) / max(audio_s, 1e-9), 3),
            **summarize(results),
            "clips": [{"id": r.clip["id"], "expected": r.clip["intent"], "intent": r.intent,
                       "slots": r.slots, "transcript": r.transcript, "wakes": r.wakes,
                       "confidence": r.confidence, "correct": r.correct, "wrong": r.wrong}
                      for r in results]}


def false_wakes_per_hour(corpus: Path, manifest: dict) -> dict[str, Any]:
    """openWakeWord alone over the long babble + machine stream (no ASR needed)."""
    from vitad.pipeline.wake import WakeDetector

    config = build_config(Setup("wake", {}), Path(tempfile.mkdtemp(prefix="vitad-acc-")))
    detector = WakeDetector(config.wake, config.base_dir)
    samples = read_wav_internal(corpus / manifest["stream"]["file"])
    times = []
    for chunk in chunks_from_array(samples, config.audio.chunk_ms):
        detection = detector.feed(chunk.samples, chunk.end)
        if detection is not None:
            times.append(round(chunk.end, 2))
            detector.reset()  # as after a turn
    hours = len(samples) / 16000 / 3600
    return {"stream_minutes": round(hours * 60, 1), "false_wakes": len(times),
            "per_hour": round(len(times) / hours, 2), "at_s": times,
            "threshold": config.wake.threshold}


# ------------------------------------------------------------------ printing


def table(rows: list[dict[str, Any]], split: str) -> str:
    head = ["config", "n", "intent acc", *[f"{s} dB" if s != "clean" else s
                                           for s in SNR_ORDER],
            "acc if woken", "right after a yes", "WER", "wrong", "wrong OOD/no-wake", "clarify",
            "repeat",
            "no answer", "false wake clips", "ASR s med/p90", "RTF"]
    lines = [f"Intent accuracy on the '{split}' split (real pipeline, captions only)", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        if "rejected" in r:
            lines.append(f"| {r['name']} | config rejected: {r['rejected']} |")
            continue
        snr = r["accuracy_by_snr"]
        ood = [r["wrong_out_of_domain"][0] + r["wrong_without_wake"][0],
               r["wrong_out_of_domain"][1] + r["wrong_without_wake"][1]]
        name = r["name"] + (f" ({', '.join(r['degraded'])})" if r["degraded"] else "")
        cells = [name, str(r["n_utterances"]), _pct(r["intent_accuracy"]),
                 *[rate(*snr[s]) if s in snr else "–" for s in SNR_ORDER],
                 _pct(r["intent_accuracy_when_woken"]), _pct(r.get("right_after_yes")),
                 _pct(r["wer"]),
                 rate(*r["wrong_answers"]), rate(*ood), rate(*r["clarify"]),
                 rate(*r["repeat_in_domain"]), rate(*r["no_answer"]),
                 f"{r['false_wake_clips'][0]}/{r['false_wake_clips'][1]}",
                 _secs(r["asr_s_median"]) + " / " + _secs(r["asr_s_p90"]), f"{r['rtf']:.2f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def wake_table(row: dict[str, Any]) -> str:
    lines = ["Wake recall (same for every ASR configuration: the wake model hears raw audio)",
             "", "| voice | woke | | noise | woke |", "|---|---|---|---|---|"]
    voices = sorted(row["wake_recall_by_voice"].items())
    noises = sorted(row["wake_recall_by_noise"].items())
    for i in range(max(len(voices), len(noises))):
        v = voices[i] if i < len(voices) else ("", None)
        n = noises[i] if i < len(noises) else ("", None)
        lines.append(f"| {v[0]} | {rate(*v[1]) + f' ({v[1][0]}/{v[1][1]})' if v[1] else ''} "
                     f"| | {n[0]} | {rate(*n[1]) + f' ({n[1][0]}/{n[1][1]})' if n[1] else ''} |")
    return "\n".join(lines)


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.0f}%"


def _secs(x: float | None) -> str:
    return "–" if x is None else f"{x:.2f}"



def new_results_file(kind: str) -> Path:
    """``bench/results/<kind>-<time>.json``, created empty and never shared: two runs that
    finish in the same second once wrote one file between them."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    n = 0
    while True:
        out = RESULTS / f"{kind}-{stamp}{f'-{n}' if n else ''}.json"
        try:
            out.touch(exist_ok=False)  # O_EXCL: the other run gets the next name
            return out
        except FileExistsError:
            n += 1

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", default="pocketsphinx",
                        choices=["pocketsphinx", "whisper", "vosk"])
    parser.add_argument("--noise", default="off",
                        choices=["off", "webrtc", "rnnoise", "deepfilternet"])
    parser.add_argument("--domain", choices=["on", "off"])
    parser.add_argument("--second-pass", choices=["off", "whisper"])
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="any other config override (repeatable)")
    parser.add_argument("--split", default="test", choices=["test", "dev", "all"])
    parser.add_argument("--limit", type=int, help="only the first N clips (while developing)")
    parser.add_argument("--every", type=int, default=1,
                        help="only every Nth clip (a quicker, still stratified sample)")
    parser.add_argument("--matrix", action="store_true",
                        help="every --engines × every --noises (and the flags above)")
    parser.add_argument("--engines", default="pocketsphinx,whisper")
    parser.add_argument("--noises", default="off,webrtc,rnnoise,deepfilternet")
    parser.add_argument("--no-stream", action="store_true", help="skip false wakes per hour")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    args = parser.parse_args()

    manifest_path = args.corpus / "manifest.json"
    if not manifest_path.exists():
        sys.exit(f"accuracy: no corpus at {manifest_path}; run bench/corpus/generate.py first")
    manifest = json.loads(manifest_path.read_text())
    clips = [c for c in manifest["clips"] if args.split == "all" or c["split"] == args.split]
    clips = clips[:: max(args.every, 1)]
    clips = clips[: args.limit] if args.limit else clips
    if args.matrix:
        setups = [setup_from(e, n, args.domain, args.second_pass, args.set)
                  for e in args.engines.split(",") for n in args.noises.split(",")]
    else:
        setups = [setup_from(args.engine, args.noise, args.domain, args.second_pass, args.set)]
    print(f"corpus: {len(clips)} clips of the '{args.split}' split (every {args.every}); "
          f"{len(setups)} configuration(s)", file=sys.stderr)

    rows = []
    out = new_results_file("accuracy")
    stream = None if args.no_stream else false_wakes_per_hour(args.corpus, manifest)
    if stream is not None:
        print(f"false wakes on the stream: {stream['per_hour']:g} per hour", file=sys.stderr)
    for setup in setups:
        print(f"running {setup.name} ...", file=sys.stderr, flush=True)
        rows.append(run_setup(setup, clips, args.corpus))
        print(table(rows[-1:], args.split).splitlines()[-1], file=sys.stderr, flush=True)
        out.write_text(json.dumps({"split": args.split, "clips": len(clips), "rows": rows,
                                   "false_wakes_stream": stream,
                                   "corpus_fingerprint": manifest.get("fingerprint")},
                                  indent=1))

    print(table(rows, args.split))
    done = [r for r in rows if "rejected" not in r]
    if done:
        print()
        print(wake_table(done[0]))
    if stream is not None:
        print(f"\nFalse wakes on {stream['stream_minutes']:g} min of babble + machine noise "
              f"(with customer chatter, no wake word): {stream['false_wakes']} → "
              f"{stream['per_hour']:g} per hour (threshold {stream['threshold']})")
    print(f"\nresults: {out.relative_to(REPO)}")


if __name__ == "__main__":
    main()
