"""Phonemes (espeak-ng IPA, as Piper emits them) to the avatar's four mouth shapes.

Piper's alignments give, for each phoneme symbol it fed the voice model, how many audio
samples that symbol produced (:data:`Alignment`). :func:`viseme_track` turns them into a
:class:`VisemeTrack`: which mouth shape is due at any sample of the sentence, so the speaker
can publish the shape of the audio it is *playing* (not the one being synthesized).

The shapes are the names in ``vitad.avatar.state.VISEMES`` (closed, open, wide, round; the
tests check the two lists agree — the engine layer does not import the avatar). The table
is a reduction of two standard viseme sets to four shapes:

* Preston Blair's animation mouth chart (MBP, FV, AI, E, O, U, WQ, L, "etc"; the set most
  lip-sync tools use, e.g. Papagayo and Rhubarb Lip Sync's A-H shapes), and
* the MPEG-4 Facial Animation viseme table (ISO/IEC 14496-2, Annex C: 14 visemes; p/b/m,
  f/v, th, t/d, k/g, tS/dZ/S, s/z, n/l, r, A, e, I, Q, U).

Reduction: lips together (p b m, and the pauses: Piper's sentence start/end, punctuation)
-> closed; lip rounding (u o ʊ ɔ ɒ, w, and the English labialised r and postalveolars
ʃ ʒ tʃ dʒ) -> round; spread front vowels (i e ɪ ɛ æ) and the teeth-showing s z θ ð -> wide;
other vowels (a ɑ ʌ ə ɐ ɚ ɜ) -> open. f/v (lower lip on the teeth) look nearest to closed.
Other consonants (t d n l k g h j ...) barely move the lips: they keep the shape of the
sound before them (coarticulation), which also spares the mouth a flicker per consonant.
Stress marks come *before* a syllable and take the next sound's shape; length marks and
diacritics come after a sound and keep its shape.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

Alignment = tuple[tuple[str, int], ...]
"""(phoneme symbol, audio samples it produced), in order; sums to the sentence's length."""

CLOSED, OPEN, WIDE, ROUND = "closed", "open", "wide", "round"
SHAPES = (CLOSED, OPEN, WIDE, ROUND)
_KEEP = "keep"  # the shape of the sound before
_NEXT = "next"  # the shape of the sound after (stress marks)

_TABLE: dict[str, str] = {}
for _symbols, _shape in (
    # Pauses: Piper's BOS/EOS/PAD, punctuation and espeak's pause marks.
    ("^$_.,;:!?-()\"'↓|‖", CLOSED),
    ("pbmɓɱʙ", CLOSED),  # bilabials
    ("fvɸβⱱ", CLOSED),  # labiodentals: lower lip on the teeth
    ("uʊoɔɒɵøœɶʉʏɞ", ROUND),  # rounded vowels
    ("wʍɥʋ", ROUND),
    ("ʃʒɹɻr", ROUND),  # English r and sh/zh are said with rounded, pushed-out lips
    ("ieɪɛæɨᵻɘɛεyɯ", WIDE),  # spread (front/close) vowels
    ("szθðɕʑ", WIDE),  # teeth together, lips spread
    ("aɑʌəɐɚɜɤ", OPEN),
    ("ˈˌ", _NEXT),
    ("ːˑʰʲˤ˞\u0303\u0327\u0329\u032a\u032f ", _KEEP),  # length, diacritics, word gap
):
    for _s in _symbols:
        _TABLE[_s] = _shape


def viseme_of(phoneme: str) -> str:
    """The table entry of one symbol: a shape, or "keep"/"next" (see the module doc).
    Symbols not in the table (consonants t d n l k g h j ŋ ..., digits) keep."""
    return _TABLE.get(phoneme[:1], _KEEP) if phoneme else _KEEP


@dataclass(frozen=True)
class VisemeTrack:
    """Mouth shapes over one sentence's samples: ``shapes[i]`` from ``starts[i]`` on."""

    starts: tuple[int, ...]
    shapes: tuple[str, ...]
    length: int  # samples in the sentence

    def at(self, sample: int) -> str:
        """The shape due at ``sample`` (closed before the start and after the end)."""
        if sample < 0 or sample >= self.length or not self.starts:
            return CLOSED
        return self.shapes[max(0, bisect_right(self.starts, sample) - 1)]

    def over(self, start: int, end: int) -> str:
        """The shape to show for the samples [start, end) (one block of playback).

        Closed wins if the lips close at all in the block: an m/b/p lasts 10-30 ms, less
        than a block or a video frame, and a bilabial that never shows looks like mumbling
        (animators show MBP for at least a frame). Otherwise the shape heard longest.
        """
        if end <= start:
            return self.at(start)
        i = max(0, bisect_right(self.starts, start) - 1)
        longest: dict[str, int] = {}
        while i < len(self.starts) and self.starts[i] < end:
            seg_end = self.starts[i + 1] if i + 1 < len(self.starts) else self.length
            overlap = min(end, seg_end) - max(start, self.starts[i])
            if overlap > 0:
                if self.shapes[i] == CLOSED:
                    return CLOSED
                longest[self.shapes[i]] = longest.get(self.shapes[i], 0) + overlap
            i += 1
        return max(longest, key=lambda k: longest[k]) if longest else CLOSED

    def segments(self) -> list[tuple[int, int, str]]:
        """(first sample, end sample, shape) of each segment; for tests and logs."""
        ends = (*self.starts[1:], self.length)
        return [(s, e, v) for s, e, v in zip(self.starts, ends, self.shapes, strict=True)]


def _resolve(raw: Sequence[str]) -> list[str]:
    shapes = list(raw)
    following = CLOSED
    for i in range(len(shapes) - 1, -1, -1):  # stress marks: the next real shape
        if shapes[i] == _NEXT:
            shapes[i] = following
        elif shapes[i] != _KEEP:
            following = shapes[i]
    previous = CLOSED
    for i, shape in enumerate(shapes):  # the rest: the shape before (closed at the start)
        if shape == _KEEP:
            shapes[i] = previous
        else:
            previous = shape
    return shapes


def viseme_track(alignment: Iterable[tuple[str, int]]) -> VisemeTrack:
    """Shapes from an alignment, neighbours of the same shape merged."""
    items = [(p, max(0, int(n))) for p, n in alignment]
    shapes = _resolve([viseme_of(p) for p, _ in items])
    starts: list[int] = []
    merged: list[str] = []
    position = 0
    for (_, n), shape in zip(items, shapes, strict=True):
        if n and (not merged or merged[-1] != shape):
            starts.append(position)
            merged.append(shape)
        position += n
    return VisemeTrack(tuple(starts), tuple(merged), position)
