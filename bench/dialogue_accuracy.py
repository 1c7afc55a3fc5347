"""Dialogue accuracy on clean text: prints numbers (not a test).

Scores the Dialogue ALONE (no audio, no ASR) on ``bench/corpus/paraphrases.toml``: every
item is a fresh conversation. An item is

* correct  — the expected intent (and the expected kind / number, when the item names them);
  for an out-of-domain item (intent = "fallback"), the fallback;
* clarify  — the dialogue asked "Do you mean …?" (not wrong, not correct); ``clarify→ok``
  counts those whose candidate was the expected intent (a "yes" would answer right);
* missed   — the fallback for an in-domain question (not wrong, not correct);
* wrong    — a real answer that is not the expected one (a wrong price is worse than a question).

Only the dev split's misses are printed with their text (tune on dev only); the test split
gets counts per intent. ``--show-test`` prints the test misses too, for a final report.
``--corpus bench/corpus/paraphrases_fresh.toml`` scores a second, independently written set
(all dev: 92 items, 6-10 per intent) — more to tune on without touching the test split.

``--transcripts RESULTS.json`` re-scores instead the recognizer's recorded transcripts (and
confidences) of a ``bench/accuracy.py`` results file, in seconds and without audio, so a
matcher change can be judged on real ASR output (tune on dev results files only). Each clip's
expected intent, kind and number come from the corpus manifest (matched by clip id and the
corpus fingerprint); clips the recognizer never transcribed are counted but not scored. It
prints, per configuration of the file, the recorded accuracy next to today's dialogue's.

Usage: python bench/dialogue_accuracy.py [--config FILE] [--corpus FILE] [--show-test]
       python bench/dialogue_accuracy.py --transcripts bench/results/accuracy-….json
The "before" figure: run it against the committed matcher,
  git archive HEAD vitad config | tar -x -C /tmp/orig
  PYTHONPATH=/tmp/orig python bench/dialogue_accuracy.py --config /tmp/orig/config/vitad.toml
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import tomllib
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vitad.config.loader import load_config
from vitad.pipeline.engines import build_dialogue

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Item:
    text: str
    intent: str
    split: str
    kind: str | None = None
    number: int | None = None


def load_items(path: Path) -> list[Item]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return [Item(i["text"], i["intent"], i.get("split", "dev"), i.get("kind"), i.get("number"))
            for i in data["item"]]


def grade(item: Item, intent: str, slots: dict[str, Any]) -> str:
    if intent == "clarify":
        return "clarify"
    if intent == "fallback":
        return "correct" if item.intent == "fallback" else "missed"
    if intent != item.intent:
        return "wrong"
    if item.kind is not None and slots.get("machine_type") != item.kind:
        return "wrong"
    if item.number is not None and slots.get("machine_number") != item.number:
        return "wrong"
    return "correct"


# -- re-scoring recorded transcripts -------------------------------------------------

NOT_ANSWERS = ("fallback", "clarify")  # as bench/accuracy.py counts them


def grade_clip(clip: dict[str, Any], intent: str | None, slots: dict[str, Any]) -> str:
    """bench/accuracy.py's verdict for one clip, in this script's words."""
    if clip["type"] != "utterance":  # noise only, or speech without the wake word
        return "wrong" if intent is not None and intent not in NOT_ANSWERS else "correct"
    item = Item(clip["text"], clip["intent"], clip["split"], clip.get("kind"),
                clip.get("number"))
    return grade(item, intent or "fallback", slots)


def load_manifest(results: dict[str, Any], manifest_path: Path) -> dict[str, dict[str, Any]]:
    """Clip id → the manifest's clip; exits with one line when it is not the results' corpus."""
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        sys.exit(f"dialogue_accuracy: cannot read the corpus manifest {manifest_path}: {exc}; "
                 "expected bench/corpus/generate.py's manifest.json (--manifest)")
    wanted = results.get("corpus_fingerprint")
    if wanted and manifest.get("fingerprint") != wanted:
        sys.exit(f"dialogue_accuracy: {manifest_path} has corpus fingerprint "
                 f"{manifest.get('fingerprint')}, the results file {wanted}; expected the "
                 "manifest of the corpus the results were recorded on")
    return {c["id"]: c for c in manifest["clips"]}


def rescore(args: argparse.Namespace) -> None:
    path = Path(args.transcripts)
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
        rows = results["rows"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        sys.exit(f"dialogue_accuracy: {path}: {exc}; expected a bench/accuracy.py results file")
    clips = load_manifest(results, Path(args.manifest))
    split = results.get("split", "?")
    show = split == "dev" or args.show_test
    dialogue = build_dialogue(load_config(Path(args.config)))
    print(f"{path.name}: {split} split")
    for row in rows:
        if "clips" not in row:
            print(f"\n{row.get('name')}: no clips recorded ({row.get('rejected', '')})")
            continue
        before: Counter[str] = Counter()
        after: Counter[str] = Counter()
        unheard = changed = 0
        lines = []
        start = time.perf_counter()
        for n, rec in enumerate(row["clips"]):
            clip = clips.get(rec["id"])
            if clip is None:
                sys.exit(f"dialogue_accuracy: clip {rec['id']} is not in the manifest")
            text = rec.get("transcript")
            if text is None:  # never woken / never transcribed: the dialogue had no say
                unheard += 1
                continue
            conf = rec.get("confidence")
            answer = dialogue.respond(text, session_key=f"clip{n}", now=float(n),
                                      heard_confidence=conf)
            was = grade_clip(clip, rec.get("intent"), rec.get("slots") or {})
            now = grade_clip(clip, answer.intent, answer.slots)
            before[was] += 1
            after[now] += 1
            changed += answer.intent != rec.get("intent")
            if now != "correct" or was != now:
                detail = answer.intent
                if answer.intent == "clarify":
                    detail += f"→{answer.slots.get('candidate')}"
                conf_s = "-" if conf is None else f"{conf:.2f}"
                lines.append(f"{was:>8}→{now:8} {clip['intent']}: {text!r} (conf {conf_s}) "
                             f"→ {detail} {answer.score}")
        ms = (time.perf_counter() - start) * 1000 / max(1, after.total())
        n = after.total()
        print(f"\n{row['name']}: {n} clips transcribed ({unheard} not), {ms:.2f} ms each; "
              f"{changed} answers differ from the recorded run")
        for label, c in (("recorded", before), ("now", after)):
            print(f"  {label:9} correct {100 * c['correct'] / max(1, n):5.1f} % "
                  f"({c['correct']})  wrong {c['wrong']}  clarify {c['clarify']}  "
                  f"missed {c['missed']}")
        if show:
            for line in sorted(lines):
                print(f"    {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(HERE.parent / "config" / "vitad.toml"))
    parser.add_argument("--corpus", default=str(HERE / "corpus" / "paraphrases.toml"))
    parser.add_argument("--show-test", action="store_true", help="print the test misses too")
    parser.add_argument("--transcripts", metavar="RESULTS.json",
                        help="re-score the recorded transcripts of a bench/accuracy.py run")
    parser.add_argument("--manifest", default=str(HERE / "corpus" / "out" / "manifest.json"),
                        help="the corpus manifest those results were recorded on")
    args = parser.parse_args()
    if args.transcripts:
        rescore(args)
        return

    start = time.perf_counter()
    dialogue = build_dialogue(load_config(Path(args.config)))
    load_ms = (time.perf_counter() - start) * 1000
    items = load_items(Path(args.corpus))
    results: dict[str, list[tuple[Item, str, Any]]] = defaultdict(list)
    start = time.perf_counter()
    for n, item in enumerate(items):
        answer = dialogue.respond(item.text, session_key=f"item{n}", now=float(n))
        results[item.split].append((item, grade(item, answer.intent, answer.slots), answer))
    turn_ms = (time.perf_counter() - start) * 1000 / max(1, len(items))

    print(f"dialogue built in {load_ms:.0f} ms; {turn_ms:.2f} ms per question")
    for split in ("dev", "test"):
        rows = results.get(split, [])
        if not rows:
            continue
        counts = Counter(g for _, g, _ in rows)
        n = len(rows)
        confirmable = sum(1 for item, g, a in rows
                          if g == "clarify" and a.slots.get("candidate") == item.intent)
        print(f"\n[{split}] {n} items: accuracy {100 * counts['correct'] / n:.1f} %  "
              f"wrong {100 * counts['wrong'] / n:.1f} % ({counts['wrong']})  "
              f"clarify {100 * counts['clarify'] / n:.1f} % ({counts['clarify']}, "
              f"{confirmable} with the right candidate)  "
              f"missed {100 * counts['missed'] / n:.1f} % ({counts['missed']})")
        per_intent: dict[str, Counter[str]] = defaultdict(Counter)
        for item, g, _ in rows:
            per_intent[item.intent][g] += 1
        print("  per intent (correct/n, wrong):  " + "  ".join(
            f"{name} {c['correct']}/{c.total()}" + (f" w{c['wrong']}" if c["wrong"] else "")
            for name, c in sorted(per_intent.items())))
        misses: dict[str, list[str]] = defaultdict(list)
        for item, g, answer in rows:
            if g != "correct":
                detail = answer.intent
                if answer.intent == "clarify":
                    detail += f"→{answer.slots.get('candidate')}"
                misses[item.intent].append(
                    f"{g:8} {item.text!r} → {detail} {answer.score} {answer.slots}")
        for intent in sorted(misses):
            print(f"  {intent}: {len(misses[intent])} not correct")
            if split == "dev" or args.show_test:
                for line in misses[intent]:
                    print(f"    {line}")


if __name__ == "__main__":
    main()
