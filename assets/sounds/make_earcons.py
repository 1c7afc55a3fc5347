"""Synthesize vitad's earcons: the wake, "understood" and error tones (run once, commit the WAVs).

They are made from sines here (rather than taken from a sound library) so their licence is
ours and anyone can regenerate them bit for bit::

    .venv/bin/python assets/sounds/make_earcons.py

Each tone is a few soft sine blips with raised-cosine fades (no clicks), at most 0.3 s,
16-bit mono at 22050 Hz (the bundled voice's rate; the speaker resamples for other voices),
peaking well below full scale so ``[audio] earcon_volume`` = 1 is still gentle.
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

RATE = 22050
PEAK = 0.25  # of full scale: about -12 dBFS
HERE = Path(__file__).resolve().parent

# (start s, duration s, frequency Hz, relative level); the tone is their sum.
TONES: dict[str, list[tuple[float, float, float, float]]] = {
    "wake": [(0.0, 0.09, 880.0, 1.0), (0.08, 0.14, 1318.5, 1.0)],  # rising: "I'm listening"
    "understood": [(0.0, 0.08, 1174.7, 0.9), (0.07, 0.12, 1568.0, 0.8)],  # short, bright
    "error": [(0.0, 0.12, 440.0, 1.0), (0.12, 0.16, 329.6, 1.0)],  # falling: "that failed"
}


def blip(duration_s: float, freq: float) -> np.ndarray:
    """One sine blip with a raised-cosine attack (8 ms) and a longer release (most of it)."""
    n = int(duration_s * RATE)
    t = np.arange(n) / RATE
    tone = np.sin(2 * np.pi * freq * t) + 0.15 * np.sin(2 * np.pi * 2 * freq * t)
    attack = min(int(0.008 * RATE), n // 2)
    env = np.ones(n)
    env[:attack] = 0.5 - 0.5 * np.cos(np.pi * np.arange(attack) / attack)
    release = n - attack
    env[attack:] = 0.5 + 0.5 * np.cos(np.pi * np.arange(release) / release)
    return tone * env


def render(parts: list[tuple[float, float, float, float]]) -> np.ndarray:
    end = max(start + dur for start, dur, _, _ in parts)
    out = np.zeros(int(end * RATE) + 1)
    for start, dur, freq, level in parts:
        i = int(start * RATE)
        b = blip(dur, freq) * level
        out[i : i + len(b)] += b
    out *= PEAK / np.max(np.abs(out))
    return np.round(out * 32767).astype("<i2")


def write(path: Path, samples: np.ndarray) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(samples.tobytes())


def main() -> None:
    for name, parts in TONES.items():
        samples = render(parts)
        write(HERE / f"{name}.wav", samples)
        print(f"{name}.wav: {len(samples) / RATE:.3f} s")


if __name__ == "__main__":
    main()
