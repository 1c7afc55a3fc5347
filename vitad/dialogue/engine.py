"""Turn a transcript into an answer: intent + slots + session → reply text.

A wrong answer (a wrong price, a problem report nobody made) is worse than a question, so
the dialogue only answers when it is sure:

* score ≥ ``confirm_score`` and clearly ahead of the runner-up → the answer;
* ``min_score`` ≤ score, or two intents close → ``clarify``: "Do you mean the price of the
  dryer?"; a "yes" next turn answers it with the slots heard the first time, "no" asks to
  repeat, a new question is handled as usual;
* below ``min_score`` (or a phrase recognisers invent on noise, "thanks for watching", or
  a question most like the intents file's off-topic ``fallback`` examples, "can you call me
  a taxi") → ``fallback``: the first time "could you say that again?", the next time in a
  row the fallback reply with the phone number.
"""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz

from vitad.config.schema import Machine, Shop
from vitad.dialogue.intents import IntentsFile, IntentSpec
from vitad.dialogue.matcher import IntentMatcher, Match
from vitad.dialogue.session import Session, SessionStore
from vitad.dialogue.slots import SlotExtractor, Slots
from vitad.dialogue.templates import TemplateError, render, spoken_list
from vitad.dialogue.text import normalize

log = logging.getLogger(__name__)

# A slot-only follow-up ("and the dryer?") scores this when it continues the last intent.
FOLLOW_UP_SCORE = 70.0
FOLLOW_UP_MAX_TOKENS = 5
# With tokenize = "chars" a token is one character; "还有烘干机呢" ("and the dryer?") is 6.
FOLLOW_UP_MAX_CHARS = 10
# Defaults of [dialogue] confirm_score / confirm_margin (see config/vitad.toml).
CONFIRM_SCORE = 70.0
CONFIRM_MARGIN = 10.0
CONFIRM_HEARD_BELOW = 0.66
# ... unless the question is this clear (both views agree, far ahead of the runner-up) and
# was heard at least this well: a garbled transcript rarely reads as a clean shop question.
CLEAR_SCORE = 95.0
CLEAR_HEARD_MIN = 0.45
# "yes the dryer" is a yes; "yes how much are the washers and when do you close" is a question.
ANSWER_MAX_EXTRA_TOKENS = 4
HALLUCINATION_SIMILARITY = 90.0
HALLUCINATION_MAX_EXTRA_TOKENS = 2
CLARIFY = "clarify"
FALLBACK = "fallback"
REPORT = "report_problem"  # the intent whose answer files a problem report


@dataclass(frozen=True)
class Answer:
    intent: str
    score: float
    text: str
    slots: dict[str, Any] = field(default_factory=dict)
    follow_up: bool = False

    @property
    def is_problem_report(self) -> bool:
        return self.intent == REPORT


_DIGITS = re.compile(r"\b\d{1,3}\b")


class Dialogue:
    def __init__(self, intents: IntentsFile, shop: Shop, min_score: float,
                 session_timeout_s: float = 90.0, max_sessions: int = 16,
                 confirm_score: float = CONFIRM_SCORE,
                 confirm_margin: float = CONFIRM_MARGIN,
                 confirm_heard_below: float = CONFIRM_HEARD_BELOW,
                 clear_score: float = CLEAR_SCORE,
                 clear_heard_min: float = CLEAR_HEARD_MIN) -> None:
        self.intents = intents
        self.shop = shop
        self.min_score = min_score
        self.confirm_score = max(confirm_score, min_score)
        self.confirm_margin = confirm_margin
        self.confirm_heard_below = confirm_heard_below
        self.clear_score = clear_score
        self.clear_heard_min = min(clear_heard_min, confirm_heard_below)
        self._slots = SlotExtractor(intents, shop)
        self._matcher = IntentMatcher(intents, mask=self._slots.mask)
        self.sessions = SessionStore(session_timeout_s, max_sessions)
        # The shortest word of each number ("seven" for 7) for digits a recognizer wrote.
        self._number_words = {n: w for w, n in sorted(intents.numbers.items(),
                                                      key=lambda kv: -len(kv[0]))}
        try:
            self._base_vars = self._shop_variables()
        except TemplateError as exc:  # the only template rendered before check_templates
            raise TemplateError(f"intents.price_item: {exc}") from None
        tok = intents.tokenize
        self._hallucinations = [normalize(h, tok) for h in intents.hallucinations]
        self._yes = sorted({normalize(w, tok) for w in intents.yes_words} - {""}, key=len,
                           reverse=True)
        self._no = sorted({normalize(w, tok) for w in intents.no_words} - {""}, key=len,
                          reverse=True)
        self.check_templates()

    def _digits_as_words(self, text: str) -> str:
        """"dryer 7" (Whisper writes digits) reads like "dryer seven", the way the intents
        file's examples and keywords are written; numbers the file does not name stay."""
        if self.intents.tokenize != "words" or not any(c.isdigit() for c in text):
            return text
        return _DIGITS.sub(lambda m: self._number_words.get(int(m.group()), m.group()), text)

    def reply_for(self, intent: str) -> str:
        """The plain reply of an intent (e.g. "contact" when a report could not be saved)."""
        return self._reply(self.intents.intents[intent], Slots())

    def reset_sessions(self) -> None:
        """Forget every conversation (a new simulation starts its clock at zero)."""
        self.sessions = SessionStore(self.sessions.timeout_s, self.sessions.max_sessions)

    def vocabulary(self) -> list[str]:
        """Phrases for an ASR grammar: every example, keyword, kind word and machine name."""
        words: list[str] = []
        for name, spec in self.intents.intents.items():
            if name != FALLBACK:  # off-topic questions are not the shop's vocabulary
                words += spec.examples + spec.keywords
        for kind_words in self.intents.kinds.values():
            words += kind_words
        words += list(self.intents.numbers)
        words += self.intents.yes_words + self.intents.no_words
        for m in self.shop.machines:
            words += [m.name, *m.aliases]
        return sorted({normalize(w, self.intents.tokenize) for w in words if w} - {""})

    # -- one turn ----------------------------------------------------------------------

    def respond(self, text: str, session_key: str = "kiosk", now: float = 0.0,
                heard_confidence: float | None = None) -> Answer:
        """``heard_confidence``: the recognizer's own 0..1 confidence in ``text`` (None: it
        gives none). Below ``confirm_heard_below`` an answer is confirmed first: in noise a
        garbled transcript can still look like a confident question ("wash your six won't
        drain" loses the kind), and a wrong answer is worse than a question. Only a question
        that reads as clear as it gets (``clear_score``, both views agreeing, far ahead) is
        answered from ``clear_heard_min`` up: "can i speak to the manager" heard at 0.5 needs
        no "Do you mean …?" (a question about a machine only when a machine was heard)."""
        session = self.sessions.get(session_key, now)
        session.updated = now
        text = self._digits_as_words(text)
        query = normalize(text, self.intents.tokenize)
        if not query or self._is_hallucination(query):
            session.pending_intent = None
            return self._not_understood(session, 0.0)
        if session.pending_intent is not None:
            answer = self._answer_to_confirmation(session, query)
            if answer is not None:
                return answer
        return self._handle(session, text, heard_confidence)

    def preview(self, text: str) -> Answer:
        """The answer ``text`` would get as a first question, touching no conversation: what
        the speaker will most likely say once a confident partial becomes the final text
        (speculative preparation, vitad/tts/speculate.py)."""
        return self._handle(Session(), self._digits_as_words(text))

    def _handle(self, session: Session, text: str,
                heard_confidence: float | None = None) -> Answer:
        slots = self._slots.extract(text)
        ranked = self._matcher.rank(text)
        best = ranked[0] if ranked else Match(FALLBACK, 0.0)
        if self._is_follow_up(session, text, slots, best):
            assert session.last_intent is not None
            return self._answer(session, session.last_intent, FOLLOW_UP_SCORE, slots,
                                follow_up=True)
        if best.intent == FALLBACK:  # it sounds like one of the file's off-topic questions
            shop = next((m for m in ranked if m.intent != FALLBACK), Match(FALLBACK, 0.0))
            return self._not_understood(session, min(shop.score, best.score))
        if self._sure(ranked) and self._heard_well_enough(ranked, slots, heard_confidence):
            return self._answer(session, best.intent, best.score, slots)
        if best.score >= self.min_score:
            if not self.intents.intents[best.intent].ask_when_unsure:
                return self._answer(session, best.intent, best.score, slots)
            return self._clarify(session, self._candidate(ranked), slots)
        return self._not_understood(session, best.score)

    def _candidate(self, ranked: list[Match]) -> Match:
        """What to ask about: the best intent that no other knows clearly more of the
        question's words than ("can i still start a wash this late" reads like "how do i start
        a wash", but only the hours know "late": ask about the hours)."""
        return next((m for m in ranked if not m.outweighed and m.intent != FALLBACK
                     and m.score >= self.min_score), ranked[0])

    def _sure(self, ranked: list[Match]) -> bool:
        """Confident enough to answer without asking: high, and clearly ahead."""
        if not ranked:
            return False
        runner_up = ranked[1].score if len(ranked) > 1 else 0.0
        return (not ranked[0].outweighed and ranked[0].score >= self.confirm_score
                and ranked[0].score - runner_up >= self.confirm_margin)

    def _heard_well_enough(self, ranked: list[Match], slots: Slots,
                           heard: float | None) -> bool:
        if heard is None or heard >= self.confirm_heard_below:
            return True
        if heard < self.clear_heard_min:
            return False
        spec = self.intents.intents[ranked[0].intent]
        if slots.empty and (spec.reply_kind or spec.reply_machine or spec.reply_number):
            return False  # a doubtful hearing loses the machine words first ("washer nine")
        runner_up = ranked[1].score if len(ranked) > 1 else 0.0
        return (ranked[0].agreed and ranked[0].score >= self.clear_score
                and ranked[0].score - runner_up >= 2 * self.confirm_margin)

    def _is_follow_up(self, session: Session, text: str, slots: Slots, best: Match) -> bool:
        return bool(
            session.last_intent
            and self.intents.intents[session.last_intent].follow_up
            and not slots.empty
            and self._short_enough_for_follow_up(text)
            and (best.score < self.min_score or best.score < FOLLOW_UP_SCORE
                 or (self._sounds_like_follow_up(text)
                     # "and the washer is broken" says more than a machine: a new question.
                     and not self._matcher.keyword_hits(text, best.intent)))
        )

    def _answer(self, session: Session, intent: str, score: float, slots: Slots,
                follow_up: bool = False) -> Answer:
        session.last_intent = intent
        session.last_slots = slots.as_dict()
        session.pending_intent = None
        session.failures = 0
        reply = self._reply(self.intents.intents[intent], slots)
        return Answer(intent, round(score, 1), reply, slots.as_dict(), follow_up)

    def _clarify(self, session: Session, best: Match, slots: Slots) -> Answer:
        session.pending_intent = best.intent
        session.pending_slots = slots
        variables = self._variables(slots)
        text = self._render_safely(self._confirm_template(best.intent, slots, variables)[1],
                                   variables, f"{best.intent}.confirm")
        return Answer(CLARIFY, round(best.score, 1), text,
                      {**slots.as_dict(), "candidate": best.intent})

    def _not_understood(self, session: Session, score: float, repeat: bool = False) -> Answer:
        """First miss in a row: "say that again"; after that, the fallback (phone number)."""
        session.failures += 1
        if session.failures == 1 or repeat:
            text = self._render_safely(self.intents.repeat, self._base_vars, "repeat")
        else:
            text = self._reply(self.intents.intents[FALLBACK], Slots())
        return Answer(FALLBACK, round(score, 1), text, {})

    def _answer_to_confirmation(self, session: Session, query: str) -> Answer | None:
        """A yes/no to "Do you mean …?"; None when the turn is a new question."""
        intent, pending = session.pending_intent, session.pending_slots
        session.pending_intent = None
        assert intent is not None
        for words, agreed in ((self._yes, True), (self._no, False)):
            rest = _after_leading_phrase(query, words)
            if rest is None:
                continue
            extra = self._slots.extract(rest) if rest else Slots()
            if rest:
                ranked = self._matcher.rank(rest)
                top = ranked[0] if ranked else Match(FALLBACK, 0.0)
                if (top.intent != intent and self._sure(ranked)) or (
                    len(rest.split()) > ANSWER_MAX_EXTRA_TOKENS and top.score >= self.min_score
                ):
                    return None  # "no, I want to report a broken dryer": a new question
            if agreed or not extra.empty:
                # "yes" / "no, the dryer": the guessed intent, with whatever machine was named.
                slots = extra if not extra.empty else (pending or Slots())
                return self._answer(session, intent, self.confirm_score, slots)
            session.failures = 0
            return self._not_understood(session, 0.0, repeat=True)
        return None

    def _is_hallucination(self, query: str) -> bool:
        for phrase in self._hallucinations:
            if not phrase:
                continue
            if fuzz.ratio(query, phrase) >= HALLUCINATION_SIMILARITY:
                return True
            if re.search(rf"(?<!\S){re.escape(phrase)}(?!\S)", query) and (
                len(query.split()) - len(phrase.split()) <= HALLUCINATION_MAX_EXTRA_TOKENS
            ):
                return True
        return False

    def _short_enough_for_follow_up(self, text: str) -> bool:
        tokens = len(normalize(text, self.intents.tokenize).split())
        limit = FOLLOW_UP_MAX_CHARS if self.intents.tokenize == "chars" else FOLLOW_UP_MAX_TOKENS
        return tokens <= limit

    def _sounds_like_follow_up(self, text: str) -> bool:
        query = normalize(text, self.intents.tokenize)
        return any(query.startswith(normalize(w, self.intents.tokenize))
                   for w in self.intents.follow_up_words)

    # -- templates -------------------------------------------------------------------

    def _shop_variables(self) -> dict[str, Any]:
        shop = self.shop.model_dump()
        if not shop["phone_spoken"]:
            shop["phone_spoken"] = self.shop.phone
        return {
            "shop": shop,
            "payment": self._list(self.shop.payment),
            "rules": " ".join(self.shop.rules),
            "all_prices": self._prices(self.shop.machines),
        }

    def _list(self, items: list[str]) -> str:
        return spoken_list(items, self.intents.list_sep, self.intents.list_and)

    def _prices(self, machines: list[Machine]) -> str:
        return self._list([render(self.intents.price_item, m.model_dump()) for m in machines])

    def _variables(self, slots: Slots, machines: list[Machine] | None = None) -> dict[str, Any]:
        machines = self.shop.machines if machines is None else machines
        variables = dict(self._base_vars)
        kind = slots.kind or ""
        variables["kind"] = kind
        variables["number"] = "" if slots.number is None else str(slots.number)
        variables["kind_prices"] = self._prices([m for m in machines if m.kind == kind])
        variables["machine"] = self._machine_for(slots, machines)
        return variables

    @staticmethod
    def _machine_for(slots: Slots, machines: list[Machine]) -> dict[str, Any]:
        machine = slots.machine
        if machine is None and slots.number is not None:
            machine = next((m for m in machines
                            if m.kind == slots.kind and slots.number in m.numbers), None)
        if machine is None and slots.kind:
            same_kind = [m for m in machines if m.kind == slots.kind]
            machine = same_kind[0] if len(same_kind) == 1 else None
        return machine.model_dump() if machine else {}

    def _reply_template(self, spec: IntentSpec, slots: Slots,
                        variables: dict[str, Any], machines: list[Machine]) -> tuple[str, str]:
        """(field name, template) of the reply variant these slots select."""
        chosen = "reply"
        if slots.kind and spec.reply_kind:
            chosen = "reply_kind"
        one_of_kind = sum(1 for m in machines if m.kind == slots.kind) == 1
        if variables["machine"] and spec.reply_machine and (slots.machine or not spec.reply_kind
                                                            or one_of_kind):
            chosen = "reply_machine"
        if slots.kind and slots.number is not None and spec.reply_number and (
            variables["machine"] or "{machine." not in spec.reply_number
        ):
            chosen = "reply_number"
        return chosen, getattr(spec, chosen)

    def _confirm_template(self, intent: str, slots: Slots,
                          variables: dict[str, Any]) -> tuple[str, str]:
        """(field name, template) of the confirmation: the most specific one the slots heard
        can fill (a number with its kind, a machine named, a kind, the topic)."""
        spec = self.intents.intents[intent]
        if slots.kind and slots.number is not None and spec.confirm_number and (
            variables["machine"] or "{machine." not in spec.confirm_number
        ):
            return "confirm_number", spec.confirm_number
        if slots.machine is not None and spec.confirm_machine:
            return "confirm_machine", spec.confirm_machine
        if slots.kind and spec.confirm_kind:
            return "confirm_kind", spec.confirm_kind
        if spec.confirm:
            return "confirm", spec.confirm
        topic = spec.topic or intent.replace("_", " ")
        return "topic", self.intents.confirm.replace("{topic}", topic.replace("{", "{{")
                                                     .replace("}", "}}"))

    def _reply(self, spec: IntentSpec, slots: Slots) -> str:
        variables = self._variables(slots)
        field_name, template = self._reply_template(spec, slots, variables, self.shop.machines)
        return self._render_safely(template, variables, field_name, spec.reply)

    def _render_safely(self, template: str, variables: dict[str, Any], where: str,
                       plain: str | None = None) -> str:
        """check_templates makes a failure here unreachable; if one slips through, a live
        turn still gets a sentence (the plain reply, or the "say that again" line)."""
        try:
            return render(template, variables)
        except TemplateError as exc:
            log.error("template %s failed at reply time: %s", where, exc)
        for fallback in (plain, self.intents.repeat):
            if fallback:
                try:
                    return render(fallback, self._base_vars)
                except TemplateError:
                    continue
        return ""

    def check_templates(self) -> None:
        """Render every template with every combination of slots a turn can meet.

        Each machine of the shop (and a sample machine of each kind the shop lacks, so the
        file is also right for next month's floor), each kind with and without a machine,
        no machine, with and without a number: every reply variant the selection logic can
        reach with them (exactly what a live turn would render), and every confirmation.
        All problems are raised at once, one line each.
        """
        problems: dict[str, str] = {}
        if not self.shop.machines:  # else "Our prices: ." to every customer who asks
            problems["machines"] = ("shop.machines: no machines; expected at least one "
                                    "[[shop.machines]] in vitad.toml (price answers list them)")
        machines = list(self.shop.machines)
        kinds = sorted(set(self.intents.kinds) | {m.kind for m in machines} | {"washer"})
        for kind in kinds:
            if not any(m.kind == kind for m in machines):
                machines.append(Machine(id=f"sample_{kind}", kind=kind, name=kind,
                                        price="1 dollar", cycle_minutes=10, numbers=[1]))
        numbers = sorted({n for m in machines for n in m.numbers[:1]} | {99})
        try:
            self._prices(machines)
        except TemplateError as exc:
            problems["price_item"] = f"intents.price_item: {exc}"
            # Every reply's variables use price_item: nothing else can be checked.
            raise TemplateError("\n".join(problems.values())) from None
        for name, field_name, template, variables in self.walk_templates(machines, numbers):
            self._check(problems, name, field_name, template, variables)
        if problems:
            raise TemplateError("\n".join(problems.values()))

    def walk_templates(self, machines: list[Machine], numbers: list[int]
                       ) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
        """``(intent, field, template, variables)`` for every template a turn can render
        with these machines and numbers: no slot, a number alone, each kind with and without
        a number and with each of its machines; per intent the reply variant the selection
        logic picks (exactly what a live turn renders) and, but for the fallback, the
        confirmation; last the fixed "say that again" (intent "", field "repeat").

        check_templates walks it to refuse a broken file; vitad/dialogue/replies.py walks it
        with the shop's real machines and numbers to list every answer to prepare.
        """
        kinds = sorted(set(self.intents.kinds) | {m.kind for m in machines})
        combos: list[Slots] = [Slots(), *(Slots(number=n) for n in numbers)]
        for kind in kinds:
            for number in (None, *numbers):
                combos.append(Slots(kind=kind, number=number))
                combos += [Slots(kind=kind, machine=m, number=number)
                           for m in machines if m.kind == kind]
        for name, spec in self.intents.intents.items():
            for slots in combos:
                variables = self._variables(slots, machines)
                yield name, *self._reply_template(spec, slots, variables, machines), variables
                if name != FALLBACK:
                    yield name, *self._confirm_template(name, slots, variables), variables
        yield "", "repeat", self.intents.repeat, self._base_vars

    @staticmethod
    def _check(problems: dict[str, str], intent: str, field_name: str, template: str,
               variables: dict[str, Any]) -> None:
        key = f"{intent}.{field_name}" if intent else field_name
        if not template or key in problems:
            return
        try:
            render(template, variables)
        except TemplateError as exc:
            problems[key] = f"intents.{key}: {exc}"


def _after_leading_phrase(query: str, phrases: list[str]) -> str | None:
    """The rest of ``query`` after one of ``phrases`` said first ("yes the dryer" → "the
    dryer"), else None. Several in a row count once ("yeah yes")."""
    rest: str | None = None
    current = query
    for _ in itertools.repeat(None, 3):
        for phrase in phrases:
            if current == phrase or current.startswith(phrase + " "):
                current = current[len(phrase):].strip()
                rest = current
                break
        else:
            break
    return rest
