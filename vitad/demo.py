"""`vitad demo`: a scripted laundromat conversation through the real pipeline.

The customer's voice is synthesized with the bundled Piper voice (so no audio files are
needed), laundromat noise is mixed under it, and the whole WAV goes through wake word → VAD →
ASR → dialogue → Piper exactly as `vitad simulate` would run it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vitad.audio.format import INTERNAL_RATE, resample
from vitad.audio.wavfile import write_wav
from vitad.config.schema import Config
from vitad.pipeline.engines import load_engines
from vitad.simulate import SimulationResult, simulate_files
from vitad.tts.piper_engine import PiperTts

SCRIPT = [
    ("Hey Jarvis.", 0.25, "What time do you close?", 7.0),
    ("Hey Jarvis.", 0.25, "How much is the big washer?", 5.0),
    ("Hey Jarvis.", 0.25, "And the dryer?", 5.0),
    ("Hey Jarvis.", 0.25, "Dryer seven is not heating.", 9.0),
]


def laundromat_noise(n: int, level: float, seed: int = 7) -> np.ndarray:
    """Broadband hum + a slow tumble rumble, like a room full of running machines."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / INTERNAL_RATE
    noise = rng.normal(0.0, 1.0, n)
    noise = np.convolve(noise, np.ones(4) / 4, mode="same")  # a little less hiss
    hum = 0.4 * np.sin(2 * np.pi * 60 * t) + 0.3 * np.sin(2 * np.pi * 0.7 * t)
    return (level * (noise + hum)).astype(np.float32)


def at_snr(clean: np.ndarray, snr_db: float, seed: int = 7) -> np.ndarray:
    """``clean`` int16 speech with :func:`laundromat_noise` mixed in at ``snr_db`` (speech
    level measured on its voiced samples, so leading silence does not skew it)."""
    voiced = clean[np.abs(clean) > 300].astype(np.float64)
    speech_rms = float(np.sqrt(np.mean(voiced**2))) if len(voiced) else 1000.0
    noise = laundromat_noise(len(clean), 1.0, seed).astype(np.float64)
    noise *= speech_rms / float(np.sqrt(np.mean(noise**2))) / 10 ** (snr_db / 20)
    return np.clip(clean + noise, -32768, 32767).astype(np.int16)


def build_conversation(tts: PiperTts, script: list[tuple[str, float, str, float]],
                       noise_level: float = 90.0, lead_in_s: float = 1.0) -> np.ndarray:
    """16 kHz int16 audio of a customer talking to the box, with machine noise under it."""
    def say(text: str) -> np.ndarray:
        voice = np.concatenate([s.samples for s in tts.speak(text)])
        return resample(voice, tts.rate, INTERNAL_RATE)

    def silence(seconds: float) -> np.ndarray:
        return np.zeros(int(seconds * INTERNAL_RATE), dtype=np.int16)

    parts = [silence(lead_in_s)]
    for wake, gap, question, after in script:
        parts += [say(wake), silence(gap), say(question), silence(after)]
    speech = np.concatenate(parts).astype(np.float32)
    mixed = speech + laundromat_noise(len(speech), noise_level)
    return np.clip(mixed, -32768, 32767).astype(np.int16)


def run_demo(config: Config, out_dir: Path) -> SimulationResult:
    out_dir.mkdir(parents=True, exist_ok=True)
    engines = load_engines(config, cache_dir=out_dir / "tts-cache")
    if engines.tts is None:
        raise SystemExit("demo needs the Piper voice to build its conversation")
    conversation = out_dir / "conversation.wav"
    write_wav(conversation, build_conversation(engines.tts, SCRIPT), INTERNAL_RATE)
    return simulate_files(config, conversation, out_dir / "replies.wav",
                          out_dir / "events.jsonl", engines=engines)
