"""Bad input gets one clear line naming the thing and what was expected — no tracebacks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import write_config
from vitad.audio.wavfile import read_wav, write_wav


def vitad(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "vitad", *args], capture_output=True,
                          text=True, timeout=timeout)


def assert_clean_failure(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr, proc.stderr
    for needle in needles:
        assert needle in proc.stderr, proc.stderr


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    return write_config(tmp_path)


def test_simulate_empty_wav(tmp_path: Path, cfg: Path) -> None:
    empty = tmp_path / "empty.wav"
    write_wav(empty, np.zeros(0, dtype=np.int16), 16000)
    proc = vitad("simulate", "--config", str(cfg), "--input", str(empty))
    assert_clean_failure(proc, "empty.wav", "no audio")
    assert len(proc.stderr.strip().splitlines()) == 1


def test_simulate_non_wav_and_missing_file(tmp_path: Path, cfg: Path) -> None:
    junk = tmp_path / "notes.wav"
    junk.write_text("this is not audio")
    assert_clean_failure(vitad("simulate", "--config", str(cfg), "--input", str(junk)),
                         "notes.wav", "not a PCM WAV")
    assert_clean_failure(vitad("simulate", "--config", str(cfg), "--input",
                               str(tmp_path / "nope.wav")), "nope.wav", "not found")


def test_check_config_reports_every_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[wake]\nthreshold = "high"\ntreshold = 0.4\n'
        '[listen]\nhangover_s = -1\n'
        '[[shop.machines]]\nid = "Big Washer"\nkind = "washer"\nname = "big"\n'
        'price = "7"\ncycle_minutes = "forty"\n'
    )
    proc = vitad("check-config", str(bad))
    assert_clean_failure(proc, "wake.threshold", "wake.treshold", "did you mean 'threshold'",
                         "listen.hangover_s", "shop.machines[0].id",
                         "shop.machines[0].cycle_minutes",
                         "dialogue.intents: file not found")  # not hidden by schema errors
    assert proc.returncode == 1
    assert "6 problem(s)" in proc.stderr


def test_check_config_accepts_the_shipped_file() -> None:
    proc = vitad("check-config", str(Path(__file__).parents[1] / "config" / "vitad.toml"))
    assert proc.returncode == 0, proc.stderr
    assert "ok" in proc.stdout


def test_check_config_warns_of_a_bad_avatar_pack_and_logo(tmp_path: Path) -> None:
    """A reload keeps the running pack and shows no logo, so these warn, one line each."""
    pack = tmp_path / "mascot"
    pack.mkdir()
    (pack / "pack.toml").write_text("[pack]\nname = 'mascot'\n")
    (tmp_path / "logo.png").write_bytes(b"not a png")
    cfg = write_config(tmp_path, avatar={"pack": "mascot", "logo": "logo.png"})
    proc = vitad("check-config", str(cfg))
    assert proc.returncode == 0, proc.stderr
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("warning: ")]
    assert any("mascot" in w and "running pack is kept" in w for w in warnings), proc.stderr
    assert any("avatar.logo" in w and "no logo" in w for w in warnings), proc.stderr
    assert "Traceback" not in proc.stderr


def test_missing_model_paths_are_named(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, tts={"voice": str(tmp_path / "voices/missing.onnx")},
                       wake={"models": [str(tmp_path / "hey_bubbles.onnx")]})
    proc = vitad("check-config", str(cfg))
    assert_clean_failure(proc, "tts.voice", "missing.onnx", "wake.models", "hey_bubbles.onnx")


def test_say_writes_audio_and_rejects_empty_text(tmp_path: Path, cfg: Path) -> None:
    out = tmp_path / "hello.wav"
    proc = vitad("say", "Hello! Welcome to the laundromat.", "--output", str(out),
                 "--config", str(cfg), "--cache-dir", str(tmp_path / "c"))
    assert proc.returncode == 0, proc.stderr
    audio, rate = read_wav(out)
    assert rate == 22050 and len(audio) > rate and np.abs(audio).max() > 0.1
    assert_clean_failure(vitad("say", "...", "--output", str(out), "--config", str(cfg)),
                         "nothing to say")


def test_unknown_command_and_missing_args_exit_2() -> None:
    assert vitad("frobnicate").returncode == 2
    assert vitad("simulate").returncode == 2


def test_devices_without_portaudio_or_with_it_is_one_line() -> None:
    proc = vitad("devices")
    if proc.returncode == 0:
        assert "Traceback" not in proc.stderr
    else:
        assert_clean_failure(proc, "PortAudio")


def test_say_and_simulate_work_without_portaudio(tmp_path: Path, cfg: Path) -> None:
    """sounddevice is imported only for real devices: block it and run the file paths."""
    out = tmp_path / "hi.wav"
    code = f"""
import sys
sys.modules["sounddevice"] = None  # any import of it now raises ImportError
from vitad.cli import main
assert main(["say", "Hey Jarvis. What time do you close?", "--output", {str(out)!r},
             "--config", {str(cfg)!r}]) == 0
assert main(["simulate", "--config", {str(cfg)!r}, "--input", {str(out)!r},
             "--events", {str(tmp_path / "e.jsonl")!r}]) == 0
print(main(["devices"]))
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("1")  # `devices` fails cleanly without PortAudio
    assert "sounddevice" in proc.stderr and "Traceback" not in proc.stderr
    assert (tmp_path / "e.jsonl").read_text()


@pytest.mark.parametrize("before", [True, False])
def test_config_is_one_global_option_the_screenshot_reads_too(tmp_path: Path,
                                                              before: bool) -> None:
    bad = tmp_path / "vitad.toml"
    bad.write_text('[shop]\nname = ""\n')
    out = str(tmp_path / "s.png")
    args = ["screenshot", "--state", "idle", "--output", out]
    proc = vitad(*(["--config", str(bad), *args] if before else [*args, "--config", str(bad)]))
    assert_clean_failure(proc, "invalid config", "shop.name")
    good = write_config(tmp_path, shop={"name": "Suds Palace"})
    proc = vitad("--config", str(good), *args)
    assert proc.returncode == 0, proc.stderr
