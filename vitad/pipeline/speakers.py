"""Speakers: where reply audio goes, and when (the clock that latency is measured on).

* :class:`TimelineSpeaker` (simulate): synthesizes at once and places the reply on the input
  audio's clock, offset by the real wall time the work took, so measured latencies are true.
* :class:`LiveSpeaker` (daemon): a worker thread synthesizing sentence *n+1* while sentence
  *n* plays on a device; stoppable between 40 ms blocks (barge-in).
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Protocol

import numpy as np

from vitad import events as ev
from vitad.audio.format import INTERNAL_RATE, mouth_level, resample
from vitad.audio.schedule import Schedule
from vitad.bounded import Backoff, put_drop_oldest
from vitad.errors import TtsFailure
from vitad.pipeline.listener import Utterance
from vitad.tts.ahead import read_ahead
from vitad.tts.piper_engine import PiperTts
from vitad.tts.visemes import VisemeTrack

log = logging.getLogger(__name__)

MOUTH_BLOCK_S = 0.04
CHIME_BLOCK_S = 0.02  # an earcon in progress holds back a reply's first audio at most this
REFERENCE_KEEP_S = 3.0
PIECES_AHEAD = 3  # TTS pieces made ahead of the one playing (a barge-in wastes at most these)


class AudioSink(Protocol):
    def write(self, samples: np.ndarray) -> None: ...

    def close(self) -> None: ...


def _turn_end(t: float, utt: Utterance, intent: str, first_audio_t: float | None) -> ev.TurnEnd:
    outcome = "fallback" if intent == "fallback" else "answered"
    latency = None if first_audio_t is None else round(first_audio_t - utt.endpoint.speech_end, 3)
    return ev.TurnEnd(t, utt.turn_id, outcome=outcome, intent=intent, latency_s=latency)


def _viseme(track: VisemeTrack | None, offset: int, length: int) -> str | None:
    """The mouth shape for the block of ``length`` samples at ``offset`` (None: the voice
    gave no phonemes, the mouth follows loudness)."""
    return None if track is None else track.over(offset, offset + length)


def _mix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Two int16 signals of the same length, summed and clipped."""
    return np.clip(a.astype(np.int32) + b, -32768, 32767).astype(np.int16)


class TimelineSpeaker:
    """Reply audio on the input clock: the simulate output WAV and the playback gate.

    Synthesis happens at once, but the events it causes (audio_out_start, speaking, mouth,
    audio_out_end, turn_end) are *scheduled* at their playback times and released by
    :meth:`release` as the input clock reaches them, so the event stream stays in time order
    and a barge-in can cut a reply that has not finished "playing".
    """

    def __init__(self, tts: PiperTts | None, bus: ev.EventBus, tail_s: float = 0.3,
                 mouth_events: bool = False) -> None:
        self.tts = tts
        self.bus = bus
        self.tail_s = tail_s
        self.mouth_events = mouth_events
        self.rate = tts.rate if tts else 22050
        self._placed: list[tuple[float, np.ndarray]] = []  # (start t, samples)
        self._pending: list[ev.Event] = []
        self._turn_info: dict[str, tuple[Utterance, str, float | None]] = {}
        self.playing_until = -1.0
        self._chimes: list[tuple[float, np.ndarray]] = []  # earcons: (start t, samples)
        self.chime_until = -1.0

    def is_playing(self, t: float) -> bool:
        return t < max(self.playing_until, self.chime_until) + self.tail_s

    def chime(self, samples: np.ndarray, t: float) -> None:
        """An earcon at input time ``t``: mixed over the output, never ahead of a reply."""
        self._chimes.append((t, samples))
        self.chime_until = max(self.chime_until, t + len(samples) / self.rate)

    def say(self, turn_id: str, text: str, utt: Utterance, intent: str) -> None:
        t0 = utt.endpoint.decided_at
        if self.tts is None:  # captions only
            self._schedule(_turn_end(t0, utt, intent, None))
            return
        cursor = max(t0, self.playing_until)
        first_t: float | None = None
        try:
            # As the live speaker plays them: a chunk missing from the cache in windows, the
            # first as soon as it is decoded (vitad/tts/windowed.py).
            for piece in self.tts.pieces(text):
                ready_t = t0 + (time.perf_counter() - utt.decided_wall)
                start = max(cursor, ready_t)
                if first_t is None:
                    first_t = start
                    self._schedule(ev.AudioOutStart(start, turn_id, cached=piece.cached))
                if piece.first:
                    self._schedule(ev.SpeakingSentence(start, turn_id, piece.text))
                self._placed.append((start, piece.samples))
                if self.mouth_events:  # blocks on the chunk's timeline, as LiveSpeaker's
                    block = int(self.rate * MOUTH_BLOCK_S)
                    for i in range(-piece.offset % block, len(piece.samples), block):
                        part = piece.samples[i : i + block]
                        viseme = _viseme(piece.visemes, piece.offset + i, block)
                        self._schedule(ev.MouthLevel(start + i / self.rate, mouth_level(part),
                                                     viseme))
                cursor = start + len(piece.samples) / self.rate
                self.playing_until = cursor
                if piece.last:
                    cursor += len(self.tts.pause(piece.ends_sentence)) / self.rate
        except TtsFailure as exc:
            self.bus.publish(ev.StageError(t0, "tts", exc.code, exc.message, turn_id))
        end_t = max(self.playing_until, t0)
        self._turn_info[turn_id] = (utt, intent, first_t)
        self._schedule(ev.AudioOutEnd(end_t, turn_id))
        self._schedule(_turn_end(end_t, utt, intent, first_t))

    def _schedule(self, event: ev.Event) -> None:
        self._pending.append(event)
        self._pending.sort(key=lambda e: e.t)  # stable: same-time events keep their order

    def release(self, t: float | None = None) -> None:
        """Publish scheduled events due at input time ``t`` (all of them when None)."""
        while self._pending and (t is None or self._pending[0].t <= t):
            self.bus.publish(self._pending.pop(0))

    def interrupt(self, t: float) -> None:
        """Barge-in at input time ``t``: cut reply audio and close the interrupted turns."""
        self.release(t)
        cut_turns = {getattr(e, "turn_id", None) for e in self._pending} - {None}
        self._pending = [e for e in self._pending if e.t <= t]
        for turn_id in sorted(t_ for t_ in cut_turns if t_ in self._turn_info):
            utt, intent, first_t = self._turn_info.pop(turn_id)
            first = first_t if first_t is not None and first_t <= t else None
            self._schedule(ev.AudioOutEnd(t, turn_id, interrupted=True))
            self._schedule(_turn_end(t, utt, intent, first))
        kept = []
        for start, samples in self._placed:
            if start < t:
                kept.append((start, samples[: int((t - start) * self.rate)]))
        self._placed = kept
        self.playing_until = min(self.playing_until, t)

    def reference(self, t: float, window_s: float = 2.5) -> np.ndarray:
        """What we were playing during [t - window, t], at 16 kHz (for the self-voice check)."""
        n = int(window_s * self.rate)
        out = np.zeros(n, dtype=np.int16)
        begin = t - window_s
        for start, samples in [*self._placed, *self._chimes]:
            offset = round((start - begin) * self.rate)
            lo, hi = max(offset, 0), min(offset + len(samples), n)
            if lo < hi:
                out[lo:hi] = _mix(out[lo:hi], samples[lo - offset : hi - offset])
        return resample(out, self.rate, INTERNAL_RATE)

    def render(self, duration_s: float) -> np.ndarray:
        """The whole output track: replies where they played, silence elsewhere."""
        placed = [*self._placed, *self._chimes]
        end = max([duration_s, *(s + len(a) / self.rate for s, a in placed)])
        track = np.zeros(int(end * self.rate) + 1, dtype=np.int16)
        for start, samples in self._placed:
            i = round(start * self.rate)
            track[i : i + len(samples)] = samples[: len(track) - i]
        for start, samples in self._chimes:
            i = round(start * self.rate)
            part = track[i : i + len(samples)]
            track[i : i + len(part)] = _mix(part, samples[: len(part)])
        return track


class LiveSpeaker:
    """A worker thread that speaks replies on a real (or null/file) output.

    Bounded work queue (newest reply wins: an old unanswered reply is dropped and counted).
    ``interrupt()`` stops within one block. ``reference()`` returns the last few
    seconds that were played, for the self-voice check.
    """

    def __init__(self, tts: PiperTts | None, sink: AudioSink | None, bus: ev.EventBus,
                 clock: Callable[[], float], volume: float = 1.0, tail_s: float = 0.3,
                 heartbeat: Callable[[], None] = lambda: None, realtime: bool = True,
                 reopen: Callable[[], AudioSink] | None = None,
                 retry_s: tuple[float, float] = (1.0, 30.0),
                 schedule: Schedule | None = None) -> None:
        self.tts = tts
        self.schedule = schedule  # quiet hours: a volume factor asked on each reply
        self.sink = sink
        self.bus = bus
        self.clock = clock
        self.volume = volume
        self.tail_s = tail_s
        self.heartbeat = heartbeat
        self.realtime = realtime
        self.rate = tts.rate if tts else 22050
        self._queue: queue.Queue[tuple[str, str, Utterance, str] | None] = queue.Queue(maxsize=2)
        self._interrupt = threading.Event()
        self._playing = threading.Event()
        self._last_audio_at = -1e9
        self._reference: deque[np.ndarray] = deque(
            maxlen=int(REFERENCE_KEEP_S / MOUTH_BLOCK_S))
        self.dropped = 0
        self._reopen = reopen
        self._retry = Backoff(*retry_s)
        self._thread = threading.Thread(target=self._run, name="speaker", daemon=True)
        self._stopped = threading.Event()
        self._next_voice: list[PiperTts | None] = []  # a reloaded voice, taken between replies
        self._next_device = threading.Event()  # a reloaded [audio] output, taken likewise
        # Earcons: a chime thread plays them while the speaker thread synthesizes; a reply's
        # blocks mix in whatever is left (never queued behind it). Lock order: out, chime.
        self._out_lock = threading.Lock()  # one writer on the device at a time
        self._chime_lock = threading.Lock()  # guards _chime and _replying (held briefly)
        self._chime = np.zeros(0, dtype=np.int16)
        self._replying = False
        self._chime_due = threading.Event()
        self._chime_thread = threading.Thread(target=self._chime_run, name="earcons",
                                              daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._chime_thread.start()

    def close(self) -> None:
        self._stopped.set()
        self._interrupt.set()
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(None)
        self._thread.join(timeout=5)
        self._chime_due.set()
        if self._chime_thread.is_alive():
            self._chime_thread.join(timeout=5)

    def use_voice(self, tts: PiperTts | None) -> None:
        """Speak with ``tts`` from the next reply on (a reload; any thread may call it)."""
        self._next_voice[:] = [tts]

    def use_device(self) -> None:
        """Reopen the output before the next reply (a reload changed it; any thread)."""
        self._next_device.set()

    def _take_new_voice(self) -> None:
        """Speaker thread: switch voices; a new sample rate reopens the device at that rate."""
        reopen = self._next_device.is_set()
        self._next_device.clear()
        if self._next_voice:
            tts = self._next_voice.pop()
            self.tts = tts
            rate = tts.rate if tts else 22050
            if rate != self.rate:
                self.rate = rate
                self._reference.clear()
                reopen = True
        if reopen and self.sink is not None and self._reopen is not None:
            sink, self.sink = self.sink, None
            with contextlib.suppress(Exception):
                sink.close()
            self._retry.succeeded()  # reopen at once, at the new rate

    def is_playing(self, t: float | None = None) -> bool:
        return self._playing.is_set() or time.monotonic() - self._last_audio_at < self.tail_s

    def chime(self, samples: np.ndarray, t: float = 0.0) -> None:
        """Play an earcon now (any thread; returns at once). Overlapping ones are mixed."""
        with self._chime_lock:
            n = max(len(self._chime), len(samples))
            pending = np.zeros(n, dtype=np.int16)
            pending[: len(self._chime)] = self._chime
            pending[: len(samples)] = _mix(pending[: len(samples)], samples)
            self._chime = pending
            self._last_audio_at = time.monotonic()  # the gate covers it from this moment
        self._chime_due.set()

    def _chime_run(self) -> None:
        while not self._stopped.is_set():
            if not self._chime_due.wait(0.5):
                continue
            self._chime_due.clear()
            while not self._stopped.is_set():
                with self._out_lock:
                    with self._chime_lock:
                        if self._replying or not len(self._chime):
                            break  # a reply's blocks mix in the rest
                        block = int(self.rate * CHIME_BLOCK_S)
                        part, self._chime = self._chime[:block], self._chime[block:]
                    self._last_audio_at = time.monotonic()
                    self._emit(part)
                    self._reference.append(part)
                    self._last_audio_at = time.monotonic()

    def say(self, turn_id: str, text: str, utt: Utterance, intent: str) -> None:
        self.dropped += put_drop_oldest(self._queue, (turn_id, text, utt, intent))

    def interrupt(self, t: float = 0.0) -> None:
        self._interrupt.set()

    def reference(self, t: float = 0.0, window_s: float = 2.5) -> np.ndarray:
        blocks = list(self._reference)
        if not blocks:
            return np.zeros(0, dtype=np.int16)
        return resample(np.concatenate(blocks), self.rate, INTERNAL_RATE)

    def _run(self) -> None:
        while not self._stopped.is_set():
            self.heartbeat()
            self._take_new_voice()
            self._maybe_reopen()
            try:
                item = self._queue.get(timeout=0.5)
            except queue.Empty:
                continue
            if item is None:
                return
            self._take_new_voice()  # a reload while we waited: this reply uses the new voice
            self._maybe_reopen()
            self._interrupt.clear()
            try:
                self._speak(*item)
            except Exception as exc:  # never let one reply kill the speaker thread
                log.exception("speaker failed")
                self.bus.publish(ev.StageError(self.clock(), "audio_out", "audio_out.failed",
                                               str(exc), item[0]))
            finally:
                self._playing.clear()
                with self._chime_lock:
                    self._replying = False
                    if len(self._chime):
                        self._chime_due.set()  # a tone that came at the very end

    def _speak(self, turn_id: str, text: str, utt: Utterance, intent: str) -> None:
        if self.tts is None:
            self.bus.publish(_turn_end(self.clock(), utt, intent, None))
            return
        first_t: float | None = None
        interrupted = False
        block = int(self.rate * MOUTH_BLOCK_S)
        volume = self.volume * (self.schedule.volume_at() if self.schedule else 1.0)
        # The next piece is synthesized while this one plays (a blocking device write would
        # otherwise leave its synthesis as silence between the two). A chunk from the cache is
        # one piece; a chunk missing from it comes window by window as it is decoded, so its
        # first audio plays while the rest is still being decoded (vitad/tts/windowed.py);
        # a few pieces ahead, so one window slowed by a busy moment leaves no hole.
        pieces = read_ahead(self.tts.pieces(text), ahead=PIECES_AHEAD)
        try:
            for piece in pieces:
                if self._interrupt.is_set():
                    interrupted = True
                    break
                self.heartbeat()
                samples = piece.samples
                if volume != 1.0:
                    samples = np.clip(samples * volume, -32768, 32767).astype(np.int16)
                if first_t is None:
                    first_t = self.clock()
                    self.bus.publish(ev.AudioOutStart(first_t, turn_id, cached=piece.cached))
                self._playing.set()
                if piece.first:
                    self.bus.publish(ev.SpeakingSentence(self.clock(), turn_id, piece.text))
                # Blocks on the chunk's timeline, so the mouth moves every 40 ms across pieces.
                position, end = piece.offset, piece.offset + len(samples)
                while position < end:
                    if self._interrupt.is_set():
                        interrupted = True
                        break
                    stop = min(end, (position // block + 1) * block)
                    part = samples[position - piece.offset : stop - piece.offset]
                    if position % block == 0:  # a block starts (its rest may be next piece's)
                        viseme = _viseme(piece.visemes, position, block)
                        self.bus.publish(ev.MouthLevel(self.clock(), mouth_level(part), viseme))
                    self._reference.append(self._write(part))
                    self._last_audio_at = time.monotonic()
                    self.heartbeat()
                    position = stop
                if interrupted:
                    break
                if piece.last:
                    self._write(self.tts.pause(piece.ends_sentence))  # a clause: shorter
        except TtsFailure as exc:
            self.bus.publish(ev.StageError(self.clock(), "tts", exc.code, exc.message, turn_id))
        finally:
            pieces.close()  # a barge-in: the piece made ahead is not wanted
        self.bus.publish(ev.MouthLevel(self.clock(), 0.0))
        self.bus.publish(ev.AudioOutEnd(self.clock(), turn_id, interrupted=interrupted))
        self.bus.publish(_turn_end(self.clock(), utt, intent, first_t))

    def _write(self, samples: np.ndarray) -> np.ndarray:
        """Speaker thread: write reply audio with any pending earcon mixed in; returns it."""
        with self._chime_lock:
            self._replying = True  # before waiting for the device: the tone yields to us
        with self._out_lock:
            with self._chime_lock:
                if len(self._chime):
                    n = min(len(self._chime), len(samples))
                    samples = samples.copy()
                    samples[:n] = _mix(samples[:n], self._chime[:n])
                    self._chime = self._chime[n:]
            self._emit(samples)
        return samples

    def _emit(self, samples: np.ndarray) -> None:
        if self.sink is not None:
            try:
                self.sink.write(samples)
                return
            except Exception as exc:  # USB speaker unplugged mid-reply: captions only
                self._sink_failed(exc)
        if self.realtime:
            time.sleep(len(samples) / self.rate)

    def _sink_failed(self, exc: Exception) -> None:
        log.warning("speaker failed (%s); captions only until it is back", exc)
        sink, self.sink = self.sink, None
        if sink is not None:
            with contextlib.suppress(Exception):
                sink.close()
        self._retry.succeeded()
        self._retry.failed()  # first reopen attempt after the initial delay
        self.bus.publish(ev.Degraded(self.clock(), "speaker", "speaker_unavailable", True,
                                     str(exc)))

    def _maybe_reopen(self) -> None:
        """Reopen a lost speaker by name with capped exponential backoff."""
        if self.sink is not None or self._reopen is None or not self._retry.due():
            return
        try:
            sink = self._reopen()
        except Exception as exc:
            self._retry.failed()
            log.debug("speaker still unavailable: %s", exc)
            return
        self.sink = sink
        self._retry.succeeded()
        log.info("speaker is back")
        self.bus.publish(ev.Degraded(self.clock(), "speaker", "speaker_unavailable", False))
