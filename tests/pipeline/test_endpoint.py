"""The pure Endpointer over synthetic per-frame speech probabilities."""

from __future__ import annotations

import numpy as np
import pytest

from vitad.config.schema import ListenSettings
from vitad.pipeline.endpoint import (
    ROOM_LEVEL_FRAMES,
    ROOM_MARGIN_DB,
    ROOM_WINDOW_S,
    STABLE_LEVEL_RATIO,
    WAKE_PHRASE_S,
    Endpoint,
    Endpointer,
    RoomLevel,
)

STABLE_PARTIAL_S = 0.4  # [listen] stable_partial_s for the babble-rule tests

FRAME = 0.03
# The room rule judges the median level of the last ROOM_LEVEL_FRAMES frames: it sees the
# customer's voice stop this late.
ROOM_LAG_S = (ROOM_LEVEL_FRAMES // 2) * FRAME


def run(probabilities: list[float], start: float = 0.0,
        **settings: float) -> tuple[Endpoint | None, Endpointer, int]:
    """Feed 30 ms frames from ``start``; stop at the first decision."""
    ep = Endpointer(ListenSettings(**settings), start=start)
    for i, p in enumerate(probabilities):
        result = ep.update(p, start + i * FRAME, start + (i + 1) * FRAME)
        if result is not None:
            return result, ep, i
    return None, ep, len(probabilities)


def frames(*parts: tuple[float, float]) -> list[float]:
    """(probability, seconds) segments as 30 ms frames."""
    return [p for p, seconds in parts for _ in range(round(seconds / FRAME))]


def test_the_hangover_ends_the_utterance_after_the_last_voiced_frame() -> None:
    probs = frames((0.1, 0.6), (0.9, 1.2), (0.1, 3.0))
    result, ep, _ = run(probs, start=10.0, hangover_s=0.5)
    assert result is not None and result.reason == "silence"
    assert result.speech_end == pytest.approx(10.0 + 1.8)
    assert result.decided_at == pytest.approx(10.0 + 1.8 + 0.5, abs=FRAME)
    assert result.decided_at - result.speech_end >= 0.5
    assert ep.speech_started == pytest.approx(10.6)


def test_a_pause_shorter_than_the_hangover_does_not_end_it() -> None:
    probs = frames((0.9, 0.6), (0.1, 0.36), (0.9, 0.6), (0.1, 2.0))
    result, _, _ = run(probs, hangover_s=0.4)
    assert result is not None and result.reason == "silence"
    assert result.speech_end == pytest.approx(1.56)


def test_no_speech_times_out() -> None:
    result, ep, i = run(frames((0.1, 10.0)), start=2.0, no_speech_timeout_s=3.0)
    assert result == Endpoint("no_speech", 2.0, pytest.approx(5.0, abs=FRAME))
    assert ep.speech_started is None and i < len(frames((0.1, 10.0))) - 1


def test_max_length_cuts_endless_speech() -> None:
    result, _, _ = run(frames((0.1, 0.3), (0.95, 20.0)), max_utterance_s=4.0)
    assert result is not None and result.reason == "max_length"
    assert result.decided_at == pytest.approx(0.3 + 4.0, abs=FRAME)
    assert result.speech_end == result.decided_at


def test_a_short_blip_does_not_start_speech() -> None:
    blip = frames((0.1, 0.3), (0.99, 0.06), (0.1, 5.0))  # 60 ms < min_speech_s
    result, ep, _ = run(blip, no_speech_timeout_s=2.0, hangover_s=0.2)
    assert result is not None and result.reason == "no_speech"
    assert ep.speech_started is None


def test_speech_lasting_min_speech_s_starts_at_its_first_frame() -> None:
    probs = frames((0.1, 0.3), (0.99, 0.09), (0.1, 5.0))
    result, ep, _ = run(probs, no_speech_timeout_s=2.0, hangover_s=0.2)
    assert result is not None and result.reason == "silence"
    assert ep.speech_started == pytest.approx(0.3)
    assert result.speech_end == pytest.approx(0.39)


def test_the_vad_threshold_decides_what_is_voiced() -> None:
    probs = frames((0.6, 1.0), (0.1, 3.0))
    low, _, _ = run(probs, vad_threshold=0.5, no_speech_timeout_s=3.0)
    high, _, _ = run(probs, vad_threshold=0.7, no_speech_timeout_s=3.0)
    assert low is not None and low.reason == "silence"
    assert high is not None and high.reason == "no_speech"


def test_nothing_decided_while_speech_continues() -> None:
    result, ep, _ = run(frames((0.9, 3.0)), max_utterance_s=10.0)
    assert result is None and ep.last_voiced == pytest.approx(3.0)


# --- early endpointing: a complete partial transcript ------------------------------------


def run_with_partials(probabilities: list[float], partials: dict[int, bool],
                      **settings: float) -> Endpoint | None:
    """Like :func:`run`; ``partials[i] = complete``: a new partial heard at frame i's end."""
    ep = Endpointer(ListenSettings(**settings), start=0.0)
    for i, p in enumerate(probabilities):
        if i in partials:
            ep.note_partial(partials[i], (i + 1) * FRAME)
        result = ep.update(p, i * FRAME, (i + 1) * FRAME)
        if result is not None:
            return result
    return None


QUESTION_THEN_QUIET = frames((0.1, 0.3), (0.9, 1.2), (0.1, 3.0))  # speech ends at 1.5 s
LAST_WORD = round(1.5 / FRAME) - 1  # the frame whose end is the end of speech


def test_a_complete_partial_ends_the_turn_after_the_short_hangover() -> None:
    result = run_with_partials(QUESTION_THEN_QUIET, {LAST_WORD: True}, hangover_s=0.5,
                               early_hangover_s=0.25)
    assert result is not None and result.reason == "early"
    assert result.speech_end == pytest.approx(1.5)
    assert result.decided_at == pytest.approx(1.5 + 0.25, abs=FRAME)


def test_an_incomplete_partial_keeps_the_normal_hangover() -> None:
    result = run_with_partials(QUESTION_THEN_QUIET, {LAST_WORD: False}, hangover_s=0.5,
                               early_hangover_s=0.25)
    assert result is not None and result.reason == "silence"
    assert result.decided_at == pytest.approx(1.5 + 0.5, abs=FRAME)


def test_a_later_incomplete_partial_withdraws_the_early_end() -> None:
    # "how much is the dryer" (complete) then "... dryer and" (not): wait the full hangover.
    result = run_with_partials(QUESTION_THEN_QUIET, {LAST_WORD - 10: True, LAST_WORD: False},
                               hangover_s=0.5, early_hangover_s=0.25)
    assert result is not None and result.reason == "silence"


def test_a_partial_is_only_used_by_frames_after_it_was_heard() -> None:
    # The recognizer only produced the complete text 0.4 s into the silence: no look-ahead,
    # the turn ends at once then, not back at speech end + 0.25 s.
    late = LAST_WORD + round(0.4 / FRAME)
    result = run_with_partials(QUESTION_THEN_QUIET, {late: True}, hangover_s=0.5,
                               early_hangover_s=0.25)
    assert result is not None and result.reason == "early"
    assert result.decided_at == pytest.approx((late + 2) * FRAME)


def test_early_hangover_zero_turns_it_off() -> None:
    result = run_with_partials(QUESTION_THEN_QUIET, {LAST_WORD: True}, hangover_s=0.5,
                               early_hangover_s=0.0)
    assert result is not None and result.reason == "silence"


def test_in_babble_a_stable_complete_partial_ends_the_turn() -> None:
    # Other people keep talking: the VAD never reports silence after the question.
    babble = frames((0.1, 0.3), (0.9, 6.0))
    result = run_with_partials(babble, {LAST_WORD: True}, hangover_s=0.5,
                               early_hangover_s=0.25, max_utterance_s=10.0,
                               stable_partial_s=STABLE_PARTIAL_S)
    assert result is not None and result.reason == "stable"
    assert result.decided_at == pytest.approx(1.5 + STABLE_PARTIAL_S, abs=FRAME)
    assert result.speech_end == pytest.approx(1.5)
    # Without a complete partial the same babble runs to the maximum length.
    result = run_with_partials(babble, {LAST_WORD: False}, hangover_s=0.5,
                               early_hangover_s=0.25, max_utterance_s=4.0,
                               stable_partial_s=STABLE_PARTIAL_S)
    assert result is not None and result.reason == "max_length"


def test_the_babble_rule_is_off_by_default() -> None:
    """It cut off 'washer five is broken' after 'the washer is broken' (a stalled domain
    reading in a quiet room), so it is opt-in: without it babble runs to the hangover/max."""
    babble = frames((0.1, 0.3), (0.9, 6.0))
    result = run_with_partials(babble, {LAST_WORD: True}, hangover_s=0.5,
                               early_hangover_s=0.25, max_utterance_s=4.0)
    assert result is not None and result.reason == "max_length"


def test_a_partial_that_keeps_changing_is_not_stable() -> None:
    babble = frames((0.1, 0.3), (0.9, 3.0))
    every_third = {i: True for i in range(LAST_WORD, len(babble), 3)}
    ep = Endpointer(ListenSettings(early_hangover_s=0.25, stable_partial_s=STABLE_PARTIAL_S),
                    start=0.0)
    for i, p in enumerate(babble):
        if i in every_third:
            ep.note_partial(True, (i + 1) * FRAME)
        assert ep.update(p, i * FRAME, (i + 1) * FRAME) is None


def test_the_babble_rule_needs_the_room_quieter_than_the_customer() -> None:
    """Voices go on after a complete partial: the end only if they are quieter than the
    question was (other people), not as loud (the customer, with a stalled recognizer)."""
    babble = frames((0.1, 0.3), (0.9, 6.0))

    def ends(after_level: float) -> Endpoint | None:
        ep = Endpointer(ListenSettings(early_hangover_s=0.25, max_utterance_s=4.0,
                                       stable_partial_s=STABLE_PARTIAL_S), start=0.0)
        for i, p in enumerate(babble):
            if i == LAST_WORD:
                ep.note_partial(True, (i + 1) * FRAME)
            level = 3000.0 if i <= LAST_WORD else after_level
            result = ep.update(p, i * FRAME, (i + 1) * FRAME, level)
            if result is not None:
                return result
        return None

    quieter = ends(3000.0 * STABLE_LEVEL_RATIO * 0.9)
    assert quieter is not None and quieter.reason == "stable"
    assert quieter.decided_at == pytest.approx(1.5 + STABLE_PARTIAL_S, abs=FRAME)
    as_loud = ends(3000.0)
    assert as_loud is not None and as_loud.reason == "max_length"


def run_levels(segments: list[tuple[float, float, float]], room_level: float | None = None,
               **settings: float) -> Endpoint | None:
    """(probability, level, seconds) segments as 30 ms frames with their RMS levels."""
    ep = Endpointer(ListenSettings(**settings), start=0.0, room_level=room_level)
    t = 0.0
    for p, level, seconds in segments:
        for _ in range(round(seconds / FRAME)):
            result = ep.update(p, t, t + FRAME, level)
            t += FRAME
            if result is not None:
                return result
    return None


def test_voices_well_below_the_customer_s_end_the_turn_like_silence() -> None:
    """Babble 12 dB under the customer: the VAD still says "speech", the level rule does not."""
    babble = (0.9, 1000 * 10 ** (-12 / 20), 3.0)
    question = [(0.1, 100.0, 0.3), (0.9, 1000.0, 1.5)]
    result = run_levels([*question, babble], room_level=babble[1], hangover_s=0.5,
                        quieter_than_customer_db=10)
    assert result is not None and result.reason == "silence"
    assert result.speech_end == pytest.approx(1.8 + ROOM_LAG_S)
    assert result.decided_at == pytest.approx(1.8 + ROOM_LAG_S + 0.5, abs=FRAME)
    # Off (the default): the babble holds the turn open until it stops or max length.
    held = run_levels([*question, babble], hangover_s=0.5, max_utterance_s=3.0)
    assert held is not None and held.reason == "max_length"


def test_a_customer_no_louder_than_the_room_is_never_cut() -> None:
    """At 3 dB SNR (and with the customer's own soft syllables) nothing counts as the room."""
    soft_and_loud = [(0.9, 1000.0, 0.3), (0.9, 400.0, 0.3)] * 3  # -8 dB dips within speech
    room = (0.9, 1000 * 10 ** (-3 / 20), 2.0)
    result = run_levels([(0.1, 50.0, 0.3), *soft_and_loud, room], room_level=room[1],
                        hangover_s=0.5, max_utterance_s=3.5, quieter_than_customer_db=10)
    assert result is not None and result.reason == "max_length"


def test_the_room_s_level_keeps_a_soft_last_word_in_a_quiet_room() -> None:
    """A customer's trailing words 8 dB under their median in a quiet room are the customer:
    louder than the room was before the wake word (+ the margin), so never taken for babble."""
    question = [(0.1, 10.0, 0.3), (0.9, 1000.0, 1.2)]
    soft_tail = (0.9, 1000 * 10 ** (-8 / 20), 0.9)  # "...number seven" said softly
    cut = run_levels([*question, soft_tail, (0.0, 10.0, 1.0)], room_level=300.0,
                     hangover_s=0.5, quieter_than_customer_db=6)
    assert cut is not None and cut.speech_end == pytest.approx(1.5 + ROOM_LAG_S)  # loud room
    kept = run_levels([*question, soft_tail, (0.0, 10.0, 1.0)], room_level=10.0,
                      hangover_s=0.5, quieter_than_customer_db=6)
    assert kept is not None and kept.speech_end == pytest.approx(2.4)


def test_babble_at_the_room_s_level_ends_the_turn() -> None:
    room = 1000 * 10 ** (-15 / 20)  # babble 15 dB under the customer, before and after
    question = [(0.9, room, 0.3), (0.9, 1000.0, 1.5)]
    result = run_levels([*question, (0.9, room * 1.2, 3.0)], room_level=room,
                        hangover_s=0.5, quieter_than_customer_db=6)
    assert result is not None and result.reason == "silence"
    assert result.speech_end == pytest.approx(1.8 + ROOM_LAG_S)
    # Voices much louder than the room was (someone stepped up beside the customer, or the
    # customer goes on softly) are not the room: the turn is held.
    held = run_levels([*question, (0.9, room * 10 ** ((ROOM_MARGIN_DB + 3) / 20), 3.0)],
                      room_level=room, hangover_s=0.5, quieter_than_customer_db=6,
                      max_utterance_s=4.0)
    assert held is not None and held.reason == "max_length"


def test_room_level_is_measured_before_the_wake_phrase_only() -> None:
    room = RoomLevel()
    chunk = 0.08
    n = round(8.0 / chunk)
    for i in range(n):  # 8 s: quiet room, then the (loud) wake phrase in the last second
        t = (i + 1) * chunk
        level = 3000 if t > 8.0 - WAKE_PHRASE_S else 100
        room.note(np.full(1280, level, dtype=np.int16), t)
    assert room.before(8.0) == pytest.approx(100)
    assert room.before(8.1 + ROOM_WINDOW_S) is None  # all of it older than the window
    assert RoomLevel().before(1.0) is None
    audio = room.audio_before(8.0)
    assert abs(len(audio) / 1280 - (ROOM_WINDOW_S - WAKE_PHRASE_S) / chunk) <= 1  # whole chunks
    assert int(audio.max()) == 100  # none of the wake phrase


def test_without_voices_in_the_room_the_level_rule_stays_off() -> None:
    """No room level (the room was machines or quiet: the caller's VAD said so): the
    customer's soft tail is never taken for other people, whatever the setting."""
    question = [(0.1, 10.0, 0.3), (0.9, 1000.0, 1.2)]
    soft_tail = (0.9, 1000 * 10 ** (-8 / 20), 0.9)
    kept = run_levels([*question, soft_tail, (0.0, 10.0, 1.0)], room_level=None,
                      hangover_s=0.5, quieter_than_customer_db=6)
    assert kept is not None and kept.speech_end == pytest.approx(2.4)


def _swinging_babble(room: float, seconds: float) -> list[tuple[float, float, float]]:
    """Voices at the room's level frame by frame as babble is: mostly -6..0 dB around it,
    every fourth frame +8 dB (louder than the room + ROOM_MARGIN_DB)."""
    swing = [room * 10 ** (db / 20) for db in (-6, 0, -3, 8)]
    return [(0.9, level, FRAME) for _ in range(round(seconds / FRAME / 4)) for level in swing]


def test_babble_s_loud_frames_do_not_hold_the_turn_open() -> None:
    """Others' voices before the question (counted as the customer's until the question
    begins) and after it, swinging frame by frame: the turn still ends at the question's end."""
    room = 100.0
    question = (0.9, room * 10 ** (12 / 20), 1.5)  # the customer 12 dB over the room
    result = run_levels([*_swinging_babble(room, 1.2), question, *_swinging_babble(room, 4.0)],
                        room_level=room, hangover_s=0.5, quieter_than_customer_db=6,
                        max_utterance_s=6.0)
    assert result is not None and result.reason == "silence"
    assert result.speech_end == pytest.approx(1.2 + 1.5 + ROOM_LAG_S, abs=2 * FRAME)
