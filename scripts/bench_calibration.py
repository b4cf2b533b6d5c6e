"""Time the tutorial's calibration three ways on one generated night, side by side.

Pipelines, each in its own process so that wall time, CPU time and peak memory are its own:

* ``ophsh``: ``scripts/calibrate.oph`` on a fresh embedded store (import and export included);
* ``numpy``: a plain numpy + astropy script (``np.median`` over a stacked array);
* ``ccdproc``: the same reduction with ccdproc (combine median, subtract_bias, flat_correct).

All three compute, per filter, (median science - master bias) / normalised (median flat - master
bias), and write one FITS file per filter; the script checks that they agree.

    python scripts/bench_calibration.py [--size 2048] [--bias 15] [--flats 9] [--science 3]
    python scripts/bench_calibration.py --scaling     # ophsh's peak memory, 15 vs 60 bias frames
    python scripts/bench_calibration.py --pipelines ophsh,numpy --before old=../old/.venv/bin/python
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.io import fits
from make_frames import FILTERS

SCRIPTS = Path(__file__).resolve().parent


@dataclass
class Run:
    name: str
    wall: float
    cpu: float
    peak_mib: float


def frames_by_kind(raw: Path) -> dict[tuple[str, str], list[Path]]:
    """The raw files grouped by (OBS_TYPE, FLT_ID), in name order."""
    groups: dict[tuple[str, str], list[Path]] = {}
    for path in sorted(raw.glob("*.fits")):
        header = fits.getheader(path)
        groups.setdefault((header["OBS_TYPE"], header["FLT_ID"]), []).append(path)
    return groups


def numpy_pipeline(raw: Path, out: Path) -> None:
    """The reduction as a scientist writes it with numpy and astropy alone."""
    groups = frames_by_kind(raw)

    def median(paths: list[Path]) -> np.ndarray:
        return np.median(np.stack([fits.getdata(p) for p in paths]), axis=0)

    bias = median(groups["BIAS", "OPEN"])
    for filt in FILTERS:
        flat = median(groups["FLAT", filt]) - bias
        flat /= flat.mean()
        science = median(groups["OBJECT", filt]) - bias
        fits.writeto(out / f"calibrated_{filt}.fits", science / flat, overwrite=True)


def ccdproc_pipeline(raw: Path, out: Path) -> None:
    """The reduction with ccdproc, the astropy-affiliated package for CCD data."""
    import warnings

    import ccdproc
    from astropy.wcs import FITSFixedWarning

    warnings.simplefilter("ignore", FITSFixedWarning)  # DATE-OBS -> MJD-OBS notes, per frame
    groups = frames_by_kind(raw)

    def median(paths: list[Path]):
        return ccdproc.combine([str(p) for p in paths], method="median", unit="adu")

    bias = median(groups["BIAS", "OPEN"])
    for filt in FILTERS:
        flat = ccdproc.subtract_bias(median(groups["FLAT", filt]), bias)
        science = ccdproc.subtract_bias(median(groups["OBJECT", filt]), bias)
        calibrated = ccdproc.flat_correct(science, flat)
        fits.writeto(out / f"calibrated_{filt}.fits", calibrated.data, overwrite=True)


PIPELINES = {"numpy": numpy_pipeline, "ccdproc": ccdproc_pipeline}


# Other installations of ophsh to time beside this one (--before NAME=PYTHON), by name.
OTHER_OPHSH: dict[str, str] = {}


def command(name: str, raw: Path, out: Path) -> list[str]:
    """The process that runs one pipeline: ophsh itself, or this script for the others."""
    if name == "ophsh" or name in OTHER_OPHSH:  # calibrate.oph on a fresh store, from the CLI
        store = out / "store"
        return [
            OTHER_OPHSH.get(name, sys.executable),
            "-m",
            "ophsh",
            "-q",
            "--store",
            str(store),
            str(SCRIPTS / "calibrate.oph"),
            str(raw),
            str(out),
        ]
    return [sys.executable, __file__, "--run", name, str(raw), str(out)]


def measure(name: str, raw: Path, out: Path) -> Run:
    """Run one pipeline in a child process and read that child's own resource usage."""
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    child = subprocess.Popen(command(name, raw, out), stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    if status:
        raise SystemExit(f"{name} pipeline failed (status {status})")
    shutil.rmtree(out / "store", ignore_errors=True)
    return Run(name, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def disagreement(a: Path, b: Path) -> float:
    """The largest relative difference between two pipelines' calibrated images."""
    worst = 0.0
    for filt in FILTERS:
        x = fits.getdata(a / f"calibrated_{filt}.fits").astype(np.float64)
        y = fits.getdata(b / f"calibrated_{filt}.fits").astype(np.float64)
        worst = max(worst, float(np.nanmax(np.abs(x - y) / np.maximum(np.abs(y), 1e-12))))
    return worst


def median_run(runs: list[Run]) -> Run:
    """The run of median wall time, with the largest peak memory seen in any of them."""
    ordered = sorted(runs, key=lambda r: r.wall)
    middle = ordered[len(ordered) // 2]
    return Run(middle.name, middle.wall, middle.cpu, max(r.peak_mib for r in runs))


def report(runs: list[Run]) -> None:
    """A table of the runs; the first one is compared with each of the others."""
    base = runs[0]
    print(f"{'pipeline':10} {'wall s':>8} {'cpu s':>8} {'peak MiB':>9}  {base.name} takes")
    for run in runs:
        ratio = "" if run is base else f"{base.wall / run.wall:.2f}x the time of {run.name}"
        print(f"{run.name:10} {run.wall:8.2f} {run.cpu:8.2f} {run.peak_mib:9.0f}  {ratio}")


def generate(raw: Path, args: argparse.Namespace, n_bias: int) -> int:
    """Write the night in a child process (so this process stays small: a child's peak memory
    as the kernel reports it starts from its parent's size), then flush it to the disk."""
    command = [
        sys.executable,
        str(SCRIPTS / "make_frames.py"),
        str(raw),
        f"--size={args.size}x{args.size}",
        f"--bias={n_bias}",
        f"--flats={args.flats}",
        f"--science={args.science}",
        "--seed=1",
    ]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    os.sync()
    return len(list(raw.glob("*.fits")))


def bench(args: argparse.Namespace, work: Path) -> None:
    raw = work / "raw"
    started = time.perf_counter()
    count = generate(raw, args, args.bias)
    print(
        f"night: {count} frames of {args.size}x{args.size} uint16 "
        f"({args.bias} bias, {len(FILTERS)}x{args.flats} flats, {len(FILTERS)}x{args.science} "
        f"science), generated in {time.perf_counter() - started:.1f} s"
    )
    names = args.pipelines.split(",")
    trials: dict[str, list[Run]] = {name: [] for name in names}
    for trial in range(args.repeat):
        for name in names:  # interleaved, so a slow moment of the machine hits all alike
            if name == "ccdproc" and trial:
                continue  # ten times slower: one run says enough
            trials[name].append(measure(name, raw, work / name))
            os.sync()  # the next pipeline does not wait for this one's files to reach the disk
    runs = [median_run(trials[name]) for name in names]
    print(f"median of {args.repeat} interleaved runs (ccdproc: 1)")
    report(runs)
    names = [r.name for r in runs]
    for other in names[1:]:
        gap = disagreement(work / names[0], work / other)
        print(f"largest relative difference {names[0]} vs {other}: {gap:.2e}")


def scaling(args: argparse.Namespace, work: Path) -> None:
    print(f"ophsh peak memory as the number of bias frames grows ({args.size}x{args.size}):")
    for n_bias in (15, 60):
        raw = work / f"raw{n_bias}"
        generate(raw, args, n_bias)
        run = measure("ophsh", raw, work / f"ophsh{n_bias}")
        print(f"  {n_bias:3d} bias: wall {run.wall:6.2f} s, peak {run.peak_mib:6.0f} MiB")
        shutil.rmtree(raw)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=2048, help="frame side in pixels")
    parser.add_argument("--bias", type=int, default=15)
    parser.add_argument("--flats", type=int, default=9, help="flats per filter")
    parser.add_argument("--science", type=int, default=3, help="science frames per filter")
    parser.add_argument("--pipelines", default="ophsh,numpy,ccdproc")
    parser.add_argument(
        "--before",
        action="append",
        default=[],
        metavar="NAME=PYTHON",
        help="also time the ophsh installed for PYTHON (e.g. an older checkout's venv) as NAME",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs of each fast pipeline")
    parser.add_argument("--scaling", action="store_true", help="ophsh with 15 and 60 bias")
    parser.add_argument("--dir", type=Path, help="work here instead of a temporary folder")
    parser.add_argument(
        "--run", nargs=3, metavar=("PIPELINE", "RAW", "OUT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    for item in args.before:
        name, _, python = item.partition("=")
        OTHER_OPHSH[name] = python
        args.pipelines = f"{args.pipelines},{name}"
    if args.run:
        name, raw, out = args.run
        PIPELINES[name](Path(raw), Path(out))
        return 0
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        (scaling if args.scaling else bench)(args, Path(tmp))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
