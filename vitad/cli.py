"""The `vitad` command line. Every failure is one clear line on stderr, never a traceback."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vitad import events as ev
from vitad.asr.fetch import (
    DEFAULT_MODELS_DIR,
    VOSK_EN,
    WHISPER_TINY_EN,
    FetchError,
    ModelSpec,
    fetch_files,
    fetch_model,
)
from vitad.audio.devices import DeviceError
from vitad.audio.wavfile import AudioFileError, write_wav
from vitad.config.loader import ConfigError, load_config
from vitad.config.schema import Config
from vitad.dialogue.intents import IntentsError
from vitad.dialogue.templates import TemplateError
from vitad.errors import StageFailure
from vitad.runtime.logsetup import setup_logging
from vitad.runtime.ops_cli import add_config_option

log = logging.getLogger("vitad")

# Failures that are the user's input, a missing file, or a dead device: one line, exit 1.
EXPECTED_ERRORS = (ConfigError, AudioFileError, DeviceError, FetchError, StageFailure,
                   IntentsError, TemplateError)


def _config(args: argparse.Namespace) -> Config:
    return load_config(args.config)


def cmd_check_config(args: argparse.Namespace) -> int:
    """Exactly the checks a reload makes: schema, files, intents, templates, every model."""
    from vitad.config.loader import config_source, one_line
    from vitad.pipeline.engines import prepare_engines
    from vitad.runtime.last_good import UNUSABLE, problems_of

    path = config_source(Path(args.file) if args.file else None)
    try:
        config = load_config(path)
        engines = prepare_engines(config, strict_tts=True)
    except UNUSABLE as exc:
        problems = problems_of(exc)
        for problem in problems:
            print(problem, file=sys.stderr)
        print(f"{one_line(str(path))}: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    for warning in avatar_asset_warnings(config):
        print(f"warning: {warning}", file=sys.stderr)
    notes = "".join(f"; {d.component}: {d.mode} ({d.detail})" for d in engines.degraded)
    print(f"{one_line(str(path))}: ok ({len(config.shop.machines)} machines, "
          f"wake {', '.join(config.wake.models)}, asr {engines.recognizer.name}{notes})")
    return 0


def avatar_asset_warnings(config: Config) -> list[str]:
    """Problems of ``[avatar] pack`` / ``logo``: a reload accepts them (the daemon keeps its
    running pack, shows no logo), so they warn rather than fail, one line each."""
    from vitad.avatar.branding import check_logo
    from vitad.avatar.pack import PackError, load_pack
    from vitad.config.loader import resolve

    warnings = []
    avatar = config.avatar
    if avatar.pack is not None:
        try:
            load_pack(resolve(config, avatar.pack))
        except PackError as exc:
            warnings += [f"avatar pack {exc.source}: {p} (the running pack is kept)"
                         for p in exc.problems]
    if avatar.logo is not None and (problem := check_logo(resolve(config, avatar.logo))):
        warnings.append(f"{problem} (no logo is shown)")
    return warnings


def cmd_simulate(args: argparse.Namespace) -> int:
    from vitad.simulate import simulate_files

    config = _config(args)
    result = simulate_files(config, Path(args.input), Path(args.output) if args.output else None,
                            Path(args.events) if args.events else None,
                            cache_dir=Path(args.cache_dir) if args.cache_dir else None)
    turns = result.of_type(ev.EventType.TURN_END)
    print(f"{len(result.of_type('wake'))} wake(s), {len(turns)} turn(s) in "
          f"{result.input_s:.1f} s of audio", file=sys.stderr)
    return 0


def cmd_say(args: argparse.Namespace) -> int:
    import numpy as np

    from vitad.tts.piper_engine import PiperTts

    config = _config(args)
    tts = PiperTts(config.tts, config.base_dir,
                   Path(args.cache_dir) if args.cache_dir else None)
    parts = []
    for sentence in tts.speak(args.text):
        parts += [sentence.samples, tts.pause(sentence.ends_sentence)]
    if not parts:
        print("vitad say: nothing to say (text has no words)", file=sys.stderr)
        return 1
    write_wav(Path(args.output), np.concatenate(parts), tts.rate)
    return 0


def cmd_devices(args: argparse.Namespace) -> int:
    from vitad.audio.devices import list_devices

    devices = list_devices()
    if not devices:
        print("no sound devices found")
    for d in devices:
        kinds = ", ".join(k for k, n in (("in", d.inputs), ("out", d.outputs)) if n)
        print(f"{d.index:3d}  {d.name}  ({kinds}, {d.default_rate:.0f} Hz)")
    return 0


def cmd_fetch_models(args: argparse.Namespace) -> int:
    if args.model == "whisper":
        if args.url or args.sha256 or args.name:
            print("vitad fetch-models whisper: --url/--sha256/--name are for Vosk archives",
                  file=sys.stderr)
            return 2
        path = fetch_files(WHISPER_TINY_EN, Path(args.dest), force=args.force)
        print(f"installed {WHISPER_TINY_EN.name} at {path}")
        return 0
    spec = VOSK_EN
    if args.url or args.sha256:
        if not (args.url and args.sha256):
            print("vitad fetch-models: --url and --sha256 go together", file=sys.stderr)
            return 2
        spec = ModelSpec(args.name or spec.name, args.url, args.sha256.lower(), None)
    path = fetch_model(spec, Path(args.dest), force=args.force)
    print(f"installed {spec.name} at {path}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from vitad.demo import run_demo

    config = _config(args)
    out = Path(args.output_dir)
    result = run_demo(config, out)
    for event in result.events:
        match event:
            case ev.Degraded():
                print(f"[degraded] {event.component}: {event.mode} ({event.detail})")
            case ev.Wake():
                print(f"\n{event.t:6.2f}s  wake word {event.model} ({event.score:.2f})")
            case ev.Transcript(final=True):
                print(f"{event.t:6.2f}s  customer: {event.text!r}")
            case ev.Intent():
                print(f"{event.t:6.2f}s  intent:   {event.name} ({event.score:.0f}) "
                      f"{event.slots or ''}")
            case ev.Reply():
                print(f"{event.t:6.2f}s  vitad:    {event.text}")
            case ev.TurnEnd(latency_s=float(latency)):
                print(f"{event.t:6.2f}s  end of speech -> first audio: {latency:.2f} s")
    print(f"\nconversation: {out / 'conversation.wav'}\nreplies:      {out / 'replies.wav'}"
          f"\nevents:       {out / 'events.jsonl'}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from vitad.daemon import run_daemon

    return run_daemon(args.config)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vitad", description="Offline laundromat voice helper")
    parser.add_argument("--log-level", default="info",
                        choices=["debug", "info", "warning", "error"])
    add_config_option(parser, default=None)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="run the daemon until SIGTERM/SIGINT")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("simulate", help="run the real pipeline over a WAV file")
    p.add_argument("--input", required=True, help="input WAV (any rate/channels)")
    p.add_argument("--output", help="reply audio WAV")
    p.add_argument("--events", help="events as JSON lines")
    p.add_argument("--cache-dir", help="TTS cache folder (default from config)")
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("say", help="synthesize TEXT with the configured voice")
    p.add_argument("text")
    p.add_argument("--output", required=True)
    p.add_argument("--cache-dir")
    p.set_defaults(func=cmd_say)

    p = sub.add_parser("check-config", help="validate a config file (all problems at once)")
    p.add_argument("file", nargs="?")
    p.set_defaults(func=cmd_check_config)

    p = sub.add_parser("devices", help="list sound devices (names to use in [audio])")
    p.set_defaults(func=cmd_devices)

    p = sub.add_parser("fetch-models",
                       help="download the Vosk English or Whisper tiny.en model (sha256-pinned)")
    p.add_argument("model", nargs="?", choices=["vosk", "whisper"], default="vosk")
    p.add_argument("--dest", default=str(DEFAULT_MODELS_DIR))
    p.add_argument("--url", help="alternative archive URL (needs --sha256)")
    p.add_argument("--sha256", help="expected sha256 of the archive at --url")
    p.add_argument("--name", help="model folder name for --url")
    p.add_argument("--force", action="store_true", help="replace an installed model")
    p.set_defaults(func=cmd_fetch_models)

    p = sub.add_parser("demo", help="a scripted conversation through the real pipeline")
    p.add_argument("--output-dir", default="demo-out")
    p.set_defaults(func=cmd_demo)

    for add in _extra_commands():
        add(sub)
    for command in sub.choices.values():  # `vitad simulate --config F` as well
        if "--config" not in command._option_string_actions:
            add_config_option(command)
    return parser


def _extra_commands() -> list[Callable[[Any], object]]:
    """Commands owned by other packages (avatar screenshot, operator commands)."""
    from vitad.avatar import screenshot_cli
    from vitad.runtime import ops_cli

    return [screenshot_cli.add_parser, ops_cli.add_parsers]


def _setup_logging(level: str) -> None:
    setup_logging(level)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _setup_logging(args.log_level)
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"vitad: {exc.source}: {problem}", file=sys.stderr)
        return 1
    except EXPECTED_ERRORS as exc:
        message = exc.message if isinstance(exc, StageFailure) else str(exc)
        print(f"vitad {args.command}: {message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `vitad reports | head`
        from vitad.runtime.ops_cli import reader_went_away

        return reader_went_away()


if __name__ == "__main__":
    sys.exit(main())
