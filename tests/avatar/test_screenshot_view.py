"""Screenshot CLI, display opening and the daemon-facing AvatarView."""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from vitad.avatar import screenshot_cli
from vitad.avatar.screenshot import render_screenshot
from vitad.avatar.view import AvatarView
from vitad.config.avatar_settings import AvatarSettings
from vitad.config.schema import Config
from vitad.events import Listening, MouthLevel, SpeakingSentence, Transcript

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="vitad")
    sub = parser.add_subparsers(dest="command", required=True)
    screenshot_cli.add_parser(sub)
    return parser.parse_args(["screenshot", *argv])


def test_render_screenshot_writes_png(tmp_path: Path, config: Config) -> None:
    out = render_screenshot(
        config, "speaking", tmp_path / "s.png", size=(800, 480), caption="Dryers take 30 minutes."
    )
    data = out.read_bytes()
    assert data[:8] == PNG_MAGIC
    # IHDR width/height (big endian) right after the magic and chunk header
    assert int.from_bytes(data[16:20], "big") == 800
    assert int.from_bytes(data[20:24], "big") == 480


def test_cli_writes_png(tmp_path: Path, capsys) -> None:
    out = tmp_path / "idle.png"
    args = parse(["--state", "idle", "--output", str(out), "--size", "640x360"])
    assert args.func(args) == 0
    assert out.read_bytes()[:8] == PNG_MAGIC


@pytest.mark.parametrize(
    "argv",
    [
        ["--state", "dancing", "--output", "x.png"],
        ["--state", "idle", "--output", "x.png", "--size", "big"],
        ["--state", "idle", "--output", "x.png", "--size", "10x10"],
        ["--state", "idle", "--output", "x.png", "--size", "1280x"],
        ["--state", "idle", "--output", "x.jpg"],
    ],
)
def test_cli_bad_args_exit_2_one_line(argv, tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    args = parse(argv)
    assert screenshot_cli.run(args) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "x.png").exists()


def test_cli_subprocess_no_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "vitad.avatar.screenshot_cli",
            "screenshot",
            "--state",
            "nope",
            "--output",
            str(tmp_path / "a.png"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "unknown state" in proc.stderr


def test_view_voice_only_when_disabled() -> None:
    view = AvatarView(Config(avatar=AvatarSettings(enabled=False)), "Hey Jarvis")
    assert view.start() is False
    view.handle(Listening(t=0.0, turn_id="x"))  # still accepts events, draws nothing
    view.frame(1.0)
    view.close()


def test_open_display_failure_is_one_log_line(monkeypatch, caplog) -> None:
    from vitad.avatar.renderer import open_display

    monkeypatch.setenv("SDL_VIDEODRIVER", "no_such_driver")
    with caplog.at_level(logging.INFO):
        assert open_display(AvatarSettings()) is None
    lines = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(lines) == 1 and "voice-only" in lines[0].getMessage()


def test_view_runs_frames_on_dummy_display(config: Config) -> None:
    view = AvatarView(config, "Hey Jarvis", seed=3)
    assert view.start() is True
    try:
        assert view.renderer is not None
        drawn = view.renderer.frames_drawn
        t = 100.0
        view.frame(t)
        assert view.renderer.frames_drawn == drawn + 1
        view.frame(t + 0.001)  # not due yet at 30 fps
        assert view.renderer.frames_drawn == drawn + 1
        view.handle(Listening(t=t, turn_id="v"))
        view.handle(Transcript(t=t, turn_id="v", text="where is the soap", final=False))
        for i in range(1, 30):
            view.frame(t + i / 30)
        assert view.state.mode == "listening" and view.state.user_text == "where is the soap"
        view.handle(SpeakingSentence(t=t, turn_id="v", text="By the door."))
        view.handle(MouthLevel(t=t, level=0.8))
        view.frame(t + 2.0)
        assert view.state.mode == "speaking"
        view.handle(object())  # type: ignore[arg-type]  # junk never raises
        view.apply_config(Config(avatar=AvatarSettings(caption_size=0.07)))
        view.frame(t + 3.0)
        assert view.renderer.layout is not None
        assert view.renderer.layout.caption_px == round(0.07 * view.renderer.layout.size[1])
    finally:
        view.close()
    assert not view.active


def test_resting_frames_at_idle_fps_and_a_wake_word_draws_at_once(config: Config) -> None:
    view = AvatarView(config, "Hey Jarvis", seed=3)
    assert view.start() is True
    try:
        assert view.renderer is not None
        drawn: list[float] = []
        draw = view.renderer.draw
        view.renderer.draw = lambda state: (drawn.append(state.now), draw(state))[1]  # type: ignore[method-assign]

        def frames_in_one_second(start: float) -> int:
            before = len(drawn)
            for i in range(120):  # the daemon's loop may come round far more often than frames
                view.frame(start + i / 120)
            return len(drawn) - before

        t = 100.0
        assert view.resting
        assert frames_in_one_second(t) == pytest.approx(config.avatar.idle_fps, abs=1)
        view.handle(Listening(t=t + 1.0, turn_id="w"))
        assert not view.resting
        view.frame(t + 1.0 + 1e-4)  # not a resting frame away: at once
        assert len(drawn) and drawn[-1] >= t + 1.0
        assert frames_in_one_second(t + 1.01) == pytest.approx(config.avatar.fps, abs=1)
    finally:
        view.close()


def test_idle_fps_never_exceeds_fps() -> None:
    view = AvatarView(Config(avatar=AvatarSettings(fps=10, idle_fps=20)), "Hey Jarvis", seed=3)
    assert view.start() is True
    try:
        assert view.renderer is not None
        ticks: list[float] = []
        tick = view.state.tick
        view.state.tick = lambda now: (ticks.append(now), tick(now))[1]  # type: ignore[method-assign]
        for i in range(120):
            view.frame(200.0 + i / 120)
        assert len(ticks) == pytest.approx(10, abs=1)  # fps, not idle_fps
    finally:
        view.close()
