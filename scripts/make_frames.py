"""Write a night of raw CCD frames as FITS (unsigned 16-bit, named and headed like the INDIGO
tutorial's frames; see ``ophsh.tutorial.frames`` for what is in them).

Usage::

    python scripts/make_frames.py OUT_DIR [--size 512x512] [--bias 15] [--flats 9] [--science 3]

The generator lives in ``ophsh.tutorial.frames`` (the guided course uses it too); its names are
re-exported here for the tests, the demo and the benchmarks.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ophsh.tutorial.frames import (  # noqa: F401  (re-exported for the tests and benchmarks)
    FILTERS,
    Camera,
    Frame,
    camera,
    expose,
    galaxy,
    header,
    make_night,
    plan,
)


def _shape(text: str) -> tuple[int, int]:
    cols, _, rows = text.lower().partition("x")
    return int(rows or cols), int(cols)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write a night of raw CCD frames as FITS.")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--size", type=_shape, default=(256, 256), help="COLUMNSxROWS")
    parser.add_argument("--bias", type=int, default=5, help="number of bias frames")
    parser.add_argument("--flats", type=int, default=3, help="flats per filter")
    parser.add_argument("--science", type=int, default=2, help="science frames per filter")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    paths = make_night(
        args.out_dir,
        shape=args.size,
        n_bias=args.bias,
        n_flats=args.flats,
        n_science=args.science,
        seed=args.seed,
    )
    print(f"wrote {len(paths)} frames to {args.out_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
