"""Wake word: recall per voice x SNR and false wakes per hour, threshold by threshold.

Uses the accuracy corpus (``bench/corpus/generate.py``): every utterance clip that has the
wake phrase, split dev/test (choose on dev, report test), the clips without the wake word,
the noise-only clips, and the 30-minute stream of babble and machine noise with customers
talking but no wake word (its first half counts as dev, its second as test). Every frame goes
through the daemon's own ``WakeDetector.score_frame`` (wake model, then the verifier on frames
at or over the gate; gate 0 = every frame), so the numbers are the daemon's. Prints numbers,
not a test.

1. a sweep: one line per (threshold) and per (threshold, verifier gate, verifier threshold),
   dev figures only unless ``--show-test``;
2. the detail of the shipped ``[wake]`` settings, or of ``--pick``, against the wake model
   alone at the shipped threshold: recall per voice (all SNR and >= 10 dB), per noise, per
   SNR; false wakes; and for the misses the best score they reached (near miss, or nothing?).

Usage: python bench/wake_threshold.py [--thresholds 0.5,0.3,0.2] [--verifier bundled]
       [--gates 0,0.001,0.02] [--verifier-thresholds 0.9,0.95] [--verifier-frames 2,3]
       [--pick 0.3,0.001,0.95,3] [--noise-suppression 2] [--corpus DIR] [--show-test]
       python bench/wake_threshold.py --cost   # CPU and memory, verifier off vs on
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from vitad.audio.wavfile import read_wav_internal
from vitad.config.loader import load_config, shipped_config_dir
from vitad.config.schema import WakeSettings
from vitad.pipeline.wake import FRAME, WakeDetector, bundled_verifier_path
from vitad.pipeline.wake_verifier import FEATURE_FRAMES, load_verifier

CORPUS = Path(__file__).resolve().parent / "corpus" / "out"  # --corpus: another generate.py --out
REFRACTORY_S = 2.0
STEP_S = FRAME / 16000


@dataclass(frozen=True)
class Rule:
    threshold: float
    gate: float | None = None  # None: the wake model alone
    verifier_threshold: float = 1.0
    frames: int = 1  # consecutive frames the verifier must accept

    def fires(self, scores: np.ndarray, verified: np.ndarray) -> np.ndarray:
        hit = scores >= self.threshold
        if self.gate is not None:
            accepted = (scores >= self.gate) & (verified >= self.verifier_threshold)
            run = accepted.copy()
            for k in range(1, self.frames):
                run[k:] &= accepted[:-k]
                run[:k] = False
            hit |= run
        return hit

    def __str__(self) -> str:
        if self.gate is None:
            return f"threshold {self.threshold:<5g} (wake model alone)"
        return (f"threshold {self.threshold:<5g} gate {self.gate:<6g} "
                f"verifier {self.verifier_threshold:<4g} x{self.frames}")


def frame_scores(detector: WakeDetector, samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per 80 ms frame: the wake model's score, and the verifier's probability (-1: not asked)."""
    detector.restart_clock()
    scores, verified = [], []
    for i in range(0, len(samples) - FRAME + 1, FRAME):
        frame = detector.score_frame(samples[i : i + FRAME])
        scores.append(frame.score)
        verified.append(-1.0 if frame.verified is None else frame.verified)
    return np.array(scores), np.array(verified)


def false_wakes(hits: np.ndarray) -> int:
    count, last = 0, -1e9
    for i in np.nonzero(hits)[0]:
        t = i * STEP_S
        if t - last >= REFRACTORY_S:
            count, last = count + 1, t
    return count


def loud_enough(clip: dict) -> bool:
    return clip["snr_db"] is None or clip["snr_db"] >= 10


class Scored:
    def __init__(self, detector: WakeDetector, corpus: Path) -> None:
        manifest = json.loads((corpus / "manifest.json").read_text())
        clips = manifest["clips"]
        self.wake = [c for c in clips if c["type"] == "utterance" and c["wake"]]
        self.quiet = [c for c in clips if not c["wake"]]  # no wake word / noise only
        self.frames = {c["id"]: frame_scores(detector, read_wav_internal(corpus / c["file"]))
                       for c in self.wake + self.quiet}
        scores, verified = frame_scores(
            detector, read_wav_internal(corpus / manifest["stream"]["file"]))
        half = len(scores) // 2
        self.stream = {"dev": (scores[:half], verified[:half]),
                       "test": (scores[half:], verified[half:])}
        self.stream_hours = manifest["stream"]["duration_s"] / 3600

    def hit(self, clip: dict, rule: Rule) -> bool:
        return bool(rule.fires(*self.frames[clip["id"]]).any())

    def recall(self, rule: Rule, split: str, keys: Iterable[str] = ()) -> dict[str, list[int]]:
        out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for c in self.wake:
            if c["split"] != split:
                continue
            loud = loud_enough(c)
            names = [split, *(["loud"] if loud else [])]
            for key in keys:
                value = "clean" if key == "snr" and c["snr_db"] is None else c[
                    {"voice": "voice", "noise": "noise", "snr": "snr_db"}[key]]
                names.append(f"{key}:{value}")
                if key == "voice" and loud:
                    names.append(f"{key}>=10dB:{value}")
            for name in names:
                out[name][0] += int(self.hit(c, rule))
                out[name][1] += 1
        return out

    def stream_wakes(self, rule: Rule, half: str) -> int:
        return false_wakes(rule.fires(*self.stream[half]))

    def quiet_wakes(self, rule: Rule, kind: str) -> int:
        return sum(self.hit(c, rule) for c in self.quiet if c["type"] == kind)


def pct(hit_n: list[int]) -> str:
    hit, n = hit_n
    return f"{hit:3d}/{n:<3d} {100 * hit / max(n, 1):4.0f} %"


def sweep_line(s: Scored, rule: Rule, show_test: bool = False) -> str:
    """One rule's dev figures (and the test split's only with ``show_test``: the sweep is
    for choosing, and a test column beside it invites choosing on test)."""
    dev = s.recall(rule, "dev", ["voice"])
    worst = min((h / n, k.split(":", 1)[1]) for k, (h, n) in dev.items()
                if k.startswith("voice>=10dB:"))
    per_hour = s.stream_hours / 2
    fd = s.stream_wakes(rule, "dev")
    quiet = s.quiet_wakes(rule, "no_wake") + s.quiet_wakes(rule, "noise_only")
    line = (f"{rule!s:44s} dev {pct(dev['dev'])} >=10dB {pct(dev['loud'])} "
            f"worst dev voice >=10dB {worst[1]} {100 * worst[0]:.0f} % | false wakes/h "
            f"dev {fd / per_hour:.1f} | quiet clips {quiet}")
    if show_test:
        test = s.recall(rule, "test")
        line += (f" | test {pct(test['test'])} >=10dB {pct(test['loud'])}, false wakes/h "
                 f"{s.stream_wakes(rule, 'test') / per_hour:.1f}")
    return line


def detail(s: Scored, rule: Rule, title: str) -> None:
    r = s.recall(rule, "test", ["voice", "noise", "snr"])
    fw = s.stream_wakes(rule, "dev") + s.stream_wakes(rule, "test")
    print(f"\n== {title}: {rule} — TEST split ==")
    print(f"recall {pct(r['test'])}   at >= 10 dB SNR {pct(r['loud'])}")
    print(f"false wakes in {s.stream_hours * 60:.0f} min of babble + machines: {fw} "
          f"({fw / s.stream_hours:.1f} per hour); clips without the wake word: "
          f"{s.quiet_wakes(rule, 'no_wake')}/{sum(c['type'] == 'no_wake' for c in s.quiet)}; "
          f"noise-only clips: {s.quiet_wakes(rule, 'noise_only')}/"
          f"{sum(c['type'] == 'noise_only' for c in s.quiet)}")
    print(f"  {'voice':24s} {'all SNR':>14s}   {'>= 10 dB':>14s}")
    for key in sorted(k for k in r if k.startswith("voice:")):
        name = key.split(":", 1)[1]
        print(f"  {name:24s} {pct(r[key])}   {pct(r.get(f'voice>=10dB:{name}', [0, 0]))}")
    for group in ("noise", "snr"):
        print("  " + "  ".join(f"{k.split(':', 1)[1]} {pct(v)}" for k, v in sorted(
            r.items(), key=lambda kv: str(kv[0])) if k.startswith(f"{group}:")))
    misses = [c for c in s.wake if c["split"] == "test" and not s.hit(c, rule)]
    for c in misses:
        scores, verified = s.frames[c["id"]]
        print(f"  miss {c['id']} {c['voice']:20s} {c['noise']:7s} {c['snr_db']!s:5s} dB: "
              f"best score {scores.max():.3f}, verifier {max(verified.max(), 0):.2f}")


def cost(verifier: str, corpus: Path, minutes: float = 5.0) -> None:
    """CPU per second of audio of the daemon's detector (real settings), verifier on vs off,
    on the first minutes of the babble + machine stream (where the gate opens most)."""
    manifest = json.loads((corpus / "manifest.json").read_text())
    audio = read_wav_internal(corpus / manifest["stream"]["file"])[: int(minutes * 60 * 16000)]
    shipped = load_config(shipped_config_dir() / "vitad.toml").wake
    if verifier:
        before = rss_mib()
        held = [load_verifier(_verifier_path(verifier)) for _ in range(10)]
        print(f"RSS of one loaded verifier: {(rss_mib() - before) / len(held) * 1024:.0f} KiB "
              f"(10 loaded)")
    for name, setting in (("off", ""), ("on", verifier)):
        detector = WakeDetector(shipped.model_copy(update={"verifier": setting}),
                                shipped_config_dir())
        held = detector.verifier.nbytes if detector.verifier is not None else 0
        asked = 0
        start = time.process_time()
        for i in range(0, len(audio) - FRAME + 1, FRAME):
            asked += detector.score_frame(audio[i : i + FRAME]).verified is not None
        cpu = time.process_time() - start
        print(f"verifier {name:3s}: {100 * cpu / (len(audio) / 16000):.2f} % of one core over "
              f"{minutes:g} min of babble + machines; verifier asked on {asked} of "
              f"{len(audio) // FRAME} frames; verifier weights in memory {held / 1024:.1f} KiB")
        if detector.verifier is not None:
            window = detector._model.preprocessor.get_features(FEATURE_FRAMES)
            start = time.perf_counter()
            for _ in range(2000):
                detector.verifier.probability(window)
            print(f"  the verifier alone: {(time.perf_counter() - start) / 2000 * 1e6:.0f} us "
                  f"per 80 ms frame")


def _verifier_path(setting: str) -> Path:
    return bundled_verifier_path() if setting == "bundled" else Path(setting)


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def floats(text: str) -> list[float]:
    return [float(t) for t in text.split(",") if t]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--thresholds", default="0.5,0.3,0.2,0.15")
    parser.add_argument("--verifier", default=None,
                        help='[wake] verifier ("bundled", a .npz path; default: the shipped '
                        'config\'s; "" = none)')
    parser.add_argument("--gates", default="0,0.0005,0.001,0.002,0.02",
                        help="the wake model's score from which the verifier is asked (0: "
                        "every frame)")
    parser.add_argument("--verifier-thresholds", default="0.8,0.9,0.95,0.98")
    parser.add_argument("--verifier-frames", default="2,3")
    parser.add_argument("--pick", default=None,
                        help="threshold,gate,verifier_threshold,frames for the detail "
                        "(default: the shipped config's [wake])")
    parser.add_argument("--noise-suppression", type=int, default=0, choices=range(5),
                        help="[wake] noise_suppression: webrtc level 1-4 in front of the "
                        "wake model (0 = off)")
    parser.add_argument("--corpus", type=Path, default=None,
                        help="a corpus folder (generate.py --out DIR, e.g. with --stream-min "
                        "60 for an hour of false-wake stream); default bench/corpus/out")
    parser.add_argument("--show-test", action="store_true",
                        help="the test split's figures in the sweep too (for the final report; "
                             "the detail of the shipped / --pick rule always shows them)")
    parser.add_argument("--cost", action="store_true",
                        help="only measure CPU with the verifier off and on, and exit")
    args = parser.parse_args()
    corpus = args.corpus or CORPUS
    if args.cost:
        cost(args.verifier if args.verifier is not None else "bundled", corpus)
        return
    shipped = load_config(shipped_config_dir() / "vitad.toml").wake
    verifier = shipped.verifier if args.verifier is None else args.verifier
    gates = floats(args.gates) if verifier else []
    if args.pick:
        t, g, v, f = floats(args.pick)
        pick = Rule(t, g, v, int(f))
    else:
        pick = Rule(shipped.threshold, shipped.verifier_gate if verifier else None,
                    shipped.verifier_threshold, shipped.verifier_frames)
    lowest_gate = min([*gates, *([pick.gate] if pick.gate is not None else [])], default=0.5)
    # threshold 0.99: the verifier is asked on every frame at or over the lowest gate.
    detector = WakeDetector(WakeSettings(threshold=0.99, refractory_s=0.0,
                                         noise_suppression=args.noise_suppression,
                                         verifier=verifier, verifier_gate=lowest_gate),
                            shipped_config_dir())
    if verifier and detector.verifier is None:
        sys.exit(f"wake_threshold: verifier {verifier!r} did not load (see the error above)")
    s = Scored(detector, corpus)
    print(f"{len(s.wake)} clips with the wake phrase; {s.stream_hours * 60:.0f} min of babble "
          f"+ machines (first half dev, second test); verifier {verifier or 'off'}; noise "
          f"suppression {args.noise_suppression or 'off'}")
    rules = [Rule(t) for t in floats(args.thresholds)]
    rules += [Rule(t, g, v, int(f)) for t in floats(args.thresholds) if t >= 0.3
              for f in floats(args.verifier_frames) for g in gates
              for v in floats(args.verifier_thresholds)]
    for rule in rules:
        print(sweep_line(s, rule, args.show_test))
    detail(s, Rule(shipped.threshold), "before: the wake model alone")
    if pick.gate is not None:
        detail(s, pick, "after")


if __name__ == "__main__":
    main()
