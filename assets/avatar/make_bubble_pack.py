"""Generate the bundled "bubble" avatar pack from the code-drawn character (run once, commit).

The character used to be drawn in code at run time (vitad/avatar/renderer/bubble_body.py and
bubble_face.py); that code now only feeds this script, so the bundled pack looks exactly like
the old character and anyone can regenerate it::

    .venv/bin/python assets/avatar/make_bubble_pack.py            # -> assets/avatar/bubble/
    .venv/bin/python assets/avatar/make_bubble_pack.py --radius 512 --out /tmp/bubble-4k

``--body "#ff8800"`` and friends recolour it (any key of ``[avatar.theme]``), which is how an
operator gets a recoloured bubble: write it somewhere and point ``[avatar] pack`` at it.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

from vitad.avatar.renderer.bubble_pack import BUNDLED_RADIUS, write_bubble_pack
from vitad.config.avatar_settings import AvatarTheme

HERE = Path(__file__).resolve().parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=HERE / "bubble")
    ap.add_argument("--radius", type=int, default=BUNDLED_RADIUS,
                    help="pack pixels per character radius (default %(default)s)")
    for name in AvatarTheme.model_fields:
        ap.add_argument(f"--{name.replace('_', '-')}", dest=name, metavar="#RRGGBB")
    args = ap.parse_args()
    colours = {k: v for k in AvatarTheme.model_fields if (v := getattr(args, k)) is not None}
    files = write_bubble_pack(args.out, args.radius, AvatarTheme(**colours))
    total = sum(f.stat().st_size for f in files)
    print(f"{args.out}: {len(files)} files, {total / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
