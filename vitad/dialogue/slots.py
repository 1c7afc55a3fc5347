"""Slot extraction: which machine (type, specific model, number) the customer means."""

from __future__ import annotations

import re
from dataclasses import dataclass

from rapidfuzz import fuzz

from vitad.config.schema import Machine, Shop
from vitad.dialogue.intents import IntentsFile
from vitad.dialogue.text import normalize

DISTINCT_WORD_SIMILARITY = 80.0
ALIAS_MIN_SIMILARITY = 82.0  # tolerates 'big water' for 'big washer' (ASR)


@dataclass(frozen=True)
class Slots:
    kind: str | None = None  # "washer" | "dryer"
    machine: Machine | None = None
    number: int | None = None

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {}
        if self.kind:
            out["machine_type"] = self.kind
        if self.machine:
            out["machine"] = self.machine.id
        if self.number is not None:
            out["machine_number"] = self.number
        return out

    @property
    def empty(self) -> bool:
        return self.kind is None and self.machine is None and self.number is None


class SlotExtractor:
    def __init__(self, intents: IntentsFile, shop: Shop) -> None:
        self._tokenize = intents.tokenize
        self._kinds = {
            kind: sorted((normalize(w, intents.tokenize) for w in words), key=len, reverse=True)
            for kind, words in intents.kinds.items()
        }
        self._numbers = {normalize(k, intents.tokenize): v for k, v in intents.numbers.items()}
        self._machines = [
            (m, [normalize(a, intents.tokenize) for a in [m.name, *m.aliases]])
            for m in shop.machines
        ]

    def extract(self, text: str) -> Slots:
        query = normalize(text, self._tokenize)
        kind, kind_pos = self._find_kind(query)
        machine, alias = self._find_machine(query)
        if machine is not None and kind is None:
            kind = machine.kind
        # "the small one" names a machine, not machine number one.
        without_alias = query.replace(alias, " " * len(alias)) if alias else query
        number = self._find_number(without_alias, kind_pos)
        return Slots(kind=kind, machine=machine, number=number)

    def _find_kind(self, query: str) -> tuple[str | None, int]:
        best: tuple[str | None, int] = (None, -1)
        for kind, words in self._kinds.items():
            for word in words:
                m = re.search(rf"(?<!\S){re.escape(word)}(?!\S)", query)
                if m and (best[1] < 0 or m.start() < best[1]):
                    best = (kind, m.start())
        return best

    def _find_machine(self, query: str) -> tuple[Machine | None, str]:
        best: Machine | None = None
        best_alias = ""
        best_score = 0.0
        for machine, aliases in self._machines:
            for alias in aliases:
                if alias in query:
                    score = 100.0 + len(alias)  # prefer the longest exact alias
                else:
                    score = fuzz.partial_ratio(alias, query) if len(alias) > 5 else 0.0
                    if not self._distinguishing_words_heard(alias, query):
                        score = 0.0  # "is a washer" is not the "large washer"
                if score >= ALIAS_MIN_SIMILARITY and score > best_score:
                    best, best_score = machine, score
                    best_alias = alias if alias in query else ""
        return best, best_alias

    def _distinguishing_words_heard(self, alias: str, query: str) -> bool:
        """A fuzzy alias match must still contain the words that set the machine apart.

        ("big" in "big washer"; the kind word itself may be misheard: "big water").
        """
        if self._tokenize == "chars":
            return True
        kind_words = {w for words in self._kinds.values() for phrase in words
                      for w in phrase.split()}
        tokens = query.split()
        return all(
            any(fuzz.ratio(word, tok) >= DISTINCT_WORD_SIMILARITY for tok in tokens)
            for word in alias.split() if word not in kind_words
        )

    def _find_number(self, query: str, kind_pos: int) -> int | None:
        """A number said next to the machine kind ('dryer 7', 'number seven', 'the 3 washer')."""
        if self._tokenize == "chars":
            return self._find_cjk_number(query)
        tokens = query.split()
        values: list[tuple[int, int]] = []  # (token index, value)
        for i, tok in enumerate(tokens):
            if tok.isdigit() and len(tok) <= 3:
                values.append((i, int(tok)))
            elif tok in self._numbers:
                values.append((i, self._numbers[tok]))
        if not values:
            return None
        if kind_pos >= 0:
            kind_index = len(query[:kind_pos].split())
            values.sort(key=lambda iv: abs(iv[0] - kind_index))
        return values[0][1]

    def _find_cjk_number(self, query: str) -> int | None:
        """Digits ('8号'), else the longest number word, so '十二' (12) wins over '十' and '二'."""
        compact = query.replace(" ", "")
        digits = re.search(r"(?<!\d)\d{1,3}(?!\d)", compact)
        if digits:
            return int(digits.group())
        for word in sorted(self._numbers, key=len, reverse=True):
            if word.replace(" ", "") in compact:
                return self._numbers[word]
        return None
