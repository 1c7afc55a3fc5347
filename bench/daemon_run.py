"""The real ``vitad run`` process answering a conversation: per-turn latency, idle CPU and RSS.

Used by bench/pipeline.py (``--process``). A WAV microphone (paced in real time by the daemon)
carries the questions in laundromat noise; the speaker is ``null`` (paced like a real one) and
the avatar draws on SDL's dummy driver. Everything is read back from the daemon's own log:
the WAV's first sample on the input clock, each turn's ``speech_end`` (reason, last voiced
audio), ``audio_out_start`` (cached or not) and ``turn_end`` (latency from last voiced audio to
first reply audio). The *true* end of each question is known from the WAV, so

    true latency = speech_end.at + turn_end.latency_s - (wav start + question end)

which includes the VAD's own lag, unlike the daemon's figure.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import tomli_w
from footprint import (
    Notify,
    asr_section,
    config_dict,
    sample_idle,
    stop_daemon,
    wait_prepared,
)

from vitad.audio.format import INTERNAL_RATE
from vitad.audio.wavfile import write_wav

_FIELD = re.compile(r"(\w+)=(\S+)")
_WAV_START = re.compile(r"wav input \S+: playing from input time ([0-9.]+)")


@dataclass
class Turn:
    question_end: float  # input clock
    reason: str = "?"
    speech_end: float | None = None
    cached: bool | None = None
    latency_s: float | None = None  # the daemon's: last voiced audio -> first reply audio
    intent: str | None = None

    @property
    def true_latency(self) -> float | None:
        if self.speech_end is None or self.latency_s is None:
            return None
        return self.speech_end + self.latency_s - self.question_end


@dataclass
class DaemonRun:
    turns: list[Turn]
    idle_cpu_pct: float
    idle_rss_mib: float
    ready_s: float
    prepared: str


def _events(log_text: str) -> tuple[float | None, list[tuple[str, dict[str, str]]]]:
    start = None
    events = []
    for line in log_text.splitlines():
        if start is None and (m := _WAV_START.search(line)):
            start = float(m.group(1))
        for kind in ("speech_end", "audio_out_start", "turn_end"):
            marker = f"vitad.daemon: {kind} "
            if marker in line:
                fields = dict(_FIELD.findall(line.split(marker, 1)[1]))
                events.append((kind, fields))
    return start, events


def _turns(log_text: str, question_ends: list[float]) -> list[Turn]:
    """Match the daemon's turns to the questions: a turn belongs to the question whose end
    its last voiced audio is nearest (within 3 s)."""
    start, events = _events(log_text)
    if start is None:
        raise SystemExit("daemon_run: the daemon never logged its WAV start (old code?)")
    turns = [Turn(start + end) for end in question_ends]
    by_id: dict[str, Turn] = {}
    for kind, f in events:
        if kind == "speech_end" and "at" in f:
            at = float(f["at"])
            nearest = min(turns, key=lambda t: abs(t.question_end - at))
            if abs(nearest.question_end - at) < 3.0 and nearest.speech_end is None:
                nearest.speech_end, nearest.reason = at, f.get("reason", "?")
                by_id[f.get("turn_id", "")] = nearest
        elif (turn := by_id.get(f.get("turn_id", ""))) is not None:
            if kind == "audio_out_start":
                turn.cached = f.get("cached") == "True"
            elif kind == "turn_end" and "latency_s" in f:
                turn.latency_s = float(f["latency_s"])
                turn.intent = f.get("intent")
    return turns


def run_conversation(audio: np.ndarray, question_ends: list[float], *, engine: str,
                     env: dict[str, str], tts_cache: Path | None, listen: dict[str, Any],
                     idle_s: float = 20.0, keep_log: Path | None = None,
                     tts_settings: dict[str, Any] | None = None) -> DaemonRun:
    """Start ``vitad run`` on ``audio`` (+ ``idle_s`` of noise after it), return its turns.

    ``tts_cache`` None: the cache is off, so every answer is synthesized on demand (misses).
    ``keep_log``: where to copy the daemon's log (to see why a turn is missing).
    ``tts_settings``: more [tts] keys (e.g. prepare_ahead = false).
    """
    from footprint import noise

    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        wav = tmp / "mic.wav"
        tail = noise(idle_s + 10)
        write_wav(wav, np.concatenate([audio, tail]).astype(np.int16), INTERNAL_RATE)
        tts = ({"cache_dir": str(tts_cache)} if tts_cache is not None
               else {"cache_max_mb": 0.0}) | (tts_settings or {})
        data = config_dict(tmp, audio={"input": f"wav:{wav}", "output": "null"},
                           avatar={"enabled": True}, asr=asr_section(engine), tts=tts,
                           listen=listen)
        config = tmp / "vitad.toml"
        config.write_bytes(tomli_w.dumps(data).encode())
        notify = Notify(tmp / "notify.sock")
        log_path = tmp / "daemon.log"
        environ = {**env, "NOTIFY_SOCKET": str(notify.path), "SDL_VIDEODRIVER": "dummy",
                   "SDL_AUDIODRIVER": "dummy"}
        started = time.monotonic()
        with log_path.open("w") as log:
            proc = subprocess.Popen([sys.executable, "-m", "vitad", "run", "--config",
                                     str(config)], env=environ, stdout=log,
                                    stderr=subprocess.STDOUT, cwd=env.get("PYTHONPATH"))
        try:
            if not notify.wait_ready(180):
                raise SystemExit("daemon_run: vitad run not READY; its log ends:\n"
                                 + log_path.read_text()[-2000:])
            ready_s = time.monotonic() - started
            prepared = (wait_prepared(tmp / "health.sock", 600) if tts_cache is not None
                        else "cache off")
            # The conversation plays from the daemon's mic open; wait it out, then sample idle.
            conversation_s = len(audio) / INTERNAL_RATE
            time.sleep(max(0.0, started + conversation_s + 8.0 - time.monotonic()))
            idle = sample_idle(psutil.Process(proc.pid), idle_s)
        finally:
            stop_daemon(proc, notify)
        if keep_log is not None:
            keep_log.write_text(log_path.read_text())
        return DaemonRun(_turns(log_path.read_text(), question_ends),
                         idle_cpu_pct=idle["cpu_pct"], idle_rss_mib=idle["rss_median"] / (1 << 20),
                         ready_s=ready_s, prepared=prepared)
