"""Correct a transcript to the nearest domain sentence — when it is close, and only then.

A small recognizer in a noisy laundromat often hears *almost* the right question ("how much
is the big washed"), or the right question behind junk: the tail of the wake phrase leaks
into the transcript ("journalists what time do you close", "us and the dryer"). The shop's
domain sentences (vitad/dialogue/domain.py) fix both: the transcript, or the transcript with
a few leading words (and at most one trailing word) dropped, is compared with every sentence
(rapidfuzz's C++ ``fuzz.ratio``, a normalized character edit similarity: robust to ASR's
near-miss words, and fast enough to try a few windows against a few thousand sentences in a
millisecond or two). The idea is rhasspy wyoming-vosk's "corrected" mode, with an open path:

* the best sentence must score at least a threshold that rises for short sentences (one
  wrong word in "hi there" is a different sentence; in "how much is the big washer" it is
  noise), so out-of-domain speech ("what is the weather tomorrow") passes through unchanged;
* a machine number heard where the sentence has another one is kept as heard ("washer
  twelve is broken" must not become "washer two").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple, Protocol

import numpy as np
from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

from vitad.asr.base import Recognizer, RecognizerStream, domain_partial, mark_wake
from vitad.config.schema import AsrSettings
from vitad.dialogue.text import normalize

# Score points taken off per word dropped to find the sentence inside a longer transcript:
# a whole-transcript match is preferred to an equally good one inside it.
LEAD_DROP_PENALTY = 1.5
TRAIL_DROP_PENALTY = 3.0
MAX_TRAIL_DROP = 1
# Short sentences need a closer match: one wrong word is a bigger share of them. The
# threshold is min_score + SHORT_BONUS per character under SHORT_CHARS, at most MAX_THRESHOLD.
SHORT_CHARS = 20
SHORT_BONUS = 1.0
MAX_THRESHOLD = 97.0
# Added to the threshold for a domain-restricted pass's text (see ``choose``). Measured with
# bench/domain_asr.py --margins (default decoder search; 0 gave 81 of 175, then 79 of 179):
# +5/+10 lose in-domain questions (76, 71 of 175); -5/-10/-15 win some (84, 92, 96 of 179)
# but take 3, 7, 9 more of the 25 out-of-domain questions away from "fallback". 0 keeps the
# open path as safe as before.
RESTRICTED_MARGIN = 0.0


class Correction(NamedTuple):
    text: str  # corrected text, or the input unchanged
    score: float  # 0..100: similarity to the nearest domain sentence (after junk removal)
    corrected: bool  # True when ``text`` is a domain sentence, not the input


def _normalize(text: str, chars: bool) -> str:
    # The dialogue's normalisation, so a corrected sentence is what the matcher expects.
    return normalize(text, "chars" if chars else "words")


class DomainCorrector:
    """Nearest-sentence correction with a length-dependent threshold (see the module doc).

    ``sentences`` are the domain's (normalized, as vitad.dialogue.domain builds them);
    ``tokenize="chars"`` compares character by character (Chinese); ``number_words`` are the
    tokens that say a number (digits always count), kept as heard.
    """

    def __init__(self, sentences: Iterable[str], *, tokenize: str = "words",
                 number_words: Iterable[str] = (), min_score: float = 80.0,
                 max_lead_words: int = 3) -> None:
        self.tokenize = tokenize
        self._chars = tokenize == "chars"
        self.number_words = frozenset(number_words)
        self.min_score = min_score
        self.max_lead_words = max_lead_words
        self.sentences = list(dict.fromkeys(s for s in sentences if s.strip()))
        self._keys = [_normalize(s, self._chars) for s in self.sentences]
        self._thresholds = [self.threshold(k) for k in self._keys]

    def with_sentences(self, sentences: Iterable[str]) -> DomainCorrector:
        """The same settings over a new sentence set (a reload)."""
        return DomainCorrector(sentences, tokenize=self.tokenize, number_words=self.number_words,
                               min_score=self.min_score, max_lead_words=self.max_lead_words)

    def threshold(self, sentence: str) -> float:
        chars = len(sentence.replace(" ", ""))
        return min(MAX_THRESHOLD, self.min_score + SHORT_BONUS * max(0, SHORT_CHARS - chars))

    def correct(self, text: str, margin: float = 0.0) -> Correction:
        """The nearest sentence if it scores ``threshold + margin`` or more, else ``text``."""
        tokens = _normalize(text, self._chars).split()
        if not tokens or not self._keys:
            return Correction(text, 0.0, False)
        best: tuple[float, float, int, list[str]] | None = None  # over, score, index, window
        n = len(tokens)
        for lead in range(min(self.max_lead_words, n - 1) + 1):
            for trail in range(min(MAX_TRAIL_DROP, n - lead - 1) + 1):
                window = tokens[lead:n - trail]
                found = process.extractOne(" ".join(window), self._keys, scorer=fuzz.ratio)
                if found is None:
                    continue
                _, raw, index = found
                score = raw - LEAD_DROP_PENALTY * lead - TRAIL_DROP_PENALTY * trail
                over = score - self._thresholds[index] - margin
                if best is None or over > best[0]:
                    best = (over, score, index, window)
        assert best is not None
        best_margin, score, index, window = best
        score = max(0.0, round(score, 1))
        if best_margin < 0:
            return Correction(text, score, False)
        words = self._keep_numbers(window, self._keys[index].split())
        return Correction("".join(words) if self._chars else " ".join(words), score, True)

    def _keep_numbers(self, heard: list[str], sentence: list[str]) -> list[str]:
        """Where the sentence says another number than was heard, say the heard one."""
        out = list(sentence)
        for op in Levenshtein.editops(heard, sentence):
            if (op.tag == "replace" and self._is_number(heard[op.src_pos])
                    and self._is_number(sentence[op.dest_pos])):
                out[op.dest_pos] = heard[op.src_pos]
        return out

    def _is_number(self, token: str) -> bool:
        return token.isdigit() or token in self.number_words


def choose(corrector: DomainCorrector, raw: str, domain_text: str | None) -> Correction:
    """Pick the final text from an open pass (``raw``) and, when the recognizer has one, a
    domain-restricted pass over the same audio (PocketSphinx's ``domain_text``).

    The restricted pass is far better at in-domain questions in noise, but it turns *any*
    speech into domain words. Out-of-domain speech comes out as a jumble of them ("what is
    what won't" for "what is the weather tomorrow") that is not close to any domain sentence,
    so: the restricted text when the corrector finds a domain sentence in it; otherwise the
    open pass, corrected when close to one, else as heard (the open path).

    Measured (bench/domain_asr.py --set all: 179 in-domain + 25 out-of-domain questions,
    Piper voice, laundromat noise at 10/15/20 dB, PocketSphinx): intent right for 60/179
    with the open pass alone, 61/179 corrected, 99/179 with the restricted pass alone —
    which however leaves only 7 of the 25 out-of-domain questions at "fallback" (the rest
    get a shop answer or a "do you mean …?") — and 80/179 with this rule, which keeps 21/25
    at "fallback", as the open pass does.
    """
    if domain_text:
        restricted = corrector.correct(domain_text, margin=RESTRICTED_MARGIN)
        if restricted.corrected:
            return restricted
    return corrector.correct(raw)


class CorrectingStream:
    """A stream whose final text is corrected to the domain; partials pass through (live
    captions should not jump between sentences while the customer is still talking)."""

    def __init__(self, inner: RecognizerStream, corrector: DomainCorrector) -> None:
        self._inner = inner
        self._corrector = corrector
        self.raw_text: str | None = None  # the recognizer's own text, after finish()
        self.score: float | None = None  # 0..100 similarity to the domain, after finish()
        self.corrected = False
        self._confidence: float | None = None

    def accept(self, samples: np.ndarray) -> None:
        self._inner.accept(samples)

    def partial(self) -> str:
        return self._inner.partial()

    def domain_partial(self) -> str:
        return domain_partial(self._inner)

    def mark_wake(self) -> None:
        mark_wake(self._inner)

    def finish(self) -> str:
        raw = self._inner.finish()
        result = choose(self._corrector, raw, getattr(self._inner, "domain_text", None))
        self.raw_text, self.score, self.corrected = raw, result.score, result.corrected
        inner_confidence = getattr(self._inner, "confidence", None)
        self._confidence = (inner_confidence if inner_confidence is not None
                            else (result.score / 100.0 if raw else None))
        return result.text

    @property
    def confidence(self) -> float | None:
        """0..1 after finish(): the inner recognizer's own, else how close to the domain."""
        return self._confidence


class CorrectingRecognizer:
    """Wraps any Recognizer; ``set_vocabulary`` feeds the inner one and the corrector."""

    def __init__(self, inner: Recognizer, corrector: DomainCorrector) -> None:
        self.inner = inner
        self.corrector = corrector
        self.name = inner.name

    def start(self) -> CorrectingStream:
        return CorrectingStream(self.inner.start(), self.corrector)

    def set_vocabulary(self, phrases: list[str]) -> None:
        self.inner.set_vocabulary(phrases)
        self.corrector = self.corrector.with_sentences(phrases)

    def __getattr__(self, name: str) -> object:
        # Anything else (model_dir, …) is the inner recognizer's.
        return getattr(self.inner, name)


class DomainLike(Protocol):
    """What this module needs of vitad.dialogue.domain.Domain (engines do not import each
    other's types)."""

    @property
    def tokenize(self) -> str: ...

    @property
    def sentences(self) -> Sequence[str]: ...

    @property
    def number_words(self) -> frozenset[str]: ...


def apply_domain(recognizer: Recognizer, domain: DomainLike, settings: AsrSettings) -> Recognizer:
    """Give a recognizer the domain: its sentences, and — with ``[asr] domain`` on — the
    correction wrapper. Call it at load and on every reload (a wrapper is re-made, never
    nested). With the domain off, the engines' restricted passes are switched off too."""
    inner = recognizer.inner if isinstance(recognizer, CorrectingRecognizer) else recognizer
    if hasattr(inner, "domain_pass"):
        setattr(inner, "domain_pass", settings.domain)  # noqa: B010 (not in the Protocol)
    inner.set_vocabulary(list(domain.sentences))
    if not settings.domain:
        return inner
    corrector = DomainCorrector(domain.sentences, tokenize=domain.tokenize,
                                number_words=domain.number_words,
                                min_score=settings.domain_min_score,
                                max_lead_words=settings.domain_max_lead_words)
    return CorrectingRecognizer(inner, corrector)
