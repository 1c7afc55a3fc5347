"""Intent scoring that survives ASR errors and phrasings nobody wrote down.

Two views of a question are combined:

* fuzzy: rapidfuzz (maintained, C++-fast) similarity to every example of every intent, plus
  a bonus per keyword heard, so "dryer seven not heating" lands on report_problem even if no
  example is close, and "what time do you clothes" still matches its example;
* learned: a TF-IDF classifier (:mod:`vitad.dialogue.classifier`) trained at load time on the
  examples and keywords, with machine names masked, so "is the big dryer expensive" counts
  the evidence of "expensive" and "how much is the machine" without an example saying it.

Both views read the question, the examples and the keywords through the intents file's
lexicon (:mod:`vitad.dialogue.lexicon`): synonyms and contractions spelled one way, words
compared by their stems. An intent is only a candidate when the question says something it
knows: at least one word that is not a function word is one of the intent's words (or its
near-spelling, for ASR slips), else its score is capped below any answer — a question that
shares only its sentence frame with an example ("how old are you") is out of the domain.
How much of the question an intent knows (its evidence share, words weighted by how
specific they are) also moves its score; a social intent (hello, thanks, bye) must know at
least half of it, and an intent that another knows clearly more of is confirmed, never
answered unasked. The file's ``fallback`` examples (off-topic questions) compete like an
intent, so "can you call me a taxi" is not the contact answer.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from vitad.dialogue.classifier import TfidfClassifier
from vitad.dialogue.intents import IntentsFile
from vitad.dialogue.lexicon import Lexicon
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
# The score of an intent none of whose words the question contains (below any min_score
# worth using: it is "could you say that again", never an answer or a confirmation).
NO_EVIDENCE_CAP = 45.0
# A question word this alike to one of an intent's words is that word misheard/misspelt.
EVIDENCE_MIN_SIMILARITY = 86.0
EVIDENCE_FUZZY_MIN_CHARS = 5
# The share of the question's words an intent knows moves its score by up to this much
# around EVIDENCE_PIVOT (tuned on the dev split).
EVIDENCE_WEIGHT = 20.0
EVIDENCE_PIVOT = 0.5
# A social intent (hello, thanks, bye: answered without confirmation) must be most of what
# was said: "can i do a wash at six in the morning" is not a greeting.
SOCIAL_MIN_SHARE = 0.5
# An intent whose share of the question's words is this much below another's is confirmed,
# not answered, however well its examples match ("what movies are playing tonight").
OUTWEIGHED_SHARE = 0.3
# What the slot mask writes for machine names and numbers: the domain, not one intent.
MASK_WORDS = frozenset(("machine", "num"))


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
    # Another intent knows clearly more of the question's words: never answered unasked.
    outweighed: bool = False


@dataclass(frozen=True)
class Evidence:
    share: float  # of all the question's content (0..1)
    known_share: float  # of the part of it that some intent knows (0..1)


NO_EVIDENCE = Evidence(0.0, 0.0)


class IntentMatcher:
    def __init__(self, intents: IntentsFile,
                 mask: Callable[[str], str] | None = None) -> None:
        self._tokenize = intents.tokenize
        self._lexicon = Lexicon(intents)
        self._mask = mask or (lambda text: normalize(text, intents.tokenize))
        self._weight = intents.learned_weight
        self._gate = bool(self._lexicon.stop_words)
        self._social = {name for name, spec in intents.intents.items()
                        if not spec.ask_when_unsure}
        self._examples: list[tuple[str, str]] = []
        self._keywords: dict[str, list[str]] = {}
        # Per intent: stems of its words, and its multi-word keywords (phrases).
        self._vocabulary: dict[str, set[str]] = {}
        self._phrases: dict[str, list[str]] = {}
        canon = self._lexicon.canonical
        # "fallback" takes part like any intent when the file gives it examples or keywords
        # (questions off the shop's topic): the engine never answers it, and an intent only
        # just ahead of it is confirmed, not answered.
        docs: list[tuple[str, str]] = []  # (intent, masked canonical text) to learn from
        for name, spec in intents.intents.items():
            masked = [canon(self._mask(text)) for text in spec.examples]
            docs += [(name, text) for text in masked]
            docs += [(name, canon(self._mask(text))) for text in spec.keywords]
            for example in spec.examples:
                self._examples.append((name, canon(example)))
            self._keywords[name] = sorted({canon(k) for k in spec.keywords} - {""})
            words = {s for text in masked for s in self._lexicon.content_stems(text)}
            words |= {self._lexicon.stem(k) for k in self._keywords[name] if " " not in k}
            self._vocabulary[name] = words - MASK_WORDS
            # Read like the question they are looked for in: masked ("have a good one" →
            # "have a good num", as the question is), else a phrase with a number word or
            # a machine name in it could never be heard.
            self._phrases[name] = sorted({canon(self._mask(k)) for k in spec.keywords
                                          if " " in canon(k)} - {""})
        self._all_words = sorted(set().union(*self._vocabulary.values()))
        self._classifier = TfidfClassifier(docs, intents.tokenize, stem=self._lexicon.stem)

    def rank(self, text: str) -> list[Match]:
        """Every intent with its combined score (0..100), best first."""
        fuzzy = self.fuzzy_rank(text)
        if not fuzzy:
            return []
        masked = self._lexicon.canonical(self._mask(text))
        learned = self._classifier.scores(masked)
        agreed = fuzzy[0].intent if (fuzzy[0].intent == max(learned, key=learned.__getitem__)
                                     and fuzzy[0].score >= AGREEMENT_MIN_FUZZY) else None
        evidence = self.evidence(masked) if self._gate else None
        combined = []
        for m in fuzzy:
            score = min(100.0, (1 - self._weight) * m.score
                        + self._weight * LEARNED_SCALE * learned.get(m.intent, 0.0)
                        + (AGREEMENT_BONUS if m.intent == agreed else 0.0))
            outweighed = False
            if evidence is not None:
                score, outweighed = self._weigh(m.intent, score, evidence)
            combined.append(Match(m.intent, score, agreed=m.intent == agreed,
                                  outweighed=outweighed))
        return sorted(combined, key=lambda m: -m.score)

    def _weigh(self, intent: str, score: float,
               evidence: dict[str, Evidence]) -> tuple[float, bool]:
        """(score moved by the intent's evidence, outweighed by another intent's)."""
        ev = evidence.get(intent, NO_EVIDENCE)
        outweighed = max(e.share for e in evidence.values()) - ev.share >= OUTWEIGHED_SHARE
        if ev.share <= 0 or (intent in self._social and ev.known_share < SOCIAL_MIN_SHARE):
            return min(score, NO_EVIDENCE_CAP), outweighed
        return min(100.0, score + EVIDENCE_WEIGHT * (ev.share - EVIDENCE_PIVOT)), outweighed

    def evidence(self, canonical_text: str) -> dict[str, Evidence]:
        """Intent → how much of the question's content (words, keyword phrases) it knows.

        Each word counts by how specific it is (a word only one intent knows counts more
        than one that five intents know); a keyword phrase heard counts as one specific word.
        """
        stems = [s for s in self._lexicon.content_stems(canonical_text) if s not in MASK_WORDS]
        # Each word with the domain's words it may be (itself, or a near-spelling for ASR).
        alike = [self._alike(s) for s in stems]
        known = {name: [not words.isdisjoint(a) for a in alike]
                 for name, words in self._vocabulary.items()}
        n = len(self._vocabulary)
        top = math.log(1 + n)
        weights = []
        domain = 0.0  # the weight of the words some intent knows
        for i in range(len(stems)):
            df = sum(1 for flags in known.values() if flags[i])
            weights.append(math.log(1 + n / max(df, 1)))
            domain += weights[-1] if df else 0.0
        padded = f" {canonical_text} "
        heard = {name: sum(1 for p in self._phrases[name] if f" {p} " in padded)
                 for name in known}
        phrases = top * sum(heard.values())
        total, domain = sum(weights) + phrases, domain + phrases
        result: dict[str, Evidence] = {}
        for name, flags in known.items():
            got = sum(w for w, f in zip(weights, flags, strict=True) if f) + heard[name] * top
            result[name] = Evidence(got / total if total else 0.0,
                                    got / domain if domain else 0.0)
        return result

    def _alike(self, stem: str) -> set[str]:
        if len(stem) < EVIDENCE_FUZZY_MIN_CHARS:
            return {stem}
        return {stem} | {w for w, _, _ in process.extract(
            stem, self._all_words, scorer=fuzz.ratio, score_cutoff=EVIDENCE_MIN_SIMILARITY,
            limit=None)}

    def fuzzy_rank(self, text: str) -> list[Match]:
        """Every intent with its fuzzy + keyword score (0..100), best first."""
        query = self._lexicon.canonical(text)
        if not query:
            return []
        tokens = query.split()
        best: dict[str, float] = {}
        for name, example in self._examples:
            best[name] = max(best.get(name, 0.0), similarity(query, example))
        for name, keywords in self._keywords.items():
            hits = self._hits(keywords, query, tokens)
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
        query = self._lexicon.canonical(text)
        return self._hits(self._keywords.get(intent, []), query, query.split())

    def _hits(self, keywords: list[str], query: str, tokens: list[str]) -> int:
        stems = {self._lexicon.stem(t) for t in tokens}
        return sum(
            1
            for kw in keywords
            if kw
            and (
                kw in tokens
                or (" " not in kw and self._lexicon.stem(kw) in stems)
                or (len(kw) > 3 and process.extractOne(
                    kw, tokens, scorer=fuzz.ratio, score_cutoff=KEYWORD_MIN_SIMILARITY
                ))
                or (" " in kw and f" {kw} " in f" {query} ")
            )
        )
