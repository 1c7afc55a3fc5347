"""Train the second-stage wake verifier (assets/wake/hey_jarvis_verifier.npz), offline.

openWakeWord's idea of a "custom verifier": a small classifier on openWakeWord's own embedding
features (the 16 x 96 window its wake model sees). Accented voices (the corpus' Caribbean and
Scottish customers) often reach only 0.001-0.3 on "hey jarvis" while the embeddings still
carry the phrase; the verifier hears those without lowering the threshold for everything else.

The shipped verifier is a one-hidden-layer network (32 ReLU units; the daemon runs its forward
pass with numpy, vitad/pipeline/wake_verifier.py), asked on frames the wake model scores at
least 0.001 and waking after 3 sure frames in a row. ``--linear`` trains the earlier logistic
regression instead. Material, all cached with ``--cache``:

* ``clips``: "hey jarvis" and negatives (confusable phrases, the intents' questions, chatter)
  by TRAIN_VOICES in five noises at clean..0 dB;
* ``varied``: more positives from TRAIN_VOICES + EXTRA_VOICES (more espeak-ng variants, pitch
  and speed; Piper at other settings) with a tail question, mostly in babble at 0-20 dB;
* ``stream``: 30 min of babble + machines + our voices talking (frames the wake model gives
  >= 0.001, and every 8th);
* ``mine-200``, ``mine-300``: 40 and 80 more minutes of such streams (other seeds), every frame
  kept: every 8th frame is trained on, and after each fit the frames the network scores >= 0.3
  (hard negatives) are added and it is fit again (``--mine-rounds``). The last 10 minutes of
  ``mine-200`` are held out: their false wakes are printed, never trained on.

Honesty: the training material never uses the accuracy corpus' customer voices, accents,
texts or noise seeds. Positives are "hey jarvis" from espeak-ng accents that are not corpus
accents (RP, Lancaster, West Midlands, New York, generic British/American, with variants,
pitches and speeds the corpus does not use; no Scottish, no Caribbean) and Piper ``joe`` at
length/noise/pitch settings the corpus does not use. Negatives are confusable phrases, the
intents file's example questions, chatter, and machine noise / babble generated with seeds of
our own (corpus.CHATTER sentences, by our own talkers).

scikit-learn is used here only (openWakeWord's own dependency); the daemon reads the weights
with numpy.

Usage: python bench/train_wake_verifier.py [--out assets/wake/hey_jarvis_verifier.npz]
       [--cache DIR] [--hidden 32] [--mine-rounds 2] [--linear]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script from anywhere

from bench.corpus import generate as corpus  # noqa: E402  (synth + noise makers, reused)
from vitad.config.schema import WakeSettings  # noqa: E402
from vitad.pipeline.wake import FRAME, WakeDetector  # noqa: E402
from vitad.pipeline.wake_verifier import (  # noqa: E402
    FEATURE_FRAMES,
    WakeVerifier,
    save_verifier,
)

SR = corpus.SR
SEED = 7_130_911  # not the corpus seed: different noise, levels and timings
V = corpus.Voice
CORPUS_ACCENTS = {"en-gb-scotland", "en-029"}  # never trained on (corpus customers)
TRAIN_VOICES = [
    V("t-rp-m2", "espeak", "en-gb-x-rp+m2", 155), V("t-rp-f2", "espeak", "en-gb-x-rp+f2", 175),
    V("t-rp-andy", "espeak", "en-gb-x-rp+Andy", 160),
    V("t-clan-m4", "espeak", "en-gb-x-gbclan+m4", 150),
    V("t-clan-f3", "espeak", "en-gb-x-gbclan+f3", 165),
    V("t-cwmd-f1", "espeak", "en-gb-x-gbcwmd+f1", 155),
    V("t-cwmd-m2", "espeak", "en-gb-x-gbcwmd+m2", 175),
    V("t-nyc-f4", "espeak", "en-us-nyc+f4", 160), V("t-nyc-m1", "espeak", "en-us-nyc+m1", 145),
    V("t-gb-m6", "espeak", "en-gb+m6", 140), V("t-gb-f5", "espeak", "en-gb+f5", 185),
    V("t-gb-klatt", "espeak", "en-gb+klatt", 160),
    V("t-us-m4", "espeak", "en-us+m4", 150), V("t-us-f1", "espeak", "en-us+f1", 160),
    V("t-us-annie", "espeak", "en-us+Annie", 170),
    V("t-en-m4", "espeak", "en+m4", 165), V("t-en-grandpa", "espeak", "en+grandpa", 140),
    V("t-piper-a", "piper", length_scale=0.95, noise_scale=0.8, noise_w=0.9),
    V("t-piper-b", "piper", length_scale=1.4, noise_scale=0.7, noise_w=0.7),
    V("t-piper-low", "piper", length_scale=1.05, noise_scale=0.6, noise_w=0.8, pitch=0.9),
    V("t-piper-hi", "piper", length_scale=1.0, noise_scale=0.8, noise_w=0.9, pitch=1.22),
]
# More variety for the "varied" clips and the mining streams (still no corpus accent/voice).
EXTRA_VOICES = [
    V("x-rp-m3", "espeak", "en-gb-x-rp+m3", 140, pitch=0.93),
    V("x-rp-f1", "espeak", "en-gb-x-rp+f1", 190, pitch=1.06),
    V("x-clan-m1", "espeak", "en-gb-x-gbclan+m1", 135),
    V("x-clan-f4", "espeak", "en-gb-x-gbclan+f4", 180, pitch=0.95),
    V("x-cwmd-m6", "espeak", "en-gb-x-gbcwmd+m6", 145, pitch=1.05),
    V("x-nyc-m3", "espeak", "en-us-nyc+m3", 175, pitch=0.92),
    V("x-nyc-f5", "espeak", "en-us-nyc+f5", 150),
    V("x-gb-m1", "espeak", "en-gb+m1", 130), V("x-gb-f3", "espeak", "en-gb+f3", 150, pitch=1.08),
    V("x-us-m2", "espeak", "en-us+m2", 185), V("x-us-f4", "espeak", "en-us+f4", 140, pitch=0.94),
    V("x-en-f2", "espeak", "en+f2", 155), V("x-en-m7", "espeak", "en+m7", 170, pitch=1.1),
    V("x-gb-Andy", "espeak", "en-gb+Andy", 150), V("x-us-Alicia", "espeak", "en-us+Alicia", 160),
    V("x-piper-c", "piper", length_scale=1.2, noise_scale=0.75, noise_w=0.85, pitch=0.95),
    V("x-piper-d", "piper", length_scale=0.9, noise_scale=0.85, noise_w=0.95, pitch=1.15),
]
ALL_VOICES = TRAIN_VOICES + EXTRA_VOICES
assert not any(v.espeak_voice.split("+")[0] in CORPUS_ACCENTS for v in ALL_VOICES)
VARIED_SNRS: list[float | None] = [None, 20, 15, 12, 10, 8, 5, 3, 0]
VARIED_NOISES = ["babble", "babble", "babble", "washer", "dryer", "pink", "white"]
MINUTE_FRAMES = 60 * 16000 // FRAME  # 750
# Corpus babble talkers are not customers, but keep our babble different from theirs too.
TRAIN_TALKERS = [
    V("b-gb-f2", "espeak", "en-gb+f2", 170), V("b-us-m7", "espeak", "en-us+m7", 180),
    V("b-rp-m1", "espeak", "en-gb-x-rp+m1", 165), V("b-nyc-f1", "espeak", "en-us-nyc+f1", 175),
    V("b-clan-m3", "espeak", "en-gb-x-gbclan+m3", 160),
    V("b-piper", "piper", length_scale=0.9, noise_scale=0.9, noise_w=0.9, pitch=1.08),
]
WAKE_TEXTS = ["Hey Jarvis.", "hey jarvis", "Hey, Jarvis!", "Hey Jarvis?"]
CONFUSABLES = [
    "Hey Travis.", "Hey Charlie.", "Hey Marvin.", "Hey Harvey.", "Hey Jars.", "Hey darling.",
    "Hey service.", "Hey, nervous?", "Hey jealous.", "Hey, Jack is here.", "Hey there.",
    "A service.", "Harvest.", "Jarvis.", "Hey Garvey.", "Hey, Davis.", "Hey, are we?",
    "Hey, Java is fun.", "Say this.", "Hey Carmen.", "Hey job is done.", "Hey, Mavis.",
    "The jars fit.", "Hey, jog with us.", "Hey, this is Jarrod.", "Hey Alexa.",
]
SNRS: list[float | None] = [None, 30, 25, 20, 15, 12, 10, 8, 5, 3, 0]
NOISES = ["washer", "dryer", "babble", "pink", "white"]


def negatives_text() -> list[str]:
    intents = tomllib.loads((REPO / "config" / "intents.en.toml").read_text())
    questions = [ex for spec in intents.values() if isinstance(spec, dict)
                 for ex in spec.get("examples", [])]
    return CONFUSABLES * 3 + questions + corpus.CHATTER


class TrainBabble(corpus.Babble):
    """The corpus' babble recipe with our own talkers and seed."""

    def __init__(self, synth: corpus.Synth, rng: np.random.Generator) -> None:
        lines = [corpus.trim(synth(v, s)) for i, v in enumerate(TRAIN_TALKERS)
                 for j, s in enumerate(corpus.CHATTER) if (i + j) % 3 == 0]
        self.streams = []
        for _ in range(6):
            parts: list[np.ndarray] = []
            while sum(len(p) for p in parts) < 60 * SR:
                line = lines[int(rng.integers(len(lines)))]
                parts += [line / (corpus.active_rms(line) + 1e-9),
                          np.zeros(int(rng.uniform(0.1, 1.0) * SR))]
            self.streams.append(np.concatenate(parts))


def features(detector: WakeDetector, audio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """openWakeWord's score and its 16 x 96 feature window after every 80 ms frame."""
    detector.restart_clock()
    model = detector._model  # the detector's own openWakeWord model: the daemon's features
    scores, feats = [], []
    for i in range(0, len(audio) - FRAME + 1, FRAME):
        scores.append(model.predict(audio[i : i + FRAME])["hey_jarvis"])
        feats.append(model.preprocessor.get_features(FEATURE_FRAMES)[0].ravel())
    return np.array(scores, np.float32), np.array(feats, np.float32)


class Material:
    """Our synthesizer, babble and noise makers (seeded), and the daemon's wake model."""

    def __init__(self, seed: int, work: Path) -> None:
        self.rng = np.random.default_rng(seed)
        self.synth = corpus.Synth(work, corpus.shipped_config())
        babble = TrainBabble(self.synth, self.rng)
        self.makers: dict[str, Callable[[int, np.random.Generator], np.ndarray]] = {
            "washer": corpus.washer, "dryer": corpus.dryer, "babble": babble,
            "pink": corpus.pink, "white": lambda n, r: r.normal(size=n)}
        self.detector = WakeDetector(WakeSettings(threshold=0.5, refractory_s=0.0))

    def noise(self, kind: str, n: int) -> np.ndarray:
        x = self.makers[kind](n, self.rng)
        return x / (np.sqrt(np.mean(x**2)) + 1e-12)


def talk_minute(mat: Material, texts: list[str], voices: list, b: int) -> np.ndarray:
    """One minute of babble + a washer or dryer (alternating with ``b``) at 5-20 dB below
    speech level, with four of ``voices`` saying ``texts`` (no wake word) somewhere in it."""
    rng = mat.rng
    n = 60 * SR
    bed = (mat.noise("babble", n) * rng.uniform(0.3, 1.0)
           + mat.noise(["washer", "dryer"][b % 2], n) * rng.uniform(0.3, 1.0))
    bed *= corpus.SPEECH_RMS / 10 ** (rng.uniform(5, 20) / 20)
    for _ in range(4):
        voice = voices[int(rng.integers(len(voices)))]
        said = corpus.trim(mat.synth(voice, texts[int(rng.integers(len(texts)))]))
        said = said * (corpus.SPEECH_RMS / corpus.active_rms(said))
        at = int(rng.integers(0, n - len(said)))
        bed[at : at + len(said)] += said
    return bed


def build_stream(minutes: int, work: Path) -> tuple[np.ndarray, np.ndarray]:
    """Hard negatives: long babble + machine noise with our voices talking (no wake word),
    like the corpus' false-wake stream but with our own talkers, texts and seed. Every frame
    the wake model gives anything (>= 0.001) is kept, and a sample of the rest."""
    mat = Material(SEED + 1, work)
    texts = negatives_text()
    xs = []
    for b in range(minutes):
        bed = talk_minute(mat, texts, TRAIN_VOICES, b)
        scores, feats = features(mat.detector, corpus.to_int16(bed))
        keep = (scores >= 0.001) | (np.arange(len(scores)) % 8 == 0)
        xs.append(feats[keep])
        print(f"  stream minute {b + 1}/{minutes}", flush=True)
    x = np.concatenate(xs)
    return x, np.zeros(len(x))


def build(n_pos: int, n_neg: int, work: Path) -> tuple[np.ndarray, np.ndarray]:
    mat = Material(SEED, work)
    rng, synth, noise, detector = mat.rng, mat.synth, mat.noise, mat.detector
    xs, ys = [], []
    neg_texts = negatives_text()
    for k in range(n_pos + n_neg):
        positive = k < n_pos
        voice = TRAIN_VOICES[int(rng.integers(len(TRAIN_VOICES)))]
        assert voice.espeak_voice.split("+")[0] not in CORPUS_ACCENTS
        text = (WAKE_TEXTS[int(rng.integers(len(WAKE_TEXTS)))] if positive
                else neg_texts[int(rng.integers(len(neg_texts)))])
        said = corpus.trim(synth(voice, text))
        lead = np.zeros(int(rng.uniform(1.0, 2.0) * SR))
        tail_text = "" if rng.random() < 0.5 else neg_texts[int(rng.integers(len(neg_texts)))]
        tail = corpus.trim(synth(voice, tail_text)) if tail_text else np.zeros(0)
        gap = np.zeros(int(rng.uniform(0.1, 0.5) * SR))
        audio = np.concatenate([lead, said, gap, tail, np.zeros(int(0.8 * SR))])
        level = corpus.SPEECH_RMS * 10 ** (rng.uniform(-8, 6) / 20)
        audio = audio * (level / corpus.active_rms(said))
        snr = SNRS[int(rng.integers(len(SNRS)))]
        if snr is None:
            audio = audio + rng.normal(0, 3.0, len(audio))
        else:
            kind = NOISES[int(rng.integers(len(NOISES)))]
            audio = audio + noise(kind, len(audio)) * level / 10 ** (snr / 20)
        audio = corpus.to_int16(audio)
        offset = int(rng.integers(0, FRAME))  # every frame phase, not only the corpus' one
        scores, feats = features(detector, audio[offset:])
        t_end = (np.arange(len(scores)) + 1) * FRAME / SR + offset / SR
        wake_end = (len(lead) + len(said)) / SR
        if positive:
            # The frames whose window has just heard the whole phrase: where the wake model
            # peaks (0.1-0.5 s after the phrase ends).
            near = (t_end >= wake_end - 0.05) & (t_end <= wake_end + 0.55)
            xs.append(feats[near])
            ys.append(np.ones(int(near.sum())))
            away = (t_end < len(lead) / SR + 0.2) | (t_end > wake_end + 1.6)
        else:
            away = np.ones(len(scores), bool)
        xs.append(feats[away][::2])
        ys.append(np.zeros(len(feats[away][::2])))
        if k % 50 == 0:
            print(f"  {k + 1}/{n_pos + n_neg} clips", flush=True)
    return np.concatenate(xs), np.concatenate(ys)


def build_varied(n_pos: int, n_neg: int, work: Path
                 ) -> tuple[np.ndarray, np.ndarray]:
    """More positives (and some negatives) from every training voice, mostly in babble."""
    mat = Material(SEED + 100, work)
    rng, synth = mat.rng, mat.synth
    xs, ys = [], []
    neg_texts = negatives_text()
    for k in range(n_pos + n_neg):
        positive = k < n_pos
        voice = ALL_VOICES[int(rng.integers(len(ALL_VOICES)))]
        text = (WAKE_TEXTS[int(rng.integers(len(WAKE_TEXTS)))] if positive
                else neg_texts[int(rng.integers(len(neg_texts)))])
        said = corpus.trim(synth(voice, text))
        lead = np.zeros(int(rng.uniform(1.3, 2.0) * SR))
        tail = corpus.trim(synth(voice, neg_texts[int(rng.integers(len(neg_texts)))]))
        gap = np.zeros(int(rng.uniform(0.1, 0.5) * SR))
        audio = np.concatenate([lead, said, gap, tail, np.zeros(int(0.8 * SR))])
        level = corpus.SPEECH_RMS * 10 ** (rng.uniform(-6, 6) / 20)
        audio = audio * (level / corpus.active_rms(said))
        snr = VARIED_SNRS[int(rng.integers(len(VARIED_SNRS)))]
        if snr is None:
            audio = audio + rng.normal(0, 3.0, len(audio))
        else:
            kind = VARIED_NOISES[int(rng.integers(len(VARIED_NOISES)))]
            audio = audio + mat.noise(kind, len(audio)) * level / 10 ** (snr / 20)
        audio = corpus.to_int16(audio)
        offset = int(rng.integers(0, FRAME))
        scores, feats = features(mat.detector, audio[offset:])
        t_end = (np.arange(len(scores)) + 1) * FRAME / SR + offset / SR
        wake_end = (len(lead) + len(said)) / SR
        if positive:
            near = (t_end >= wake_end - 0.05) & (t_end <= wake_end + 0.55)
            xs.append(feats[near])
            ys.append(np.ones(int(near.sum())))
            away = (t_end < len(lead) / SR + 0.2) | (t_end > wake_end + 1.6)
        else:
            away = np.ones(len(scores), bool)
        away &= np.arange(len(scores)) >= FEATURE_FRAMES  # a full window of this clip
        xs.append(feats[away])
        ys.append(np.zeros(int(away.sum())))
        if k % 50 == 0:
            print(f"  varied {k + 1}/{n_pos + n_neg} clips", flush=True)
    # float16 on disk and in memory (as the cache stores it): half the size, same results.
    return np.concatenate(xs).astype(np.float16).astype(np.float32), np.concatenate(ys)


def mining_stream(minutes: int, seed: int, work: Path) -> tuple[np.ndarray, np.ndarray]:
    """Every frame of babble + machines with our voices talking (no wake word): the wake
    model's score and the feature window (float16)."""
    mat = Material(seed, work)
    texts = negatives_text()
    xs, ss = [], []
    for b in range(minutes):
        bed = talk_minute(mat, texts, ALL_VOICES, b)
        scores, feats = features(mat.detector, corpus.to_int16(bed))
        xs.append(feats.astype(np.float16))
        ss.append(scores)
        print(f"  mining stream {seed - SEED}: minute {b + 1}/{minutes}", flush=True)
    return np.concatenate(xs), np.concatenate(ss)


def cached(cache: Path | None, name: str, make: Callable[[], tuple[np.ndarray, np.ndarray]],
           keys: tuple[str, str] = ("x", "y")) -> tuple[np.ndarray, np.ndarray]:
    path = cache / f"{name}.npz" if cache else None
    if path is not None and path.exists():
        data = np.load(path)
        return data[keys[0]], data[keys[1]]
    made = make()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, **{keys[0]: made[0], keys[1]: made[1]})  # type: ignore[arg-type]  # stub
    return made


def fit(x: np.ndarray, y: np.ndarray, mean: np.ndarray, scale: np.ndarray, hidden: int,
        alpha: float, linear: bool) -> WakeVerifier:
    """Fit on standardised features; fold the standardisation into the first layer so the
    daemon computes ``relu(x W1 + b1) . w2 + b2`` (or ``x . w + b``) on raw features."""
    xs = (x - mean) / scale
    if linear:
        # Offline only (openWakeWord's dependency); it ships no type stubs.
        from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

        clf = LogisticRegression(C=0.01, max_iter=3000, class_weight="balanced").fit(xs, y)
        w = clf.coef_[0] / scale
        b = float(clf.intercept_[0] - np.sum(clf.coef_[0] * mean / scale))
        return WakeVerifier(w, b, "hey_jarvis")
    from sklearn.neural_network import MLPClassifier  # type: ignore[import-untyped]

    balance = np.where(y == 1, (1 - y).sum() / y.sum(), 1.0)  # positives weigh as much
    clf = MLPClassifier(hidden_layer_sizes=(hidden,), alpha=alpha, max_iter=60,
                        random_state=0, batch_size=256, learning_rate_init=1e-3)
    clf.fit(xs, y, sample_weight=balance)
    w1, b1 = clf.coefs_[0], clf.intercepts_[0]
    return WakeVerifier(clf.coefs_[1][:, 0], float(clf.intercepts_[1][0]), "hey_jarvis",
                        w1 / scale[:, None], b1 - (mean / scale) @ w1)


def batched(verifier: WakeVerifier, x: np.ndarray) -> np.ndarray:
    return np.concatenate([verifier.probabilities(x[i : i + 20000])
                           for i in range(0, len(x), 20000)])


def run_length_wakes(scores: np.ndarray, probs: np.ndarray, gate: float, threshold: float,
                     frames: int) -> int:
    """Wakes the verifier alone would give on a stream (2 s refractory), as the daemon does."""
    accepted = (scores >= gate) & (probs >= threshold)
    run = accepted.copy()
    for k in range(1, frames):
        run[k:] &= accepted[:-k]
        run[:k] = False
    count, last = 0, -1e9
    for i in np.nonzero(run)[0]:
        if i * FRAME / SR - last >= 2.0:
            count, last = count + 1, i * FRAME / SR
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path,
                        default=REPO / "assets" / "wake" / "hey_jarvis_verifier.npz")
    parser.add_argument("--positives", type=int, default=800)
    parser.add_argument("--negatives", type=int, default=800)
    parser.add_argument("--stream-min", type=int, default=30,
                        help="minutes of babble + machines + talk for hard negatives")
    parser.add_argument("--hidden", type=int, default=32, help="hidden ReLU units")
    parser.add_argument("--alpha", type=float, default=1e-3, help="L2 penalty of the network")
    parser.add_argument("--mine-rounds", type=int, default=2)
    parser.add_argument("--linear", action="store_true",
                        help="logistic regression (format 1) instead of the network")
    parser.add_argument("--cache", type=Path, help="reuse/save the feature sets in this folder")
    args = parser.parse_args()
    t0 = time.time()
    cache = args.cache
    with tempfile.TemporaryDirectory(prefix="vitad-verifier-") as tmp:
        work = Path(tmp)
        clips = cached(cache, "clips", lambda: build(args.positives, args.negatives, work))
        stream = cached(cache, "stream", lambda: build_stream(args.stream_min, work))
        varied = cached(cache, "varied", lambda: build_varied(700, 300, work))
        mine_a = cached(cache, "mine-200", lambda: mining_stream(40, SEED + 200, work),
                        ("x", "s"))
        mine_b = cached(cache, "mine-300", lambda: mining_stream(80, SEED + 300, work),
                        ("x", "s"))
    held = 30 * MINUTE_FRAMES  # mine-200's last 10 minutes: held out
    mines = [mine_a[0][:held], mine_b[0]]
    x = np.concatenate([clips[0], stream[0], varied[0].astype(np.float32)]
                       + [m[::8].astype(np.float32) for m in mines])
    y = np.concatenate([clips[1], stream[1], varied[1]] + [np.zeros(len(m[::8])) for m in mines])
    print(f"{int(y.sum())} positive and {int((1 - y).sum())} negative frames "
          f"({time.time() - t0:.0f} s)", flush=True)
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-6
    verifier = fit(x, y, mean, scale, args.hidden, args.alpha, args.linear)
    for r in range(args.mine_rounds):
        hard = [m[batched(verifier, m) >= 0.3].astype(np.float32) for m in mines]
        print(f"  round {r + 1}: {sum(len(h) for h in hard)} hard negatives "
              f"({time.time() - t0:.0f} s)", flush=True)
        x = np.concatenate([x, *hard])
        y = np.concatenate([y, np.zeros(sum(len(h) for h in hard))])
        verifier = fit(x, y, mean, scale, args.hidden, args.alpha, args.linear)
    p = batched(verifier, x)
    print(f"train: positives >= 0.5: {np.mean(p[y == 1] >= 0.5):.3f}, "
          f"negatives >= 0.5: {np.mean(p[y == 0] >= 0.5):.4f}")
    vx, vs = mine_a[0][held:].astype(np.float32), mine_a[1][held:]
    vp = batched(verifier, vx)
    for gate, frames in ((0.001, 3), (0.0, 3), (0.001, 2)):
        print(f"held-out {len(vx) / MINUTE_FRAMES:.0f} min: verifier wakes at gate {gate}, "
              f"0.95 x{frames}: {run_length_wakes(vs, vp, gate, 0.95, frames)}")
    save_verifier(args.out, verifier.weights, verifier.bias, "hey_jarvis", verifier.w1,
                  verifier.b1)
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes, {time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()
