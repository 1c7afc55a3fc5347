"""A turn: the utterance (with the recognizer's confidence) → the dialogue → reply events."""

from __future__ import annotations

import pytest

from vitad import events as ev
from vitad.config.schema import Config
from vitad.pipeline.endpoint import Endpoint
from vitad.pipeline.engines import build_dialogue
from vitad.pipeline.listener import Utterance
from vitad.pipeline.turns import TurnHandler


class RecordingSpeaker:
    def __init__(self) -> None:
        self.said: list[str] = []

    def say(self, turn_id: str, text: str, *_: object) -> None:
        self.said.append(text)


def _turn(config: Config, text: str, confidence: float | None) -> tuple[list[ev.Event], list[str]]:
    bus = ev.EventBus()
    events: list[ev.Event] = []
    bus.subscribe(events.append)
    speaker = RecordingSpeaker()
    handler = TurnHandler(build_dialogue(config), speaker, bus)  # type: ignore[arg-type]
    handler(Utterance("t1", text, "test", Endpoint("silence", 1.0, 1.5), 0.0, 0.0, confidence))
    return events, speaker.said


@pytest.mark.parametrize("confidence", [None, 0.95])
def test_a_question_heard_clearly_is_answered(config: Config, confidence: float | None) -> None:
    events, said = _turn(config, "how much is the big washer", confidence)
    intents = [e for e in events if isinstance(e, ev.Intent)]
    assert [i.name for i in intents] == ["prices"]
    assert "7 dollars 50" in said[0]


def test_the_same_question_heard_badly_is_confirmed_first(config: Config) -> None:
    events, said = _turn(config, "how much is the big washer", 0.3)
    intents = [e for e in events if isinstance(e, ev.Intent)]
    assert [i.name for i in intents] == ["clarify"]
    assert intents[0].slots["candidate"] == "prices"
    assert "7 dollars 50" not in said[0]
