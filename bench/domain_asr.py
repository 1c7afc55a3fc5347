"""Domain benchmark: does knowing the shop's sentences help PocketSphinx? Prints numbers.

Each question is spoken by the bundled Piper voice (sampling noise off, so runs repeat),
mixed with laundromat noise at 10, 15 or 20 dB SNR (round-robin), and every third one is
preceded by the spoken tail of the wake phrase ("Jarvis"), as the listener's pre-roll lets
in. PocketSphinx decodes each clip once with its general English LM (the open pass) and, in
parallel, with the LM built from the domain sentences (vitad/asr/sphinx_engine.py). Then
several ways of using the two texts are compared by the intent the real Dialogue reaches
(vitad.dialogue.engine, the shipped config):

* plain       — the open pass as heard (what vitad did before)
* restricted  — the domain LM's text only (a closed recognizer: everything becomes domain)
* corrected   — the open pass corrected to the nearest domain sentence when close enough
* combined    — vitad.asr.correction.choose, the shipped default: the domain LM's text
                when the corrector finds a domain sentence in it, else the open pass,
                corrected when close to a domain sentence, else as heard

"in-domain" counts a clip right when the intent (and the machine number, where one was
said) is the expected one; "out-of-domain" counts it right when the answer is "fallback".
Questions: --set own (written here: near the intents' wording, plus out-of-domain ones),
--set dev / test (bench/corpus/paraphrases.toml; thresholds were tuned on own + dev only).

Usage: python bench/domain_asr.py [--set own|dev|test|all] [--limit N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from vitad.asr import correction
from vitad.asr.correction import DomainCorrector, choose
from vitad.asr.sphinx_engine import SphinxRecognizer
from vitad.audio.format import INTERNAL_RATE, resample
from vitad.config.loader import load_config
from vitad.demo import at_snr
from vitad.dialogue.domain import build_domain
from vitad.dialogue.text import normalize, strip_leading_words
from vitad.pipeline.engines import build_dialogue

REPO = Path(__file__).resolve().parents[1]

# Written for this bench: (question, intent, machine number or None). Not copied anywhere.
OWN = [
    ("what time do you close tonight", "hours", None),
    ("when do you open in the morning", "hours", None),
    ("how much is the big washer", "prices", None),
    ("how much does the dryer cost", "prices", None),
    ("how much is the small washer", "prices", None),
    ("what are your prices", "prices", None),
    ("do you take credit cards", "payment", None),
    ("can i pay with my phone", "payment", None),
    ("where can i buy detergent", "supplies", None),
    ("do you sell fabric softener", "supplies", None),
    ("dryer seven is not heating", "report_problem", 7),
    ("washer three is broken", "report_problem", 3),
    ("dryer two took my coins", "report_problem", 2),
    ("washer five won't start", "report_problem", 5),
    ("the machine is stuck", "report_problem", None),
    ("how do i use the washer", "how_to_use", None),
    ("how do i start the machine", "how_to_use", None),
    ("i left my clothes here yesterday", "lost_and_found", None),
    ("i lost a sock", "lost_and_found", None),
    ("what is your phone number", "contact", None),
    ("can i talk to a person", "contact", None),
    ("hello there", "greeting", None),
    ("thank you very much", "thanks", None),
    ("goodbye", "goodbye", None),
    ("what is the weather tomorrow", "fallback", None),
    ("can you play some music", "fallback", None),
    ("who won the game last night", "fallback", None),
    ("where is the nearest bus stop", "fallback", None),
    ("tell me a joke", "fallback", None),
    ("what is the capital of france", "fallback", None),
]
# Follow-ups: (what was asked before, as text; the follow-up spoken; its expected intent).
FOLLOW_UPS = [
    ("how much is the big washer", "and the dryer", "prices"),
    ("how much is the dryer", "what about the small washer", "prices"),
    ("how much is the small washer", "and the big one", "prices"),
    ("dryer seven is not heating", "and washer three", "report_problem"),
]
SNRS = (10.0, 15.0, 20.0)


@dataclass
class Clip:
    text: str
    intent: str
    number: int | None
    snr: float
    wake_tail: bool
    audio: np.ndarray
    prime: str = ""  # said (as text) in the same session first: the clip is a follow-up



def _with_margin(corrector: DomainCorrector, margin: float, raw: str, dom: str) -> str:
    saved = correction.RESTRICTED_MARGIN
    correction.RESTRICTED_MARGIN = margin
    try:
        return choose(corrector, raw, dom).text
    finally:
        correction.RESTRICTED_MARGIN = saved


def _rate(right: list[tuple[Clip, bool]], select: Callable[[Clip], bool]) -> str:
    hits = [ok for clip, ok in right if select(clip)]
    return f"{sum(hits)}/{len(hits)}" if hits else "-"


def questions(which: str) -> list[tuple[str, str, int | None, str]]:
    items: list[tuple[str, str, int | None, str]] = []
    if which in ("own", "all"):
        items += [(text, intent, number, "") for text, intent, number in OWN]
        items += [(text, intent, None, prime) for prime, text, intent in FOLLOW_UPS]
    if which in ("dev", "test", "all"):
        data = tomllib.loads((REPO / "bench/corpus/paraphrases.toml").read_text())
        items += [(i["text"], i["intent"], i.get("number"), "") for i in data["item"]
                  if which == "all" or i["split"] == which]
    return items


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", default="own", choices=["own", "dev", "test", "all"])
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--show", action="store_true", help="print every clip's texts")
    parser.add_argument("--save", help="write the decoded texts to this JSON file")
    parser.add_argument("--load", help="reuse decoded texts from --save (same --set/--limit)")
    parser.add_argument("--margins", default="", help="also try these RESTRICTED_MARGINs: 5,10")
    args = parser.parse_args()

    from vitad.tts.piper_engine import PiperTts

    config = load_config(None)
    tts = PiperTts(config.tts.model_copy(update={"noise_scale": 0.0, "noise_w": 0.0}),
                   config.base_dir, Path(tempfile.mkdtemp(prefix="domain-bench-")))
    dialogue = build_dialogue(config)
    domain = build_domain(config, dialogue)
    corrector = DomainCorrector(domain.sentences, tokenize=domain.tokenize,
                                number_words=domain.number_words,
                                min_score=config.asr.domain_min_score,
                                max_lead_words=config.asr.domain_max_lead_words)

    def say(text: str) -> np.ndarray:
        voice = np.concatenate([s.samples for s in tts.speak(text)])
        return resample(voice, tts.rate, INTERNAL_RATE)

    pad = np.zeros(int(0.3 * INTERNAL_RATE), np.int16)
    tail = say("Jarvis.")
    items = questions(args.set)
    if args.limit:
        items = items[: args.limit]
    clips = []
    for i, (text, intent, number, prime) in enumerate(items):
        lead = [tail, np.zeros(int(0.15 * INTERNAL_RATE), np.int16)] if i % 3 == 2 else []
        clean = np.concatenate([pad, *lead, say(text), pad, pad])
        clips.append(Clip(text, intent, number, SNRS[i % 3], bool(lead),
                          at_snr(clean, SNRS[i % 3], seed=i), prime))

    rec = SphinxRecognizer()
    start = time.perf_counter()
    rec.set_vocabulary(list(domain.sentences))
    build_s = time.perf_counter() - start
    heard: list[tuple[str, str]] = []
    decode_s = 0.0
    if args.load:
        heard = [tuple(pair) for pair in json.loads(Path(args.load).read_text())]  # type: ignore[misc]
    for clip in clips[len(heard):]:
        stream = rec.start()
        start = time.perf_counter()
        for i in range(0, len(clip.audio), 1280):
            stream.accept(clip.audio[i : i + 1280])
        heard.append((stream.finish(), stream.domain_text or ""))
        decode_s += time.perf_counter() - start
    if args.save:
        Path(args.save).write_text(json.dumps(heard))

    audio_s = sum(len(c.audio) for c in clips) / INTERNAL_RATE

    policies = {
        "plain": lambda raw, dom: raw,
        "restricted": lambda raw, dom: dom,
        "corrected": lambda raw, dom: corrector.correct(raw).text,
        "combined": lambda raw, dom: choose(corrector, raw, dom).text,
    }
    for margin in [float(m) for m in args.margins.split(",") if m]:
        policies[f"margin {margin:g}"] = partial(_with_margin, corrector, margin)
    phrase_words = config.wake.phrase_words
    print(f"{len(clips)} clips ({args.set}), {audio_s:.0f} s of audio, SNR {SNRS} dB, "
          f"every third with the wake tail; domain: {len(domain.sentences)} sentences, "
          f"{len(domain.words)} words; domain decoder built in {build_s:.2f} s; "
          + (f"both decoders RTF {decode_s / audio_s:.3f}\n" if decode_s else "\n"))
    print(f"{'policy':<11} {'in-domain':>10} {'out-of-domain':>14} {'with wake tail':>15} "
          f"{'10 dB':>7} {'15 dB':>7} {'20 dB':>7}")
    for name, policy in policies.items():
        right: list[tuple[Clip, bool]] = []
        for n, (clip, (raw, dom)) in enumerate(zip(clips, heard, strict=True)):
            text = strip_leading_words(normalize(policy(raw, dom)), phrase_words)
            if clip.prime:
                dialogue.respond(clip.prime, session_key=f"{name}-{n}")
            answer = dialogue.respond(text, session_key=f"{name}-{n}")
            ok = answer.intent == clip.intent and (
                clip.number is None or answer.slots.get("machine_number") == clip.number)
            right.append((clip, ok))
            if args.show:
                print(f"  {'ok ' if ok else 'BAD'} {name:<10} {clip.text!r} -> {text!r} "
                      f"({answer.intent})")

        print(f"{name:<11} {_rate(right, lambda c: c.intent != 'fallback'):>10} "
              f"{_rate(right, lambda c: c.intent == 'fallback'):>14} "
              f"{_rate(right, lambda c: c.wake_tail and c.intent != 'fallback'):>15} "
              + " ".join(f"{_rate(right, lambda c, s=s: c.snr == s and c.intent != 'fallback'):>7}"
                         for s in SNRS))
    scores = [corrector.correct(raw).score for raw, _ in heard]
    print(f"\ncorrector score median {statistics.median(scores):.1f}; "
          f"in-domain columns count intent (+ machine number) right")


if __name__ == "__main__":
    main()
