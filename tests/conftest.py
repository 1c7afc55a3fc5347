"""Shared fixtures: the shipped config (with temp dirs), the real Piper voice, test audio.

Test speech is synthesized here with the bundled Piper voice (and espeak-ng where a second
voice is wanted); nothing is fetched at run time.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tomllib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import tomli_w

from vitad.audio.format import INTERNAL_RATE, float_to_int16, resample
from vitad.audio.wavfile import read_wav_internal
from vitad.config.loader import sandbox_config_dict, shipped_config_dir, validate_config
from vitad.config.schema import Config
from vitad.demo import laundromat_noise

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")


def config_dict(tmp_path: Path, **sections: dict) -> dict:
    """The shipped config as a dict, with writable temp paths and overrides per section."""
    return sandbox_config_dict(tmp_path, **sections)


def write_config(tmp_path: Path, **sections: dict) -> Path:
    """Write the shipped config with overrides to ``tmp_path/vitad.toml``."""
    path = tmp_path / "vitad.toml"
    path.write_bytes(tomli_w.dumps(config_dict(tmp_path, **sections)).encode())
    return path


def with_wake_model(config_text: str, model: Path) -> str:
    """The same config with ``[wake] models = [model]``."""
    data = tomllib.loads(config_text)
    data["wake"]["models"] = [str(model)]
    return tomli_w.dumps(data)


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return validate_config(config_dict(tmp_path), "test", shipped_config_dir())


@pytest.fixture(scope="session")
def tts(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from vitad.tts.piper_engine import PiperTts

    # Piper samples noise per run; with both scales at 0 the test voice is identical in every
    # run, so a test's result cannot depend on which take of a sentence it happened to get.
    cfg = validate_config(config_dict(tmp_path_factory.mktemp("tts"),
                                      tts={"noise_scale": 0.0, "noise_w": 0.0}), "test",
                          shipped_config_dir())
    return PiperTts(cfg.tts, cfg.base_dir, tmp_path_factory.mktemp("tts-cache"))


@pytest.fixture(scope="session")
def speech(tts) -> Callable[[str], np.ndarray]:  # type: ignore[no-untyped-def]
    """Text → 16 kHz int16 speech in the bundled Piper voice."""
    def say(text: str) -> np.ndarray:
        voice = np.concatenate([s.samples for s in tts.speak(text)])
        return resample(voice, tts.rate, INTERNAL_RATE)

    return say


@pytest.fixture(scope="session")
def espeak(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., np.ndarray]:
    """A second, very different voice (espeak-ng from Debian)."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        pytest.fail("espeak-ng is not installed (apt-get install espeak-ng; .ci/run does)")
    folder = tmp_path_factory.mktemp("espeak")

    def say(text: str, voice: str = "en-us") -> np.ndarray:
        out = folder / "say.wav"
        subprocess.run([exe, "-v", voice, "-w", str(out), text], check=True)
        return read_wav_internal(out)

    return say


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * INTERNAL_RATE), dtype=np.int16)


def with_noise(samples: np.ndarray, level: float = 90.0, seed: int = 3) -> np.ndarray:
    mixed = samples.astype(np.float32) + laundromat_noise(len(samples), level, seed)
    return np.clip(mixed, -32768, 32767).astype(np.int16)


def to_int16(audio: np.ndarray) -> np.ndarray:
    return float_to_int16(audio)


# --- hypothesis profiles for the fuzz tests (tests/**/test_fuzz_*.py) ----------------------
# "ci" (the default) is repeatable (derandomize) and quick enough for every CI run; "fuzz"
# is the long run of bench/fuzz.py: HYPOTHESIS_PROFILE=fuzz. No example database: the fuzz
# tests must not write into the checkout, and a failure prints its reproducer anyway.
from hypothesis import HealthCheck as _HealthCheck  # noqa: E402
from hypothesis import settings as _hypothesis_settings  # noqa: E402

_FUZZ_QUIET = [_HealthCheck.too_slow, _HealthCheck.data_too_large, _HealthCheck.filter_too_much]
_hypothesis_settings.register_profile(
    "ci", max_examples=250, deadline=None, derandomize=True, database=None,
    suppress_health_check=_FUZZ_QUIET)
_hypothesis_settings.register_profile(
    "fuzz", max_examples=int(os.environ.get("HYPOTHESIS_MAX_EXAMPLES", "10000")), deadline=None,
    database=None, suppress_health_check=_FUZZ_QUIET)
_hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session")
def peak_alloc() -> Callable[[Callable[[], object]], tuple[object, int]]:
    """``measure(fn)``: (what fn returned or raised, how far the process's peak RSS rose
    above its RSS before the call, in bytes).

    The kernel's peak (VmHWM) is reset before each call (``5 > /proc/self/clear_refs``), so
    one fuzz example cannot hide behind an earlier one's high-water mark, and memory that C
    libraries allocate (soxr, pydantic-core) counts too; it costs ~60 us, where tracemalloc
    made loading a TOML file 15 times slower.
    """
    def status(key: str) -> int:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith(key))

    def measure(fn: Callable[[], object]) -> tuple[object, int]:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        before = status("VmRSS:")
        try:
            outcome: object = fn()
        except Exception as exc:  # the caller judges it
            outcome = exc
        return outcome, status("VmHWM:") - before

    return measure
