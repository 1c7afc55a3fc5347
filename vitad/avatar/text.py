"""Caption text handling without pygame: cleaning, CJK detection and word wrapping.

Wrapping takes a ``measure(text) -> width_px`` callable so it works with any font and can be
tested with a fake one. Latin text breaks at spaces; Chinese and Japanese break between
characters (they have no spaces); a word wider than the line is split by characters.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

Measure = Callable[[str], int]

MAX_CAPTION_CHARS = 600
"""Longer input is cut before measuring: a caption is read in seconds, not a document."""

ELLIPSIS = "…"

# Characters that must not start a line (closing punctuation) in CJK typesetting.
_NO_LINE_START = set(
    "、。，．,.!?！？)）」』】〕〉》”’・ー:;：；"  # closing punctuation
    "ぁぃぅぇぉっゃゅょァィゥェォッャュョ"  # small kana
)


def is_cjk(ch: str) -> bool:
    """Han, kana, hangul and CJK punctuation/fullwidth forms."""
    o = ord(ch)
    return (
        0x1100 <= o <= 0x11FF  # Hangul Jamo
        or 0x2E80 <= o <= 0x2FDF  # radicals
        or 0x3000 <= o <= 0x30FF  # CJK punctuation, hiragana, katakana
        or 0x3130 <= o <= 0x318F  # Hangul compatibility jamo
        or 0x31F0 <= o <= 0x31FF
        or 0x3400 <= o <= 0x4DBF
        or 0x4E00 <= o <= 0x9FFF
        or 0xAC00 <= o <= 0xD7AF  # Hangul syllables
        or 0xF900 <= o <= 0xFAFF
        or 0xFF00 <= o <= 0xFFEF  # fullwidth forms
        or 0x20000 <= o <= 0x2FA1F
    )


def has_cjk(text: str) -> bool:
    return any(is_cjk(ch) for ch in text)


def _breaks_anywhere(ch: str) -> bool:
    """Han and kana break between any two characters; Hangul uses spaces like Latin."""
    o = ord(ch)
    return is_cjk(ch) and not (0xAC00 <= o <= 0xD7AF or 0x1100 <= o <= 0x11FF)


def clean(text: object, limit: int = MAX_CAPTION_CHARS) -> str:
    """Make arbitrary input safe to render: str, no control chars or lone surrogates,
    collapsed whitespace, bounded length (cut with an ellipsis)."""
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    out: list[str] = []
    for ch in text[: limit * 4]:
        cat = unicodedata.category(ch)
        if ch in "\t\n\r\f\v":
            out.append(" ")
        elif cat in ("Cc", "Cs", "Co", "Cn") or ch in "\u200b\ufeff":
            continue
        else:
            out.append(ch)
    cleaned = " ".join("".join(out).split())
    if len(cleaned) > limit:
        cleaned = cleaned[: limit - 1].rstrip() + ELLIPSIS
    return cleaned


def _tokens(text: str) -> list[str]:
    """Split into unbreakable units; each keeps its trailing space."""
    tokens: list[str] = []
    cur = ""
    for ch in text:
        if ch == " ":
            cur += ch
            tokens.append(cur)
            cur = ""
        elif _breaks_anywhere(ch):
            if cur:
                tokens.append(cur)
            cur = ch
            tokens.append(cur)
            cur = ""
        elif ch in _NO_LINE_START and not cur and tokens:
            tokens[-1] += ch  # keep closing punctuation with what it closes
        else:
            cur += ch
    if cur:
        tokens.append(cur)
    return tokens


def _split_long(token: str, width: int, measure: Measure) -> list[str]:
    """Break a single token wider than ``width`` into pieces that fit (at least 1 char each)."""
    pieces: list[str] = []
    rest = token
    while rest:
        lo, hi = 1, len(rest)
        while lo < hi:  # largest prefix that fits
            mid = (lo + hi + 1) // 2
            if measure(rest[:mid].rstrip()) <= width:
                lo = mid
            else:
                hi = mid - 1
        pieces.append(rest[:lo])
        rest = rest[lo:]
    return pieces


def wrap(text: str, width: int, measure: Measure) -> list[str]:
    """Greedy wrap of ``text`` into lines no wider than ``width`` (as measured)."""
    text = clean(text)
    if not text or width <= 0:
        return []
    lines: list[str] = []
    line = ""
    for token in _tokens(text):
        candidate = line + token
        if measure(candidate.rstrip()) <= width:
            line = candidate
            continue
        if line.strip():
            lines.append(line.rstrip())
        line = ""
        if measure(token.rstrip()) <= width:
            line = token.lstrip()
        else:
            *full, last = _split_long(token, width, measure)
            lines.extend(p.rstrip() for p in full)
            line = last
    if line.strip():
        lines.append(line.rstrip())
    return lines


def fit_lines(
    lines: list[str], max_lines: int, measure: Measure, width: int, keep_end: bool = False
) -> list[str]:
    """Limit to ``max_lines``, marking the cut with an ellipsis.

    ``keep_end`` keeps the newest words (a live transcript); otherwise the start is kept.
    """
    if max_lines <= 0:
        return []
    if len(lines) <= max_lines:
        return lines
    if keep_end:
        kept = lines[-max_lines:]
        first = ELLIPSIS + kept[0]
        while len(first) > 1 and measure(first) > width:
            first = ELLIPSIS + first[2:]
        return [first, *kept[1:]]
    kept = lines[:max_lines]
    last = kept[-1] + ELLIPSIS
    while len(last) > 1 and measure(last) > width:
        last = last[:-2] + ELLIPSIS
    return [*kept[:-1], last]
