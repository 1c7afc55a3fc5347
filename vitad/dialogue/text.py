"""Text normalisation shared by the matcher and slot extraction."""

from __future__ import annotations

import re
import unicodedata

_CJK = re.compile(r"([\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff])")
_PUNCT = re.compile(r"[^\w\s']+")


def normalize(text: str, tokenize: str = "words") -> str:
    """Lower-case, strip punctuation; for ``chars`` put spaces between CJK characters."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = _PUNCT.sub(" ", text)
    if tokenize == "chars":
        text = _CJK.sub(r" \1 ", text)
    return " ".join(text.split())


def strip_leading_words(text: str, words: list[str]) -> str:
    """Drop wake-phrase words ('hey jarvis') that the pre-roll let into the transcript."""
    tokens = text.split()
    drop = {w.lower() for w in words}
    while tokens and tokens[0] in drop:
        tokens.pop(0)
    return " ".join(tokens)
