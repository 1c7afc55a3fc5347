"""Is this partial transcript already a complete question? (early endpointing)

The listener may end a turn after a short silence (``[listen] early_hangover_s``) instead of
the full hangover when the partial transcript so far is a whole question. "Whole" means: the
dialogue's intent matcher puts one intent clearly first, confidently (the same test the
dialogue uses to answer without asking back, at least ``EARLY_MIN_SCORE``), the last
word does not announce more ("how much is the…", "dryer number…", "the washer and…"), and
no machine number is still missing: when the partial is a problem report that names a
machine but no number ("the washer is broken"), the number may
be what the customer says next ("…washer five is broken" — a domain decoder reads the
sentence complete before "five" is settled), so the normal hangover decides. That costs a
quarter second on a report without a number; a report filed against the wrong machine costs
a technician's trip.

The judge scores with the dialogue's public parts (:class:`IntentMatcher`,
:class:`SlotExtractor`, over the dialogue's own intents and shop), never through
``Dialogue.respond``, which would move the conversation's state (follow-ups, pending
confirmations) on every partial. A follow-up ("and the dryer?") that only the session makes
sense of is therefore never complete here: it ends with the normal hangover.

What is judged is the listener's business: the domain decoder's reading where the engine has
one (PocketSphinx with the shop's sentences), else the open partial. Whisper has no partials,
so it never ends a turn early.
"""

from __future__ import annotations

import weakref

from vitad.dialogue.engine import CLARIFY, FALLBACK, REPORT, Dialogue
from vitad.dialogue.matcher import IntentMatcher
from vitad.dialogue.slots import SlotExtractor
from vitad.dialogue.text import normalize

# Words after which a question goes on: articles, prepositions, conjunctions, possessives,
# copulas, verbs that want an object ("do you take…"), "number". The one list of them
# (English; a "chars" intents file is judged on its intent score alone).
_CONTINUATION = """
    a an the this that these those some any my your our their his her its
    and or but so if because than then
    to of on in at for with from by about into onto under near between
    is are was were be been am isn't aren't do does did don't doesn't can can't could
    would will should may might must have has had
    take get need want
    number what which where when who how why what's
    much many more most very
    i you we they he she
    not
"""
CONTINUATION_WORDS = frozenset(_CONTINUATION.split())

# The dialogue answers without asking back from its confirm_score (70 by default); ending a
# turn early on a partial asks for a little more, as a cut-off cannot be undone.
EARLY_MIN_SCORE = 75.0
# Shorter than this is rarely a whole question ("opening hours?" is, but for a two-word
# partial the normal hangover costs little and a cut-off much).
MIN_WORDS = 3


class CompletenessJudge:
    """``judge(text) -> bool``: the partial is one confident, finished question."""

    def __init__(self, dialogue: Dialogue) -> None:
        intents = dialogue.intents
        self._tokenize = intents.tokenize
        self._slots = SlotExtractor(intents, dialogue.shop)
        self._matcher = IntentMatcher(intents, mask=self._slots.mask)
        self._min_score = max(dialogue.confirm_score, EARLY_MIN_SCORE)
        self._margin = dialogue.confirm_margin
        self._last: tuple[str, bool] = ("", False)

    def __call__(self, text: str) -> bool:
        if text == self._last[0]:
            return self._last[1]
        verdict = self._judge(text)
        self._last = (text, verdict)
        return verdict

    def _judge(self, text: str) -> bool:
        query = normalize(text, self._tokenize)
        words = query.split()
        if self._tokenize == "words":
            if len(words) < MIN_WORDS:
                return False
            if words[-1] in CONTINUATION_WORDS and not self._number_asked_for(words, text):
                return False
        elif not query:
            return False
        ranked = self._matcher.rank(text)
        if not ranked:
            return False
        best = ranked[0]
        runner_up = ranked[1].score if len(ranked) > 1 else 0.0
        confident = (best.intent not in (FALLBACK, CLARIFY) and not best.outweighed
                     and best.score >= self._min_score
                     and best.score - runner_up >= self._margin)
        return confident and not self._number_may_follow(best.intent, text)

    def _number_asked_for(self, words: list[str], text: str) -> bool:
        """A last "number" that ends the question: it announces a machine's number ("dryer
        number…", "the machine number…") where a machine was named, and may go on after an
        article ("is the number…"), but "what is your phone number" is whole (it ended by
        the full hangover before, every time)."""
        return (words[-1] == "number" and words[-2] not in CONTINUATION_WORDS
                and "machine" not in words and self._slots.extract(text).kind is None)

    def _number_may_follow(self, intent: str, text: str) -> bool:
        if intent != REPORT:
            return False
        slots = self._slots.extract(text)
        return slots.kind is not None and slots.number is None


_judges: weakref.WeakKeyDictionary[Dialogue, CompletenessJudge] = weakref.WeakKeyDictionary()


def judge_for(dialogue: Dialogue) -> CompletenessJudge:
    """The judge of this dialogue, built once (simulate assembles a pipeline per file)."""
    judge = _judges.get(dialogue)
    if judge is None:
        judge = _judges[dialogue] = CompletenessJudge(dialogue)
    return judge
