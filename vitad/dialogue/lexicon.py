"""The intents file's word knowledge: synonyms, word stems and function words.

Customers say the same thing in words nobody wrote down: "what's the charge", "what does it
cost", "how much is the fee". Instead of listing every phrasing, the intents file names
groups of interchangeable words (``[synonyms]``: ``cost = ["price", "charge", "fee"]``), and
the matcher reads every member of a group as the group's head word — in the examples, the
keywords and the question alike — so one example "how much does it cost" covers all of
them. It is the same as generating every substituted variant of every example at load time,
without the combinatorial number of variants. Contractions are synonyms too ("won't" =
"will not"), so "it won't start" and "it will not start" are one sentence.

Word stems (Snowball, via the small pure-Python ``snowballstemmer``: a solved problem, and
the same algorithm search engines use) let "used", "using" and "uses" share the evidence of
"use". Function words (``stop_words``) are what every sentence has ("what", "is", "the"):
a question whose remaining words are unknown to an intent is not evidence of that intent,
however well its sentence frame matches ("how old are you" is not the opening hours).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

import snowballstemmer

from vitad.dialogue.intents import IntentsFile
from vitad.dialogue.text import normalize


@lru_cache(maxsize=8)
def _stemmer(language: str) -> Callable[[str], str]:
    """The language's stemmer (the intents file validated the name), memoized per word."""
    return lru_cache(maxsize=4096)(snowballstemmer.stemmer(language).stemWord)


class Lexicon:
    """Canonical spelling of questions (synonyms, contractions) and word stems."""

    def __init__(self, intents: IntentsFile) -> None:
        self._tokenize = intents.tokenize
        self._stem: Callable[[str], str] = (_stemmer(intents.stemmer) if intents.stemmer
                                            else _identity)
        variants: dict[str, str] = {}
        for head, words in intents.synonyms.items():
            canonical = normalize(head, self._tokenize)
            for word in words:
                variant = normalize(word, self._tokenize)
                if variant and variant != canonical:
                    variants[variant] = canonical
        self._variants = variants
        # One pass, longest first, so "in charge" is read before "charge" and a head word
        # is never rewritten again.
        self._pattern = (re.compile(
            r"(?<!\S)(" + "|".join(re.escape(v) for v in sorted(variants, key=len, reverse=True))
            + r")(?!\S)") if variants and self._tokenize == "words" else None)
        self.stop_words = frozenset(self.canonical(w) for w in intents.stop_words) - {""}

    def canonical(self, text: str) -> str:
        """Normalized text with every synonym replaced by its group's head word."""
        text = normalize(text, self._tokenize)
        if self._pattern is None:
            return text
        # A second pass reads a phrase the first one spelled out ("doesn't work" → "does not
        # work" → "broken"); groups never chain further (checked when the file loads).
        # Between the passes a possessive goes ("the manager's number" → "manager"), once
        # the contractions that look like one ("what's", "it's") have been read.
        text = self._pattern.sub(self._head, text)
        text = _POSSESSIVE.sub("", text)
        return self._pattern.sub(self._head, text)

    def _head(self, match: re.Match[str]) -> str:
        return self._variants[match.group(1)]

    def stem(self, token: str) -> str:
        return self._stem(token)

    def content_stems(self, canonical_text: str) -> list[str]:
        """Stems of the words that are not function words, in order."""
        return [self._stem(t) for t in canonical_text.split() if t not in self.stop_words]


_POSSESSIVE = re.compile(r"(?<=\w)'s(?!\S)")


def _identity(token: str) -> str:
    return token
