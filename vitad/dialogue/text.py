"""Text normalisation shared by the matcher and slot extraction."""

from __future__ import annotations

import re
import unicodedata

from rapidfuzz import fuzz

_CJK = re.compile(r"([\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff])")
_PUNCT = re.compile(r"[^\w\s']+")


def normalize(text: str, tokenize: str = "words") -> str:
    """Lower-case, strip punctuation; for ``chars`` put spaces between CJK characters."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = _PUNCT.sub(" ", text)
    if tokenize == "chars":
        text = _CJK.sub(r" \1 ", text)
    return " ".join(text.split())


# How far into a transcript the wake phrase's echo may reach, and how alike a word must be
# to a wake word to count as its mishearing ("jarvis's", "jervis" for "jarvis").
WAKE_ECHO_MAX_TOKENS = 3
WAKE_ECHO_SIMILARITY = 70.0
# Phrase words that are also how customers greet or start ("hey there", "ok thanks").
GREETING_WORDS = frozenset({"hey", "hi", "hello", "ok", "okay"})


def strip_leading_words(text: str, words: list[str], *, strict: bool = False) -> str:
    """Drop the wake phrase ('hey jarvis') that the pre-roll let into the transcript.

    Recognizers hear the phrase's tail as junk ("and jarvis how much…", "day jarvis…"): when
    one of the first few words is a wake name or close to one, it and everything before it
    go. Only the start is touched, so "is jarvis a good name" later in a question stays.

    A phrase word that is also a greeting ("hey", GREETING_WORDS) is the customer's when no
    wake name follows it ("hey there"), and stays. ``strict`` drops it too — for partial
    text while the question has not started yet, where a lone "hey" is more likely the
    phrase's own head.
    """
    tokens = text.split()
    drop = {w.lower() for w in words}
    names = drop - GREETING_WORDS

    def is_echo(token: str) -> bool:
        if token in names or (strict and token in drop):
            return True
        return len(token) >= 4 and any(
            len(w) >= 4 and fuzz.ratio(token, w) >= WAKE_ECHO_SIMILARITY for w in names)

    cut = 0
    for i, token in enumerate(tokens[:WAKE_ECHO_MAX_TOKENS]):
        if is_echo(token):
            cut = i + 1
    tokens = tokens[cut:]
    while tokens and (tokens[0] in (drop if strict else names)
                      or (tokens[0] in drop and len(tokens) > 1 and is_echo(tokens[1]))):
        tokens.pop(0)
    return " ".join(tokens)
