"""Turn a transcript into an answer: intent + slots + session → reply text."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vitad.config.schema import Machine, Shop
from vitad.dialogue.intents import IntentsFile, IntentSpec
from vitad.dialogue.matcher import IntentMatcher
from vitad.dialogue.session import SessionStore
from vitad.dialogue.slots import SlotExtractor, Slots
from vitad.dialogue.templates import TemplateError, render, spoken_list
from vitad.dialogue.text import normalize

# A slot-only follow-up ("and the dryer?") scores this when it continues the last intent.
FOLLOW_UP_SCORE = 70.0
FOLLOW_UP_MAX_TOKENS = 5
# With tokenize = "chars" a token is one character; "还有烘干机呢" ("and the dryer?") is 6.
FOLLOW_UP_MAX_CHARS = 10


@dataclass(frozen=True)
class Answer:
    intent: str
    score: float
    text: str
    slots: dict[str, Any] = field(default_factory=dict)
    follow_up: bool = False

    @property
    def is_problem_report(self) -> bool:
        return self.intent == "report_problem"


class Dialogue:
    def __init__(self, intents: IntentsFile, shop: Shop, min_score: float,
                 session_timeout_s: float = 90.0, max_sessions: int = 16) -> None:
        self.intents = intents
        self.shop = shop
        self.min_score = min_score
        self._matcher = IntentMatcher(intents)
        self._slots = SlotExtractor(intents, shop)
        self.sessions = SessionStore(session_timeout_s, max_sessions)
        self._base_vars = self._shop_variables()
        self.check_templates()

    def reply_for(self, intent: str) -> str:
        """The plain reply of an intent (e.g. "contact" when a report could not be saved)."""
        return self._reply(self.intents.intents[intent], Slots())

    def reset_sessions(self) -> None:
        """Forget every conversation (a new simulation starts its clock at zero)."""
        self.sessions = SessionStore(self.sessions.timeout_s, self.sessions.max_sessions)

    def vocabulary(self) -> list[str]:
        """Phrases for an ASR grammar: every example, keyword, kind word and machine name."""
        words: list[str] = []
        for spec in self.intents.intents.values():
            words += spec.examples + spec.keywords
        for kind_words in self.intents.kinds.values():
            words += kind_words
        words += list(self.intents.numbers)
        for m in self.shop.machines:
            words += [m.name, *m.aliases]
        return sorted({normalize(w, self.intents.tokenize) for w in words if w})

    def respond(self, text: str, session_key: str = "kiosk", now: float = 0.0) -> Answer:
        session = self.sessions.get(session_key, now)
        slots = self._slots.extract(text)
        ranked = self._matcher.rank(text)
        intent, score, follow_up = "fallback", ranked[0].score if ranked else 0.0, False
        if ranked and ranked[0].score >= self.min_score:
            intent = ranked[0].intent
        if (
            session.last_intent
            and self.intents.intents[session.last_intent].follow_up
            and not slots.empty
            and self._short_enough_for_follow_up(text)
            and (intent == "fallback" or score < FOLLOW_UP_SCORE
                 or (self._sounds_like_follow_up(text)
                     # "and the washer is broken" says more than a machine: a new question.
                     and not self._matcher.keyword_hits(text, intent)))
        ):
            intent, score, follow_up = session.last_intent, FOLLOW_UP_SCORE, True
        reply = self._reply(self.intents.intents[intent], slots)
        if intent != "fallback":
            session.last_intent = intent
            session.last_slots = slots.as_dict()
        session.updated = now
        return Answer(intent, round(score, 1), reply, slots.as_dict(), follow_up)

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

    def _variables(self, slots: Slots) -> dict[str, Any]:
        variables = dict(self._base_vars)
        kind = slots.kind or ""
        variables["kind"] = kind
        variables["number"] = "" if slots.number is None else str(slots.number)
        variables["kind_prices"] = self._prices([m for m in self.shop.machines if m.kind == kind])
        machine = slots.machine
        if machine is None and slots.number is not None:
            machine = next((m for m in self.shop.machines
                            if m.kind == kind and slots.number in m.numbers), None)
        if machine is None and kind:
            same_kind = [m for m in self.shop.machines if m.kind == kind]
            machine = same_kind[0] if len(same_kind) == 1 else None
        variables["machine"] = machine.model_dump() if machine else {}
        return variables

    def _reply(self, spec: IntentSpec, slots: Slots) -> str:
        variables = self._variables(slots)
        template = spec.reply
        if slots.kind and spec.reply_kind:
            template = spec.reply_kind
        if variables["machine"] and spec.reply_machine and (slots.machine or not spec.reply_kind
                                                            or _one_of_kind(self.shop, slots)):
            template = spec.reply_machine
        if slots.kind and slots.number is not None and spec.reply_number and (
            variables["machine"] or "{machine." not in spec.reply_number
        ):
            template = spec.reply_number
        return render(template, variables)

    def check_templates(self) -> None:
        """Render every reply variant once so a typo fails at load, not mid-conversation."""
        sample_machine = self.shop.machines[0] if self.shop.machines else None
        slots = Slots(kind=sample_machine.kind if sample_machine else "washer",
                      machine=sample_machine, number=1)
        variables = self._variables(slots)
        if not variables["machine"]:
            variables["machine"] = {"name": "machine", "price": "", "cycle_minutes": 0}
        for name, spec in self.intents.intents.items():
            for field_name in ("reply", "reply_kind", "reply_machine", "reply_number"):
                template = getattr(spec, field_name)
                if template:
                    try:
                        render(template, variables)
                    except TemplateError as exc:
                        raise TemplateError(f"intents.{name}.{field_name}: {exc}") from None


def _one_of_kind(shop: Shop, slots: Slots) -> bool:
    return sum(1 for m in shop.machines if m.kind == slots.kind) == 1
