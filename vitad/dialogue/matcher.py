"""Intent scoring that survives ASR errors and phrasings nobody wrote down.

Two views of a question are combined:

* fuzzy: rapidfuzz (maintained, C++-fast) similarity to every example of every intent, plus
  a bonus per keyword heard, so "dryer seven not heating" lands on report_problem even if no
  example is close, and "what time do you clothes" still matches its example;
* learned: a TF-IDF classifier (:mod:`vitad.dialogue.classifier`) trained at load time on the
  examples and keywords, with machine names masked, so "is the big dryer expensive" counts
  the evidence of "expensive" and "how much is the machine" without an example saying it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from vitad.dialogue.classifier import TfidfClassifier
from vitad.dialogue.intents import IntentsFile
from vitad.dialogue.text import normalize

KEYWORD_BONUS = 9.0
KEYWORD_BONUS_CAP = 27.0
KEYWORD_MIN_SIMILARITY = 86.0
PARTIAL_MIN_CHARS = 8
NO_KEYWORD_FACTOR = 0.8
# The classifier's 0..1 cosine is scaled to 0..100 by LEARNED_SCALE and mixed with the fuzzy
# score by the intents file's learned_weight (tuned on the dev split of
# bench/corpus/paraphrases.toml).
LEARNED_SCALE = 160.0
# Both views naming the same intent is worth more than either alone.
AGREEMENT_BONUS = 10.0
AGREEMENT_MIN_FUZZY = 55.0  # ... when the fuzzy view has found something at all


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
    # Both views (fuzzy and learned) put this intent first (it got AGREEMENT_BONUS).
    agreed: bool = True


class IntentMatcher:
    def __init__(self, intents: IntentsFile,
                 mask: Callable[[str], str] | None = None) -> None:
        self._tokenize = intents.tokenize
        self._mask = mask or (lambda text: normalize(text, intents.tokenize))
        self._weight = intents.learned_weight
        self._examples: list[tuple[str, str]] = []
        self._keywords: dict[str, list[str]] = {}
        for name, spec in intents.intents.items():
            if name == "fallback":
                continue
            for example in spec.examples:
                self._examples.append((name, normalize(example, self._tokenize)))
            self._keywords[name] = [normalize(k, self._tokenize) for k in spec.keywords]
        docs = [(name, self._mask(text)) for name, spec in intents.intents.items()
                if name != "fallback" for text in spec.examples + spec.keywords]
        self._classifier = TfidfClassifier(docs, intents.tokenize)

    def rank(self, text: str) -> list[Match]:
        """Every intent with its combined score (0..100), best first."""
        fuzzy = self.fuzzy_rank(text)
        if not fuzzy:
            return []
        learned = self._classifier.scores(self._mask(text))
        agreed = fuzzy[0].intent if (fuzzy[0].intent == max(learned, key=learned.__getitem__)
                                     and fuzzy[0].score >= AGREEMENT_MIN_FUZZY) else None
        combined = [
            Match(m.intent, min(100.0, (1 - self._weight) * m.score
                                + self._weight * LEARNED_SCALE * learned.get(m.intent, 0.0)
                                + (AGREEMENT_BONUS if m.intent == agreed else 0.0)),
                  agreed=m.intent == agreed)
            for m in fuzzy
        ]
        return sorted(combined, key=lambda m: -m.score)

    def fuzzy_rank(self, text: str) -> list[Match]:
        """Every intent with its fuzzy + keyword score (0..100), best first."""
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
