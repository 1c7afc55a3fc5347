"""A tiny text classifier trained at load time on the intents file (numpy only).

Why hand-written: scikit-learn would do the same in three lines, but importing it (with
scipy) costs ~40 MiB of RSS and ~1 s on a Pi for a job that is 80 lines of numpy here; a
sentence-embedding model would cost far more (the ONNX MiniLM family is 20-90 MB on disk and
~100 MiB resident, and none on PyPI ships its weights inside the wheel for offline use).

Each training sentence (examples + keywords of each intent) becomes a TF-IDF vector of word
unigrams, word bigrams and character n-grams inside words; the character n-grams let
"expense", "expensive" and "expensively" share evidence, and tolerate ASR misspellings.
A question's score for an intent mixes its cosine to the nearest training sentence of that
intent with its cosine to the intent's centroid (the intent's whole vocabulary), so a question
that shares one strong word with an intent ("is it dear") and one that paraphrases a whole
example both score. Training takes a few milliseconds, even on a Pi.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Callable

import numpy as np

CHAR_NGRAMS = (3, 4, 5)
CHAR_MIN_WORD = 4
NEAREST_WEIGHT = 0.6  # the rest is the centroid cosine


def features(text: str, tokenize: str = "words",
             stem: Callable[[str], str] | None = None) -> Counter[str]:
    """Sparse features of normalized text (already lower-case, space-separated).

    With ``stem``, each word also counts by its stem ("used", "using" → "use").
    """
    tokens = text.split()
    feats: Counter[str] = Counter()
    if tokenize == "chars":
        joined = "".join(tokens)
        for n in (1, 2, 3):
            feats.update(f"c{n}:{joined[i:i + n]}" for i in range(len(joined) - n + 1))
        return feats
    feats.update(f"w:{t}" for t in tokens)
    if stem is not None:
        feats.update(f"s:{stem(t)}" for t in tokens)
    feats.update(f"b:{a} {b}" for a, b in itertools.pairwise(tokens))
    for t in tokens:
        if len(t) < CHAR_MIN_WORD:
            continue  # "the", "is", "you": function words are not evidence of a topic
        padded = f"<{t}>"
        for n in CHAR_NGRAMS:
            feats.update(f"c:{padded[i:i + n]}" for i in range(len(padded) - n + 1))
    return feats


class TfidfClassifier:
    """Nearest-sentence + centroid cosine over TF-IDF features; scores in 0..1 per label."""

    def __init__(self, docs: list[tuple[str, str]], tokenize: str = "words",
                 stem: Callable[[str], str] | None = None) -> None:
        self._tokenize = tokenize
        self._stem = stem
        self.labels = sorted({label for label, _ in docs})
        counted = [(label, features(text, tokenize, stem)) for label, text in docs]
        counted = [(label, f) for label, f in counted if f]
        df: Counter[str] = Counter()
        for _, feats in counted:
            df.update(feats.keys())
        self._index = {f: i for i, f in enumerate(sorted(df))}
        n = len(counted)
        self._idf = np.array([math.log((1 + n) / (1 + df[f])) + 1.0 for f in sorted(df)],
                             dtype=np.float32)
        self._doc_label = np.array([self.labels.index(label) for label, _ in counted], dtype=int)
        # Sentences are stored sparse, by feature (an inverted index: for each feature, the
        # sentences that have it and their weights): a dense sentences x features matrix of
        # the shipped file is ~11 MiB and rebuilt on every reload, this is well under 1 MiB.
        centroids = np.zeros((len(self.labels), len(self._index)), dtype=np.float32)
        postings: list[list[tuple[int, float]]] = [[] for _ in self._index]
        for doc, (_, feats) in enumerate(counted):
            for i, weight in self._weights(feats).items():
                postings[i].append((doc, weight))
                centroids[self._doc_label[doc], i] += weight
        self._indptr = np.cumsum([0] + [len(p) for p in postings])
        self._docs = np.array([d for p in postings for d, _ in p], dtype=np.int32)
        self._values = np.array([w for p in postings for _, w in p], dtype=np.float32)
        norms = np.linalg.norm(centroids, axis=1, keepdims=True)
        self._centroids = centroids / np.maximum(norms, 1e-9)

    def _weights(self, feats: Counter[str]) -> dict[int, float]:
        """Feature index → L2-normalized TF-IDF weight (features unknown to training drop)."""
        raw = {i: (1.0 + math.log(count)) * float(self._idf[i])
               for f, count in feats.items() if (i := self._index.get(f)) is not None}
        norm = math.sqrt(sum(w * w for w in raw.values()))
        return {i: w / norm for i, w in raw.items()} if norm > 0 else {}

    def scores(self, text: str) -> dict[str, float]:
        """label → 0..1 (0 when the question shares no feature with the label's sentences)."""
        query = self._weights(features(text, self._tokenize, self._stem))
        if not query or not len(self._doc_label):
            return {label: 0.0 for label in self.labels}
        sims = np.zeros(len(self._doc_label), dtype=np.float32)
        for i, weight in query.items():
            lo, hi = self._indptr[i], self._indptr[i + 1]
            sims[self._docs[lo:hi]] += self._values[lo:hi] * weight
        nearest = np.zeros(len(self.labels), dtype=np.float32)
        np.maximum.at(nearest, self._doc_label, sims)
        cols = np.fromiter(query.keys(), dtype=np.int64, count=len(query))
        central = self._centroids[:, cols] @ np.fromiter(query.values(), dtype=np.float32,
                                                         count=len(query))
        mixed = NEAREST_WEIGHT * nearest + (1 - NEAREST_WEIGHT) * central
        return {label: float(s) for label, s in zip(self.labels, mixed, strict=True)}
