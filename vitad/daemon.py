"""`vitad run`: the appliance daemon.

Concurrency shape (pygame/SDL must stay on the main thread):

* main thread — owns the event queue, avatar renderer, watchdog, health, reload and status;
  every other thread talks to it only through the bounded ``_events`` queue;
* ``listener`` thread — microphone chunks → wake → ASR/VAD → dialogue; reopens the mic with
  capped exponential backoff when it is missing or vanishes (a degraded mode, never a crash);
* ``speaker`` thread — Piper synthesis + playback (:class:`LiveSpeaker`);
* PortAudio's callback thread — only copies audio into a bounded queue;
* the records writer and health server threads (vitad.runtime).

WATCHDOG=1 is sent by the main loop only while every critical loop has beaten within its
deadline; a hung listener, speaker, DB writer or main loop therefore stops the pings.
"""

from __future__ import annotations

import contextlib
import faulthandler
import logging
import queue
import signal
import threading
import time
from pathlib import Path
from typing import Any

from vitad import events as ev
from vitad.audio.endpoints import make_sink, make_source
from vitad.bounded import Backoff, put_drop_oldest
from vitad.config.loader import config_source, load_config
from vitad.config.schema import Config
from vitad.pipeline.assembly import Pipeline, assemble
from vitad.pipeline.engines import Engines, prepare_engines
from vitad.pipeline.speakers import LiveSpeaker
from vitad.runtime.appliance import EXIT_CONFIG, EXIT_GUARD_RESTART, ApplianceRuntime
from vitad.runtime.health import HealthModel, HealthServer
from vitad.runtime.last_good import (
    UNUSABLE,
    LoadedConfig,
    load_or_last_good,
    problems_of,
    save_last_good,
)
from vitad.runtime.memory import limit_malloc_arenas
from vitad.runtime.notify import Notifier, WatchdogSupervisor, maybe_hang

log = logging.getLogger("vitad.daemon")

EVENT_QUEUE_MAX = 2000
MIC_SILENT_S = 3.0  # an open microphone that delivers nothing this long is treated as gone
EXIT_RESTART = EXIT_GUARD_RESTART  # planned restart (ceiling hit); Restart=always brings us back
EXIT_DEVICE = 74  # a device the kernel sees keeps failing to open: a fresh process may help


class Daemon:
    def __init__(self, config_path: Path | None) -> None:
        self.config_path = config_path
        self.started = time.monotonic()
        self.notifier = Notifier()
        self.rt: ApplianceRuntime | None = None
        self.supervisor = WatchdogSupervisor(self.notifier)
        self.health = HealthModel()
        self.bus = ev.EventBus()
        self._events: queue.Queue[ev.Event] = queue.Queue(maxsize=EVENT_QUEUE_MAX)
        self.events_dropped = 0
        self._stop = threading.Event()
        self._reload = threading.Event()
        self.exit_code = 0
        self.config: Config
        self.engines: Engines
        self.avatar: Any = None
        self.source: Any = None
        self.speaker: LiveSpeaker
        self.pipeline: Pipeline
        self._mic_ok = False
        self._mic_tried = threading.Event()
        self._status_line = ""
        self._degraded: dict[str, str] = {}
        self._swap_lock = threading.Lock()
        self._listener_thread: threading.Thread | None = None
        self._pending_swap: tuple[Config, Engines, bool] | None = None

    def clock(self) -> float:
        return time.monotonic() - self.started

    # -- start ---------------------------------------------------------------------------

    def start(self) -> None:
        self.notifier.extend_timeout(90)
        self.notifier.status("loading models")
        self.bus.subscribe(self._enqueue)
        # The live config counts as usable only when every model it names loaded too: a
        # garbage wake model falls back to the last good copy like a typo does.
        loaded = load_or_last_good(self.config_path, prepare=self._load_engines)
        self.config = loaded.config
        self.engines = loaded.prepared
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
        self._start_speaker()
        self.pipeline = assemble(self.config, self.engines, self.bus, self.speaker,
                                 store_report=self._store_report)
        deadline = self.config.runtime.loop_deadline_s
        for name in ("main", "listener", "speaker"):
            self.supervisor.register(name, deadline)
        self._listener_thread = threading.Thread(target=self._listen_loop, name="listener",
                                                 daemon=True)
        self._listener_thread.start()
        self._wait_for_first_mic_attempt()
        self._drain_events()
        self._update_status(force=True)
        self.notifier.ready(self._status_line)
        log.info("ready: %s", self._status_line)
        if not loaded.fallback:
            save_last_good(self.config, loaded.path)

    def _load_engines(self, config: Config, reuse: tuple[Config, Engines] | None = None,
                      strict_tts: bool = False) -> Engines:
        return prepare_engines(config, progress=lambda stage: self.notifier.extend_timeout(60),
                               reuse=reuse, strict_tts=strict_tts)

    def _running_on_last_good(self, loaded: LoadedConfig[Engines]) -> None:
        """The live file is broken: say everything about it, run on the copy (degraded)."""
        for problem in loaded.problems:
            log.error("config: %s", problem)
        log.error("config: running on the last good copy %s; fix %s, then "
                  "'systemctl reload vitad'", loaded.copy, loaded.path)
        self.bus.publish(ev.Degraded(0.0, "config", "config_last_good", True,
                                     f"{loaded.path}: {len(loaded.problems)} problem(s)"))

    def _wait_for_first_mic_attempt(self, timeout: float = 5.0) -> None:
        """READY only after the devices have been tried (a missing mic is degraded, not fatal)."""
        end = time.monotonic() + timeout
        while not self._mic_tried.is_set() and time.monotonic() < end:
            self._mic_tried.wait(0.05)

    def _start_runtime(self) -> None:
        """Records, health socket, metrics, guard (vitad.runtime); none of them is fatal."""
        rt = ApplianceRuntime(self.config.runtime, self.config.privacy, self.notifier,
                              status_line=lambda: self._status_line)
        # One supervisor and one health model for the whole daemon.
        rt.supervisor, rt.health = self.supervisor, self.health
        rt.server = HealthServer(self.config.runtime.health_socket, self._health_doc)
        try:
            rt.start()
        except Exception as exc:  # records are worth having, not worth dying for
            log.error("runtime services degraded: %s", exc)
        self.rt = rt

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
        try:
            from vitad.avatar.view import AvatarView

            view = AvatarView(self.config, wake_phrase=_wake_phrase(self.config))
            if view.start():
                self.avatar = view
                self.health.set("display", "ok")
                return
            self.health.set("display", "degraded", "no video driver", mode="voice_only")
        except Exception as exc:  # the display is not worth a crash loop
            log.error("display unavailable, running voice-only: %s", exc)
            self.health.set("display", "degraded", str(exc), mode="voice_only")

    def _start_speaker(self) -> None:
        rate = self.engines.tts.rate if self.engines.tts else 22050
        sink: Any = None
        try:
            sink = make_sink(self.config.audio.output, rate, self.config.base_dir)
            sink.open()
            self.health.set("speaker", "ok")
        except Exception as exc:  # any device failure is "captions only", never an exit
            log.error("speaker unavailable, captions only: %s", exc)
            self.bus.publish(ev.Degraded(self.clock(), "speaker", "speaker_unavailable", True,
                                         str(exc)))
            sink = None
        runtime = self.config.runtime
        self.speaker = LiveSpeaker(
            self.engines.tts, sink, self.bus, self.clock, volume=self.config.audio.volume,
            tail_s=self.config.wake.playback_tail_s,
            heartbeat=self._speaker_beat, reopen=self._open_speaker,
            retry_s=(runtime.device_retry_initial_s, runtime.device_retry_max_s),
        )
        self.speaker.start()

    def _open_speaker(self) -> Any:
        self._reinit_portaudio()
        rate = self.engines.tts.rate if self.engines.tts else 22050
        sink = make_sink(self.config.audio.output, rate, self.config.base_dir)
        sink.open()
        return sink

    def _speaker_beat(self) -> None:
        self.supervisor.beat("speaker")
        maybe_hang("speaker")

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
                with contextlib.suppress(Exception):
                    self._mic_lost("listener loop restarted")
                self._sleep_beating("listener", 1.0)

    def _listen(self) -> None:
        runtime = self.config.runtime
        backoff = Backoff(runtime.device_retry_initial_s, runtime.device_retry_max_s)
        attempts = 0
        seen_but_failing = 0
        last_audio = time.monotonic()
        while not self._stop.is_set():
            self.supervisor.beat("listener")
            maybe_hang("listener")
            self._apply_pending_swap()
            if not self._mic_ok:
                attempts += 1
                log_it = attempts == 1 or attempts % runtime.device_retry_log_every == 0
                if self._open_mic(log_it):
                    backoff.succeeded()
                    attempts, seen_but_failing = 0, 0
                    last_audio = time.monotonic()
                else:
                    if kernel_sees_sound_device(self.config.audio.input):
                        seen_but_failing += 1
                        if 0 < runtime.device_restart_after <= seen_but_failing:
                            log.error("microphone '%s' is present but failed to open %d times;"
                                      " exiting so systemd restarts vitad",
                                      self.config.audio.input, seen_but_failing)
                            self.exit_code = EXIT_DEVICE
                            self._stop.set()
                            return
                    self._sleep_beating("listener", backoff.failed())
                continue
            try:
                chunk = self.source.queue.get(timeout=0.5)
            except queue.Empty:
                if time.monotonic() - last_audio > MIC_SILENT_S or self.source.failed.is_set():
                    self._mic_lost(self.source.error or "microphone delivers no audio")
                continue
            last_audio = time.monotonic()
            try:
                self.pipeline.feed(chunk)
            except Exception as exc:  # one bad turn never kills the listener
                log.exception("listener failed on a chunk")
                self.bus.publish(ev.StageError(self.clock(), "listener", "listener.failed",
                                               str(exc)))

    def _open_mic(self, log_it: bool) -> bool:
        audio = self.config.audio
        try:
            source = make_source(audio.input, audio.chunk_ms, audio.max_queue_chunks,
                                 self.config.base_dir, self.clock, audio.input_gain)
        except Exception as exc:
            self._mic_tried.set()
            if log_it:
                log.warning("microphone unavailable (retrying): %s", exc)
            return False
        try:
            source.open()
        except Exception as exc:  # missing, vanished, unreadable: all degraded, all retried
            self._mic_tried.set()
            if log_it:
                log.warning("microphone unavailable (retrying): %s", exc)
            if "mic" not in self._degraded:
                self.bus.publish(ev.Degraded(self.clock(), "mic", "mic_unavailable", True,
                                             str(exc)))
            return False
        self.source = source
        self._mic_ok = True
        self._mic_tried.set()
        if "mic" in self._degraded:
            self.bus.publish(ev.Degraded(self.clock(), "mic", "mic_unavailable", False))
        self.health.set("mic", "ok")
        return True

    def _mic_lost(self, reason: str) -> None:
        log.warning("microphone lost: %s; reopening", reason)
        self._mic_ok = False
        if self.source is not None:
            self.source.close()
        self._reinit_portaudio()
        self.bus.publish(ev.Degraded(self.clock(), "mic", "mic_unavailable", True, reason))

    @staticmethod
    def _reinit_portaudio() -> None:
        """PortAudio only sees hot-plugged USB devices after a terminate/initialize cycle."""
        from vitad.audio.devices import reinitialize_portaudio

        reinitialize_portaudio()

    def _sleep_beating(self, name: str, seconds: float) -> None:
        end = time.monotonic() + seconds
        while not self._stop.is_set() and time.monotonic() < end:
            self.supervisor.beat(name)
            self._stop.wait(min(0.5, max(0.0, end - time.monotonic())))

    # -- main loop -----------------------------------------------------------------------

    def _enqueue(self, event: ev.Event) -> None:
        self.events_dropped += put_drop_oldest(self._events, event)

    def run_forever(self) -> None:
        tick_every = min(self.supervisor.interval(default=5.0), 5.0)
        next_tick = 0.0
        next_status = 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            self.supervisor.beat("main")
            maybe_hang("main")
            self._drain_events()
            if self._reload.is_set():
                self._reload.clear()
                self.reload()
            if now >= next_status:
                self._update_status()
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

    def _drain_events(self, limit: int = 500) -> None:
        for _ in range(limit):
            try:
                event = self._events.get_nowait()
            except queue.Empty:
                return
            self._dispatch(event)

    def _dispatch(self, event: ev.Event) -> None:
        match event:
            case ev.MouthLevel():
                pass  # 25 a second: for the avatar only
            case ev.Degraded():
                _log_event(event)
                self._note_degraded(event)
            case _:
                _log_event(event)
        for consumer in (self.rt.on_event if self.rt else self.health.on_event,
                         self.avatar.handle if self.avatar else None):
            if consumer is None:
                continue
            try:
                consumer(event)
            except Exception:
                log.exception("event consumer failed on %s", event.type)

    def _note_degraded(self, event: ev.Degraded) -> None:
        if event.active:
            self._degraded[event.component] = event.mode
        else:
            self._degraded.pop(event.component, None)
        self._update_status(force=True)

    def _update_status(self, force: bool = False) -> None:
        snapshot = self.health.snapshot()
        turns = snapshot.get("turns_today", 0)
        mic = "mic ok" if self._mic_ok else "mic unavailable"
        modes = [m.replace("_", " ") for c, m in self._degraded.items() if c != "mic"]
        if modes or not self._mic_ok:
            head = "degraded: " + ", ".join(modes or [mic])
        else:
            head = "speaking" if self.speaker.is_playing() else "listening"
        line = f"{head} · {turns} chats today · {mic}"
        self.health.set_status(line)
        if force or line != self._status_line:
            self._status_line = line
            if not self.supervisor.check():
                self.notifier.status(line)

    def _health_doc(self) -> dict[str, Any]:
        doc = self.health.snapshot()
        doc["events_dropped"] = self.events_dropped
        doc["mic_dropped_chunks"] = getattr(self.source, "dropped", 0)
        doc["stalled_loops"] = self.supervisor.check()
        return doc

    def _tick(self) -> None:
        if self.rt is None:
            self.supervisor.tick()
            return
        self.rt.metrics.update_process()
        self.rt.tick()
        idle = not self.pipeline.listener.listening and not self.speaker.is_playing()
        if self.rt.restart_reasons and idle:
            log.warning("planned restart at an idle moment: %s",
                        "; ".join(self.rt.restart_reasons))
            self.exit_code = EXIT_RESTART
            self._stop.set()

    # -- reload --------------------------------------------------------------------------

    def request_reload(self, *_: Any) -> None:
        self._reload.set()

    def reload(self) -> None:
        """SIGHUP: build and load everything the new config needs, then swap it in whole.

        Anything that fails (schema, files, intents, templates, a model, the voice) keeps
        the daemon on the running config and says why; the last good copy is rewritten only
        after the new config is in use. A reload never stops the daemon.
        """
        self.notifier.reloading()
        live = config_source(self.config_path)
        try:
            config = load_config(live)
            engines = self._load_engines(config, reuse=(self.config, self.engines),
                                         strict_tts=True)
        except UNUSABLE as exc:
            for problem in problems_of(exc):
                log.error("reload rejected, still running on the previous config: %s", problem)
            self.notifier.ready(self._status_line)
            return
        except Exception:  # a bug in loading must not take a running box down
            log.exception("reload failed, still running on the previous config")
            self.notifier.ready(self._status_line)
            return
        old = self.config
        self.config, self.engines = config, engines
        for degraded in engines.degraded:
            self.bus.publish(degraded)
        self.health.set("tts", "ok")
        self.speaker.volume = config.audio.volume
        self.speaker.use_voice(engines.tts)  # applied by the speaker thread between replies
        with self._swap_lock:  # the listener thread applies it between turns
            self._pending_swap = (config, engines, config.audio.input != old.audio.input)
        if self.avatar is not None:
            self.avatar.apply_config(config, _wake_phrase(config))
        log.info("reloaded %s", live)
        save_last_good(config, live)
        if "config" in self._degraded:
            self.bus.publish(ev.Degraded(self.clock(), "config", "config_last_good", False))
        self.notifier.ready(self._status_line)

    def _apply_pending_swap(self) -> None:
        """Listener thread: take the reloaded engines between turns, never mid-utterance."""
        if self._pending_swap is None or self.pipeline.listener.listening:
            return
        with self._swap_lock:
            pending, self._pending_swap = self._pending_swap, None
        if pending is None:
            return
        config, engines, input_changed = pending
        # The next turn: new prices, intents, models. The stream goes on (same clock), so a
        # kept wake detector keeps its state: a wake word being said right now still fires.
        self.pipeline.use(config, engines)
        if input_changed and self._mic_ok:
            self._mic_lost("input device changed by reload")

    # -- stop ----------------------------------------------------------------------------

    def request_stop(self, *_: Any) -> None:
        self._stop.set()

    def stop(self) -> None:
        self.notifier.stopping()
        self._stop.set()
        thread = self._listener_thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=3.0)  # bounded: a wedged thread must not block the exit
        speaker = getattr(self, "speaker", None)
        for name, close in (("mic", self.source.close if self.source else None),
                            ("speaker", speaker.close if speaker else None),
                            ("avatar", self._close_avatar),
                            ("runtime", self.rt.stop if self.rt else None)):
            if close is None:
                continue
            try:
                close()
            except Exception as exc:
                log.warning("stopping %s: %s", name, exc)
        self._drain_events()

    def _close_avatar(self) -> None:
        avatar, self.avatar = self.avatar, None
        if avatar is not None:
            avatar.close()


def kernel_sees_sound_device(name: str, cards: Path = Path("/proc/asound/cards")) -> bool:
    """Is a sound card the kernel knows about a plausible match for the configured device?

    Only then can a process restart help (PortAudio state gone bad); an unplugged USB mic is
    simply absent and must be waited for, never restarted or rebooted over.
    """
    if name.startswith("wav:") or name == "null":
        return False
    try:
        text = cards.read_text(errors="replace").lower()
    except OSError:
        return False
    if "no soundcards" in text or not text.strip():
        return False
    if name == "default":
        return True
    words = [w for w in name.lower().replace(",", " ").split() if len(w) > 2]
    return bool(words) and all(w in text for w in words)


def _wake_phrase(config: Config) -> str:
    name = config.wake.models[0]
    if name.endswith((".onnx", ".tflite")):
        return "the wake word"
    return name.replace("_", " ").title()


_QUIET_FIELDS = {"type", "t"}


def _log_event(event: ev.Event) -> None:
    data = {k: v for k, v in event.to_dict().items() if k not in _QUIET_FIELDS}
    match event:
        case ev.Transcript(final=False):
            return
        case ev.Transcript() | ev.ProblemReport():  # no customer words in the journal
            data["text"] = f"<{len(event.text.split())} words>"
    level = logging.WARNING if isinstance(event, ev.StageError | ev.Degraded) else logging.INFO
    fields = " ".join(f"{k}={v}" for k, v in data.items() if v not in (None, "", {}))
    log.log(level, "%s %s", event.type, fields)


def run_daemon(config_path: Path | None) -> int:
    limit_malloc_arenas()  # before any worker thread exists
    daemon = Daemon(config_path)
    signal.signal(signal.SIGTERM, daemon.request_stop)
    signal.signal(signal.SIGINT, daemon.request_stop)
    signal.signal(signal.SIGHUP, daemon.request_reload)
    # `kill -USR1 <pid>`: every thread's stack into the journal (where is it stuck?).
    faulthandler.register(signal.SIGUSR1, all_threads=True)
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
