"""One loudness for every reply: a fixed gain per voice, then a memoryless soft limiter.

Piper normalizes each sentence to its own peak, which is known only once the whole sentence is
decoded; a chunk played window by window as it is decoded (vitad/tts/windowed.py) cannot wait
for that. So every path (the cache, a window-by-window miss, a voice decoded in one go, the
answer preparer) scales the voice's raw audio by one gain per voice and then passes it through
:func:`soft_limit`, which looks at one sample at a time: windows scaled one by one are the
whole sentence scaled at once, sample for sample, so a miss plays exactly what its cached copy
plays later.

Measured on joe-medium over every reply the shipped shop gives (121 distinct chunks, Piper's
sentences, noise as shipped): raw peaks 0.35-0.73, median 0.49 (p90 0.60); raw RMS 0.041-0.087,
median 0.058; crest factor 6.5-13.5 (median 8.3): a sentence's peak is a few samples.
Piper's per-sentence normalization put those sentences at -22.6 to -16.2 dBFS RMS (median
-18.4): loudness varied by 6 dB from sentence to sentence only because their peaks did.

The gain: the median sentence at the level Piper's normalization gave it, i.e. 1 / 0.49 =
+6.1 dB for joe. It comes from the voice itself rather than a constant: every Piper voice is
trained and exported on its own, so its raw level is its own (only joe is bundled, so this is
not measured here), and a constant tuned on joe could leave another voice quiet, or lean on the
limiter for many of its samples. :func:`voice_gain_db` measures it on the
load-time check sentence (``CHECK_TEXT`` in piper_engine.py, which the windowed-decode check
decodes anyway) synthesized without sampling noise, so it is the same on every start: its RMS
is brought to :data:`TARGET_DBFS` (joe: the check sentence's RMS is 0.0569 = -24.9 dBFS ->
+6.15 dB), rounded to :data:`GAIN_STEP_DB` (joe: +6.0 dB) so float rounding on another CPU or
onnxruntime build does not move it. RMS, not peak, because loudness is what the customer hears
and one sentence's peak says little about the others' (the check sentence's is 0.62 against the
replies' median 0.49, its RMS 0.057 against 0.058). The gain is part of the cache key (see
:attr:`Level.variant`), so an entry made at another gain is never played next to a miss.

The limiter (knee 0.8, tanh above it; joe at +6.0 dB): 0.096 % of all samples are above the
knee and get compressed (97 % of sentences have at least one such sample; 45 % would pass
full scale without it), by at most 3.2 dB at the very highest peak; the audio it changes is
36 dB below the speech (signal to difference); overall level -18.5 dBFS RMS, about the
median Piper's normalization gave (-18.4). A lower
knee touched more samples for a larger total change (0.6: 0.44 %, 33 dB), a higher one bends
harder at the top for little gain (0.9: 0.045 %, 37 dB).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

KNEE = 0.8  # of full scale: the limiter is the identity below it
TARGET_DBFS = -18.75  # the check sentence's RMS after the gain (see the module docstring)
GAIN_STEP_DB = 0.5  # the measured gain is rounded to this
GAIN_RANGE_DB = (-12.0, 24.0)  # a voice measuring outside this is clamped (a silent check...)
# Bump when the rule changes (knee, curve, target): entries made under another rule are not
# reused (it is part of the cache key, with the gain).
LEVEL_RULE = 1
_FULL_SCALE = 32767.0  # Piper's int16 scale


def soft_limit(audio: np.ndarray, knee: float = KNEE) -> np.ndarray:
    """``audio`` (float, any scale) unchanged where ``|x| <= knee``; above it smoothly bent
    towards full scale: ``knee + (1 - knee) * tanh((|x| - knee) / (1 - knee))``, which meets
    the line with the same slope (no kink at the knee), rises monotonically and stays below
    1.0 for any input. One sample at a time (no look-ahead, no release): applying it to slices
    of a signal gives the slices of applying it to the whole. As float64."""
    if not 0.0 < knee < 1.0:
        raise ValueError(f"soft_limit: knee must be between 0 and 1 (full scale), got {knee}")
    out = np.array(audio, dtype=np.float64)  # a copy
    over = np.abs(out) > knee  # ~0.1 % of a voice's samples: only these pay for the tanh
    if over.any():
        x = out[over]
        span = 1.0 - knee
        out[over] = np.copysign(knee + span * np.tanh((np.abs(x) - knee) / span), x)
    return out


def voice_gain_db(reference: np.ndarray) -> float:
    """The gain (dB) that brings ``reference`` (the voice's raw float audio of the check
    sentence, without sampling noise) to :data:`TARGET_DBFS` RMS, rounded to
    :data:`GAIN_STEP_DB` and kept within :data:`GAIN_RANGE_DB`; 0 dB for silence."""
    samples = np.asarray(reference, dtype=np.float64)
    rms = math.sqrt(float(np.mean(samples**2))) if samples.size else 0.0
    if rms < 1e-6:
        return 0.0
    wanted = TARGET_DBFS - 20.0 * math.log10(rms)
    rounded = round(wanted / GAIN_STEP_DB) * GAIN_STEP_DB
    low, high = GAIN_RANGE_DB
    return min(max(rounded, low), high)


@dataclass(frozen=True)
class Level:
    """A voice's level rule: ``gain_db``, then :func:`soft_limit`."""

    gain_db: float

    @property
    def gain(self) -> float:
        return float(10.0 ** (self.gain_db / 20.0))

    @property
    def variant(self) -> str:
        """This rule in the cache key: a new gain, or a new :data:`LEVEL_RULE`, is a miss."""
        return f"lv{LEVEL_RULE}={self.gain_db + 0.0:+.1f}dB"  # + 0.0: -0.0 is 0.0

    def apply(self, raw: np.ndarray) -> np.ndarray:
        """The voice's raw float audio (any part of a sentence) as playable int16.

        The raw audio is first clipped to [-1, 1], as Piper does with every sentence it hands
        over (``PiperVoice.synthesize``), so the windowed decode (which Piper never sees) gives
        what the one-shot synthesis gives."""
        clipped = np.clip(np.asarray(raw, dtype=np.float64), -1.0, 1.0)
        limited = soft_limit(clipped * self.gain)
        return np.round(limited * _FULL_SCALE).astype(np.int16)
