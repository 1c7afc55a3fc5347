"""The load-time TF-IDF classifier: scores, stems, and its sparse (inverted index) storage."""

from __future__ import annotations

import math

import numpy as np
import pytest
import snowballstemmer

from vitad.dialogue.classifier import NEAREST_WEIGHT, TfidfClassifier, features

DOCS = [
    ("prices", "how much is the machine"), ("prices", "what does a wash cost"),
    ("hours", "what time do you close"), ("hours", "are you open at night"),
    ("report", "the machine is broken"), ("report", "the dryer is not heating"),
]


def _dense_scores(docs: list[tuple[str, str]], text: str) -> dict[str, float]:
    """The same model written the obvious dense way, as the reference."""
    counted = [(label, features(t)) for label, t in docs]
    vocab = sorted({f for _, c in counted for f in c})
    n = len(counted)
    idf = {f: math.log((1 + n) / (1 + sum(1 for _, c in counted if f in c))) + 1.0
           for f in vocab}

    def vec(c: dict[str, int]) -> np.ndarray:
        v = np.array([(1 + math.log(c[f])) * idf[f] if f in c else 0.0 for f in vocab])
        norm = np.linalg.norm(v)
        return v / norm if norm else v

    rows = [(label, vec(c)) for label, c in counted]
    q = vec(features(text))
    out = {}
    for label in sorted({label for label, _ in docs}):
        mine = [r for lab, r in rows if lab == label]
        centroid = np.sum(mine, axis=0)
        centroid /= np.linalg.norm(centroid)
        out[label] = NEAREST_WEIGHT * max(float(r @ q) for r in mine) + (
            1 - NEAREST_WEIGHT) * float(centroid @ q)
    return out


@pytest.mark.parametrize("text", ["how much does the dryer cost", "is it open now",
                                  "the washer is broken", "machine"])
def test_sparse_scores_equal_the_dense_reference(text: str) -> None:
    got = TfidfClassifier(DOCS).scores(text)
    want = _dense_scores(DOCS, text)
    assert got == pytest.approx(want, abs=1e-5)


def test_unknown_words_score_zero_everywhere() -> None:
    assert set(TfidfClassifier(DOCS).scores("zzz qqq").values()) == {0.0}
    assert set(TfidfClassifier(DOCS).scores("").values()) == {0.0}


def test_stems_share_evidence_between_inflections() -> None:
    stem = snowballstemmer.stemmer("english").stemWord
    docs = [("use", "using it"), ("pay", "paying it")]
    plain, stemmed = TfidfClassifier(docs), TfidfClassifier(docs, stem=stem)
    # "uses" and "using" share the stem "use": evidence the character n-grams alone lack.
    assert stemmed.scores("uses")["use"] > plain.scores("uses")["use"]
    assert stemmed.scores("uses")["use"] > stemmed.scores("uses")["pay"]
