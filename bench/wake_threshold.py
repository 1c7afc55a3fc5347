"""Wake word: recall per voice and false wakes per hour, for a range of thresholds.

Uses the accuracy corpus (``bench/corpus/generate.py``): every utterance clip that has the
wake phrase, split dev/test (choose on dev, report test), and the 30-minute stream of babble
and machine noise with customers talking but no wake word. Prints numbers, not a test.

Usage: python bench/wake_threshold.py [--thresholds 0.5,0.4,0.3,0.2] [--noise-suppression 2]
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from vitad.audio.wavfile import chunks_from_array, read_wav_internal
from vitad.config.schema import WakeSettings
from vitad.pipeline.wake import WakeDetector

CORPUS = Path(__file__).resolve().parent / "corpus" / "out"
REFRACTORY_S = 2.0


def chunk_peaks(detector: WakeDetector, samples: np.ndarray) -> np.ndarray:
    """The best wake score of every 80 ms chunk (0 where it stayed under 0.01)."""
    detector.restart_clock()
    peaks = []
    for chunk in chunks_from_array(samples, 80):
        hit = detector.feed(chunk.samples, chunk.end)
        peaks.append(hit.score if hit else 0.0)
    return np.array(peaks)


def false_wakes(peaks: np.ndarray, threshold: float) -> int:
    count, last = 0, -1e9
    for i, score in enumerate(peaks):
        t = i * 0.08
        if score >= threshold and t - last >= REFRACTORY_S:
            count, last = count + 1, t
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--thresholds", default="0.5,0.4,0.3,0.25,0.2")
    parser.add_argument("--noise-suppression", type=int, default=0, choices=range(5),
                        help="[wake] noise_suppression: webrtc level 1-4 in front of the "
                        "wake model (0 = off)")
    args = parser.parse_args()
    manifest = json.loads((CORPUS / "manifest.json").read_text())
    detector = WakeDetector(WakeSettings(threshold=0.01, refractory_s=0.0,
                                         noise_suppression=args.noise_suppression))
    clips = [c for c in manifest["clips"] if c["type"] == "utterance" and c["wake"]]
    best = {c["id"]: chunk_peaks(detector, read_wav_internal(CORPUS / c["file"])).max()
            for c in clips}
    stream = chunk_peaks(detector, read_wav_internal(CORPUS / manifest["stream"]["file"]))
    hours = manifest["stream"]["duration_s"] / 3600
    print(f"{len(clips)} clips with the wake phrase; {hours * 60:.0f} min of babble + machines; "
          f"noise suppression {args.noise_suppression or 'off'}")
    for threshold in (float(t) for t in args.thresholds.split(",")):
        recall: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for c in clips:
            for key in (c["split"], c["voice"], f"noise:{c['noise']}"):
                recall[key][0] += int(best[c["id"]] >= threshold)
                recall[key][1] += 1
        fw = false_wakes(stream, threshold)
        print(f"\nthreshold {threshold}: dev {recall['dev'][0]}/{recall['dev'][1]}, "
              f"test {recall['test'][0]}/{recall['test'][1]}, false wakes {fw} "
              f"({fw / hours:.1f} per hour)")
        for key, (hit, n) in sorted(recall.items()):
            if key not in ("dev", "test"):
                print(f"  {key:24s} {hit:3d}/{n:<3d} {100 * hit / n:4.0f} %")


if __name__ == "__main__":
    main()
