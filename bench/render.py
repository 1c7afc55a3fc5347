"""Avatar render cost per state and screen size (dummy SDL driver). Prints numbers; not a test.

    python bench/render.py [--seconds 20] [--sizes 1920x1080,1280x720] [--pack DIR]

Each state is driven the way the daemon drives it (events at their real cadence, a frame
every 1/30 s of simulated time), so the figures include skipped frames and partial redraws.
"frame" = state.tick + Renderer.draw + display update (the work per 30 fps tick).
CPU % of one core at 30 fps = process CPU time / simulated wall time. "cpu ms" is the
thread's CPU time per frame: unlike the wall-clock columns it barely moves when other jobs
share the machine, so use it to compare two versions of the renderer.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

from vitad.avatar import renderer as rmod
from vitad.avatar.screenshot import parse_size, preview_state
from vitad.avatar.state import AvatarState
from vitad.config.schema import Config
from vitad.events import MouthLevel, SpeakingSentence, Transcript

FPS = 30
STATES = ("idle", "listening", "thinking", "speaking", "attract", "night", "degraded")
SENTENCES = (
    "The big washer is 6 dollars 50.",
    "A cycle takes about 40 minutes.",
    "You can pay with coins, cards or a phone tap.",
)
WORDS = ["how", "much", "is", "the", "big", "washer", "for", "a", "full", "load", "please"]


def feeder(state_name: str):
    """Events to publish between two frames, like the pipeline would."""
    chunk = 0.02

    def feed(st: AvatarState, t0: float, t1: float) -> None:
        if state_name == "speaking":
            k = math.ceil(t0 / chunk)
            while k * chunk < t1:
                tt = k * chunk
                level = abs(math.sin(2 * math.pi * 2.2 * tt)) * 0.85
                st.on_event(MouthLevel(t=tt, level=level))
                k += 1
            if int(t1 / 3.0) != int(t0 / 3.0):
                text = SENTENCES[int(t1 / 3.0) % len(SENTENCES)]
                st.on_event(SpeakingSentence(t=t1, turn_id="b", text=text))
        elif state_name == "listening" and int(t1 / 0.4) != int(t0 / 0.4):
            n = 1 + int(t1 / 0.4) % len(WORDS)
            st.on_event(Transcript(t=t1, turn_id="b", text=" ".join(WORDS[:n]), final=False))

    return feed


def bench(config: Config, state_name: str, size: tuple[int, int], seconds: float) -> dict:
    screen = rmod.open_display(config.avatar.model_copy(update={"size": f"{size[0]}x{size[1]}"}))
    assert screen is not None and screen.get_size() == size
    r = rmod.Renderer(screen, config, "Hey Jarvis")
    st = preview_state(config.avatar, state_name, settle=False)
    st.force_blink(st.now + 0.7)
    feed = feeder(state_name)
    t = st.now
    st.tick(t)
    rmod.present(r.draw(st))  # first frame builds sprites and backgrounds: not measured
    times = []
    cpu_times = []
    frames = int(seconds * FPS)
    cpu0 = time.process_time()
    for _ in range(frames):
        t1 = t + 1 / FPS
        feed(st, t, t1)
        start, start_cpu = time.perf_counter(), time.thread_time()
        st.tick(t1)
        rmod.present(r.draw(st))
        times.append((time.perf_counter() - start) * 1000)
        cpu_times.append((time.thread_time() - start_cpu) * 1000)
        t = t1
    cpu = time.process_time() - cpu0
    rmod.close_display()
    times.sort()
    return {
        "mean": statistics.fmean(times),
        "cpu_ms": statistics.fmean(cpu_times),
        "p95": times[int(0.95 * (len(times) - 1))],
        "max": times[-1],
        "cpu": 100 * cpu / seconds,
        "drawn": r.frames_drawn - 1,  # frames that changed pixels (the rest were skipped)
        "frames": frames,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0, help="simulated seconds per state")
    ap.add_argument("--sizes", default="1920x1080,1280x720")
    ap.add_argument("--states", default=",".join(STATES))
    ap.add_argument("--repeat", type=int, default=1,
                    help="runs per state; the one with the least CPU per frame is shown (the "
                         "least disturbed by other jobs on a shared machine)")
    ap.add_argument("--pack", type=Path, default=None, help="avatar pack folder (default: bundled)")
    args = ap.parse_args()
    config = Config()
    if args.pack is not None:
        config = Config(avatar=config.avatar.model_copy(update={"pack": args.pack.resolve()}))
    sizes = [parse_size(s) for s in args.sizes.split(",")]
    print(f"SDL driver: {os.environ['SDL_VIDEODRIVER']}, {args.seconds:g} s per state at {FPS} fps")
    print(
        f"{'size':>10} {'state':>10} {'mean ms':>8} {'p95 ms':>7} {'max ms':>7} "
        f"{'cpu ms':>7} {'CPU %':>6} {'drawn':>9}"
    )
    for size in sizes:
        for name in args.states.split(","):
            m = min((bench(config, name, size, args.seconds) for _ in range(args.repeat)),
                    key=lambda run: run["cpu_ms"])
            print(
                f"{size[0]}x{size[1]:<5} {name:>10} {m['mean']:8.2f} {m['p95']:7.2f} "
                f"{m['max']:7.2f} {m['cpu_ms']:7.3f} {m['cpu']:6.1f} {m['drawn']:>4}/{m['frames']}"
            )


if __name__ == "__main__":
    main()
