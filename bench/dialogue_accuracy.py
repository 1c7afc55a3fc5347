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

Usage: python bench/dialogue_accuracy.py [--config FILE] [--corpus FILE] [--show-test]
The "before" figure: run it against the committed matcher,
  git archive HEAD vitad config | tar -x -C /tmp/orig
  PYTHONPATH=/tmp/orig python bench/dialogue_accuracy.py --config /tmp/orig/config/vitad.toml
"""

from __future__ import annotations

import argparse
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(HERE.parent / "config" / "vitad.toml"))
    parser.add_argument("--corpus", default=str(HERE / "corpus" / "paraphrases.toml"))
    parser.add_argument("--show-test", action="store_true", help="print the test misses too")
    args = parser.parse_args()

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
