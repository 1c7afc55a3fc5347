"""Slot extraction: which machine (type, specific model, number) the customer means.

Speech recognisers mishear exactly these words, so a kind is also found through the intents
file's ``[heard_as]`` sound-alikes ("briar", "dry er" → dryer) and by fuzzy spelling
("dryar"); a machine number through ``[number_sounds]`` homophones ("dryer for" → 4), which
only count right after a machine word and not before an object ("the washer ate my money").
When only one kind of machine on the floor has the number said ("number 10"), the kind
follows from it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rapidfuzz import fuzz

from vitad.config.schema import Machine, Shop
from vitad.dialogue.intents import IntentsFile
from vitad.dialogue.text import normalize

DISTINCT_WORD_SIMILARITY = 80.0
ALIAS_MIN_SIMILARITY = 82.0  # tolerates 'big water' for 'big washer' (ASR)
KIND_MIN_SIMILARITY = 84.0  # 'dryar', 'washa' — but not 'washed' (83)
KIND_FUZZY_MIN_CHARS = 5
# Words that introduce a machine number: "number 7", "machine 3", "no. 5".
NUMBER_CUES = ("number", "machine", "no", "num", "nr")
# How many words from the machine word an uncued number may be ("the third big dryer").
MAX_NUMBER_DISTANCE = 2
# After "washer ate" / "dryer for" these words make the homophone a verb or preposition.
OBJECT_WORDS = frozenset((
    "my", "the", "a", "an", "me", "it", "you", "your", "us", "all", "some", "this", "that",
    "these", "those", "our", "his", "her", "their", "him", "them", "i", "we", "he", "she",
    "they", "minutes", "minute", "use", "wash", "dry", "free",
))


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


def _singular(query: str) -> str:
    """'big washers' → 'big washer' so aliases match plurals (English only; harmless else)."""
    return " ".join(t[:-1] if len(t) > 3 and t.endswith("s") and not t.endswith("ss") else t
                    for t in query.split())


class SlotExtractor:
    def __init__(self, intents: IntentsFile, shop: Shop) -> None:
        self._tokenize = intents.tokenize
        norm = self._norm
        self._kinds = {
            kind: sorted({norm(w) for w in words}, key=len, reverse=True)
            for kind, words in intents.kinds.items()
        }
        self._heard_as = {
            kind: sorted({norm(w) for w in words}, key=len, reverse=True)
            for kind, words in intents.heard_as.items()
        }
        self._numbers = {norm(k): v for k, v in intents.numbers.items()}
        self._number_sounds = {norm(k): v for k, v in intents.number_sounds.items()}
        self._machines = [(m, [norm(a) for a in [m.name, *m.aliases]]) for m in shop.machines]
        self._kinds_by_number: dict[int, set[str]] = {}
        for m in shop.machines:
            for n in m.numbers:
                self._kinds_by_number.setdefault(n, set()).add(m.kind)
        self._all_kind_words = {w for words in self._kinds.values() for phrase in words
                                for w in phrase.split()}
        # Machine names and kind words, longest first, as one pattern (mask() runs for every
        # example at load time).
        phrases = sorted({a for _, aliases in self._machines for a in aliases if a}
                         | {w for words in self._kinds.values() for w in words if w}, key=len,
                         reverse=True)
        self._mask_pattern = (re.compile(
            r"(?<!\S)(?:" + "|".join(re.escape(p) for p in phrases) + r")(?!\S)")
            if phrases else None)

    def _norm(self, text: str) -> str:
        return normalize(text, self._tokenize)

    def extract(self, text: str) -> Slots:
        query = self._norm(text)
        kind, kind_pos, kind_end = self._find_kind(query)
        machine, alias = self._find_machine(query)
        if machine is not None and kind is None:
            kind = machine.kind
        # "the small one" names a machine, not machine number one (its words become "_", so
        # word positions stay those of the query).
        without_alias = query
        if alias and self._tokenize != "chars":
            without_alias = re.sub(rf"(?<!\S){re.escape(alias)}(?!\S)",
                                   " ".join("_" * len(w) for w in alias.split()), query)
        elif alias:
            without_alias = query.replace(alias, " " * len(alias))
        number, cued = self._find_number(without_alias, kind_pos, kind_end)
        if kind is None and number is not None and cued:
            kinds = self._kinds_by_number.get(number, set())
            if len(kinds) == 1:
                kind = next(iter(kinds))
        return Slots(kind=kind, machine=machine, number=number)

    def mask(self, text: str) -> str:
        """The question with machine names and kinds said as 'machine', numbers as 'num'.

        The classifier learns "how much is the machine" once instead of once per machine.
        """
        query = self._norm(text)
        if self._tokenize == "chars":
            return query
        if self._mask_pattern is not None:
            # Repeated, so a name that a replacement completes is masked too ("the big
            # washing machine" → "the big machine" → "the machine").
            for _ in range(3):
                masked = self._mask_pattern.sub("machine", query)
                if masked == query:
                    break
                query = masked
        return " ".join("num" if (t.isdigit() or t in self._numbers) else t
                        for t in query.split())

    # -- kind -------------------------------------------------------------------------

    def _find_kind(self, query: str) -> tuple[str | None, int, int]:
        """(kind, start, end) of the first kind word said; sound-alikes and near-spellings."""
        best: tuple[str | None, int, int] = (None, -1, -1)
        for table in (self._kinds, self._heard_as):
            for kind, words in table.items():
                for word in words:
                    m = re.search(rf"(?<!\S){re.escape(word)}(?!\S)", query)
                    if m and (best[1] < 0 or m.start() < best[1]):
                        best = (kind, m.start(), m.end())
            if best[0] is not None:
                return best
        if self._tokenize == "chars":
            return best
        pos = 0
        for token in query.split():
            start = query.index(token, pos)
            pos = start + len(token)
            if len(token) < KIND_FUZZY_MIN_CHARS:
                continue
            for kind, words in self._kinds.items():
                if any(" " not in w and fuzz.ratio(token, w) >= KIND_MIN_SIMILARITY
                       for w in words):
                    return kind, start, pos
        return best

    # -- machine ----------------------------------------------------------------------

    def _find_machine(self, query: str) -> tuple[Machine | None, str]:
        best: Machine | None = None
        best_alias = ""
        best_score = 0.0
        singular = _singular(query)
        for machine, aliases in self._machines:
            for alias in aliases:
                exact = self._contains(query, alias) or self._contains(singular, alias)
                if exact:
                    score = 100.0 + len(alias)  # prefer the longest exact alias
                else:
                    score = fuzz.partial_ratio(alias, query) if len(alias) > 5 else 0.0
                    if not self._distinguishing_words_heard(alias, query):
                        score = 0.0  # "is a washer" is not the "large washer"
                if score >= ALIAS_MIN_SIMILARITY and score > best_score:
                    best, best_score = machine, score
                    best_alias = alias if alias in query else ""
        return best, best_alias

    def _contains(self, query: str, phrase: str) -> bool:
        if self._tokenize == "chars":
            return phrase in query
        return re.search(rf"(?<!\S){re.escape(phrase)}(?!\S)", query) is not None

    def _distinguishing_words_heard(self, alias: str, query: str) -> bool:
        """A fuzzy alias match must still contain the words that set the machine apart.

        ("big" in "big washer"; the kind word itself may be misheard: "big water").
        """
        if self._tokenize == "chars":
            return True
        tokens = query.split()
        return all(
            any(fuzz.ratio(word, tok) >= DISTINCT_WORD_SIMILARITY for tok in tokens)
            for word in alias.split() if word not in self._all_kind_words
        )

    # -- number -----------------------------------------------------------------------

    def _find_number(self, query: str, kind_pos: int, kind_end: int) -> tuple[int | None, bool]:
        """A number said next to the machine kind ('dryer 7', 'number seven', 'the 3 washer').

        Returns (number, cued): cued when "number"/"machine" or the kind word introduced it.
        """
        if self._tokenize == "chars":
            return self._find_cjk_number(query), True
        tokens = query.split()
        kind_index = len(query[:kind_pos].split()) if kind_pos >= 0 else -1
        after_kind = len(query[:kind_end].split()) if kind_end >= 0 else -1
        values: list[tuple[int, int, bool]] = []  # (token index, value, cued)
        for i, tok in enumerate(tokens):
            cued = i > 0 and (tokens[i - 1] in NUMBER_CUES or i == after_kind)
            if tok.isdigit() and len(tok) <= 3:
                values.append((i, int(tok), cued or i == 0))
            elif tok in self._numbers:
                values.append((i, self._numbers[tok], cued or i == 0))
            elif tok in self._number_sounds and cued and (
                i + 1 >= len(tokens) or not (tokens[i + 1] in OBJECT_WORDS  # "ate my money"
                                             or tokens[i + 1].isdigit()  # "for 10 minutes"
                                             or tokens[i + 1] in self._numbers)
            ):
                values.append((i, self._number_sounds[tok], True))
        if kind_index >= 0:
            # With a machine word said, an uncued number far from it is not its number:
            # "what's the first step for the washer", "i put two loads in the washer".
            values = [v for v in values if v[2] or min(abs(v[0] - kind_index),
                                                       abs(v[0] - after_kind))
                      <= MAX_NUMBER_DISTANCE]
        if not values:
            return None, False
        if kind_index >= 0:
            values.sort(key=lambda v: abs(v[0] - kind_index))
        return values[0][1], values[0][2]

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
