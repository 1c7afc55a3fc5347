"""The shop's domain as sentences: what customers are likely to say, for the recognizers.

A small streaming recognizer (Vosk small on a Pi, PocketSphinx) gets a narrow domain right
when it knows the sentences of that domain (the idea of rhasspy's wyoming-vosk): they
restrict its grammar or language model, and a transcript close to one of them is corrected
to it (vitad/asr/correction.py).

The sentences are generated, never written by hand: every intent example, and — for the
intents whose answers depend on the machine (their file has ``reply_kind``/``reply_machine``/
``reply_number`` or ``follow_up``) — the same example with the machine it names replaced by
every way the shop's machines can be named (``[kinds]`` words, each machine's name and
aliases from ``[shop]``), and a machine number replaced by every real machine number of that
kind, spoken as a word from ``[numbers]``. "dryer seven is not heating" becomes "dryer one is
not heating" … "dryer ten is not heating" and "washer one …" … "washer nine …" for the
shipped shop. Follow-ups ("and the dryer") are added from ``follow_up_words``.

The set is rebuilt from the intents file and ``[shop]`` on every load and reload, so a new
machine, alias or machine number is heard at once. Order is deterministic (examples first,
then expansions round-robin over the examples, so a cap cuts evenly) and the size is capped.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass
from itertools import zip_longest
from typing import TYPE_CHECKING

from vitad.config.schema import Config, Shop
from vitad.dialogue.intents import IntentsFile, IntentSpec
from vitad.dialogue.text import normalize

if TYPE_CHECKING:
    from vitad.dialogue.engine import Dialogue

log = logging.getLogger(__name__)

# Bounded so a large shop cannot make a grammar (or the corrector's search) explode. The
# shipped config gives ~900; a Vosk grammar of a few thousand phrases still compiles fast.
DEFAULT_MAX_SENTENCES = 3000

_REF, _NUM = "ref", "num"


@dataclass(frozen=True)
class Domain:
    """The domain's sentences and words, normalized (lower case, no punctuation).

    ``sentences`` are written the way the language writes them (Chinese without spaces);
    ``tokens(sentence)`` splits them the way the matcher does (words, or characters).
    """

    language: str
    tokenize: str
    sentences: tuple[str, ...]
    words: tuple[str, ...]
    number_words: frozenset[str]
    dropped: int = 0  # sentences left out by the cap

    def tokens(self, text: str) -> list[str]:
        return normalize(text, self.tokenize).split()


def build_domain(config: Config, dialogue: Dialogue) -> Domain:
    """The domain of a loaded dialogue (call it at start and on every reload)."""
    return domain_sentences(dialogue.intents, config.shop, config.asr.domain_max_sentences)


def domain_sentences(intents: IntentsFile, shop: Shop,
                     max_sentences: int = DEFAULT_MAX_SENTENCES) -> Domain:
    """Generate the domain of an intents file over a shop's machines (see the module doc)."""
    vocab = _Vocabulary(intents, shop)
    examples: list[str] = []
    expansions: list[list[str]] = []
    for spec in _shop_intents(intents):
        machine_aware = _machine_aware(spec)
        for example in spec.examples:
            text = normalize(example)
            if not text:
                continue
            examples.append(text)
            expansions.append(vocab.expand(text) if machine_aware else [])
    # Follow-ups stay in the set a recognizer is restricted to: without them, bench/domain_asr.py
    # got 78 instead of 79 of 179 questions right and lost "and the dryer" in noise.
    expansions.append(vocab.follow_ups(examples))
    ordered = _dedupe([*examples, *_round_robin(expansions)])
    dropped = max(0, len(ordered) - max_sentences)
    if dropped:
        log.warning("domain: %d sentences, keeping the first %d (asr.domain_max_sentences)",
                    len(ordered), max_sentences)
        ordered = ordered[:max_sentences]
    words = {tok for s in ordered for tok in normalize(s, intents.tokenize).split()}
    for spec in _shop_intents(intents):
        for keyword in spec.keywords:
            words.update(normalize(keyword, intents.tokenize).split())
    return Domain(intents.language, intents.tokenize, tuple(ordered), tuple(sorted(words)),
                  vocab.number_tokens, dropped)


def _shop_intents(intents: IntentsFile) -> list[IntentSpec]:
    """Every intent but the fallback: its examples are off-topic questions, which the
    recognizers must not be pulled towards (out-of-domain speech stays as heard)."""
    return [spec for name, spec in intents.intents.items() if name != "fallback"]


def _machine_aware(spec: IntentSpec) -> bool:
    """Intents whose answer depends on which machine was named: only these are expanded
    ("do you have dryer sheets" is not about a dryer)."""
    return bool(spec.follow_up or spec.reply_kind or spec.reply_machine or spec.reply_number)


class _Vocabulary:
    """The ways to name a machine and its number, and how to find them in a sentence."""

    def __init__(self, intents: IntentsFile, shop: Shop) -> None:
        self.chars = intents.tokenize == "chars"
        self.joiner = "" if self.chars else " "
        # kind -> its words; the order is the file's, so the output is deterministic.
        self.kind_words = {
            kind: _dedupe([normalize(w) for w in words if normalize(w)])
            for kind, words in intents.kinds.items()
        }
        self.machine_words = _dedupe([
            normalize(w) for m in shop.machines for w in (m.name, *m.aliases) if normalize(w)
        ])
        self.refs = _dedupe([w for words in self.kind_words.values() for w in words]
                            + self.machine_words)
        # A number as said: the first word the file gives for it ("two", not "两"), else digits.
        self.spoken: dict[int, str] = {}
        for word, value in intents.numbers.items():
            self.spoken.setdefault(value, normalize(word))
        self.numbers_of_kind: dict[str, list[int]] = {}
        for m in shop.machines:
            self.numbers_of_kind.setdefault(m.kind, [])
            self.numbers_of_kind[m.kind] = sorted({*self.numbers_of_kind[m.kind], *m.numbers})
        self.follow_up_words = _dedupe([normalize(w) for w in intents.follow_up_words
                                        if normalize(w)])
        self.all_numbers = sorted({n for m in shop.machines for n in m.numbers})
        number_words = [normalize(w) for w in intents.numbers if normalize(w)]
        self.number_tokens = frozenset(
            tok for w in number_words for tok in normalize(w, intents.tokenize).split()
        )
        # Longest first, so "washing machine" wins over "machine" and "十二" over "十".
        self._phrases = sorted(
            [(w, _REF) for w in self.refs] + [(w, _NUM) for w in number_words],
            key=lambda p: -len(p[0]),
        )

    def say(self, number: int) -> str:
        return self.spoken.get(number, str(number))

    def parse(self, text: str) -> list[tuple[str, str]]:
        """Split a sentence into (kind, text) parts: literal text, machine refs, numbers."""
        taken: list[tuple[int, int, str]] = []
        for phrase, kind in self._phrases:
            pattern = re.escape(phrase) if self.chars else rf"(?<!\S){re.escape(phrase)}(?!\S)"
            for m in re.finditer(pattern, text):
                if all(m.end() <= s or m.start() >= e for s, e, _ in taken):
                    taken.append((m.start(), m.end(), kind))
        if not self.chars:
            for m in re.finditer(r"(?<!\S)\d{1,3}(?!\S)", text):
                if all(m.end() <= s or m.start() >= e for s, e, _ in taken):
                    taken.append((m.start(), m.end(), _NUM))
        parts: list[tuple[str, str]] = []
        pos = 0
        for start, end, kind in sorted(taken):
            if start > pos:
                parts.append(("text", text[pos:start]))
            parts.append((kind, text[start:end]))
            pos = end
        if pos < len(text):
            parts.append(("text", text[pos:]))
        return parts

    def expand(self, text: str) -> list[str]:
        """Variants of one example: every machine name for the one it names, every real
        number of that kind for the number it says."""
        parts = self.parse(text)
        kinds = {k for k, _ in parts}
        if _REF in kinds and _NUM in kinds:
            # "dryer seven": the kind's first word ("dryer", not "driers") with each of its
            # real numbers.
            fills = [(words[0], self.say(n)) for kind, words in self.kind_words.items()
                     if words for n in self.numbers_of_kind.get(kind, [])]
        elif _REF in kinds:
            fills = [(ref, "") for ref in self.refs]
        elif _NUM in kinds and not self.chars:
            # Without a machine word a number is only a machine number in a spaced language
            # ("machine number three"); in Chinese "洗一次" is "wash once".
            fills = [("", self.say(n)) for n in self.all_numbers]
        else:
            return []
        out = []
        for ref, number in fills:
            filled = [ref if k == _REF else number if k == _NUM else t for k, t in parts]
            out.append(" ".join("".join(filled).split()))
        return out

    def follow_ups(self, examples: list[str]) -> list[str]:
        """'and the dryer', 'what about the big washer': a bare machine after a follow-up
        word, with and without the word the examples most often put before a machine."""
        lead = self._usual_determiner(examples)
        out = []
        for word in self.follow_up_words:
            for ref in self.refs:
                out.append(self.joiner.join([word, ref]))
                if lead:
                    out.append(self.joiner.join([word, lead, ref]))
        return out

    def _usual_determiner(self, examples: list[str]) -> str:
        if self.chars:
            return ""
        before: Counter[str] = Counter()
        for text in examples:
            parts = self.parse(text)
            for i, (kind, _) in enumerate(parts):
                if kind == _REF and i > 0 and parts[i - 1][0] == "text":
                    words = parts[i - 1][1].split()
                    if words:
                        before[words[-1]] += 1
        return before.most_common(1)[0][0] if before else ""


def _round_robin(lists: list[list[str]]) -> list[str]:
    return [item for group in zip_longest(*lists) for item in group if item is not None]


def _dedupe(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))
