"""``vitad screenshot``: render an avatar state to a PNG without a screen.

Wiring (in vitad/cli.py)::

    from vitad.avatar import screenshot_cli
    screenshot_cli.add_parser(subparsers)   # sets func=screenshot_cli.run

``--config FILE`` (before or after the subcommand) picks the shop that is drawn; without
it the operator's /etc/vitad/vitad.toml (else the bundled example) is drawn, as the
daemon would.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from vitad.avatar.screenshot import STATES, parse_size
from vitad.config.loader import ConfigError, load_config
from vitad.config.schema import Config
from vitad.runtime.ops_cli import add_config_option


class _ArgError(Exception):
    pass


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "screenshot",
        help="render an avatar state to a PNG (headless)",
        description="Render the on-screen avatar in a given state to a PNG, without a display.",
    )
    p.add_argument("--state", required=True, help=f"one of: {', '.join(STATES)}")
    p.add_argument("--output", required=True, type=Path, help="PNG file to write")
    p.add_argument("--size", default="1280x720", help="WIDTHxHEIGHT (default 1280x720)")
    p.add_argument("--caption", default=None, help="caption text to show (else a sample)")
    add_config_option(p)
    p.set_defaults(func=run)
    return p


def _load_config(path: Path | None) -> Config:
    try:
        return load_config(path)
    except ConfigError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise _ArgError(f"invalid config: {first}") from exc


def run(args: argparse.Namespace) -> int:
    """Exit 0 on success; 2 with one line on stderr for bad arguments; 1 if rendering fails."""
    try:
        if args.state not in STATES:
            raise _ArgError(f"unknown state {args.state!r}; expected one of: {', '.join(STATES)}")
        try:
            size = parse_size(args.size)
        except ValueError as exc:
            raise _ArgError(str(exc)) from exc
        if args.output.suffix.lower() != ".png":
            raise _ArgError(f"output must be a .png file, got {str(args.output)!r}")
        config = _load_config(getattr(args, "config", None))
    except _ArgError as exc:
        print(f"vitad screenshot: error: {exc}", file=sys.stderr)
        return 2
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # a CLI process: never open a window
    from vitad.avatar.screenshot import render_screenshot

    try:
        out = render_screenshot(config, args.state, args.output, size=size, caption=args.caption)
    except (OSError, ValueError) as exc:
        print(f"vitad screenshot: error: {exc}", file=sys.stderr)
        return 1
    print(out)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry (``python -m vitad.avatar.screenshot_cli``) until cli.py wires it."""
    parser = argparse.ArgumentParser(prog="vitad")
    add_config_option(parser, default=None)
    sub = parser.add_subparsers(dest="command", required=True)
    add_parser(sub)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
