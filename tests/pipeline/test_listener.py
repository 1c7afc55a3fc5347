"""The Listener's orchestration with fakes: wake → pre-roll → VAD endpoint → utterance."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from tests.fakes import LOUD, FakeRecognizer, FakeStream, FakeVad, FakeWake
from vitad import events as ev
from vitad.audio.wavfile import chunks_from_array
from vitad.config.schema import ListenSettings, WakeSettings
from vitad.pipeline.listener import EARLY_PAD_S, Listener, Utterance
from vitad.pipeline.wake import Detection

RATE = 16000


# murmur: voiced, quieter; shout: 9.5 dB over a murmur (the room rule's customer is at least
# endpoint.ROOM_MARGIN_DB louder than the room)
LEVELS = {"loud": LOUD, "murmur": LOUD * 2 // 3, "quiet": 0, "shout": LOUD * 2}


def audio(*parts: tuple[str, float]) -> np.ndarray:
    """("loud"|"murmur"|"quiet", seconds) segments of 16 kHz int16."""
    return np.concatenate([
        np.full(int(seconds * RATE), LEVELS[kind], dtype=np.int16) for kind, seconds in parts
    ])


class Rig:
    def __init__(self, wake_at: list[float], words: list[str],
                 gate: Callable[[float], bool] = lambda t: False,
                 barge_in: Callable[[Detection, float], bool] = lambda d, t: False,
                 wake_settings: WakeSettings | None = None,
                 complete: Callable[[str], bool] | None = None, **listen: float) -> None:
        self.bus = ev.EventBus()
        self.events: list[ev.Event] = []
        self.bus.subscribe(self.events.append)
        self.utterances: list[Utterance] = []
        self.wake = FakeWake(wake_at)
        self.vad = FakeVad()
        self.rec = FakeRecognizer(words)
        # The fake VAD reads loudness off flat test levels, which a noise suppressor would
        # remove (tests/audio/test_denoise.py covers the VAD's denoiser).
        listen.setdefault("vad_noise_suppression", "off")  # type: ignore[arg-type]
        self.listener = Listener(
            wake_settings or WakeSettings(), ListenSettings(**listen), self.wake,  # type: ignore[arg-type]
            self.vad, self.rec, self.bus, self.utterances.append, gate=gate, barge_in=barge_in,
            complete=complete,
        )

    def feed(self, samples: np.ndarray, chunk_ms: int = 80) -> Rig:
        for chunk in chunks_from_array(samples, chunk_ms):
            self.listener.feed(chunk)
        return self

    def of(self, kind: type[ev.Event]) -> list:  # type: ignore[type-arg]
        return [e for e in self.events if isinstance(e, kind)]


QUESTION = ["hey", "jarvis", "what", "time", "do", "you", "close"] * 5


def test_wake_then_question_then_silence_gives_one_utterance() -> None:
    rig = Rig([1.6], QUESTION, hangover_s=0.5, preroll_s=0.6).feed(
        audio(("quiet", 1.0), ("loud", 0.5), ("quiet", 0.1), ("loud", 1.2), ("quiet", 2.0)))
    assert [e.type for e in rig.events[:2]] == ["wake", "listening"]
    (utt,) = rig.utterances
    assert utt.endpoint.reason == "silence"
    assert utt.endpoint.speech_end == pytest.approx(2.8, abs=0.04)  # the last loud audio
    assert utt.endpoint.decided_at == pytest.approx(3.3, abs=0.1)  # + 0.5 s hangover
    assert utt.text and utt.engine == "fake" and utt.asr_s >= 0
    assert not rig.listener.listening
    # The VAD: once for the room before the wake (the babble rule), once for the turn.
    assert rig.wake.resets == 1 and rig.vad.resets == 2


def test_events_carry_input_clock_times() -> None:
    rig = Rig([1.6], QUESTION, hangover_s=0.5).feed(
        audio(("quiet", 1.0), ("loud", 0.6), ("loud", 1.2), ("quiet", 2.0)))
    (wake,) = rig.of(ev.Wake)
    (listening,) = rig.of(ev.Listening)
    (end,) = rig.of(ev.SpeechEnd)
    finals = [e for e in rig.of(ev.Transcript) if e.final]
    partials = [e for e in rig.of(ev.Transcript) if not e.final]
    utt = rig.utterances[0]
    assert wake.t == pytest.approx(1.6) and listening.t == wake.t
    assert wake.model == "hey_jarvis" and wake.score == 0.877 and not wake.barge_in
    assert listening.turn_id == end.turn_id == utt.turn_id
    assert end.t == utt.endpoint.speech_end and end.endpoint_t == utt.endpoint.decided_at
    assert end.reason == "silence"
    assert len(finals) == 1 and finals[0].t == utt.endpoint.decided_at
    assert finals[0].text == utt.text and finals[0].engine == "fake"
    assert partials and all(wake.t <= p.t <= end.endpoint_t for p in partials)
    assert [p.t for p in partials] == sorted(p.t for p in partials)
    order = [e.type for e in rig.events]
    assert order.index("speech_end") < len(order) - 1 and order[-1] == "transcript"


def test_the_pre_roll_goes_to_the_recognizer() -> None:
    rig = Rig([2.0], QUESTION, preroll_s=0.6).feed(
        audio(("quiet", 1.0), ("loud", 2.0), ("quiet", 2.0)))
    stream = rig.rec.streams[0]
    # Everything from 0.6 s before the wake to the end of the utterance, no less.
    end = rig.utterances[0].endpoint.decided_at
    assert stream.samples >= (0.6 + end - 2.0) * RATE
    assert stream.finished


def test_wake_words_are_stripped_from_the_transcript() -> None:
    rig = Rig([1.3], ["hey", "jarvis", "what", "time", "do", "you", "close"],
              preroll_s=0.6).feed(audio(("quiet", 1.0), ("loud", 7 * 0.08), ("quiet", 2.0)))
    assert rig.utterances[0].text == "what time do you close"
    assert all(not t.text.startswith(("hey", "jarvis")) for t in rig.of(ev.Transcript))


def test_a_greeting_after_the_wake_phrase_reaches_the_dialogue() -> None:
    # "hey" is stripped as the phrase's head only before a wake name: "hey there" is a greeting.
    rig = Rig([1.3], ["hey", "jarvis", "hey", "there"], preroll_s=0.6).feed(
        audio(("quiet", 1.0), ("loud", 7 * 0.08), ("quiet", 2.0)))
    assert rig.utterances[0].text == "hey there"


def test_custom_phrase_words_are_stripped() -> None:
    rig = Rig([1.3], ["Bubbles,", "are", "you", "open"],
              wake_settings=WakeSettings(phrase_words=["bubbles"])).feed(
        audio(("quiet", 1.0), ("loud", 0.6), ("quiet", 2.0)))
    assert rig.utterances[0].text == "are you open"


def test_only_the_wake_phrase_then_a_pause_keeps_listening() -> None:
    # The tail of "hey jarvis" is voiced after the wake, a 1.5 s pause, then the question.
    words = ["hey", "jarvis"] * 6 + ["price"] * 30
    rig = Rig([1.6], words, hangover_s=0.5).feed(
        audio(("quiet", 1.0), ("loud", 0.8), ("quiet", 1.5), ("loud", 1.0), ("quiet", 1.5)))
    (utt,) = rig.utterances
    assert "price" in utt.text and not utt.text.startswith("hey")
    assert utt.endpoint.speech_end == pytest.approx(4.3, abs=0.04)
    assert len(rig.of(ev.SpeechEnd)) == 1


def test_only_the_wake_phrase_then_silence_ends_as_no_speech() -> None:
    rig = Rig([1.6], ["hey", "jarvis"] * 6, no_speech_timeout_s=3.0).feed(
        audio(("quiet", 1.0), ("loud", 0.8), ("quiet", 6.0)))
    (utt,) = rig.utterances
    assert utt.text == ""


def test_no_speech_gives_an_empty_utterance() -> None:
    rig = Rig([1.3], [], no_speech_timeout_s=3.0).feed(
        audio(("quiet", 1.0), ("loud", 0.3), ("quiet", 7.0)))
    (utt,) = rig.utterances
    assert utt.text == "" and utt.endpoint.reason == "no_speech"
    assert utt.endpoint.decided_at == pytest.approx(1.36 + 3.0, abs=0.1)
    assert rig.of(ev.SpeechEnd)[0].reason == "no_speech"


def test_max_utterance_length() -> None:
    rig = Rig([1.1], ["blah"] * 200, max_utterance_s=3.0).feed(
        audio(("quiet", 1.0), ("loud", 9.0), ("quiet", 1.0)))
    assert rig.utterances[0].endpoint.reason == "max_length"
    assert rig.utterances[0].endpoint.decided_at < 1.1 + 3.5


def test_a_second_wake_starts_a_second_turn() -> None:
    rig = Rig([1.3, 5.0], QUESTION, hangover_s=0.5).feed(
        audio(("quiet", 1.0), ("loud", 1.0), ("quiet", 2.6), ("loud", 1.0), ("quiet", 2.0)))
    assert len(rig.utterances) == 2
    assert rig.utterances[0].turn_id != rig.utterances[1].turn_id
    assert rig.utterances[1].endpoint.speech_end > 5.0
    assert len(rig.rec.streams) == 2


@pytest.mark.parametrize(("approve", "barge_in_enabled", "turns"), [
    (False, True, 0), (True, True, 1), (True, False, 0),
])
def test_wake_during_playback_needs_barge_in(approve: bool, barge_in_enabled: bool,
                                             turns: int) -> None:
    asked: list[float] = []

    def barge_in(detection: Detection, t: float) -> bool:
        asked.append(t)
        return approve

    rig = Rig([1.2], ["stop"] * 20, gate=lambda t: True, barge_in=barge_in,
              wake_settings=WakeSettings(barge_in=barge_in_enabled)).feed(
        audio(("quiet", 1.0), ("loud", 1.0), ("quiet", 2.0)))
    assert len(rig.utterances) == turns
    assert rig.listener.ignored_self_wakes == 1 - turns
    assert asked == ([pytest.approx(1.2)] if barge_in_enabled else [])
    if turns:
        assert rig.of(ev.Wake)[0].barge_in
    else:
        assert rig.of(ev.Wake) == [] and rig.rec.streams == []


def test_gate_false_is_a_normal_wake() -> None:
    asked: list[float] = []
    rig = Rig([1.2], ["hi"] * 20, gate=lambda t: t > 100,
              barge_in=lambda d, t: bool(asked.append(t))).feed(
        audio(("quiet", 1.0), ("loud", 1.0), ("quiet", 2.0)))
    assert len(rig.utterances) == 1 and asked == []
    assert not rig.of(ev.Wake)[0].barge_in


def test_the_pre_roll_ring_stays_bounded() -> None:
    rig = Rig([], [], preroll_s=0.6)
    chunk = np.zeros(1280, dtype=np.int16)
    for i in range(int(600 / 0.08)):  # ten minutes of 80 ms chunks
        rig.listener.feed(
            next(chunks_from_array(chunk, 80, start=i * 0.08)))
        assert len(rig.listener._ring) <= 10
    assert rig.events == [] and not rig.listener.listening


def test_odd_chunk_sizes_are_framed_for_the_vad() -> None:
    rig = Rig([1.3], QUESTION, hangover_s=0.5).feed(
        audio(("quiet", 1.0), ("loud", 1.0), ("quiet", 2.0)), chunk_ms=50)
    (utt,) = rig.utterances
    assert utt.endpoint.speech_end == pytest.approx(2.0, abs=0.04)


class _DecodesAtTheEnd(FakeRecognizer):
    """Like Whisper: no partial text while listening, the words only from finish()."""

    streaming = False

    def start(self) -> FakeStream:
        stream = super().start()
        stream.partial = lambda: ""  # type: ignore[method-assign]  # the point of this fake
        return stream


def test_a_recognizer_without_partials_still_ends_after_the_hangover() -> None:
    rig = Rig([1.6], QUESTION, hangover_s=0.5, preroll_s=0.6, no_speech_timeout_s=5.0)
    rig.rec = _DecodesAtTheEnd(QUESTION)
    rig.listener.recognizer = rig.rec
    rig.feed(audio(("quiet", 1.0), ("loud", 0.5), ("quiet", 0.1), ("loud", 1.2), ("quiet", 2.0)))
    (utt,) = rig.utterances
    assert utt.endpoint.decided_at == pytest.approx(3.3, abs=0.1)  # not the 5 s timeout


def test_with_such_a_recognizer_only_the_wake_tail_keeps_listening() -> None:
    rig = Rig([1.6], QUESTION, hangover_s=0.5, preroll_s=0.6, no_speech_timeout_s=5.0)
    rig.rec = _DecodesAtTheEnd(QUESTION)
    rig.listener.recognizer = rig.rec
    # the phrase ends right at the wake; the question starts 1.5 s later
    rig.feed(audio(("quiet", 1.0), ("loud", 0.65), ("quiet", 1.5), ("loud", 1.0), ("quiet", 2.0)))
    (utt,) = rig.utterances
    assert utt.endpoint.speech_end == pytest.approx(4.15, abs=0.05)


# --- early endpointing ---------------------------------------------------------------------

ASKED = ["hey", "jarvis", "what", "time", "do", "you", "close"]


def ends_with_close(text: str) -> bool:
    """A stand-in judge (the real one, over the dialogue, is tested in test_completeness)."""
    return text.endswith("you close")


# The fake recognizer hears a word per 80 ms of loud audio: "hey jarvis" (0.16 s), a pause,
# "what time do you close" (0.4 s), then quiet: the question ends at 1.76 s.
ASK_AUDIO = (("quiet", 1.0), ("loud", 0.16), ("quiet", 0.2), ("loud", 0.4), ("quiet", 2.0))
END = 1.76


def test_a_complete_question_ends_early() -> None:
    rig = Rig([1.2], ASKED, complete=ends_with_close, hangover_s=0.5, early_hangover_s=0.25,
              preroll_s=0.6).feed(audio(*ASK_AUDIO))
    (utt,) = rig.utterances
    assert utt.text == "what time do you close"
    assert utt.endpoint.reason == "early"
    assert utt.endpoint.speech_end == pytest.approx(END, abs=0.04)
    assert utt.endpoint.decided_at == pytest.approx(END + 0.25, abs=0.1)
    (end,) = rig.of(ev.SpeechEnd)
    assert end.reason == "early"


def test_the_stream_is_told_where_the_wake_fired_after_the_pre_roll() -> None:
    """Whisper keeps only the end of the pre-roll; it learns where that is from mark_wake."""
    rig = Rig([1.6], QUESTION, preroll_s=0.6)
    marks: list[int] = []
    start = rig.rec.start

    def marking_start():  # type: ignore[no-untyped-def]
        stream = start()
        stream.mark_wake = lambda: marks.append(stream.samples)  # type: ignore[attr-defined]
        return stream

    rig.rec.start = marking_start  # type: ignore[method-assign]
    rig.feed(audio(("quiet", 1.6), ("loud", 1.0), ("quiet", 2.0)))
    assert len(marks) == 1
    assert 0.6 * 16000 <= marks[0] <= 0.8 * 16000  # exactly the pre-roll had been fed


def test_ending_early_gives_the_recognizer_some_silence() -> None:
    """PocketSphinx finalizes worse on 0.25 s of trailing silence than on 0.5 s (it lost the
    number of "washer five is broken"): EARLY_PAD_S more is fed as digital silence, never
    more than the rest of the normal hangover."""
    def fed_after_the_last_chunk(early_hangover_s: float) -> int:
        rig = Rig([1.2], ASKED, complete=ends_with_close, hangover_s=0.5,
                  early_hangover_s=early_hangover_s, preroll_s=0.6)
        accepted: list[int] = []
        start = rig.rec.start

        def recording_start():  # type: ignore[no-untyped-def]
            stream = start()
            accept = stream.accept
            stream.accept = lambda samples: (accepted.append(len(samples)), accept(samples))
            return stream

        rig.rec.start = recording_start  # type: ignore[method-assign]
        rig.feed(audio(*ASK_AUDIO))
        (utt,) = rig.utterances
        return accepted[-1] if utt.endpoint.reason == "early" else 0

    assert fed_after_the_last_chunk(0.25) == int(EARLY_PAD_S * 16000)
    assert fed_after_the_last_chunk(0.45) == int(0.05 * 16000)  # the rest of the hangover
    assert fed_after_the_last_chunk(0.0) == 0  # early endpointing off: nothing added


def test_an_unfinished_question_waits_for_the_full_hangover() -> None:
    # The partial stops at "what time do you": the judge says not complete.
    words = ["hey", "jarvis", "what", "time", "do", "you"]
    rig = Rig([1.2], words, complete=ends_with_close, hangover_s=0.5, early_hangover_s=0.25,
              preroll_s=0.6).feed(audio(*ASK_AUDIO))
    (utt,) = rig.utterances
    assert utt.endpoint.reason == "silence"
    assert utt.endpoint.decided_at == pytest.approx(END + 0.5, abs=0.1)


def test_without_a_judge_or_with_early_off_the_hangover_applies() -> None:
    for rig in (Rig([1.2], ASKED, hangover_s=0.5, early_hangover_s=0.25, preroll_s=0.6),
                Rig([1.2], ASKED, complete=ends_with_close, hangover_s=0.5,
                    early_hangover_s=0.0, preroll_s=0.6)):
        rig.feed(audio(*ASK_AUDIO))
        (utt,) = rig.utterances
        assert utt.endpoint.reason == "silence"


def test_partials_off_still_ends_early() -> None:
    """No live captions, but the judge still reads the partials."""
    rig = Rig([1.2], ASKED, complete=ends_with_close, hangover_s=0.5, early_hangover_s=0.25,
              preroll_s=0.6)
    rig.listener.partials = False
    rig.feed(audio(*ASK_AUDIO))
    (utt,) = rig.utterances
    assert utt.endpoint.reason == "early"
    assert not [e for e in rig.of(ev.Transcript) if not e.final]


def test_a_recognizer_that_only_decodes_at_the_end_never_ends_early() -> None:
    """Whisper: no partials, so nothing to judge; even a judge that says yes to anything."""
    judged: list[str] = []

    def anything(text: str) -> bool:
        judged.append(text)
        return True

    rig = Rig([1.2], ASKED, complete=anything, hangover_s=0.5, early_hangover_s=0.25,
              preroll_s=0.6)
    rig.rec = _DecodesAtTheEnd(ASKED)
    rig.listener.recognizer = rig.rec
    assert not rig.listener.early_endpointing
    rig.feed(audio(*ASK_AUDIO))
    (utt,) = rig.utterances
    assert utt.endpoint.reason == "silence" and judged == []


def test_a_wrapped_whisper_is_still_not_streaming() -> None:
    """The domain corrector wraps the engine; streaming is the inner engine's."""
    from vitad.asr.correction import CorrectingRecognizer, DomainCorrector
    from vitad.pipeline.listener import is_streaming

    corrector = DomainCorrector(["what time do you close"])
    assert not is_streaming(CorrectingRecognizer(_DecodesAtTheEnd(ASKED), corrector))
    assert is_streaming(CorrectingRecognizer(FakeRecognizer(ASKED), corrector))


def _babble_rig() -> Rig:
    """The babble rule on; after "close" the recognizer hears nothing new."""
    words = [*ASKED, *[""] * 100]
    return Rig([1.2], words, complete=ends_with_close, hangover_s=0.5, early_hangover_s=0.25,
               stable_partial_s=0.4, preroll_s=0.6, max_utterance_s=8.0)


def test_in_babble_a_stable_complete_question_ends_the_turn() -> None:
    """Other people talk on, more quietly (the VAD hears voices throughout); the customer's
    words stop."""
    rig = _babble_rig()
    rig.feed(audio(("quiet", 1.0), ("loud", 0.16), ("quiet", 0.2), ("loud", 0.4),
                   ("murmur", 4.0)))
    (utt,) = rig.utterances
    assert utt.endpoint.reason == "stable"
    assert utt.endpoint.decided_at < END + 0.4 + 0.2


def test_a_stalled_partial_while_the_customer_talks_on_is_not_the_end() -> None:
    """The recognizer stops producing words, but the voice goes on as loud as the question:
    the customer is still talking (the babble rule must not cut them off)."""
    rig = _babble_rig()
    rig.feed(audio(("quiet", 1.0), ("loud", 0.16), ("quiet", 0.2), ("loud", 1.6),
                   ("quiet", 2.0)))
    (utt,) = rig.utterances
    assert utt.endpoint.reason == "early"  # after the voice stopped, not in the middle
    assert utt.endpoint.speech_end == pytest.approx(1.0 + 0.16 + 0.2 + 1.6, abs=0.04)


class _WithDomainReading(FakeRecognizer):
    """Like PocketSphinx with the shop's sentences: the open partial is garbled, the domain
    decoder's reading (``domain_partial``) is the question."""

    def start(self) -> FakeStream:
        stream = super().start()
        truth = stream.partial
        stream.domain_partial = truth  # type: ignore[attr-defined]  # the point of this fake
        stream.partial = lambda: " ".join("blah" for _ in truth().split())  # type: ignore[method-assign]
        return stream


def test_the_domain_reading_is_judged_when_the_engine_has_one() -> None:
    rig = Rig([1.2], ASKED, complete=ends_with_close, hangover_s=0.5, early_hangover_s=0.25,
              preroll_s=0.6)
    rig.rec = _WithDomainReading(ASKED)
    rig.listener.recognizer = rig.rec
    rig.feed(audio(*ASK_AUDIO))
    (utt,) = rig.utterances
    assert utt.endpoint.reason == "early"
    assert utt.endpoint.decided_at == pytest.approx(END + 0.25, abs=0.1)
    # captions still show the open partial
    assert all(set(e.text.split()) <= {"blah"} for e in rig.of(ev.Transcript) if not e.final)


def _room_rig(room_db: float) -> Rig:
    return Rig([3.0], QUESTION, hangover_s=0.5, preroll_s=0.6, max_utterance_s=4.0,
               quieter_than_customer_db=room_db)


def test_voices_in_the_room_before_the_wake_let_the_level_rule_end_the_turn() -> None:
    """Others were talking before the wake word (the VAD heard voices there) and go on after
    the question, more quietly than the customer: their voices count as silence."""
    talk = audio(("murmur", 3.0), ("shout", 1.0), ("murmur", 5.0))
    (utt,) = _room_rig(2.0).feed(talk).utterances
    assert utt.endpoint.reason == "silence"
    assert utt.endpoint.speech_end == pytest.approx(4.0, abs=0.1)
    (held,) = _room_rig(0.0).feed(talk).utterances  # the rule off (the shipped default)
    assert held.endpoint.reason == "max_length"


def test_a_room_without_voices_before_the_wake_never_uses_the_level_rule() -> None:
    """Machines and hum (the VAD called them silence) before the wake: a quieter voice after
    the question is the customer going on, not the room."""
    talk = audio(("quiet", 3.0), ("loud", 1.0), ("murmur", 5.0))
    (utt,) = _room_rig(2.0).feed(talk).utterances
    assert utt.endpoint.reason == "max_length"
