"""The listener's orchestration with fakes: wake → pre-roll → endpoint → utterance."""

from __future__ import annotations

import numpy as np

from tests.fakes import EnergyVad, FakeRecognizer, ScriptedWake
from vitad import events as ev
from vitad.audio.wavfile import chunks_from_array
from vitad.config.schema import ListenSettings, WakeSettings
from vitad.pipeline.endpoint import Endpointer
from vitad.pipeline.listener import Listener, Utterance

RATE = 16000


def audio(*parts: tuple[str, float]) -> np.ndarray:
    """("loud"|"quiet", seconds) segments."""
    out = []
    for kind, seconds in parts:
        n = int(seconds * RATE)
        out.append(np.full(n, 3000 if kind == "loud" else 0, dtype=np.int16))
    return np.concatenate(out)


def run(samples: np.ndarray, wake_at: list[float], words: list[str], **listen):  # type: ignore[no-untyped-def]
    bus = ev.EventBus()
    seen: list[ev.Event] = []
    bus.subscribe(seen.append)
    done: list[Utterance] = []
    rec = FakeRecognizer(words)
    listener = Listener(WakeSettings(), ListenSettings(**listen), ScriptedWake(wake_at),  # type: ignore[arg-type]
                        EnergyVad(), rec, bus, on_utterance=done.append)
    for chunk in chunks_from_array(samples, 80):
        listener.feed(chunk)
    return listener, seen, done, rec


def test_question_after_wake_is_transcribed_and_ended_by_the_hangover() -> None:
    samples = audio(("quiet", 1.0), ("loud", 0.5), ("quiet", 0.1), ("loud", 1.2), ("quiet", 2.0))
    _, seen, done, rec = run(samples, wake_at=[1.6], words=["hey", "jarvis", "what", "time",
                                                           "do", "you", "close"] * 5,
                             hangover_s=0.5, preroll_s=0.6)
    types = [e.type for e in seen]
    assert types[:2] == ["wake", "listening"]
    assert "speech_end" in types and types.count("transcript") >= 2
    assert len(done) == 1
    utt = done[0]
    assert utt.endpoint.reason == "silence"
    assert abs(utt.endpoint.speech_end - 2.8) < 0.1  # the last loud audio
    assert abs(utt.endpoint.decided_at - 3.3) < 0.15  # + 0.5 s hangover
    assert not utt.text.startswith("hey jarvis")  # wake words stripped
    assert rec.fed_samples[0] >= 0.6 * RATE  # the pre-roll went to the recognizer
    finals = [e for e in seen if e.type == "transcript" and e.final]  # type: ignore[attr-defined]
    assert finals[0].t == utt.endpoint.decided_at


def test_only_the_wake_phrase_then_a_pause_keeps_listening() -> None:
    # "hey jarvis" tail is voiced after the wake, then a 1.5 s pause, then the question.
    samples = audio(("quiet", 1.0), ("loud", 0.8), ("quiet", 1.5), ("loud", 1.0), ("quiet", 1.5))
    # The fake recognizer hears one word per loud chunk: the first dozen are "hey jarvis".
    _, _, done, _ = run(samples, wake_at=[1.6], words=["hey", "jarvis"] * 6 + ["price"] * 30)
    assert len(done) == 1 and "price" in done[0].text
    assert done[0].endpoint.speech_end > 4.0


def test_no_speech_gives_an_empty_utterance() -> None:
    samples = audio(("quiet", 1.0), ("loud", 0.3), ("quiet", 7.0))
    _, _, done, _ = run(samples, wake_at=[1.3], words=[], no_speech_timeout_s=3.0)
    assert len(done) == 1 and done[0].text == "" and done[0].endpoint.reason == "no_speech"


def test_max_utterance_length() -> None:
    samples = audio(("quiet", 1.0), ("loud", 9.0), ("quiet", 1.0))
    _, _, done, _ = run(samples, wake_at=[1.1], words=["blah"] * 200, max_utterance_s=3.0)
    assert done[0].endpoint.reason == "max_length"
    assert done[0].endpoint.decided_at < 1.1 + 3.5


def test_wake_during_playback_needs_barge_in_approval() -> None:
    samples = audio(("quiet", 1.0), ("loud", 1.0), ("quiet", 2.0))
    for approve, expected in ((False, 0), (True, 1)):
        bus = ev.EventBus()
        done: list[Utterance] = []
        asked: list[float] = []

        def barge_in(detection, t, approve=approve, asked=asked):  # type: ignore[no-untyped-def]
            asked.append(t)
            return approve

        listener = Listener(WakeSettings(), ListenSettings(), ScriptedWake([1.2]), EnergyVad(),  # type: ignore[arg-type]
                            FakeRecognizer(["hi"] * 20), bus, done.append,
                            gate=lambda t: True, barge_in=barge_in)
        for chunk in chunks_from_array(samples, 80):
            listener.feed(chunk)
        assert len(asked) == 1 and len(done) == expected
        assert listener.ignored_self_wakes == 1 - expected


def test_pre_roll_ring_is_bounded() -> None:
    listener, _, _, _ = run(audio(("quiet", 600.0)), wake_at=[], words=[], preroll_s=0.6)
    assert len(listener._ring) <= 10  # 0.6 s of 80 ms chunks, not 10 minutes


def test_endpointer_ignores_a_short_blip() -> None:
    ep = Endpointer(ListenSettings(hangover_s=0.3, no_speech_timeout_s=1.0), start=0.0)
    frames = [1.0, 0.0] + [0.0] * 40  # one 30 ms voiced frame: a cough, not speech
    result = None
    for i, p in enumerate(frames):
        result = ep.update(p, i * 0.03, (i + 1) * 0.03) or result
        if result:
            break
    assert result is not None and result.reason == "no_speech"
