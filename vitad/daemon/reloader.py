"""SIGHUP: load the config again, decide per setting whether it applies now or at a restart.

Everything the new config needs (schema, files, intents, templates, models, the voice, the
noise suppressor) is built on the main thread first. Anything that fails keeps the daemon on
the running config and says why; a reload never stops the daemon. What loaded is handed over
in parts, each on the thread that owns it:

* the speaker thread takes the voice (a new sample rate reopens the device), volume and
  output device before its next reply;
* the listener thread takes wake models, VAD, recognizer, dialogue and endpointing between
  turns (:meth:`Reloader.apply_pending`), and reopens the microphone if its settings changed;
* settings read once at start (``[runtime]``, ``[privacy]``, the display) are logged as
  "needs a restart" instead of being claimed.

The last good copy is rewritten only once the new config is accepted.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from vitad import events as ev
from vitad.audio.denoise import DenoiserUnavailable, make_denoiser
from vitad.config.loader import ConfigError, config_source, load_config
from vitad.config.schema import Config
from vitad.daemon.devices import MicSupervisor
from vitad.pipeline.assembly import Pipeline
from vitad.pipeline.engines import Engines
from vitad.pipeline.speakers import LiveSpeaker
from vitad.runtime.health import HealthModel
from vitad.runtime.last_good import UNUSABLE, problems_of, save_last_good

log = logging.getLogger("vitad.daemon")


class Apply(StrEnum):
    LIVE = "live"  # the running daemon uses it from the next turn / reply
    RESTART = "restart"  # read once at start: logged as "needs a restart"


# Per setting: the most specific dotted key wins. Every section of Config has an entry (a
# test checks it), so a new section has to decide; a key without a rule counts as RESTART.
RULES: dict[str, Apply] = {
    "shop": Apply.LIVE,  # answers and the recognizer's sentences
    "dialogue": Apply.LIVE,  # intents and scores: a new Dialogue
    "asr": Apply.LIVE,  # a new recognizer, unless its settings and sentences are the same
    "wake": Apply.LIVE,  # models, threshold, noise suppression: a new detector; playback tail
    "listen": Apply.LIVE,  # endpointing, noise suppression
    "tts": Apply.LIVE,  # the voice, incl. its sample rate (the speaker reopens at it)
    "audio": Apply.LIVE,  # volume; input settings reopen the mic, output the speaker
    "avatar": Apply.LIVE,  # theme, fonts, cards, captions, quiet hours, pack, logo, accent
    "avatar.enabled": Apply.RESTART,  # the display is opened (or not) once, at start
    "avatar.size": Apply.RESTART,
    "avatar.driver": Apply.RESTART,
    "avatar.fullscreen": Apply.RESTART,
    "runtime": Apply.RESTART,  # state dir, sockets, ceilings, deadlines, device retry
    "privacy": Apply.RESTART,  # the records writer is built once
    "schedule": Apply.LIVE,  # quiet hours: read on each reply and tone
}
MIC_SETTINGS = frozenset({"audio.input", "audio.chunk_ms", "audio.max_queue_chunks",
                          "audio.input_gain"})
SPEAKER_SETTINGS = frozenset({"audio.output"})


def rule_for(key: str) -> Apply:
    parts = key.split(".")
    for n in range(len(parts), 0, -1):
        rule = RULES.get(".".join(parts[:n]))
        if rule is not None:
            return rule
    return Apply.RESTART  # unknown: never claim it applied


def changed_settings(old: Config, new: Config) -> list[str]:
    """Dotted keys whose values differ (a list such as ``shop.machines`` is one value)."""
    return sorted(_diff(old.model_dump(), new.model_dump(), ""))


def _diff(a: Any, b: Any, key: str) -> Iterator[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        for name in a.keys() | b.keys():
            yield from _diff(a.get(name), b.get(name), f"{key}.{name}" if key else name)
    elif a != b:
        yield key


@dataclass(frozen=True)
class ReloadPlan:
    live: tuple[str, ...] = ()
    restart: tuple[str, ...] = ()

    @property
    def reopen_mic(self) -> bool:
        return not MIC_SETTINGS.isdisjoint(self.live)

    @property
    def reopen_speaker(self) -> bool:
        return not SPEAKER_SETTINGS.isdisjoint(self.live)


def plan_reload(old: Config, new: Config) -> ReloadPlan:
    changed = changed_settings(old, new)
    return ReloadPlan(tuple(k for k in changed if rule_for(k) is Apply.LIVE),
                      tuple(k for k in changed if rule_for(k) is Apply.RESTART))


def check_noise_suppression(old: Config, new: Config) -> None:
    """A noise suppressor the reload asks for must be available, or the reload is rejected
    (the listener would otherwise quietly run without it). Built once here to prove it."""
    for name in ("noise_suppression", "vad_noise_suppression"):
        kind = getattr(new.listen, name)
        if kind == getattr(old.listen, name):
            continue
        try:
            make_denoiser(kind)
        except DenoiserUnavailable as exc:
            raise ConfigError(f"listen.{name}", [str(exc)]) from None


class LoadEngines(Protocol):
    def __call__(self, config: Config, reuse: tuple[Config, Engines] | None = ...,
                 strict_tts: bool = ...) -> Engines: ...


@dataclass(frozen=True)
class Reloaded:
    """A validated config with its loaded engines, waiting for the listener thread."""

    config: Config
    engines: Engines
    plan: ReloadPlan
    reopen_mic: bool


class Reloader:
    """Builds a reload on the main thread; the listener thread swaps it in between turns."""

    def __init__(self, path: Path | None, load: LoadEngines, bus: ev.EventBus,
                 health: HealthModel, speaker: LiveSpeaker, pipeline: Pipeline,
                 mic: MicSupervisor) -> None:
        self._path = path
        self._load = load
        self._bus = bus
        self._health = health
        self._speaker = speaker
        self._pipeline = pipeline
        self._mic = mic
        self._lock = threading.Lock()
        self._pending: Reloaded | None = None
        self.applied = 0
        self.rejected = 0

    def reload(self, config: Config, engines: Engines) -> Reloaded | None:
        """Main thread: load and hand over a new config; None if it was rejected (logged)."""
        live = config_source(self._path)
        try:
            new = load_config(live)
            check_noise_suppression(config, new)
            new_engines = self._load(new, reuse=(config, engines), strict_tts=True)
        except UNUSABLE as exc:
            for problem in problems_of(exc):
                log.error("reload rejected, still running on the previous config: %s", problem)
            self.rejected += 1
            return None
        except Exception:  # a bug in loading must not take a running box down
            log.exception("reload failed, still running on the previous config")
            self.rejected += 1
            return None
        plan = plan_reload(config, new)
        for key in plan.restart:
            log.warning("reload: %s changed; it needs a restart ('systemctl restart vitad')",
                        key)
        for degraded in new_engines.degraded:
            self._bus.publish(degraded)
        self._health.set("tts", "ok")
        self._hand_to_speaker(new, new_engines, plan)
        with self._lock:  # the listener thread applies it between turns
            earlier = self._pending
            reloaded = Reloaded(new, new_engines, plan,
                                plan.reopen_mic or (earlier is not None and earlier.reopen_mic))
            self._pending = reloaded
        log.info("reloaded %s", live)
        save_last_good(new, live)
        self.applied += 1
        return reloaded

    def _hand_to_speaker(self, config: Config, engines: Engines, plan: ReloadPlan) -> None:
        """Plain values are read per block; voice and device are taken between replies."""
        self._speaker.volume = config.audio.volume
        self._speaker.tail_s = config.wake.playback_tail_s
        self._speaker.use_voice(engines.tts)
        if plan.reopen_speaker:
            self._speaker.use_device()

    def apply_pending(self) -> None:
        """Listener thread: take the reloaded engines between turns, never mid-utterance."""
        if self._pending is None or self._pipeline.listener.listening:
            return
        with self._lock:
            pending, self._pending = self._pending, None
        if pending is None:
            return
        # The next turn: new prices, intents, models. The stream goes on (same clock), so a
        # kept wake detector keeps its state: a wake word being said right now still fires.
        # Never reset or restart its clock here.
        self._pipeline.use(pending.config, pending.engines)
        if pending.reopen_mic and self._mic.ok:
            self._mic.lost("input device changed by reload")
