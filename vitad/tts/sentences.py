"""Split a reply into chunks so the first one can play while the next is synthesized.

A chunk is a sentence, or a clause of a longer one. Piper's time to the first audio grows with
the length of the first chunk, so two rules cut at clause boundaries (a comma, colon,
semicolon or spaced dash followed by a space):

* a sentence longer than :data:`LONG_SENTENCE_CHARS` is cut into clauses of at least
  :data:`MIN_CLAUSE_CHARS` (a whole price list does not wait for its last price);
* the reply's first chunk, when longer than :data:`FIRST_CHUNK_CHARS`, is cut at its first
  boundary that leaves a head of at least :data:`MIN_FIRST_CHUNK_CHARS` and two words ("For
  the washers:", "Load your clothes,"), so a miss waits for a short clause only.

Never inside a number: a boundary needs a space after the mark (``6:00``, ``1,500``,
``$2.50`` have none) and a mark between two numbers ("5 5 5, 0 1 4 2", "6 - 8") is not one.
Without any boundary a sentence stays whole: cutting between words would change its melody
(a question would lose its rising end), and the brief was a shorter chunk, not a worse voice.

The preparer (vitad/tts/prepare.py) splits with this same function, so every chunk the
speaker asks for is one cache entry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# End of sentence: . ! ? (and CJK 。！？) followed by space or end. Numbers like "7.50" and
# abbreviations without a following space are left alone.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[。！？])")

# A clause ends after , ; : followed by white space, after CJK ，；： (no space in CJK), or
# at a dash with space on both sides; the named group is the mark that ends the clause.
_CLAUSE_END = re.compile(r"(?P<mark>[,;:])\s+|(?P<cjk>[，；：])\s*|\s(?P<dash>[-–—])\s+")

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")

# A sentence longer than this is split at clause boundaries too, so the first audio of a
# long answer (a whole price list) is ready after a short clause, not after the sentence.
LONG_SENTENCE_CHARS = 80
MIN_CLAUSE_CHARS = 20
# The reply's first chunk longer than this is cut at its first clause boundary ...
FIRST_CHUNK_CHARS = 30
# ... when the head has at least this many characters and two words (no "Yes," alone) ...
MIN_FIRST_CHUNK_CHARS = 10
MIN_FIRST_CHUNK_WORDS = 2
# ... and the rest at least this many (no dangling "ok." after it).
MIN_REST_CHARS = 10


@dataclass(frozen=True)
class Chunk:
    text: str
    ends_sentence: bool  # False: the same sentence goes on in the next chunk (a clause pause)


def split_sentences(text: str) -> list[str]:
    """The chunks' texts: what the speaker synthesizes, one cache entry each."""
    return [chunk.text for chunk in split_chunks(text)]


def split_chunks(text: str, short_first: bool = True) -> list[Chunk]:
    """The reply's chunks; ``short_first=False``: without the first-chunk rule (the split
    before issue 12, for bench/first_audio.py's comparison)."""
    out: list[Chunk] = []
    for part in (p.strip() for p in _SENTENCE_END.split(text)):
        if not part or not any(c.isalnum() for c in part):
            continue
        clauses = _split_long(part) if len(part) > LONG_SENTENCE_CHARS else [part]
        if not out and short_first:
            clauses = _split_first(clauses[0]) + clauses[1:]
        out.extend(Chunk(c, ends_sentence=False) for c in clauses[:-1])
        out.append(Chunk(clauses[-1], ends_sentence=True))
    return out


def _clauses(sentence: str) -> list[tuple[int, int]]:
    """(start, end) of each clause of the sentence, cut at every clause boundary that is not
    inside a number; the text between two clauses is white space only."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _CLAUSE_END.finditer(sentence):
        before, after = sentence[: match.start()].rstrip(), sentence[match.end():]
        if match["cjk"] is None and before[-1:].isdigit() and after[:1].isdigit():
            continue  # "5 5 5, 0 1 4 2", "6 - 8": one number, not two clauses
        mark = next(name for name in ("mark", "cjk", "dash") if match[name] is not None)
        if sentence[start : match.end(mark)].strip():
            spans.append((start, match.end(mark)))
            start = match.end()
    if sentence[start:].strip():
        spans.append((start, len(sentence)))
    return spans


def _split_long(sentence: str) -> list[str]:
    spans: list[tuple[int, int]] = []
    for begin, end in _clauses(sentence):
        if spans and len(sentence[slice(*spans[-1])]) < MIN_CLAUSE_CHARS:
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((begin, end))
    if len(spans) > 1 and len(sentence[slice(*spans[-1])]) < MIN_CLAUSE_CHARS:
        last = spans.pop()  # (not spans[-2] = ... pop(): the target is taken after the pop)
        spans[-1] = (spans[-1][0], last[1])
    return [sentence[begin:end].strip() for begin, end in spans]


def _split_first(chunk: str) -> list[str]:
    """The reply's first chunk as [head, rest] at its first good boundary, or as it is."""
    if len(chunk) <= FIRST_CHUNK_CHARS:
        return [chunk]
    for begin, _ in _clauses(chunk)[1:]:
        head, rest = chunk[:begin].strip(), chunk[begin:].strip()
        if len(rest) < MIN_REST_CHARS:
            break
        if len(head) >= MIN_FIRST_CHUNK_CHARS and _words(head) >= MIN_FIRST_CHUNK_WORDS:
            return [head, rest]
    return [chunk]


def _words(text: str) -> int:
    """Words; in Chinese and Japanese text (no spaces) every character counts as one."""
    return len(text.split()) + len(_CJK.findall(text))
