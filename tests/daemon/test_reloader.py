"""The reloader: which settings apply live, and that a reload applies what it claims."""

from __future__ import annotations

import logging
import queue
import threading
import time
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import tomli_w

from tests.conftest import write_config
from vitad import events as ev
from vitad.audio.denoise import DenoiserUnavailable
from vitad.audio.format import AudioChunk
from vitad.config.avatar_settings import AvatarSettings
from vitad.config.loader import load_config
from vitad.config.runtime_settings import RuntimeSettings
from vitad.config.schema import AudioSettings, Config
from vitad.daemon import reloader as reloader_module
from vitad.daemon.devices import MicSupervisor
from vitad.daemon.reloader import RULES, Apply, Reloader, plan_reload, rule_for
from vitad.pipeline.assembly import Pipeline, assemble
from vitad.pipeline.engines import Engines, prepare_engines
from vitad.pipeline.speakers import LiveSpeaker
from vitad.runtime.health import HealthModel

# -- the table (no models) ------------------------------------------------------------------


def test_every_config_section_says_live_or_restart() -> None:
    sections = set(Config.model_fields) - {"base_dir"}
    assert sections <= set(RULES), sections - set(RULES)


@pytest.mark.parametrize(("key", "rule"), [
    ("shop.machines", Apply.LIVE), ("tts.voice", Apply.LIVE), ("wake.models", Apply.LIVE),
    ("listen.noise_suppression", Apply.LIVE), ("asr.use_grammar", Apply.LIVE),
    ("audio.input", Apply.LIVE), ("avatar.theme.body", Apply.LIVE),
    ("avatar.enabled", Apply.RESTART), ("avatar.size", Apply.RESTART),
    ("runtime.state_dir", Apply.RESTART), ("privacy.store_transcripts", Apply.RESTART),
    ("no_such_section.key", Apply.RESTART),  # unknown: never claimed as applied
])
def test_the_most_specific_rule_wins(key: str, rule: Apply) -> None:
    assert rule_for(key) is rule


def test_a_plan_names_each_changed_setting_once() -> None:
    old = Config()
    new = Config(audio=AudioSettings(input="wav:/tmp/mic.wav", volume=0.5),
                 avatar=AvatarSettings(enabled=False, fps=10),
                 runtime=RuntimeSettings(state_dir=Path("/srv/vitad")))
    plan = plan_reload(old, new)
    assert plan.live == ("audio.input", "audio.volume", "avatar.fps")
    assert plan.restart == ("avatar.enabled", "runtime.state_dir")
    assert plan.reopen_mic and not plan.reopen_speaker
    assert plan_reload(old, Config(audio=AudioSettings(output="null"))).reopen_speaker
    assert plan_reload(old, old) == plan_reload(new, new)


# -- a reload through real engines ----------------------------------------------------------


class FakeMic:
    """A microphone for the supervisor: opens, delivers nothing, counts closes."""

    def __init__(self, closed: list[str], name: str) -> None:
        self.queue: queue.Queue[AudioChunk] = queue.Queue()
        self.dropped = 0
        self.error = ""
        self.failed = threading.Event()
        self._closed = closed
        self.name = name

    def open(self) -> None:
        pass

    def close(self) -> None:
        self._closed.append(self.name)


@dataclass
class Running:
    path: Path
    config: Config
    engines: Engines
    pipeline: Pipeline
    speaker: LiveSpeaker
    mic: MicSupervisor
    reloader: Reloader
    reopened: list[int]
    mics_closed: list[str]

    def edit(self, change: Callable[[dict], None]) -> None:
        data = tomllib.loads(self.path.read_text())
        change(data)
        self.path.write_bytes(tomli_w.dumps(data).encode())

    def reload(self) -> reloader_module.Reloaded | None:
        return self.reloader.reload(self.config, self.engines)


def load(config: Config, reuse: tuple[Config, Engines] | None = None,
         strict_tts: bool = False) -> Engines:
    return prepare_engines(config, reuse=reuse, strict_tts=strict_tts)


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    # PocketSphinx by name: a fallback recognizer (no Vosk model here) is retried by a reload.
    path = write_config(tmp_path, audio={"input": "wav:/nonexistent.wav", "output": "null"},
                        asr={"engine": "pocketsphinx"})
    config = load_config(path)
    engines = load(config)
    bus = ev.EventBus()
    health = HealthModel()
    reopened: list[int] = []

    class Sink:
        def write(self, samples: np.ndarray) -> None:
            pass

        def close(self) -> None:
            pass

    def reopen() -> Sink:
        reopened.append(speaker.rate)
        return Sink()

    speaker = LiveSpeaker(engines.tts, Sink(), bus, time.monotonic, realtime=False,
                          reopen=reopen)
    speaker.start()
    pipeline = assemble(config, engines, bus, speaker)
    closed: list[str] = []
    state = {"config": config}
    mic = MicSupervisor(lambda: state["config"], bus, health, time.monotonic,
                        sleep=lambda s: None,
                        factory=lambda cfg, clock: FakeMic(closed, cfg.audio.input))
    mic.next_chunk(timeout=0)
    assert mic.ok
    run = Running(path, config, engines, pipeline, speaker, mic,
                  Reloader(path, load, bus, health, speaker, pipeline, mic), reopened, closed)
    try:
        yield run
    finally:
        speaker.close()


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    end = time.monotonic() + timeout
    while not condition() and time.monotonic() < end:
        time.sleep(0.05)
    return condition()


@pytest.mark.slow
def test_a_new_price_keeps_every_engine_and_swaps_between_turns(running: Running,
                                                                tmp_path: Path) -> None:
    wake = running.engines.wake
    calls: list[str] = []
    wake.reset = lambda: calls.append("reset")  # type: ignore[method-assign]
    wake.restart_clock = lambda: calls.append("restart_clock")  # type: ignore[method-assign]
    running.edit(lambda d: d["shop"]["machines"][1].update(price="9 dollars 25"))
    reloaded = running.reload()
    assert reloaded is not None
    assert reloaded.plan.live == ("shop.machines",) and reloaded.plan.restart == ()
    old, new = running.engines, reloaded.engines
    assert (new.wake, new.self_check, new.vad, new.recognizer, new.tts) == (
        old.wake, old.self_check, old.vad, old.recognizer, old.tts)
    assert new.dialogue is not old.dialogue
    assert running.pipeline.turns.dialogue is old.dialogue, "swapped only by the listener"
    running.reloader.apply_pending()
    assert running.pipeline.turns.dialogue is new.dialogue
    assert running.pipeline.listener.wake is wake and calls == []  # a kept detector: no reset
    assert running.mics_closed == [] and running.reopened == []  # same input and output
    assert running.reloader.applied == 1
    copy = tmp_path / "state" / "last-good" / "vitad.toml"
    assert "9 dollars 25" in copy.read_text()


@pytest.mark.slow
def test_a_reload_applies_everything_it_claims(running: Running) -> None:
    def change(d: dict) -> None:
        d["audio"].update(input="wav:/other.wav", output="wav:/tmp/vitad-out.wav", volume=0.5)
        d["tts"]["length_scale"] = 1.2
        d["wake"].update(threshold=0.6, playback_tail_s=0.5)
        d["listen"]["noise_suppression"] = "webrtc"

    running.edit(change)
    reloaded = running.reload()
    assert reloaded is not None and reloaded.plan.restart == ()
    speaker = running.speaker
    assert speaker.volume == 0.5 and speaker.tail_s == 0.5
    assert reloaded.engines.tts is not running.engines.tts
    # The speaker thread takes the voice and reopens the changed output before a reply.
    assert wait_for(lambda: speaker.tts is reloaded.engines.tts and running.reopened != [])
    running.reloader.apply_pending()
    listener = running.pipeline.listener
    assert listener.wake is reloaded.engines.wake is not running.engines.wake
    assert listener.wake_settings.threshold == 0.6
    assert listener.settings.noise_suppression == "webrtc"
    assert running.mics_closed == ["wav:/nonexistent.wav"] and not running.mic.ok


@pytest.mark.slow
def test_a_garbage_or_half_applicable_config_changes_nothing(
        running: Running, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    good = running.path.read_text()
    running.path.write_text(good.replace("hangover_s = 0.5", 'hangover_s = "long"'))
    with caplog.at_level(logging.ERROR, "vitad.daemon"):
        assert running.reload() is None
    assert "reload rejected" in caplog.text and "listen.hangover_s" in caplog.text

    def unavailable(kind: str) -> None:
        raise DenoiserUnavailable(f"noise_suppression '{kind}' needs the 'x' package")

    monkeypatch.setattr(reloader_module, "make_denoiser", unavailable)
    for setting, kind in (("noise_suppression", "rnnoise"),
                          ("vad_noise_suppression", "deepfilternet")):
        running.path.write_text(good)
        running.edit(lambda d, s=setting, k=kind: d["listen"].update({s: k}))
        caplog.clear()
        with caplog.at_level(logging.ERROR, "vitad.daemon"):
            assert running.reload() is None
        assert f"listen.{setting}" in caplog.text
    assert running.reloader.rejected == 3 and running.reloader.applied == 0
    dialogue = running.pipeline.turns.dialogue
    running.reloader.apply_pending()
    assert running.pipeline.turns.dialogue is dialogue and running.mic.ok


@pytest.mark.slow
def test_settings_read_at_start_are_logged_as_needing_a_restart(
        running: Running, caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    def change(d: dict) -> None:
        d["runtime"]["state_dir"] = str(tmp_path / "elsewhere")
        d["avatar"]["enabled"] = True

    running.edit(change)
    with caplog.at_level(logging.WARNING, "vitad.daemon"):
        reloaded = running.reload()
    assert reloaded is not None
    assert reloaded.plan.restart == ("avatar.enabled", "runtime.state_dir")
    assert "runtime.state_dir changed; it needs a restart" in caplog.text
    assert "avatar.enabled changed; it needs a restart" in caplog.text
