"""Split a reply into sentences so the first one can play while the next is synthesized."""

from __future__ import annotations

import re

# End of sentence: . ! ? (and CJK 。！？) followed by space or end. Numbers like "7.50" and
# abbreviations without a following space are left alone.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[。！？])")


_CLAUSE_END = re.compile(r"(?<=[,;:，；：])\s*")

# A sentence longer than this is split at clause boundaries too, so the first audio of a
# long answer (a whole price list) is ready after a short clause, not after the sentence.
LONG_SENTENCE_CHARS = 80
MIN_CLAUSE_CHARS = 20


def split_sentences(text: str) -> list[str]:
    parts = [p.strip() for p in _SENTENCE_END.split(text)]
    out: list[str] = []
    for part in parts:
        if not part or not any(c.isalnum() for c in part):
            continue
        out.extend(_split_long(part) if len(part) > LONG_SENTENCE_CHARS else [part])
    return out


def _split_long(sentence: str) -> list[str]:
    pieces: list[str] = []
    for clause in (c.strip() for c in _CLAUSE_END.split(sentence)):
        if not clause:
            continue
        if pieces and len(pieces[-1]) < MIN_CLAUSE_CHARS:
            pieces[-1] = f"{pieces[-1]} {clause}"
        else:
            pieces.append(clause)
    if len(pieces) > 1 and len(pieces[-1]) < MIN_CLAUSE_CHARS:
        last = pieces.pop()  # (not pieces[-2] = ... pop(): the target is taken after the pop)
        pieces[-1] = f"{pieces[-1]} {last}"
    return pieces
