"""Build the noisy-laundromat evaluation corpus for bench/accuracy.py (deterministic).

Every paraphrase in ``bench/corpus/paraphrases.toml`` is spoken once, prefixed by "hey
jarvis" in the same voice, by one of several synthetic customers (Piper ``joe`` with varied
speed/sampling noise/pitch, and espeak-ng English, Scottish, American and Caribbean voices),
and mixed with one laundromat noise (washer hum + drum thumps, dryer tumble, crowd babble of
*other* voices, pink or white noise) at one SNR (clean, 30, 20, 15, 10, 5, 0 dB). Voice,
noise and SNR are assigned by seeded round-robin, stratified so every SNR level gets the same
number of clips. It also writes clips of speech without the wake word, noise-only clips, and
one long babble + machine stream for counting false wakes per hour.

Output (16 kHz mono int16 WAVs + ``manifest.json``) goes to ``bench/corpus/out/`` (gitignored).
A rerun with an unchanged paraphrase list and generator reuses the existing corpus; Piper
voices with sampling noise differ per synthesis, so ``--force`` gives a slightly different
(but equally distributed) corpus.

A second, independent corpus to tune on (so the test split stays unseen): other paraphrases,
another seed (other noise takes, talkers, voice/SNR assignment), no stream, e.g.
  python bench/corpus/generate.py --paraphrases bench/corpus/paraphrases_fresh.toml \
      --seed 7 --stream-min 0 --out bench/corpus/out-fresh

Usage: python bench/corpus/generate.py [--out DIR] [--stream-min 30] [--force]
       [--paraphrases TOML] [--seed N]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vitad.audio.format import INTERNAL_RATE, resample
from vitad.audio.wavfile import read_wav_internal, write_wav
from vitad.config.loader import load_config, shipped_config_dir
from vitad.config.schema import Config

HERE = Path(__file__).resolve().parent
PARAPHRASES = HERE / "paraphrases.toml"
DEFAULT_OUT = HERE / "out"
DEFAULT_SEED = 20240611
SEED = DEFAULT_SEED  # main() sets it from --seed before anything is generated
CORPUS_VERSION = 1  # bump when a change here should regenerate existing corpora
SR = INTERNAL_RATE
WAKE_TEXT = "Hey Jarvis."
SNR_LEVELS: list[float | None] = [None, 30.0, 20.0, 15.0, 10.0, 5.0, 0.0]  # None = clean
NOISE_KINDS = ["washer", "dryer", "babble", "pink", "white"]
SPEECH_RMS = 2600.0  # active-speech level customers are normalized to (about -22 dBFS)


@dataclass(frozen=True)
class Voice:
    name: str
    engine: str  # "piper" | "espeak"
    espeak_voice: str = ""
    speed: int = 160  # espeak words per minute
    length_scale: float = 1.0
    noise_scale: float = 0.0
    noise_w: float = 0.0
    pitch: float = 1.0  # >1: resampled up (higher, faster) — a cheap different speaker


CUSTOMERS = [
    Voice("piper-joe", "piper"),  # 0/0 sampling noise: bit-identical every run
    Voice("piper-joe-fast", "piper", length_scale=0.85, noise_scale=0.667, noise_w=0.8),
    Voice("piper-joe-slow", "piper", length_scale=1.25, noise_scale=0.9, noise_w=1.0),
    Voice("piper-joe-high", "piper", length_scale=1.12, noise_scale=0.5, noise_w=0.6,
          pitch=1.12),
    Voice("espeak-gb-m3", "espeak", "en-gb+m3", 165),
    Voice("espeak-scottish-m1", "espeak", "en-gb-scotland+m1", 150),
    Voice("espeak-us-f2", "espeak", "en-us+f2", 170),
    Voice("espeak-caribbean-m2", "espeak", "en-029+m2", 150),
]
# Babble talkers are never customers: other espeak variants and a faster Piper take.
TALKERS = [
    Voice("talker-rp-f4", "espeak", "en-gb-x-rp+f4", 175),
    Voice("talker-nyc-m5", "espeak", "en-us-nyc+m5", 185),
    Voice("talker-lancaster-f1", "espeak", "en-gb-x-gbclan+f1", 160),
    Voice("talker-midlands-m7", "espeak", "en-gb-x-gbcwmd+m7", 170),
    Voice("talker-us-f3", "espeak", "en-us+f3", 190),
    Voice("talker-piper", "piper", length_scale=0.8, noise_scale=1.0, noise_w=1.0, pitch=0.9),
]
# Unrelated chatter (Harvard sentences and small talk); none contains a wake phrase.
CHATTER = [
    "The birch canoe slid on the smooth planks.", "Glue the sheet to the dark blue background.",
    "It's easy to tell the depth of a well.", "These days a chicken leg is a rare dish.",
    "Rice is often served in round bowls.", "The juice of lemons makes fine punch.",
    "The box was thrown beside the parked truck.", "Four hours of steady work faced us.",
    "A large size in stockings is hard to sell.", "The boy was there when the sun rose.",
    "A rod is used to catch pink salmon.", "The source of the huge river is the clear spring.",
    "Kick the ball straight and follow through.", "Help the woman get back to her feet.",
    "A pot of tea helps to pass the evening.", "Smoky fires lack flame and heat.",
    "The soft cushion broke the man's fall.", "The salt breeze came across from the sea.",
    "I told her we'd meet at the bus stop after work.", "Did you see the match on Sunday?",
    "My sister is moving to a new flat next month.", "We need milk, bread and some eggs.",
    "He said the traffic on the bridge was terrible again.",
    "Honestly I think the new series is better than the old one.",
    "Can you hold this for a second while I find my keys?",
    "The kids have a school trip on Friday.", "It's been raining all week, hasn't it?",
    "I'll call you back when I get home tonight.",
]


def stable_seed(*parts: object) -> int:
    return zlib.crc32("/".join(map(str, parts)).encode()) ^ SEED


# ---------------------------------------------------------------- voices


class Synth:
    """Text → 16 kHz float32 speech for any Voice, caching Piper engines per setting."""

    def __init__(self, work: Path, config: Config) -> None:
        self.work = work
        self.config = config
        self._piper: dict[Voice, object] = {}
        self.espeak = shutil.which("espeak-ng")

    def __call__(self, voice: Voice, text: str) -> np.ndarray:
        if voice.engine == "piper":
            audio = self._piper_say(voice, text)
        else:
            audio = self._espeak_say(voice, text)
        if voice.pitch != 1.0:
            # Play back faster/slower: shifts pitch and formants like a different speaker.
            audio = resample(audio, int(SR * voice.pitch), SR)
        return audio.astype(np.float32)

    def _piper_say(self, voice: Voice, text: str) -> np.ndarray:
        from vitad.tts.piper_engine import PiperTts

        tts = self._piper.get(voice)
        if tts is None:
            settings = self.config.tts.model_copy(update={
                "length_scale": voice.length_scale, "noise_scale": voice.noise_scale,
                "noise_w": voice.noise_w})
            tts = PiperTts(settings, self.config.base_dir, self.work / "tts-cache")
            self._piper[voice] = tts
        samples = np.concatenate([s.samples for s in tts.speak(text)])  # type: ignore[attr-defined]
        return resample(samples, tts.rate, SR)  # type: ignore[attr-defined]

    def _espeak_say(self, voice: Voice, text: str) -> np.ndarray:
        if self.espeak is None:
            sys.exit("generate: espeak-ng is not installed (apt-get install espeak-ng)")
        out = self.work / "espeak.wav"
        subprocess.run([self.espeak, "-v", voice.espeak_voice, "-s", str(voice.speed),
                        "-w", str(out), text], check=True, capture_output=True)
        return read_wav_internal(out)


def trim(audio: np.ndarray, threshold: float = 200.0) -> np.ndarray:
    loud = np.nonzero(np.abs(audio) > threshold)[0]
    if not len(loud):
        return audio
    return audio[max(0, loud[0] - 160): loud[-1] + 160]


def active_rms(audio: np.ndarray) -> float:
    """RMS over the voiced 20 ms frames (within 30 dB of the loudest), like P.56 active level."""
    frame = 320
    n = len(audio) // frame
    if n == 0:
        return float(np.sqrt(np.mean(audio.astype(np.float64) ** 2)) + 1e-9)
    power = (audio[: n * frame].astype(np.float64).reshape(n, frame) ** 2).mean(axis=1)
    active = power[power > power.max() * 1e-3]
    return float(np.sqrt(active.mean()) + 1e-9)


# ---------------------------------------------------------------- noises


def _lowpass(x: np.ndarray, cutoff_hz: float) -> np.ndarray:
    spec = np.fft.rfft(x)
    freqs = np.fft.rfftfreq(len(x), 1 / SR)
    spec[freqs > cutoff_hz] = 0
    return np.fft.irfft(spec, len(x))


def _bandpass(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    spec = np.fft.rfft(x)
    freqs = np.fft.rfftfreq(len(x), 1 / SR)
    spec[(freqs < lo) | (freqs > hi)] = 0
    return np.fft.irfft(spec, len(x))


def pink(n: int, rng: np.random.Generator) -> np.ndarray:
    spec = np.fft.rfft(rng.normal(size=n))
    freqs = np.fft.rfftfreq(n, 1 / SR)
    spec[1:] /= np.sqrt(freqs[1:])
    spec[0] = 0
    return np.fft.irfft(spec, n)


def washer(n: int, rng: np.random.Generator) -> np.ndarray:
    """Mains hum + motor whine + sloshing water + the drum's periodic thumps."""
    t = np.arange(n) / SR
    hum = sum(a * np.sin(2 * np.pi * f * t + rng.uniform(0, 6)) for f, a in
              [(50, 1.0), (100, 0.6), (150, 0.3), (300, 0.15)])
    whine_f = 420 + 60 * np.sin(2 * np.pi * 0.05 * t)
    whine = 0.25 * np.sin(2 * np.pi * np.cumsum(whine_f) / SR)
    slosh = _bandpass(rng.normal(size=n), 150, 2500)
    slosh *= 0.6 * (1 + 0.8 * np.sin(2 * np.pi * rng.uniform(0.3, 0.7) * t)) / slosh.std()
    thumps = np.zeros(n)
    period = rng.uniform(0.7, 1.2)
    thump_t = np.arange(int(0.12 * SR)) / SR  # 0.12 s of decaying 60 Hz
    burst = np.sin(2 * np.pi * 60 * thump_t) * np.exp(-thump_t * 30)
    for start in np.arange(rng.uniform(0, period), n / SR, period):
        i = int(start * SR)
        seg = burst[: n - i] * rng.uniform(1.5, 3.0)
        thumps[i : i + len(seg)] += seg
    return hum + whine + slosh + thumps


def dryer(n: int, rng: np.random.Generator) -> np.ndarray:
    """Low tumble rumble modulated by the drum's turn, blower hiss, and clunking buttons."""
    t = np.arange(n) / SR
    rumble = _lowpass(rng.normal(size=n), 300)
    rumble *= (1 + 0.7 * np.sin(2 * np.pi * rng.uniform(0.7, 1.0) * t)) / rumble.std()
    blower = _bandpass(rng.normal(size=n), 200, 4000)
    blower *= 0.5 / blower.std()
    clunks = np.zeros(n)
    for start in np.cumsum(rng.uniform(0.2, 1.5, size=int(n / SR) + 2)):
        i = int(start * SR)
        if i >= n:
            break
        length = min(int(0.02 * SR), n - i)
        clunks[i : i + length] += rng.normal(0, 2.5, length) * np.exp(-np.arange(length) / 60)
    return rumble + blower + clunks


class Babble:
    """Crowd chatter: several talkers (never the customer voices) overlapping at random."""

    def __init__(self, synth: Synth, pool_s: float = 90.0) -> None:
        lines: list[np.ndarray] = []
        for vi, voice in enumerate(TALKERS):
            for si, sentence in enumerate(CHATTER):
                if (vi + si) % 2 == 0:  # half the grid is plenty of material
                    lines.append(trim(synth(voice, sentence)))
        rng = np.random.default_rng(SEED)
        self.streams: list[np.ndarray] = []
        for _ in range(6):  # six talker streams to draw from
            parts: list[np.ndarray] = []
            total = 0
            while total < pool_s * SR:
                line = lines[int(rng.integers(len(lines)))]
                gap = np.zeros(int(rng.uniform(0.1, 1.2) * SR))
                parts += [line / (active_rms(line) + 1e-9), gap]
                total += len(line) + len(gap)
            self.streams.append(np.concatenate(parts))

    def __call__(self, n: int, rng: np.random.Generator) -> np.ndarray:
        out = np.zeros(n)
        for stream in self.streams[: int(rng.integers(3, 7))]:
            start = int(rng.integers(0, len(stream)))
            piece = np.resize(np.roll(stream, -start), n)  # wraps around the pool
            out += piece * rng.uniform(0.4, 1.0)
        return out


def make_noise_fn(synth: Synth) -> Callable[[str, int, np.random.Generator], np.ndarray]:
    babble = Babble(synth)
    makers: dict[str, Callable[[int, np.random.Generator], np.ndarray]] = {
        "washer": washer, "dryer": dryer, "babble": babble, "pink": pink,
        "white": lambda n, rng: rng.normal(size=n),
    }

    def noise(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
        x = makers[kind](n, rng)
        return x / (np.sqrt(np.mean(x**2)) + 1e-12)  # unit RMS

    return noise


def to_int16(x: np.ndarray) -> np.ndarray:
    peak = np.abs(x).max()
    if peak > 32000:  # scale down rather than clip (a real mic's gain would be set so)
        x = x * (32000 / peak)
    return np.round(x).astype(np.int16)


# ---------------------------------------------------------------- corpus


def shipped_config() -> Config:
    return load_config(shipped_config_dir() / "vitad.toml")


def load_paraphrases(config: Config, path: Path = PARAPHRASES) -> list[dict]:
    """The paraphrase list, checked against the shipped intents and the shop's machines."""
    from vitad.dialogue.intents import load_intents

    intents = load_intents(config.base_dir / config.dialogue.intents).intents
    numbers: dict[str, set[int]] = {k: set() for k in ("washer", "dryer")}
    for m in config.shop.machines:
        numbers.setdefault(m.kind, set()).update(m.numbers)
    items = tomllib.loads(path.read_text())["item"]
    for i, item in enumerate(items):
        where = f"{path.name} item {i + 1} ({item.get('text')!r})"
        if item.get("intent") not in intents:
            sys.exit(f"{where}: intent {item.get('intent')!r} is not in the intents file")
        if item.get("split") not in ("dev", "test"):
            sys.exit(f"{where}: split must be 'dev' or 'test'")
        kind, number = item.get("kind"), item.get("number")
        if kind is not None and kind not in numbers:
            sys.exit(f"{where}: kind {kind!r} is not a machine kind of the shop")
        if number is not None and (kind is None or number not in numbers[kind]):
            sys.exit(f"{where}: the shop has no {kind} number {number}")
    return items


def round_robin(n: int, values: list, rng: np.random.Generator) -> list:
    """Assign ``values`` to ``n`` slots evenly, in a seeded random order."""
    order = rng.permutation(n)
    out: list = [None] * n
    for rank, slot in enumerate(order):
        out[slot] = values[rank % len(values)]
    return out


def fingerprint(stream_min: float, paraphrases: Path = PARAPHRASES) -> str:
    h = hashlib.sha256()
    h.update(paraphrases.read_bytes())
    h.update(f"v{CORPUS_VERSION}".encode())
    h.update(str(stream_min).encode())
    if SEED != DEFAULT_SEED:  # (the default corpus keeps its fingerprint)
        h.update(f"seed{SEED}".encode())
    return h.hexdigest()[:16]


def mix(speech: np.ndarray, noise_kind: str | None, snr: float | None, seed: int,
        noise: Callable[[str, int, np.random.Generator], np.ndarray]) -> np.ndarray:
    rng = np.random.default_rng(seed)
    level = SPEECH_RMS * 10 ** (rng.uniform(-4, 4) / 20)  # customers are not all equally loud
    speech = speech * (level / active_rms(speech))
    if noise_kind is None or snr is None:
        floor = rng.normal(0, 3.0, len(speech))  # a quiet room is never digital silence
        return speech + floor
    return speech + noise(noise_kind, len(speech), rng) * level / 10 ** (snr / 20)


def build_clip(synth: Synth, voice: Voice, text: str, wake: bool, seed: int
               ) -> tuple[np.ndarray, dict]:
    rng = np.random.default_rng(seed)
    lead = np.zeros(int(rng.uniform(1.3, 1.8) * SR))
    parts = [lead]
    times: dict[str, list[float]] = {}
    if wake:
        w = trim(synth(voice, WAKE_TEXT))
        times["wake_t"] = [len(lead) / SR, (len(lead) + len(w)) / SR]
        parts += [w, np.zeros(int(rng.uniform(0.15, 0.5) * SR))]
    q = trim(synth(voice, text))
    start = sum(len(p) for p in parts)
    times["speech_t"] = [start / SR, (start + len(q)) / SR]
    parts += [q, np.zeros(int(2.0 * SR))]
    return np.concatenate(parts), times


def generate(out: Path, stream_min: float, force: bool,
             paraphrases: Path = PARAPHRASES) -> Path:
    manifest_path = out / "manifest.json"
    key = fingerprint(stream_min, paraphrases)
    if manifest_path.exists() and not force:
        old = json.loads(manifest_path.read_text())
        if old.get("fingerprint") == key:
            print(f"corpus up to date: {manifest_path} ({len(old['clips'])} clips)")
            return manifest_path
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="vitad-corpus-"))
    try:
        config = shipped_config()
        items = load_paraphrases(config, paraphrases)
        synth = Synth(work, config)
        print("synthesizing babble talkers ...", flush=True)
        noise = make_noise_fn(synth)
        clips = []
        rng = np.random.default_rng(SEED)
        snrs = round_robin(len(items), SNR_LEVELS, rng)
        voices = round_robin(len(items), CUSTOMERS, rng)
        kinds = round_robin(len(items), NOISE_KINDS, rng)
        for i, item in enumerate(items):
            seed = stable_seed("utt", i, item["text"])
            speech, times = build_clip(synth, voices[i], item["text"], True, seed)
            kind = kinds[i] if snrs[i] is not None else None
            audio = to_int16(mix(speech, kind, snrs[i], seed, noise))
            clip = {"id": f"u{i:03d}", "type": "utterance", "wake": True, "text": item["text"],
                    "intent": item["intent"], "kind": item.get("kind"),
                    "number": item.get("number"), "split": item["split"],
                    "voice": voices[i].name, "noise": kind or "none", "snr_db": snrs[i], **times}
            clips.append(_write(out, clip, audio))
            if i % 20 == 0:
                print(f"  {i + 1}/{len(items)} utterances", flush=True)
        # Questions without the wake word: nothing may be answered.
        no_wake = [it for j, it in enumerate(items) if j % 7 == 3]
        nw_snrs = round_robin(len(no_wake), SNR_LEVELS[:5], rng)
        for j, item in enumerate(no_wake):
            voice = CUSTOMERS[j % len(CUSTOMERS)]
            seed = stable_seed("nowake", j, item["text"])
            speech, times = build_clip(synth, voice, item["text"], False, seed)
            kind = NOISE_KINDS[j % len(NOISE_KINDS)] if nw_snrs[j] is not None else None
            audio = to_int16(mix(speech, kind, nw_snrs[j], seed, noise))
            clips.append(_write(out, {
                "id": f"n{j:03d}", "type": "no_wake", "wake": False, "text": item["text"],
                "intent": None, "kind": None, "number": None,
                "split": "dev" if j % 2 == 0 else "test", "voice": voice.name,
                "noise": kind or "none", "snr_db": nw_snrs[j], **times}, audio))
        # Machine noise alone, at levels matching 20, 10 and 0 dB SNR for a normal talker.
        for j, (kind, snr) in enumerate((k, s) for k in NOISE_KINDS for s in (20.0, 10.0, 0.0)):
            rng_j = np.random.default_rng(stable_seed("noise", j))
            audio = to_int16(noise(kind, 8 * SR, rng_j) * SPEECH_RMS / 10 ** (snr / 20))
            clips.append(_write(out, {
                "id": f"z{j:03d}", "type": "noise_only", "wake": False, "text": "",
                "intent": None, "kind": None, "number": None,
                "split": "dev" if j % 2 == 0 else "test", "voice": "none", "noise": kind,
                "snr_db": snr}, audio))
        manifest = {"fingerprint": key, "rate": SR, "seed": SEED,
                    "paraphrases": paraphrases.name,
                    "voices": [v.name for v in CUSTOMERS], "noises": NOISE_KINDS,
                    "snr_levels": SNR_LEVELS, "clips": clips}
        if stream_min > 0:
            print(f"building the {stream_min:g} min false-wake stream ...", flush=True)
            stream = build_stream(synth, noise, stream_min, items)
            write_wav(out / "stream.wav", stream, SR)
            manifest["stream"] = {"file": "stream.wav", "duration_s": len(stream) / SR,
                                  "description": "babble + washer/dryer noise with occasional "
                                                 "customer speech, no wake word"}
        tmp = manifest_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(manifest, indent=1))
        tmp.replace(manifest_path)
        print(f"wrote {len(clips)} clips + {stream_min:g} min stream to {out}")
        return manifest_path
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _write(out: Path, clip: dict, audio: np.ndarray) -> dict:
    clip["file"] = f"{clip['id']}.wav"
    clip["duration_s"] = round(len(audio) / SR, 3)
    write_wav(out / clip["file"], audio, SR)
    return clip


def build_stream(synth: Synth, noise: Callable[[str, int, np.random.Generator], np.ndarray],
                 minutes: float, items: list[dict]) -> np.ndarray:
    """Long babble + machine noise with customers talking (no wake word), in 60 s blocks."""
    rng = np.random.default_rng(stable_seed("stream"))
    blocks = []
    for b in range(round(minutes)):
        n = 60 * SR
        bed = (noise("babble", n, rng) * rng.uniform(0.3, 1.0)
               + noise(["washer", "dryer"][b % 2], n, rng) * rng.uniform(0.3, 1.0))
        bed *= SPEECH_RMS / 10 ** (rng.uniform(5, 20) / 20)
        # Two foreground customer sentences per minute (without the wake word).
        for _ in range(2):
            item = items[int(rng.integers(len(items)))]
            voice = CUSTOMERS[int(rng.integers(len(CUSTOMERS)))]
            said = trim(synth(voice, item["text"]))
            said = said * (SPEECH_RMS / active_rms(said))
            at = int(rng.integers(0, n - len(said)))
            bed[at : at + len(said)] += said
        blocks.append(to_int16(bed))
    return np.concatenate(blocks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--stream-min", type=float, default=30.0,
                        help="minutes of babble + machine noise for false wakes per hour")
    parser.add_argument("--force", action="store_true", help="regenerate even if up to date")
    parser.add_argument("--paraphrases", type=Path, default=PARAPHRASES,
                        help="the questions to speak (default: paraphrases.toml)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED,
                        help="another seed: other noise takes, talkers and assignments")
    args = parser.parse_args()
    global SEED
    SEED = args.seed
    generate(args.out, args.stream_min, args.force, args.paraphrases)


if __name__ == "__main__":
    main()
