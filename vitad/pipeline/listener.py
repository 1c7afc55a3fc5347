"""Wake word → pre-roll → streaming ASR with VAD endpointing. One thread feeds it in order.

Every buffer is bounded: the pre-roll ring holds ``preroll_s`` of audio, an utterance is cut
at ``max_utterance_s``, and nothing else accumulates audio.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from vitad import events as ev
from vitad.asr.base import Recognizer, RecognizerStream, domain_partial, mark_wake
from vitad.audio.denoise import DenoiserSlot, DenoiserUnavailable
from vitad.audio.format import AudioChunk
from vitad.config.schema import ListenSettings, WakeSettings
from vitad.dialogue.text import normalize, strip_leading_words
from vitad.errors import AudioFailure
from vitad.pipeline.endpoint import (
    ROOM_VOICED_SHARE,
    VAD_FRAME,
    Endpoint,
    Endpointer,
    RoomLevel,
    SpeechProbability,
)
from vitad.pipeline.wake import Detection, WakeDetector

log = logging.getLogger(__name__)

_turn_counter = itertools.count(1)
WAKE_TAIL_S = 0.4  # speech ending this soon after the wake fired is the wake phrase itself


def new_turn_id() -> str:
    return f"{time.strftime('%H%M%S')}-{next(_turn_counter)}"


def is_streaming(recognizer: object) -> bool:
    """Does the recognizer give partial results while audio comes in? (Whisper: no)"""
    return bool(getattr(recognizer, "streaming", True))


# Endpoint reasons that end a turn before the normal silence hangover ran out.
EARLY_REASONS = frozenset({"early", "stable"})
# Digital silence fed to the recognizer after an early end, before it finishes. Without it
# PocketSphinx lost the number of "washer five is broken" (tests/test_simulate.py). It used to
# be the rest of the normal hangover (0.25 s), but that is decoded while the customer waits:
# ~0.1 s here (two decoders, RTF ~0.38) and ~0.17 s in the busy daemon. 0.1 s reads as well
# (bench/endpoint.py, dev + three fresh corpora, 363 questions: 129 intents right vs 128, no
# new cut-off); with none, the number is lost again.
EARLY_PAD_S = 0.1


@dataclass(frozen=True)
class Utterance:
    turn_id: str
    text: str
    engine: str
    endpoint: Endpoint
    decided_wall: float  # perf_counter() when the endpoint was decided (latency accounting)
    asr_s: float  # wall time spent finishing recognition after the endpoint
    confidence: float | None = None  # the recognizer's own, 0..1 (None: it gives none)


class Listener:
    """Feed input chunks; publishes wake/listening/transcript/speech_end events.

    ``gate(t)`` tells whether our own reply is (or just was) playing at input time ``t``.
    While it is, a wake detection only counts if ``barge_in(detection, t)`` accepts it.

    ``complete(text)`` judges whether a partial transcript is already a whole question; with
    it, a streaming recognizer's partials can end the turn early (see :class:`Endpointer`).
    It is injected (assembly builds it from the dialogue) so the listener knows no dialogue.
    """

    def __init__(
        self,
        wake_settings: WakeSettings,
        listen_settings: ListenSettings,
        wake: WakeDetector,
        vad: SpeechProbability,
        recognizer: Recognizer,
        bus: ev.EventBus,
        on_utterance: Callable[[Utterance], None],
        gate: Callable[[float], bool] = lambda t: False,
        barge_in: Callable[[Detection, float], bool] = lambda d, t: False,
        partials: bool = True,
        complete: Callable[[str], bool] | None = None,
    ) -> None:
        self.wake_settings = wake_settings
        self.settings = listen_settings
        self.wake = wake
        self.vad = vad
        self.recognizer = recognizer
        self.bus = bus
        self.on_utterance = on_utterance
        self.gate = gate
        self.barge_in = barge_in
        self.partials = partials
        self.complete = complete
        self._ring: deque[AudioChunk] = deque()
        self._room = RoomLevel()
        self._vad_pending = np.zeros(0, dtype=np.int16)
        self._vad_clock = 0.0
        self._turn: _Turn | None = None
        self.ignored_self_wakes = 0
        # What the recognizer hears, and (separately) what the VAD hears: see _sync_denoisers.
        self._asr_denoiser = DenoiserSlot("listen.noise_suppression")
        self._vad_denoiser = DenoiserSlot("listen.vad_noise_suppression")
        self._vad_pending_clean = np.zeros(0, dtype=np.int16)
        self._sync_denoisers(strict=True)

    def replace(self, wake_settings: WakeSettings, listen_settings: ListenSettings,
                wake: WakeDetector, vad: SpeechProbability, recognizer: Recognizer,
                partials: bool = True, complete: Callable[[str], bool] | None = None) -> None:
        """Use reloaded settings and engines. Call between turns, on the feeding thread."""
        if self._turn is not None:
            raise RuntimeError("Listener.replace called in the middle of a turn")
        self.wake_settings, self.settings = wake_settings, listen_settings
        self.wake, self.vad, self.recognizer = wake, vad, recognizer
        self.partials = partials
        self.complete = complete

    def abandon_turn(self) -> None:
        """The input ended mid-question: release the recognizer's utterance, answer nothing.

        Engines such as PocketSphinx refuse to start a new utterance while one is open, so a
        turn must never be left dangling when a stream of audio ends (simulate, a reload).
        """
        turn, self._turn = self._turn, None
        if turn is not None:
            turn.stream.finish()
            self.wake.reset()

    @property
    def early_endpointing(self) -> bool:
        """Can a complete partial end the turn? (a judge, a streaming recognizer, on)"""
        return (self.complete is not None and self.settings.early_hangover_s > 0
                and is_streaming(self.recognizer))

    @property
    def listening(self) -> bool:
        return self._turn is not None

    def feed(self, chunk: AudioChunk) -> None:
        self._remember(chunk)
        detection = self.wake.feed(chunk.samples, chunk.end)
        if self._turn is None:
            if detection is not None and self._accept_wake(detection, chunk.end):
                self._start_turn(detection, chunk.end)
            return
        self._turn.stream.accept(self._for_asr(chunk.samples))
        self._run_vad(chunk)

    def _sync_denoisers(self, strict: bool = False) -> None:
        """Build the noise suppressors ``listen.noise_suppression`` (the recognizer's input)
        and ``listen.vad_noise_suppression`` (the VAD's) name.

        At start a missing package is an error; after a reload it is logged and that stage
        hears the raw audio (a reload must not break a working box).
        """
        for slot, kind in ((self._asr_denoiser, self.settings.noise_suppression),
                           (self._vad_denoiser, self.settings.vad_noise_suppression)):
            try:
                slot.sync(kind)
            except DenoiserUnavailable as exc:
                if strict:
                    raise AudioFailure(slot.setting, str(exc)) from None
                log.error("listen: %s; %s hears unprocessed audio", exc, slot.setting)

    def _for_asr(self, samples: np.ndarray) -> np.ndarray:
        return self._asr_denoiser.process(samples)

    def _accept_wake(self, detection: Detection, t: float) -> bool:
        if not self.gate(t):
            return True
        if self.wake_settings.barge_in and self.barge_in(detection, t):
            return True
        self.ignored_self_wakes += 1
        log.info("wake: ignored %s (%.2f) during our own playback", detection.model,
                 detection.score)
        return False

    def _remember(self, chunk: AudioChunk) -> None:
        # The room's level, for the babble rule: never while we listen or speak ourselves.
        if (self._turn is None and self.settings.quieter_than_customer_db
                and not self.gate(chunk.end)):
            self._room.note(chunk.samples, chunk.end)
        self._ring.append(chunk)
        keep = max(self.settings.preroll_s, 0.1)
        while self._ring and chunk.end - self._ring[0].end > keep:
            self._ring.popleft()

    def _endpointer(self, wake_t: float) -> Endpointer:
        return Endpointer(self.settings, start=wake_t, room_level=self._room_voices(wake_t))

    def _room_voices(self, wake_t: float) -> float | None:
        """The room's level before the wake when the room was voices (others talking), else
        None: the babble rule ([listen] quieter_than_customer_db) has nothing to do."""
        if not self.settings.quieter_than_customer_db:
            return None
        audio = self._room.audio_before(wake_t)
        frames = len(audio) // VAD_FRAME
        if frames == 0:
            return None
        self.vad.reset()
        threshold = self.settings.vad_threshold
        voiced = sum(self.vad(audio[i * VAD_FRAME:(i + 1) * VAD_FRAME]) >= threshold
                     for i in range(frames))  # (the turn resets the VAD again before its audio)
        return self._room.before(wake_t) if voiced >= ROOM_VOICED_SHARE * frames else None

    def _start_turn(self, detection: Detection, t: float) -> None:
        turn_id = new_turn_id()
        playing = self.gate(t)
        self.bus.publish(ev.Wake(t, detection.model, round(detection.score, 3), barge_in=playing))
        self.bus.publish(ev.Listening(t, turn_id))
        self._sync_denoisers()
        endpointer = self._endpointer(t)
        # The VAD's denoiser (WebRTC's, like the others, models steady noise) is for rooms
        # without voices: in babble it suppresses the room's talk unevenly, and the gaps it
        # leaves between the wake word and the question ended a turn early on a stray partial
        # (bench/endpoint.py); there the VAD hears the raw mic, as the babble rules expect.
        # (The room is only classified while that rule is on: quieter_than_customer_db > 0.)
        denoised = self._vad_denoiser.denoiser is not None and endpointer.room_level is None
        self._turn = _Turn(turn_id, self.recognizer.start(), endpointer, wake_t=t,
                           vad_denoised=denoised)
        self.vad.reset()
        for slot in (self._asr_denoiser, self._vad_denoiser):
            slot.reset()  # each turn starts clean; it hears the pre-roll first
        self._vad_pending = np.zeros(0, dtype=np.int16)
        self._vad_pending_clean = np.zeros(0, dtype=np.int16)
        preroll = list(self._ring)
        self._vad_clock = preroll[0].timestamp if preroll else t
        # The pre-roll (which includes the chunk that fired) goes to the recognizer so a
        # question spoken straight after the wake word is not clipped. The VAD also hears it,
        # to warm up, but speech before the wake fired does not start the utterance.
        for chunk in preroll:
            self._turn.stream.accept(self._for_asr(chunk.samples))
            self._run_vad(chunk)
            if self._turn is None:
                return
        mark_wake(self._turn.stream)

    def _run_vad(self, chunk: AudioChunk) -> None:
        turn = self._turn
        assert turn is not None
        # The partial covers the audio up to this chunk's end; the endpointer only lets
        # frames after that time use it (no look-ahead).
        t = max(chunk.end, turn.wake_t)  # pre-roll chunks are replayed at wake time
        early = self.early_endpointing
        text = self._clean(turn.stream.partial()) if (self.partials or early) else ""
        if early:
            # A domain-restricted reading, where the engine has one, is the truer one to judge
            # (bench/endpoint.py: twice the early turns of the open partial, no cut-offs).
            judged = self._clean(domain_partial(turn.stream)) or text
            if judged != turn.judged_partial:
                turn.judged_partial = judged
                assert self.complete is not None
                turn.endpointer.note_partial(bool(judged) and self.complete(judged), t)
        data = np.concatenate([self._vad_pending, chunk.samples])
        # The VAD judges denoised audio (vad_noise_suppression); the levels stay the raw
        # mic's, as comparable with the room's before the wake. Same length, so same frames.
        clean = (np.concatenate([self._vad_pending_clean,
                                 self._vad_denoiser.process(chunk.samples)])
                 if turn.vad_denoised else data)
        usable = len(data) - len(data) % VAD_FRAME
        self._vad_pending, self._vad_pending_clean = data[usable:], clean[usable:]
        for i in range(0, usable, VAD_FRAME):
            frame = data[i : i + VAD_FRAME]
            probability = self.vad(clean[i : i + VAD_FRAME])
            start = self._vad_clock
            self._vad_clock += VAD_FRAME / 16000
            if self._vad_clock <= turn.wake_t:
                continue
            level = (float(np.sqrt(np.mean(np.square(frame, dtype=np.float32))))
                     if early or self.settings.quieter_than_customer_db else None)
            endpoint = turn.endpointer.update(probability, start, self._vad_clock, level)
            if endpoint is not None and self._finish_or_continue(endpoint):
                return
        if self.partials and text != turn.last_partial:
            turn.last_partial = text
            self.bus.publish(ev.Transcript(t, turn.turn_id, text, final=False,
                                           engine=self.recognizer.name))

    def _clean(self, text: str, *, strict: bool = True) -> str:
        """Text without the wake phrase's echo; ``strict=False`` for the final transcript,
        where a lone "hey" is the customer's greeting (see strip_leading_words)."""
        return strip_leading_words(normalize(text), self.wake_settings.phrase_words,
                                   strict=strict)

    def _only_wake_tail_so_far(self, turn: _Turn, endpoint: Endpoint) -> bool:
        """Was the speech since the wake only the end of the wake phrase?

        A streaming recognizer tells from its partial text. One that only decodes at the end
        (Whisper) cannot, so the VAD decides: voice that ended within ``WAKE_TAIL_S`` of the
        wake was the phrase's tail, not a question.
        """
        if is_streaming(self.recognizer):
            return not self._clean(turn.stream.partial())
        return endpoint.speech_end - turn.wake_t < WAKE_TAIL_S

    def _finish_or_continue(self, endpoint: Endpoint) -> bool:
        """End the turn, or keep listening if all we heard so far was the wake phrase."""
        turn = self._turn
        assert turn is not None
        if (
            endpoint.reason == "silence"
            and self._only_wake_tail_so_far(turn, endpoint)
            and endpoint.decided_at - turn.wake_t < self.settings.no_speech_timeout_s
        ):
            # Only the tail of "hey jarvis" was voiced: wait for the actual question.
            turn.endpointer = Endpointer(self.settings, start=turn.wake_t,
                                         room_level=turn.endpointer.room_level)
            turn.judged_partial = None
            return False
        decided_wall = time.perf_counter()
        if endpoint.reason in EARLY_REASONS:
            # The recognizer heard less trailing silence than the normal hangover gives it;
            # PocketSphinx then loses the last words' best reading ("washer five is broken"
            # became "the washer is broken"). Give it some silence (see EARLY_PAD_S).
            pad_s = min(EARLY_PAD_S,
                        max(0.0, self.settings.hangover_s - self.settings.early_hangover_s))
            turn.stream.accept(np.zeros(round(pad_s * 16000), dtype=np.int16))
        text = self._clean(turn.stream.finish(), strict=False)
        asr_s = time.perf_counter() - decided_wall
        self._turn = None
        self.wake.reset()
        self.bus.publish(ev.SpeechEnd(endpoint.speech_end, turn.turn_id, endpoint.reason,
                                      endpoint.decided_at))
        self.bus.publish(ev.Transcript(endpoint.decided_at, turn.turn_id, text, final=True,
                                       engine=self.recognizer.name))
        self.on_utterance(Utterance(turn.turn_id, text, self.recognizer.name, endpoint,
                                    decided_wall, asr_s,
                                    getattr(turn.stream, "confidence", None)))
        return True


class _Turn:
    def __init__(self, turn_id: str, stream: RecognizerStream, endpointer: Endpointer,
                 wake_t: float, vad_denoised: bool = False) -> None:
        self.turn_id = turn_id
        self.vad_denoised = vad_denoised  # does the VAD judge denoised audio this turn?
        self.stream = stream
        self.endpointer = endpointer
        self.wake_t = wake_t
        self.last_partial = ""
        self.judged_partial: str | None = None  # the partial the endpointer last heard of
