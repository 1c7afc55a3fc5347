"""Every reply the dialogue can say for the loaded config: the answers to prepare ahead.

The shop's answers are a finite set: templates over ``[shop]`` with a few slots (a kind, a
machine, a machine number). :meth:`Dialogue.walk_templates` is the same walk that
``check_templates`` uses to refuse a broken intents file; here it runs over the shop's real
machines and every real machine number (of any kind: "washer ten" is heard as washer 10 even
when only dryers go to 10, and the answer names it), so the set is what a live turn renders:

* every intent's reply for every slot combination (the "noted" answer to a problem report,
  the fallback with the phone number, the "contact" reply said when a report could not be
  stored — all plain intent replies);
* every "Do you mean …?" confirmation, for the intents that ever ask (``ask_when_unsure``);
* the fixed "Sorry, could you say that again?".

Not included: numbers no machine of the shop has ("washer forty-two"): the answer names the
number heard, and the set of numbers a customer can say is open. The "voice help is resting"
banner is shown, never spoken, so it needs no audio.
"""

from __future__ import annotations

from vitad.dialogue.engine import FALLBACK, Dialogue
from vitad.dialogue.templates import TemplateError, render

CONFIRM_FIELDS = frozenset({"confirm", "confirm_kind", "confirm_machine", "confirm_number",
                            "topic"})


def all_replies(dialogue: Dialogue) -> list[str]:
    """Every reply text, in a stable order (the walk's), each once.

    A template that fails to render is skipped: ``check_templates`` refused such a file
    already, and a live turn would say the plain reply instead (which is in the set).
    """
    machines = list(dialogue.shop.machines)
    numbers = sorted({n for m in machines for n in m.numbers})
    out: dict[str, None] = {}
    for intent, field, template, variables in dialogue.walk_templates(machines, numbers):
        if not template:
            continue
        if field in CONFIRM_FIELDS and (
            intent == FALLBACK or not dialogue.intents.intents[intent].ask_when_unsure
        ):
            continue  # "Do you mean goodbye?" is never asked
        try:
            text = render(template, variables)
        except TemplateError:
            continue
        if text:
            out.setdefault(text)
    return list(out)
