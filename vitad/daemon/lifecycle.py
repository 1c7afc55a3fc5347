"""The daemon's lifecycle: start the parts in order, stop them in the exact reverse order.

Concurrency shape (pygame/SDL must stay on the main thread):

* main thread — owns the event pump, avatar renderer, watchdog, health, reload and status;
  every other thread talks to it only through the bounded event queue
  (:mod:`vitad.daemon.eventlog`);
* ``listener`` thread — microphone chunks → wake → ASR/VAD → dialogue; the microphone is
  reopened with backoff when missing or gone (:mod:`vitad.daemon.devices`), and a reload is
  taken between turns (:mod:`vitad.daemon.reloader`);
* ``speaker`` thread — Piper synthesis + playback (:class:`LiveSpeaker`);
* PortAudio's callback thread — only copies audio into a bounded queue;
* the records writer and health server threads (vitad.runtime).

WATCHDOG=1 is sent by the main loop only while every critical loop has beaten within its
deadline; a hung listener, speaker, DB writer or main loop therefore stops the pings.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vitad import events as ev
from vitad.audio.schedule import Schedule
from vitad.avatar.cards import wake_phrase_from_config
from vitad.config.schema import Config
from vitad.daemon.devices import FALLBACK_RATE, Edges, MicSupervisor, SpeakerDevice
from vitad.daemon.eventlog import EventPump, StatusLine, log_event
from vitad.daemon.reloader import Reloader
from vitad.dialogue.replies import all_replies
from vitad.pipeline.assembly import Pipeline, assemble
from vitad.pipeline.engines import Engines, prepare_engines
from vitad.pipeline.speakers import LiveSpeaker
from vitad.runtime.appliance import EXIT_CONFIG, EXIT_GUARD_RESTART, ApplianceRuntime
from vitad.runtime.health import HealthModel
from vitad.runtime.last_good import UNUSABLE, LoadedConfig, load_or_last_good, save_last_good
from vitad.runtime.memory import IdleTrim, limit_malloc_arenas, release_free_memory
from vitad.runtime.notify import Notifier, WatchdogSupervisor, maybe_hang
from vitad.runtime.stackdump import install_stack_dump_signal
from vitad.tts.prepare import Preparer, TurnGate
from vitad.tts.speculate import Speculator

if TYPE_CHECKING:
    from vitad.avatar.view import AvatarView

log = logging.getLogger("vitad.daemon")

EXIT_RESTART = EXIT_GUARD_RESTART  # planned restart (ceiling hit); Restart=always brings us back
EXIT_DEVICE = 74  # a device the kernel sees keeps failing to open: a fresh process may help
JOIN_S = 3.0  # how long stop() waits for the listener thread: a wedged one must not block exit


class Daemon:
    """``vitad run``. :meth:`start` pushes every part it starts on a stack; :meth:`stop`
    (called from a ``finally``) unwinds it, so a start that failed half-way stops just
    what did start."""

    def __init__(self, config_path: Path | None, edges: Edges | None = None) -> None:
        self.config_path = config_path
        self.edges = edges or Edges()
        self.started = time.monotonic()
        self.notifier = Notifier()
        # One supervisor and one health model for the whole process, given to the runtime.
        self.supervisor = WatchdogSupervisor(self.notifier)
        self.health = HealthModel()
        self.bus = ev.EventBus()
        self.events = EventPump(self._dispatch)
        # Answers prepared ahead in the background, never while a turn is live.
        self.turn_gate = TurnGate()
        self.preparer = Preparer(self.turn_gate)
        self.status = StatusLine(self.health, self.supervisor, self.notifier,
                                 mic_ok=lambda: self.mic is not None and self.mic.ok,
                                 speaking=lambda: self.speaker is not None
                                 and self.speaker.is_playing())
        self._stop = threading.Event()
        self._reload = threading.Event()
        self.exit_code = 0
        self.config: Config
        self.engines: Engines
        self.pipeline: Pipeline
        self.reloader: Reloader
        self.speculator: Speculator | None = None
        self.rt: ApplianceRuntime | None = None
        self.avatar: AvatarView | None = None
        self.speaker: LiveSpeaker | None = None
        self.schedule = Schedule(lambda: self.config.schedule,  # quiet hours, live on reload
                                 avatar=lambda: self.config.avatar)  # its old night keys
        self.mic: MicSupervisor | None = None
        self._listener_thread: threading.Thread | None = None
        self._started_parts: list[tuple[str, Callable[[], None]]] = []
        self._idle_trim = IdleTrim()  # freed heap back to the OS while nothing happens

    def clock(self) -> float:
        return time.monotonic() - self.started

    # -- start ---------------------------------------------------------------------------

    def start(self) -> None:
        self.notifier.extend_timeout(90)
        self.notifier.status("loading models")
        self.bus.subscribe(self.events.put)
        self.bus.subscribe(self.turn_gate.on_event)  # on the listener thread, at the wake word
        # The live config counts as usable only when every model it names loaded too: a
        # garbage wake model falls back to the last good copy like a typo does.
        loaded = load_or_last_good(self.config_path, prepare=self._load_engines)
        self.config, self.engines = loaded.config, loaded.prepared
        if loaded.fallback:
            self._running_on_last_good(loaded)
        log.info("models loaded in %.1f s (%s)", sum(self.engines.load_s.values()),
                 ", ".join(f"{k} {v:.2f}" for k, v in self.engines.load_s.items()))
        for degraded in self.engines.degraded:
            self.bus.publish(degraded)
        self.health.set("wake", "ok")
        self.health.set("tts", "ok" if self.engines.tts else "failed",
                        None if self.engines.tts else "Piper voice unusable")
        self._start_runtime()
        self._start_avatar()
        speaker = self._start_speaker()
        # [tts] speculate: a confident partial's answer synthesized before the turn ends
        # (the pipeline asks only while it is on); the voice is the pipeline's current one.
        self.speculator = speculator = Speculator(lambda: self.pipeline.engines.tts)
        self.bus.subscribe(speculator.on_event)  # a turn's end drops its speculation
        self._started("speculator", speculator.close)
        self.pipeline = assemble(self.config, self.engines, self.bus, speaker,
                                 store_report=self._store_report, schedule=self.schedule,
                                 speculator=speculator)
        self.mic = MicSupervisor(lambda: self.config, self.bus, self.health, self.clock,
                                 sleep=lambda s: self._sleep_beating("listener", s),
                                 factory=self.edges.source)
        self.reloader = Reloader(self.config_path, self._load_engines, self.bus, self.health,
                                 speaker, self.pipeline, self.mic)
        deadline = self.config.runtime.loop_deadline_s
        for name in ("main", "listener", "speaker"):
            self.supervisor.register(name, deadline)
        self._start_listener()
        self.mic.tried.wait(5.0)  # READY after the mic was tried (missing: degraded, not fatal)
        self.events.drain()
        self.status.update(force=True)
        self.notifier.ready(self.status.line)
        log.info("ready: %s", self.status.line)
        if not loaded.fallback:
            save_last_good(self.config, loaded.path)
        self._started("preparer", self.preparer.close)
        self._prepare_answers()

    def _prepare_answers(self) -> None:
        """Synthesize every answer of the loaded config into the TTS cache (background)."""
        dialogue = self.engines.dialogue
        voice = self.engines.tts if self.config.tts.prepare_ahead else None  # None: "off"
        self.preparer.prepare(voice, lambda: all_replies(dialogue))

    def _started(self, name: str, stop: Callable[[], None]) -> None:
        self._started_parts.append((name, stop))

    def _load_engines(self, config: Config, reuse: tuple[Config, Engines] | None = None,
                      strict_tts: bool = False) -> Engines:
        # 180 s per stage: the voice's load (graph cut + stitch check for the windowed decode)
        # took longer than 60 s under CI's emulated x86 box, and systemd killed the first start.
        engines = prepare_engines(config, progress=lambda stage: self.notifier.extend_timeout(180),
                                  reuse=reuse, strict_tts=strict_tts)
        release_free_memory()  # loading's scratch buffers, freed but still mapped (~12 MiB)
        return engines

    def _running_on_last_good(self, loaded: LoadedConfig[Engines]) -> None:
        """The live file is broken: say everything about it, run on the copy (degraded)."""
        for problem in loaded.problems:
            log.error("config: %s", problem)
        log.error("config: running on the last good copy %s; fix %s, then "
                  "'systemctl reload vitad'", loaded.copy, loaded.path)
        self.bus.publish(ev.Degraded(0.0, "config", "config_last_good", True,
                                     f"{loaded.path}: {len(loaded.problems)} problem(s)"))

    def _start_runtime(self) -> None:
        """Records, health socket, metrics, guard (vitad.runtime); none of them is fatal."""
        rt = ApplianceRuntime(self.config.runtime, self.config.privacy, self.notifier,
                              status_line=lambda: self.status.line, supervisor=self.supervisor,
                              health=self.health, health_doc=self._health_doc)
        self.rt = rt
        self._started("runtime", rt.stop)
        try:
            rt.start()
        except Exception as exc:  # records are worth having, not worth dying for
            log.error("runtime services degraded: %s", exc)

    def _store_report(self, report: ev.ProblemReport) -> int | None:
        """Durably store a customer's problem report; None if it could not be saved."""
        if self.rt is None:
            return None
        report_id = self.rt.records.add_report(report.machine_type, report.machine_number,
                                               report.text, turn_id=report.turn_id)
        if report_id is None:
            log.error("problem report could not be saved (database unavailable)")
        else:
            log.info("problem report #%d saved", report_id)
        return report_id

    def _start_avatar(self) -> None:
        if not self.config.avatar.enabled:
            self.health.set("display", "disabled")
            return
        self._started("avatar", self._close_avatar)
        try:
            from vitad.avatar.view import AvatarView  # pygame loads only with a screen

            view = AvatarView(self.config, wake_phrase=wake_phrase_from_config(self.config))
            if view.start():
                self.avatar = view
                self.health.set("display", "ok")
                return
            self.health.set("display", "degraded", "no video driver", mode="voice_only")
        except Exception as exc:  # the display is not worth a crash loop
            log.error("display unavailable, running voice-only: %s", exc)
            self.health.set("display", "degraded", str(exc), mode="voice_only")

    def _close_avatar(self) -> None:
        avatar, self.avatar = self.avatar, None
        if avatar is not None:
            avatar.close()

    def _start_speaker(self) -> LiveSpeaker:
        device = SpeakerDevice(lambda: self.config, self.edges.sink)
        rate = self.engines.tts.rate if self.engines.tts else FALLBACK_RATE
        runtime = self.config.runtime
        speaker = LiveSpeaker(
            self.engines.tts, device.open_at_start(rate, self.bus, self.health, self.clock),
            self.bus, self.clock, volume=self.config.audio.volume,
            tail_s=self.config.wake.playback_tail_s, heartbeat=self._speaker_beat,
            realtime=self.edges.realtime, reopen=lambda: device.reopen(speaker.rate),
            retry_s=(runtime.device_retry_initial_s, runtime.device_retry_max_s),
            schedule=self.schedule,
        )
        speaker.start()
        self.speaker = speaker
        self._started("speaker", speaker.close)
        return speaker

    def _speaker_beat(self) -> None:
        self.supervisor.beat("speaker")
        maybe_hang("speaker")

    def _start_listener(self) -> None:
        thread = threading.Thread(target=self._listen_loop, name="listener", daemon=True)
        self._listener_thread = thread
        self._started("listener", self._stop_listener)
        thread.start()

    def _stop_listener(self) -> None:
        thread = self._listener_thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=JOIN_S)
            if thread.is_alive():
                log.warning("listener thread still busy after %.0f s; exiting anyway", JOIN_S)
        if self.mic is not None:
            self.mic.close()

    # -- listener thread -----------------------------------------------------------------

    def _listen_loop(self) -> None:
        """The listener thread. It must never die: a dead listener is a deaf box."""
        while not self._stop.is_set():
            try:
                self._listen()
                return
            except Exception:  # a bug, not a device problem: log it, reopen, go on
                log.exception("listener loop failed; reopening the microphone")
                self.bus.publish(ev.StageError(self.clock(), "listener", "listener.failed",
                                               "listener loop restarted"))
                if self.mic is not None:
                    with contextlib.suppress(Exception):
                        self.mic.lost("listener loop restarted")
                self._sleep_beating("listener", 1.0)

    def _listen(self) -> None:
        mic = self.mic
        assert mic is not None, "start() creates the microphone before the listener thread"
        while not self._stop.is_set():
            self.supervisor.beat("listener")
            maybe_hang("listener")
            self.reloader.apply_pending()
            chunk = mic.next_chunk()
            if mic.gave_up:
                self.exit_code = EXIT_DEVICE
                self._stop.set()
                return
            if chunk is None:
                continue
            try:
                self.pipeline.feed(chunk)
            except Exception as exc:  # one bad turn never kills the listener
                log.exception("listener failed on a chunk")
                self.bus.publish(ev.StageError(self.clock(), "listener", "listener.failed",
                                               str(exc)))

    def _sleep_beating(self, name: str, seconds: float) -> None:
        end = time.monotonic() + seconds
        while not self._stop.is_set() and time.monotonic() < end:
            self.supervisor.beat(name)
            self._stop.wait(min(0.5, max(0.0, end - time.monotonic())))

    # -- main loop -----------------------------------------------------------------------

    def run_forever(self) -> None:
        tick_every = min(self.supervisor.interval(default=5.0), 5.0)
        next_tick = 0.0
        next_status = 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            self.supervisor.beat("main")
            maybe_hang("main")
            self.events.drain()
            if self._reload.is_set():
                self._reload.clear()
                self.reload()
            if now >= next_status:
                self.status.update()
                next_status = now + 2.0
            if now >= next_tick:
                self._tick()
                next_tick = now + tick_every
            wait = 0.05
            if self.avatar is not None:
                try:
                    self.avatar.frame()
                    wait = min(wait, self.avatar.seconds_until_next_frame())
                except Exception as exc:
                    log.error("display failed, continuing voice-only: %s", exc)
                    self._close_avatar()
            self._stop.wait(max(wait, 0.005))

    def _dispatch(self, event: ev.Event) -> None:
        log_event(event)
        match event:
            case ev.Degraded():
                self.status.note(event)
        for consumer in (self.rt.on_event if self.rt else self.health.on_event,
                         self.avatar.handle if self.avatar else None):
            if consumer is None:
                continue
            try:
                consumer(event)
            except Exception:
                log.exception("event consumer failed on %s", event.type)

    def _health_doc(self) -> dict[str, Any]:
        doc = self.health.snapshot()
        doc["events_dropped"] = self.events.dropped
        doc["mic_dropped_chunks"] = self.mic.dropped if self.mic is not None else 0
        doc["stalled_loops"] = self.supervisor.check()
        doc.update(self.preparer.progress().health())
        # Answers' first words synthesized while the customer was still asking.
        doc["speculated"] = self.speculator.synthesized if self.speculator else 0
        doc["schedule"] = self.schedule.health()  # quiet hours now; "dim" for the screen
        return doc

    def _tick(self) -> None:
        if self.rt is None:
            self.supervisor.tick()
            return
        self.rt.metrics.update_process()
        self.rt.tick()
        speaking = self.speaker is not None and self.speaker.is_playing()
        idle = not self.pipeline.listener.listening and not speaking
        self._idle_trim.maybe(idle)  # what the last replies or the answer preparer freed
        if self.rt.restart_reasons and idle:
            log.warning("planned restart at an idle moment: %s",
                        "; ".join(self.rt.restart_reasons))
            self.exit_code = EXIT_RESTART
            self._stop.set()

    # -- reload --------------------------------------------------------------------------

    def request_reload(self, *_: Any) -> None:
        self._reload.set()

    def reload(self) -> None:
        """SIGHUP, on the main loop: :class:`Reloader` builds and hands over the new config."""
        self.notifier.reloading()
        try:
            reloaded = self.reloader.reload(self.config, self.engines)
            if reloaded is None:
                return
            self.config, self.engines = reloaded.config, reloaded.engines
            self._prepare_answers()
            if self.avatar is not None:
                try:
                    self.avatar.apply_config(self.config, wake_phrase_from_config(self.config))
                except Exception:  # the screen is not worth losing the reload
                    log.exception("display: reloaded settings not applied")
            if "config" in self.status.degraded:
                self.bus.publish(ev.Degraded(self.clock(), "config", "config_last_good", False))
        finally:
            self.notifier.ready(self.status.line)

    # -- stop ----------------------------------------------------------------------------

    def request_stop(self, *_: Any) -> None:
        self._stop.set()

    @property
    def stopped(self) -> bool:
        """A stop was asked for: a signal, a planned restart, a microphone given up on."""
        return self._stop.is_set()

    def stop(self) -> None:
        """Undo :meth:`start` in reverse: listener (joined, bounded), speaker, avatar,
        runtime. A part that fails to stop is logged; the others still stop."""
        self.notifier.stopping()
        self._stop.set()
        while self._started_parts:
            name, stop = self._started_parts.pop()
            try:
                stop()
            except Exception as exc:
                log.warning("stopping %s: %s", name, exc)
        self.events.drain()


def run_daemon(config_path: Path | None) -> int:
    limit_malloc_arenas()  # before any worker thread exists
    daemon = Daemon(config_path)
    signal.signal(signal.SIGTERM, daemon.request_stop)
    signal.signal(signal.SIGINT, daemon.request_stop)
    signal.signal(signal.SIGHUP, daemon.request_reload)
    # `kill -USR1 <pid>`: every thread's stack into the journal (where is it stuck?).
    install_stack_dump_signal(signal.SIGUSR1)
    try:
        daemon.start()
        daemon.run_forever()
    except UNUSABLE as exc:
        log.error("cannot start: %s", str(exc).replace("\n", "; "))
        return EXIT_CONFIG
    finally:
        daemon.stop()
    log.info("stopped")
    return daemon.exit_code or 0
