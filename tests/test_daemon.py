"""The real daemon process with a real NOTIFY_SOCKET (AF_UNIX datagram socket)."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import silence, with_noise, with_wake_model, write_config
from vitad.audio.format import INTERNAL_RATE
from vitad.audio.wavfile import read_wav, write_wav


class NotifyListener:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.2)
        self.messages: list[tuple[float, str]] = []

    def pump(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                data = self.sock.recv(4096).decode()
            except TimeoutError:
                continue
            for line in data.splitlines():
                self.messages.append((time.monotonic(), line))

    def wait_for(self, prefix: str, timeout: float) -> str:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for _, line in self.messages:
                if line.startswith(prefix):
                    return line
            self.pump(0.2)
        raise AssertionError(f"no {prefix!r} within {timeout}s; got {self.lines()}")

    def lines(self, prefix: str = "") -> list[str]:
        return [m for _, m in self.messages if m.startswith(prefix)]

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def notify(tmp_path: Path) -> Iterator[NotifyListener]:
    listener = NotifyListener(tmp_path / "notify.sock")
    yield listener
    listener.close()


def start_daemon(config: Path, notify: NotifyListener, tmp_path: Path,
                 **env: str) -> subprocess.Popen[str]:
    environ = {**os.environ, "NOTIFY_SOCKET": str(notify.path), "WATCHDOG_USEC": "2000000",
               **env}
    log = (tmp_path / "daemon.log").open("w")
    return subprocess.Popen([sys.executable, "-m", "vitad", "run", "--config", str(config)],
                            env=environ, stdout=log, stderr=subprocess.STDOUT, text=True)


def log_tail(tmp_path: Path, lines: int = 40) -> str:
    """The end of the daemon's log, for an assertion message (why did it die?)."""
    text = (tmp_path / "daemon.log").read_text(errors="replace")
    return "daemon.log ends:\n" + "\n".join(text.splitlines()[-lines:])


def stop(proc: subprocess.Popen[str]) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise


def test_wav_in_null_out_answers_and_talks_to_systemd(tmp_path: Path, notify, speech) -> None:
    question = np.concatenate([silence(2.0), speech("Hey Jarvis."), silence(0.3),
                               speech("What time do you close?"), silence(1.0)])
    wav = tmp_path / "mic.wav"
    write_wav(wav, with_noise(question, level=60), INTERNAL_RATE)
    out = tmp_path / "speaker.wav"
    config = write_config(tmp_path, audio={"input": f"wav:{wav}", "output": f"wav:{out}"})
    proc = start_daemon(config, notify, tmp_path)
    try:
        notify.wait_for("READY=1", 60)
        notify.wait_for("WATCHDOG=1", 10)
        ready_at = next(t for t, m in notify.messages if m == "READY=1")
        assert all(t <= ready_at for t, m in notify.messages if m.startswith("EXTEND_TIMEOUT"))
        assert notify.lines("EXTEND_TIMEOUT_USEC="), "no EXTEND_TIMEOUT_USEC while loading"
        notify.pump(12)  # the question is answered within the file's length + reply
        pings = notify.lines("WATCHDOG=1")
        assert len(pings) >= 8  # every ~1 s with WATCHDOG_USEC=2 s
        statuses = set(notify.lines("STATUS="))
        assert len(statuses) >= 2, statuses
        assert any("chats today" in s for s in statuses)
        rows, deadline = 0, time.monotonic() + 20  # the DB writer commits asynchronously
        while rows == 0 and time.monotonic() < deadline:
            notify.pump(0.5)
            with sqlite3.connect(tmp_path / "state" / "vitad.db") as db:
                rows = db.execute("SELECT COUNT(*) FROM interactions").fetchone()[0]
        health = json.loads(_query(tmp_path / "health.sock"))
        assert health["turns_today"] == rows >= 1  # each turn counted once, as in the DB
    finally:
        code = stop(proc)
    notify.pump(1)
    assert code == 0
    assert notify.lines("STOPPING=1")
    log = (tmp_path / "daemon.log").read_text()
    assert "intent" in log and "name=hours" in log, log[-3000:]
    assert "Traceback" not in log
    reply, rate = read_wav(out)
    assert len(reply) > rate and np.abs(reply).max() > 0.1


def test_shipped_config_on_a_box_without_sound_card(tmp_path: Path, notify) -> None:
    """No microphone, no speaker: degraded, but READY and pinging — never a crash loop."""
    config = write_config(tmp_path, audio={"input": "USB PnP Sound Device",
                                           "output": "USB PnP Sound Device"})
    proc = start_daemon(config, notify, tmp_path)
    try:
        notify.wait_for("READY=1", 60)
        notify.pump(4)
        assert len(notify.lines("WATCHDOG=1")) >= 3
        status = notify.lines("STATUS=")[-1]
        assert "degraded" in status and "mic" in status, status
        health = json.loads(_query(tmp_path / "health.sock"))
        assert health["components"]["mic"]["state"] != "ok"
    finally:
        code = stop(proc)
    assert code == 0
    assert proc.poll() is not None


def test_hung_loop_stops_the_watchdog_and_is_named(tmp_path: Path, notify) -> None:
    wav = tmp_path / "mic.wav"
    write_wav(wav, silence(1.0), INTERNAL_RATE)
    config = write_config(tmp_path, audio={"input": f"wav:{wav}", "output": "null"},
                          runtime={"loop_deadline_s": 2.0})
    proc = start_daemon(config, notify, tmp_path, VITAD_TEST_HANG="listener@6")
    try:
        notify.wait_for("READY=1", 60)
        notify.pump(12)
        assert proc.poll() is None, "the process must stay alive (systemd decides)"
        pings = [t for t, m in notify.messages if m == "WATCHDOG=1"]
        assert pings, "no pings before the hang"
        last_ping = pings[-1]
        assert time.monotonic() - last_ping > 3.0, "pings continued while a loop was hung"
        assert any("listener" in s for s in notify.lines("STATUS="))
    finally:
        stop(proc)


def _query(path: Path) -> str:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(5)
        s.connect(str(path))
        chunks = []
        while data := s.recv(65536):
            chunks.append(data)
    return b"".join(chunks).decode()


def test_real_alsa_devices_by_name(tmp_path: Path, notify) -> None:
    """The daemon opens real PortAudio devices (ALSA null/file PCMs) by name."""
    from tests.audio.test_devices import alsa_env

    env = alsa_env(tmp_path)
    config = write_config(tmp_path, audio={"input": "vitadnull", "output": "vitadfile"})
    proc = start_daemon(config, notify, tmp_path, ALSA_CONFIG_PATH=env["ALSA_CONFIG_PATH"])
    try:
        notify.wait_for("READY=1", 60)
        notify.pump(3)
        assert "mic ok" in notify.lines("STATUS=")[-1]
        health = json.loads(_query(tmp_path / "health.sock"))
        assert health["components"]["mic"]["state"] == "ok"
        assert health["components"]["speaker"]["state"] == "ok"
    finally:
        assert stop(proc) == 0


def test_reload_keeps_last_good_config_and_applies_a_new_price(tmp_path: Path, notify,
                                                                speech) -> None:
    ask = np.concatenate([speech("Hey Jarvis."), silence(0.3),
                          speech("How much is the big washer?")])
    report = np.concatenate([speech("Hey Jarvis."), silence(0.3),
                             speech("Washer five is broken.")])
    wav = tmp_path / "mic.wav"
    write_wav(wav, with_noise(np.concatenate([silence(4.0), ask, silence(9.0), report,
                                              silence(9.0), ask, silence(3.0)]), level=50),
              INTERNAL_RATE)
    audio = {"input": f"wav:{wav}", "output": "null"}
    config = write_config(tmp_path, audio=audio)
    good = config.read_text()
    proc = start_daemon(config, notify, tmp_path)
    try:
        notify.wait_for("READY=1", 60)
        config.write_text(good.replace('hangover_s = 0.5', 'hangover_s = "long"'))
        proc.send_signal(signal.SIGHUP)
        notify.pump(16)  # first question answered with the old (good) config
        new_price = good.replace('price = "7 dollars 50"', 'price = "9 dollars 25"')
        assert new_price != good
        config.write_text(new_price)
        proc.send_signal(signal.SIGHUP)
        notify.pump(20)
        assert proc.poll() is None, "a broken config must not stop the daemon"
    finally:
        assert stop(proc) == 0
    log = (tmp_path / "daemon.log").read_text()
    assert "reload rejected" in log and "listen.hangover_s" in log
    replies = [line for line in log.splitlines() if " reply " in line]
    assert len(replies) == 3, log[-4000:]
    assert "7 dollars 50" in replies[0]
    assert "9 dollars 25" in replies[2]
    # The problem report was stored durably and is visible to the operator command.
    proc = subprocess.run([sys.executable, "-m", "vitad", "reports", "--config", str(config)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "washer" in proc.stdout and "5" in proc.stdout, proc.stdout


def test_sigusr1_dumps_every_thread_and_a_corrupt_db_is_moved_aside(tmp_path: Path,
                                                                     notify) -> None:
    """Also runs with the avatar on SDL's dummy video driver, as on a box with a screen."""
    config = write_config(tmp_path, audio={"input": "USB PnP Sound Device", "output": "null"},
                          avatar={"enabled": True})
    state = tmp_path / "state"
    state.mkdir()
    (state / "vitad.db").write_bytes(b"this is not an SQLite database" * 100)
    proc = start_daemon(config, notify, tmp_path, SDL_VIDEODRIVER="dummy")
    try:
        notify.wait_for("READY=1", 60)
        proc.send_signal(signal.SIGUSR1)
        notify.pump(1.5)
        assert proc.poll() is None, log_tail(tmp_path)
    finally:
        stop(proc)
    log = (tmp_path / "daemon.log").read_text()
    assert "_listen_loop" in log and "run_forever" in log
    assert "avatar: display dummy" in log
    assert [p.name for p in state.glob("vitad.db.corrupt-*")], list(state.iterdir())
    with sqlite3.connect(state / "vitad.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_restart_only_helps_for_a_device_the_kernel_lists(tmp_path: Path) -> None:
    from vitad.daemon import kernel_sees_sound_device

    cards = tmp_path / "cards"
    cards.write_text(" 0 [Device ]: USB-Audio - USB PnP Sound Device\n"
                     "                      C-Media Electronics Inc. USB PnP Sound Device\n")
    assert kernel_sees_sound_device("USB PnP Sound Device", cards)
    assert kernel_sees_sound_device("default", cards)
    assert not kernel_sees_sound_device("Jabra Speak 410", cards)  # unplugged: wait, no exit
    assert not kernel_sees_sound_device("wav:/tmp/x.wav", cards)
    cards.write_text("--- no soundcards ---\n")
    assert not kernel_sees_sound_device("default", cards)
    assert not kernel_sees_sound_device("default", tmp_path / "missing")


@pytest.fixture
def tiny_state(tmp_path: Path) -> Iterator[Path]:
    state = tmp_path / "state"
    state.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(state)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.strip()}")
    try:
        yield state
    finally:
        subprocess.run(["umount", "-l", str(state)], check=False)


def test_full_state_disk_keeps_answering(tmp_path: Path, notify, speech, tiny_state) -> None:
    question = np.concatenate([silence(6.0), speech("Hey Jarvis."), silence(0.3),
                               speech("Washer five is broken."), silence(1.0),
                               speech("Hey Jarvis."), silence(0.3),
                               speech("What time do you close?"), silence(10.0)])
    wav = tmp_path / "mic.wav"
    write_wav(wav, with_noise(question, level=50), INTERNAL_RATE)
    config = write_config(tmp_path, audio={"input": f"wav:{wav}", "output": "null"})
    proc = start_daemon(config, notify, tmp_path)
    try:
        notify.wait_for("READY=1", 60)
        filler = tiny_state / "filler"
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
        try:  # fill the disk to the last byte
            while os.write(fd, b"\0" * 4096):
                pass
        except OSError:
            pass
        finally:
            os.close(fd)
        notify.pump(24)
        assert proc.poll() is None
        filler.unlink()
        notify.pump(2)
    finally:
        assert stop(proc) == 0
    log = (tmp_path / "daemon.log").read_text()
    replies = [line for line in log.splitlines() if " reply " in line]
    assert len(replies) == 2, log[-3000:]
    assert "reach the staff" in replies[0]  # not "noted": the report could not be saved
    assert "11 at night" in replies[1]  # still answering
    assert "problem report could not be saved" in log
    assert "Traceback" not in log
    with sqlite3.connect(tiny_state / "vitad.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_broken_config_at_start_runs_on_the_last_good_copy(tmp_path: Path, notify) -> None:
    """An operator's typo plus a reboot must not leave the box dark (exit 78, no restart)."""
    wav = tmp_path / "mic.wav"
    write_wav(wav, silence(1.0), INTERNAL_RATE)
    config = write_config(tmp_path, audio={"input": f"wav:{wav}", "output": "null"})
    good = config.read_text()
    broken = good.replace('price = "7 dollars 50"', "price = 7.5")
    assert broken != good

    # Never started: nothing to fall back on, so the config error stays fatal (exit 78).
    config.write_text(broken)
    first = start_daemon(config, notify, tmp_path)
    assert first.wait(timeout=60) == 78
    assert "shop.machines[1].price" in (tmp_path / "daemon.log").read_text()

    config.write_text(good)
    proc = start_daemon(config, notify, tmp_path)
    try:
        notify.wait_for("READY=1", 60)
    finally:
        assert stop(proc) == 0
    assert (tmp_path / "state" / "last-good" / "vitad.toml").read_text() == good

    config.write_text(broken)
    notify.messages.clear()
    proc = start_daemon(config, notify, tmp_path)
    try:
        notify.wait_for("READY=1", 60)
        assert "config last good" in notify.lines("STATUS=")[-1], notify.lines("STATUS=")
        health = json.loads(_query(tmp_path / "health.sock"))
        assert health["components"]["config"]["state"] == "degraded"
        config.write_text(good.replace('price = "7 dollars 50"', 'price = "8 dollars"'))
        proc.send_signal(signal.SIGHUP)
        notify.pump(3)
        assert "config" not in notify.lines("STATUS=")[-1], notify.lines("STATUS=")
        health = json.loads(_query(tmp_path / "health.sock"))
        assert health["components"]["config"]["state"] == "ok"
    finally:
        assert stop(proc) == 0
    log = (tmp_path / "daemon.log").read_text()
    assert "shop.machines[1].price" in log and "running on the last good copy" in log
    assert "Traceback" not in log
    assert '"8 dollars"' in (tmp_path / "state" / "last-good" / "vitad.toml").read_text()


def test_default_devices_on_a_box_without_any_sound_card(tmp_path: Path, notify) -> None:
    """Issue 9: "default" with no card made PortAudio raise from a device query → exit 1 →
    restart → reboot loop. It must be a degraded start like any missing device."""
    config = write_config(tmp_path, audio={"input": "default", "output": "default"})
    proc = start_daemon(config, notify, tmp_path, ALSA_CONFIG_PATH=str(_no_cards(tmp_path)))
    try:
        notify.wait_for("READY=1", 60)
        notify.pump(3)
        assert proc.poll() is None
        assert len(notify.lines("WATCHDOG=1")) >= 2
        health = json.loads(_query(tmp_path / "health.sock"))
        assert health["components"]["mic"]["state"] != "ok"
        assert health["components"]["speaker"]["state"] != "ok"
    finally:
        assert stop(proc) == 0
    assert "Traceback" not in (tmp_path / "daemon.log").read_text()


def _no_cards(tmp_path: Path) -> Path:
    """An ALSA configuration with no PCM at all: what a Pi without its USB devices sees."""
    conf = tmp_path / "no-cards.conf"
    conf.write_text("pcm.!default { type hw card 99 }\nctl.!default { type hw card 99 }\n")
    return conf


def test_a_reload_that_cannot_load_its_models_changes_nothing(tmp_path: Path, notify) -> None:
    """Issue 9: a garbage wake model was "reloaded", overwrote last-good, and the next start
    exited 78 (dark box). Now: rejected, last-good untouched, and a restart runs on it."""
    wav = tmp_path / "mic.wav"
    write_wav(wav, silence(1.0), INTERNAL_RATE)
    config = write_config(tmp_path, audio={"input": f"wav:{wav}", "output": "null"})
    good = config.read_text()
    proc = start_daemon(config, notify, tmp_path)
    copy = tmp_path / "state" / "last-good" / "vitad.toml"
    try:
        notify.wait_for("READY=1", 60)
        assert copy.read_text() == good
        garbage = tmp_path / "garbage.onnx"
        garbage.write_bytes(b"\x08\x01garbage" * 200)
        config.write_text(with_wake_model(good, garbage))
        proc.send_signal(signal.SIGHUP)
        notify.wait_for("RELOADING=1", 10)
        deadline = time.monotonic() + 30
        while "reload rejected" not in (tmp_path / "daemon.log").read_text():
            assert time.monotonic() < deadline, "reload neither rejected nor applied"
            notify.pump(0.5)
        notify.pump(2)
        assert proc.poll() is None
        assert copy.read_text() == good, "last-good overwritten by a config that failed"
    finally:
        assert stop(proc) == 0
    log = (tmp_path / "daemon.log").read_text()
    assert "wake.models" in log and "Traceback" not in log

    notify.messages.clear()
    proc = start_daemon(config, notify, tmp_path)  # the garbage config is still live
    try:
        notify.wait_for("READY=1", 60)
        assert any("config last good" in s for s in notify.lines("STATUS="))
    finally:
        assert stop(proc) == 0

