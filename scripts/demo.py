"""The main job: generate a night of raw frames and calibrate it with ophsh.

Everything happens under ``./demo`` (frames in ``demo/raw``, the embedded store in
``demo/store``, calibrated images in ``demo/calibrated``), through the real ``ophsh`` command
line, so what you see is what you get when you type the same commands yourself: first the
INDIGO tutorial's terminal section, then ``scripts/calibrate.oph`` (master bias, normalised
flats, science frames per filter). Run it again at any time: the store is made afresh.

    python scripts/demo.py [--dir demo] [--size 512x512]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
from make_frames import make_night

SCRIPTS = Path(__file__).resolve().parent


def ophsh(store: Path, *args: str, cwd: Path) -> None:
    """Run the real ``ophsh`` on ``store``; stop the demo if it fails."""
    command = [sys.executable, "-m", "ophsh", "--store", str(store), *args]
    print(f"\n$ ophsh --store {store.name} {' '.join(args)}", flush=True)
    done = subprocess.run(command, cwd=cwd)
    if done.returncode:
        raise SystemExit(f"demo: ophsh exited with status {done.returncode}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path("demo"), help="where to work")
    parser.add_argument("--size", default="512x512", help="frame size COLUMNSxROWS")
    args = parser.parse_args(argv)

    work = args.dir.resolve()
    raw, store = work / "raw", work / "store"
    cols, _, rows = args.size.partition("x")
    shape = (int(rows or cols), int(cols))
    if raw.exists():
        shutil.rmtree(raw)
    frames = make_night(raw, shape=shape, n_bias=5, n_flats=3, n_science=2)
    print(f"Generated {len(frames)} raw frames ({shape[1]}x{shape[0]}, uint16) in {raw}")
    if store.exists():
        shutil.rmtree(store)

    ophsh(store, str(SCRIPTS / "tutorial_terminal.oph"), "raw", cwd=work)
    calibrated = work / "calibrated"
    if calibrated.exists():
        shutil.rmtree(calibrated)
    ophsh(store, "-q", str(SCRIPTS / "calibrate.oph"), "raw", "calibrated", cwd=work)
    report(calibrated)
    print(
        f"\nThe store is {store}. Try it yourself:\n"
        f"  cd {work} && {Path(sys.executable).parent / 'ophsh'} --store store"
    )
    return 0


def report(calibrated: Path) -> None:
    """Where the calibrated images are, a few numbers about each, and how to look at them."""
    from astropy.io import fits

    print(f"\nCalibrated images in {calibrated}:")
    for path in sorted(calibrated.glob("*.fits")):
        data = fits.getdata(path)
        print(
            f"  {path.name:28} {data.shape[1]}x{data.shape[0]}  median {np.nanmedian(data):10.4f}"
            f"  max {np.nanmax(data):10.4f}"
        )
    example = calibrated / "calibrated_V_JOHN_11.fits"
    print(
        "\nLook at them with SAOImage DS9 or any FITS viewer, e.g.\n"
        f"  ds9 -zscale {example}\n"
        "or in Python:\n"
        f"  from astropy.io import fits; fits.getdata('{example}')\n"
        "Each file's header keeps the frame's metadata and, as HISTORY, the commands that made it."
    )


if __name__ == "__main__":
    raise SystemExit(main())
