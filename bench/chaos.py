"""Chaos run through the real daemon (issue 9): faults injected from outside `vitad run`.

Starts the real `python -m vitad run` (as user nobody when run as root, with a real
NOTIFY_SOCKET, WATCHDOG_USEC and STATE_DIRECTORY on a small tmpfs), then injects faults one at
a time — chosen at random with a seed, weighted towards the cheap ones, every kind at least
once — and checks each: still alive, answering `vitad health`, pinging WATCHDOG=1, recovered
within N s, last-good never overwritten by a config that failed to load, every acknowledged
problem report still in `vitad reports`. Prints a table per fault kind, the failures with
their log lines, and whether the issue's targets are met (exit 1 if not).

Usage: python bench/chaos.py [--faults 500] [--seed 1] [--watchdog-s 4] [--max-minutes 60]
                             [--round-robin] [--keep] [--json OUT.json]
See tests/chaos_lib.py for what each fault does.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.chaos_lib import Chaos  # the repo root is on sys.path now


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faults", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--watchdog-s", type=float, default=4.0,
                        help="WATCHDOG_USEC given to the daemon, in seconds (default 4)")
    parser.add_argument("--recover-s", type=float, default=15.0,
                        help="'recovered within N s' limit (default 15)")
    parser.add_argument("--max-minutes", type=float, default=None,
                        help="stop injecting after this long (the table covers what ran)")
    parser.add_argument("--round-robin", action="store_true",
                        help="every kind in turn instead of seeded random")
    parser.add_argument("--keep", action="store_true", help="keep the work folder and logs")
    parser.add_argument("--json", type=Path, help="also write the numbers as JSON here")
    parser.add_argument("--quiet", action="store_true", help="no line per fault")
    parser.add_argument("--daemon-src", type=Path, default=None,
                        help="run the daemon from this source tree (e.g. an older commit "
                        "exported with `git archive`), to see which faults it fails")
    args = parser.parse_args()

    def say(line: str) -> None:
        if not args.quiet or "FAIL" in line:
            print(line, flush=True)

    start = time.monotonic()
    with Chaos(seed=args.seed, watchdog_s=args.watchdog_s, recover_limit_s=args.recover_s,
               log=say, keep=args.keep,
               **({"daemon_src": args.daemon_src} if args.daemon_src else {})) as chaos:
        say(f"work folder {chaos.work} (daemon as {'nobody' if chaos.unprivileged else 'me'},"
            f" state on {'tmpfs' if chaos.mounted else 'disk'})")
        report = chaos.run(args.faults, round_robin=args.round_robin,
                           max_seconds=None if args.max_minutes is None
                           else args.max_minutes * 60)
    print()
    print(f"== chaos: {report.injected} faults, seed {args.seed}, "
          f"{time.monotonic() - start:.0f} s ==")
    print(report.summary())
    problems = report.target_problems()
    print()
    print("targets: " + ("MET" if not problems else "NOT MET\n  - " + "\n  - ".join(problems)))
    if args.json:
        args.json.write_text(json.dumps({
            "faults": report.injected, "seed": args.seed, "elapsed_s": report.elapsed_s,
            "kinds": {k: vars(v) for k, v in report.kinds.items()},
            "acked": sorted(report.acked), "lost": sorted(report.lost),
            "last_good_violations": report.last_good_violations,
            "unwatched_hangs": report.unwatched_hangs, "dark_boxes": report.dark_boxes,
            "tracebacks": report.tracebacks,
            "failures": [f.line() for f in report.failures], "target_problems": problems,
        }, indent=2))
    return 0 if not problems else 1


if __name__ == "__main__":
    raise SystemExit(main())
