"""Fuzzy intent scoring that survives ASR errors.

rapidfuzz (maintained, C++-fast) provides the string similarity. A question is scored
against every example of every intent; single keywords heard in the question add a bonus,
so "dryer seven not heating" still lands on report_problem even if no example is close.
"""

from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz import fuzz, process

from vitad.dialogue.intents import IntentsFile
from vitad.dialogue.text import normalize

KEYWORD_BONUS = 9.0
KEYWORD_BONUS_CAP = 27.0
KEYWORD_MIN_SIMILARITY = 86.0
PARTIAL_MIN_CHARS = 8
NO_KEYWORD_FACTOR = 0.8


def similarity(query: str, example: str) -> float:
    """0..100: how well the question matches one example.

    Whole-string and word-order-insensitive similarity, plus the example found *inside* a
    longer question ("it sure does what time do you close" — ASR often adds words). The
    reverse (a short question inside a long example) is weak evidence and is not rewarded.
    """
    score = max(fuzz.ratio(query, example), fuzz.token_sort_ratio(query, example))
    if PARTIAL_MIN_CHARS <= len(example) <= len(query):
        coverage = len(example) / len(query)
        score = max(score, fuzz.partial_ratio(example, query) * (0.8 + 0.2 * coverage))
    return score


@dataclass(frozen=True)
class Match:
    intent: str
    score: float


class IntentMatcher:
    def __init__(self, intents: IntentsFile) -> None:
        self._tokenize = intents.tokenize
        self._examples: list[tuple[str, str]] = []
        self._keywords: dict[str, list[str]] = {}
        for name, spec in intents.intents.items():
            if name == "fallback":
                continue
            for example in spec.examples:
                self._examples.append((name, normalize(example, self._tokenize)))
            self._keywords[name] = [normalize(k, self._tokenize) for k in spec.keywords]

    def rank(self, text: str) -> list[Match]:
        """Every intent with its best score (0..100), best first."""
        query = normalize(text, self._tokenize)
        if not query:
            return []
        tokens = query.split()
        best: dict[str, float] = {}
        for name, example in self._examples:
            best[name] = max(best.get(name, 0.0), similarity(query, example))
        for name, keywords in self._keywords.items():
            hits = _hits(keywords, query, tokens)
            if hits:
                best[name] = min(100.0, best.get(name, 0.0) + min(KEYWORD_BONUS * hits,
                                                                  KEYWORD_BONUS_CAP))
            elif keywords:
                # Sharing only the sentence frame ("what is the …") with an example is weak
                # evidence: "what is the capital of France" must not become `contact`.
                best[name] = best.get(name, 0.0) * NO_KEYWORD_FACTOR
        return sorted((Match(n, s) for n, s in best.items()), key=lambda m: -m.score)

    def keyword_hits(self, text: str, intent: str) -> int:
        """How many of ``intent``'s keywords the question contains."""
        query = normalize(text, self._tokenize)
        return _hits(self._keywords.get(intent, []), query, query.split())


def _hits(keywords: list[str], query: str, tokens: list[str]) -> int:
    return sum(
        1
        for kw in keywords
        if kw
        and (
            kw in tokens
            or (len(kw) > 3 and process.extractOne(
                kw, tokens, scorer=fuzz.ratio, score_cutoff=KEYWORD_MIN_SIMILARITY
            ))
            or (" " in kw and kw in query)
        )
    )
