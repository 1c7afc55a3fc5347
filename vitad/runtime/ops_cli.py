"""Operator commands: ``vitad health``, ``vitad reports``, ``vitad stats``.

Wiring in ``vitad/cli.py``::

    sub = parser.add_subparsers(dest="command", required=True)
    ops_cli.add_parsers(sub)
    ...
    args = parser.parse_args(argv)
    return args.func(args)             # (also set as args.handler) returns an exit code

Errors are one clear line on stderr (config errors: the loader's one line per problem), never
a traceback. These commands run in a separate process from the daemon and read the same files.

Run as root they temporarily take the database owner's uid/gid (seteuid) before touching the
DB: SQLite creates ``vitad.db-wal``/``-shm`` on first access, and root-owned ones would lock
the daemon (User=vitad) out of its own database.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from vitad.config.loader import ConfigError, load_config
from vitad.config.runtime_settings import PrivacySettings, RuntimeSettings
from vitad.runtime.health import (
    EXIT_DOWN,
    EXIT_NO_PERMISSION,
    HealthUnreachable,
    ask_health,
    exit_code,
)

EXIT_ERROR = 1


class _CliError(Exception):
    """A message for the operator; the handler prints it and returns EXIT_ERROR (or 2)."""


def add_parsers(subparsers: Any) -> None:
    """Add the health/reports/stats sub-commands to an ``add_subparsers()`` object."""
    p = subparsers.add_parser(
        "health",
        help="ask the running daemon how it is (exit 0 ok, 1 degraded, 2 not running, "
        "4 permission denied)",
        description="Print the daemon's health JSON. Exit 0 healthy, 1 degraded, "
        "2 not running or unreachable, 4 not allowed to ask (use sudo).",
    )
    _common(p)
    p.add_argument("--socket", type=Path, help="health socket (default: from config)")
    p.add_argument("--timeout", type=_seconds, default=3.0,
                   help="seconds to wait, 0.1-60 (default 3)")
    p.add_argument("--quiet", "-q", action="store_true", help="no output, exit code only")
    p.set_defaults(handler=cmd_health, func=cmd_health)

    p = subparsers.add_parser("reports", help="list or acknowledge customer problem reports")
    _common(p)
    p.add_argument("--state-dir", type=Path, help="records directory (default: from config)")
    p.add_argument("--ack", type=int, metavar="ID", help="mark report ID as handled")
    p.add_argument("--all", action="store_true", help="include acknowledged reports")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=cmd_reports, func=cmd_reports)

    p = subparsers.add_parser("stats", help="usage today and over the last 7 days")
    _common(p)
    p.add_argument("--state-dir", type=Path, help="records directory (default: from config)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=cmd_stats, func=cmd_stats)


def _seconds(text: str) -> float:
    """argparse type: a wait in seconds within 0.1-60 (socket timeouts overflow beyond)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not 0.1 <= value <= 60:
        raise argparse.ArgumentTypeError(f"expected 0.1-60 seconds, got {text}")
    return value


def add_config_option(p: argparse.ArgumentParser, default: object = argparse.SUPPRESS) -> None:
    """``--config FILE``, accepted before the subcommand (``vitad --config F health``) and
    after it (``vitad health --config F``): subcommands use SUPPRESS as their default so they
    never overwrite a value given to the main parser (an argparse pitfall)."""
    p.add_argument("--config", type=Path, default=default,
                   help="config file (default /etc/vitad/vitad.toml)")


def _common(p: argparse.ArgumentParser) -> None:
    add_config_option(p)


def _settings(args: argparse.Namespace) -> tuple[RuntimeSettings, PrivacySettings]:
    """Runtime/privacy settings from --config (or the default config). Raises _CliError."""
    try:
        config = load_config(getattr(args, "config", None))
    except ConfigError as exc:
        raise _CliError(f"config error:\n{exc}") from None
    return config.runtime, config.privacy


def _fail(command: str, message: str) -> None:
    print(f"vitad {command}: {message}", file=sys.stderr)


# --- health ---------------------------------------------------------------------------------
def cmd_health(args: argparse.Namespace) -> int:
    try:
        path = args.socket
        if path is None:
            path = _settings(args)[0].health_socket
    except _CliError as exc:
        _fail("health", str(exc))
        return EXIT_DOWN
    try:
        doc = ask_health(path, timeout=args.timeout)
    except HealthUnreachable as exc:
        why = str(exc)
        if not args.quiet:
            if why == "permission denied":
                _fail("health", f"permission denied on {path}: run it with sudo (or as a "
                      "member of the vitad group)")
            else:
                _fail("health", f"{why} on {path}: vitad is not running or not answering")
        return EXIT_NO_PERMISSION if why == "permission denied" else EXIT_DOWN
    code = exit_code(doc)
    if not args.quiet:
        print(json.dumps(doc, indent=2, sort_keys=True))
    return code


# --- records --------------------------------------------------------------------------------
@contextlib.contextmanager
def _as_owner(path: Path) -> Iterator[None]:
    """As root, act with the uid/gid owning ``path`` (see module doc); otherwise no-op."""
    if os.geteuid() != 0:
        yield
        return
    st = path.stat()
    if st.st_uid == 0:
        yield
        return
    egid = os.getegid()
    os.setegid(st.st_gid)
    try:
        os.seteuid(st.st_uid)
        try:
            yield
        finally:
            os.seteuid(0)
    finally:
        os.setegid(egid)


def _db(args: argparse.Namespace) -> Path:
    state_dir = args.state_dir if args.state_dir is not None else _settings(args)[0].state_dir
    from vitad.runtime.records import DB_NAME

    db = Path(state_dir) / DB_NAME
    if not db.is_file():
        raise _CliError(f"no records database at {db} (has the daemon run? is state_dir right?)")
    if not os.access(db, os.R_OK):
        raise _CliError(f"no permission to read {db} (try sudo, or join group vitad)")
    return db


def _when(ts: float | None) -> str:
    return "-" if ts is None else datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")


def cmd_reports(args: argparse.Namespace) -> int:
    from vitad.runtime.records import RecordReader, RecordsError

    try:
        db = _db(args)
        reader = RecordReader(db, strict=True)
        with _as_owner(db):
            if args.ack is not None:
                if not reader.ack_report(args.ack):
                    raise _CliError(f"no unacknowledged report with id {args.ack}")
                print(f"report {args.ack} acknowledged")
                return 0
            reports = reader.list_reports(unacked_only=not args.all)
    except (_CliError, RecordsError) as exc:
        _fail("reports", str(exc))
        return EXIT_ERROR
    except OSError as exc:
        _fail("reports", f"{exc.strerror or exc}")
        return EXIT_ERROR
    if args.json:
        print(json.dumps(reports, indent=2))
        return 0
    if not reports:
        print("no open problem reports" if not args.all else "no problem reports")
        return 0
    for r in reports:
        machine = " ".join(str(x) for x in (r["machine_type"], r["machine_number"]) if x) or "?"
        acked = f"  (acknowledged {_when(r['acked_at'])})" if r["acked_at"] else ""
        print(f"#{r['id']:<4} {_when(r['time'])}  {machine:<12} {r['text']}{acked}")
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    from vitad.runtime.records import RecordReader, RecordsError

    try:
        db = _db(args)
        with _as_owner(db):
            stats = RecordReader(db, strict=True).stats()
    except (_CliError, RecordsError) as exc:
        _fail("stats", str(exc))
        return EXIT_ERROR
    except OSError as exc:
        _fail("stats", f"{exc.strerror or exc}")
        return EXIT_ERROR
    if args.json:
        print(json.dumps(stats, indent=2))
        return 0
    for title, key in (("today", "today"), ("last 7 days", "last_7_days")):
        print(_period_text(title, stats[key]))
    print(f"open problem reports: {stats['unacked_reports']}")
    return 0


def _period_text(title: str, p: dict[str, Any]) -> str:
    med = p["median_latency_s"]
    latency = "-" if med is None else f"{med:.2f} s (p90 {p['p90_latency_s']:.2f} s)"
    lines = [
        f"{title}: {p['turns']} turns, {p['failures']} failed, median latency {latency}",
    ]
    if p["outcomes"]:
        lines.append("  outcomes: " + ", ".join(f"{k} {v}" for k, v in p["outcomes"].items()))
    if p["top_intents"]:
        lines.append("  top intents: " + ", ".join(f"{k} {v}" for k, v in p["top_intents"]))
    if p["counters"]:
        lines.append("  counters: " + ", ".join(f"{k} {v}" for k, v in p["counters"].items()))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Standalone entry (``python -m vitad.runtime.ops_cli health``); the daemon's CLI wires
    :func:`add_parsers` into ``vitad`` itself."""
    parser = argparse.ArgumentParser(prog="vitad")
    add_config_option(parser, default=None)
    add_parsers(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except BrokenPipeError:
        return reader_went_away()


def reader_went_away() -> int:
    """``vitad reports | head``: the reader closed the pipe. Not an error worth a traceback;
    stdout is pointed at /dev/null so the interpreter's final flush cannot raise again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
