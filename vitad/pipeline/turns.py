"""What happens after the customer stops talking: dialogue → reply → speech.

The :class:`TurnHandler` is the same in simulate and in the daemon; only the speaker
differs (a timeline on the input clock vs. a real output device).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from vitad import events as ev
from vitad.dialogue.engine import Dialogue
from vitad.pipeline.listener import Utterance

log = logging.getLogger(__name__)


class Speaker(Protocol):
    def say(self, turn_id: str, text: str, utterance: Utterance, intent: str) -> None:
        """Speak a reply (asynchronously or not) and publish audio_out/turn_end events."""
        ...


class TurnHandler:
    def __init__(self, dialogue: Dialogue, speaker: Speaker, bus: ev.EventBus,
                 session_key: str = "kiosk",
                 store_report: Callable[[ev.ProblemReport], int | None] | None = None) -> None:
        self.dialogue = dialogue
        self.speaker = speaker
        self.bus = bus
        self.session_key = session_key
        self.store_report = store_report

    def __call__(self, utt: Utterance) -> None:
        t = utt.endpoint.decided_at
        if not utt.text:
            self.bus.publish(ev.TurnEnd(t, utt.turn_id, outcome="no_speech"))
            return
        try:
            answer = self.dialogue.respond(utt.text, self.session_key, now=t,
                                           heard_confidence=utt.confidence)
        except Exception as exc:  # one bad turn must never take the daemon down
            log.exception("dialogue failed")
            self.bus.publish(ev.StageError(t, "dialogue", "dialogue.failed", str(exc), utt.turn_id))
            self.bus.publish(ev.TurnEnd(t, utt.turn_id, outcome="error"))
            return
        self.bus.publish(ev.Intent(t, utt.turn_id, answer.intent, answer.score, answer.slots))
        text = answer.text
        if answer.is_problem_report:
            report = ev.ProblemReport(t, utt.turn_id, answer.slots.get("machine_type"),
                                      answer.slots.get("machine_number"), utt.text)
            self.bus.publish(report)
            # Tell the customer "noted" only once the report is durable.
            if self.store_report is not None and self.store_report(report) is None:
                text = self.dialogue.reply_for("contact")
        self.bus.publish(ev.Reply(t, utt.turn_id, text, answer.intent))
        self.speaker.say(utt.turn_id, text, utt, answer.intent)
