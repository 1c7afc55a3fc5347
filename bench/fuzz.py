"""The long fuzz run: every input parser's fuzz tests with the "fuzz" hypothesis profile.

    python bench/fuzz.py [--only config,wav] [--examples 10000]

Runs pytest once per parser in a child process (HYPOTHESIS_PROFILE=fuzz, 10,000 examples
per test unless --examples says otherwise) and prints, per parser: inputs generated (from
hypothesis' own statistics: passing + failing examples of every phase), failed tests, known
bugs still pinned by strict xfail tests, the child's peak RSS (from wait4) and wall time.
Exit status 1 if any parser had a failing test.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PARSERS = {
    "config TOML": ["tests/config/test_fuzz_config.py"],
    "intents TOML": ["tests/dialogue/test_fuzz_intents.py::test_intents_documents",
                     "tests/dialogue/test_fuzz_intents.py::test_intents_raw_bytes"],
    "templates/[shop]": ["tests/dialogue/test_fuzz_intents.py::test_render_templates",
                         "tests/dialogue/test_fuzz_intents.py::test_dialogue_templates"],
    "WAV": ["tests/audio/test_fuzz_wav.py"],
    "CLI argv": ["tests/test_fuzz_cli.py"],
}
EXAMPLES = re.compile(r"(\d+) passing(?: examples?)?, (\d+) failing")
OUTCOMES = re.compile(r"(\d+) (passed|failed|xfailed|xpassed|error)")


def run(tests: list[str], examples: int) -> dict[str, float]:
    env = {**os.environ, "HYPOTHESIS_PROFILE": "fuzz", "PYTHONHASHSEED": "0"}
    if examples != 10_000:
        env["HYPOTHESIS_MAX_EXAMPLES"] = str(examples)
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
           "--hypothesis-show-statistics", "-W", "ignore::hypothesis.errors.HypothesisWarning",
           *tests]
    start = time.perf_counter()
    with subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True) as proc:
        out = proc.stdout.read() if proc.stdout else ""
        _, status, usage = os.wait4(proc.pid, 0)  # the child's own peak RSS
        proc.returncode = os.waitstatus_to_exitcode(status)
    outcomes = {kind: int(n) for n, kind in OUTCOMES.findall(out.splitlines()[-1] if out else "")}
    if proc.returncode not in (0, 1) or outcomes.get("failed"):
        print(out[-4000:], file=sys.stderr)
    generated = sum(int(p) + int(f) for p, f in EXAMPLES.findall(out))
    return {"inputs": generated, "failed": outcomes.get("failed", 0) + outcomes.get("error", 0),
            "xfailed": outcomes.get("xfailed", 0), "peak_rss_mib": usage.ru_maxrss / 1024,
            "seconds": time.perf_counter() - start, "exit": proc.returncode}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated parser names (substring match)")
    parser.add_argument("--examples", type=int, default=10_000, help="examples per test")
    args = parser.parse_args()
    chosen = {name: tests for name, tests in PARSERS.items()
              if not args.only or any(o.strip() in name for o in args.only.split(","))}
    print(f"{'parser':<18} {'inputs':>8} {'failed':>7} {'xfail':>6} {'peak RSS':>10} "
          f"{'time':>8}", flush=True)
    bad = False
    for name, tests in chosen.items():
        r = run(tests, args.examples)
        bad |= bool(r["failed"]) or r["exit"] not in (0,)
        print(f"{name:<18} {r['inputs']:>8,} {r['failed']:>7} {r['xfailed']:>6} "
              f"{r['peak_rss_mib']:>7.0f} MiB {r['seconds']:>7.0f}s", flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
