"""`vitad simulate`: the real pipeline over a WAV file, as fast as the CPU allows.

Event times are on the input audio's clock. Reply audio is placed on that clock too, shifted
by the real wall time synthesis took, so ``audio_out_start - speech_end`` is an honest latency.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from vitad import events as ev
from vitad.audio.wavfile import chunks_from_array, read_wav_internal, write_wav
from vitad.config.schema import Config
from vitad.pipeline.assembly import Stage, assemble
from vitad.pipeline.engines import Engines, load_engines
from vitad.pipeline.speakers import TimelineSpeaker

log = logging.getLogger(__name__)

# Mouth levels are for the avatar; they would swamp the JSONL file.
NOT_WRITTEN = {ev.EventType.MOUTH}


@dataclass
class SimulationResult:
    events: list[ev.Event] = field(default_factory=list)
    reply_audio: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int16))
    rate: int = 22050
    input_s: float = 0.0
    stages: tuple[Stage, ...] = ()

    def of_type(self, name: ev.EventType | str) -> list[ev.Event]:
        return [e for e in self.events if e.type == name]


def event_json(event: ev.Event) -> str:
    data: dict[str, Any] = event.to_dict()
    data["t"] = round(data["t"], 3)
    return json.dumps(data, ensure_ascii=False)


def simulate(
    config: Config,
    samples: np.ndarray,
    engines: Engines | None = None,
    events_out: IO[str] | None = None,
    cache_dir: Path | None = None,
) -> SimulationResult:
    """Run the pipeline over 16 kHz mono int16 ``samples``."""
    engines = engines or load_engines(config, cache_dir=cache_dir)
    engines.wake.restart_clock()
    engines.dialogue.reset_sessions()
    bus = ev.EventBus()
    result = SimulationResult(input_s=len(samples) / 16000)

    def record(event: ev.Event) -> None:
        result.events.append(event)
        if events_out is not None and event.type not in NOT_WRITTEN:
            events_out.write(event_json(event) + "\n")

    bus.subscribe(record)
    for degraded in engines.degraded:
        bus.publish(degraded)
    speaker = TimelineSpeaker(engines.tts, bus, tail_s=config.wake.playback_tail_s)
    pipeline = assemble(config, engines, bus, speaker)
    result.stages = pipeline.stages
    listener = pipeline.listener
    for chunk in chunks_from_array(samples, config.audio.chunk_ms):
        speaker.release(chunk.timestamp)
        pipeline.feed(chunk)
    # Flush: a question that runs to the very end of the file still gets answered. Silence
    # until the endpoint fires (after noise the VAD can take a while to let go), at most as
    # long as a question may last: a live microphone would deliver that much more audio.
    tail = np.zeros(int(16000 * max(config.listen.hangover_s + 0.3,
                                    config.listen.max_utterance_s)), dtype=np.int16)
    for chunk in chunks_from_array(tail, config.audio.chunk_ms, start=len(samples) / 16000):
        if not listener.listening:
            break
        speaker.release(chunk.timestamp)
        pipeline.feed(chunk)
    listener.abandon_turn()  # still open after the flush: the file ended mid-question
    speaker.release()
    engines.wake.reset()
    result.reply_audio = speaker.render(result.input_s)
    result.rate = speaker.rate
    return result


def simulate_files(config: Config, input_path: Path, output_path: Path | None,
                   events_path: Path | None, cache_dir: Path | None = None,
                   engines: Engines | None = None) -> SimulationResult:
    samples = read_wav_internal(input_path)
    if events_path is not None:
        events_path.parent.mkdir(parents=True, exist_ok=True)
        with events_path.open("w", encoding="utf-8") as out:
            result = simulate(config, samples, engines, out, cache_dir)
    else:
        result = simulate(config, samples, engines, None, cache_dir)
    if output_path is not None:
        write_wav(output_path, result.reply_audio, result.rate)
    return result
