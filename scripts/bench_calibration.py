"""Time the tutorial's calibration three ways on one generated night, side by side.

Pipelines, each in its own process so that wall time, CPU time and peak memory are its own:

* ``ophsh``: ``scripts/calibrate.oph`` on a fresh embedded store (import and export included);
  ``ophsh-written`` the same with virtual cubes off (``OPHSH_VIRTUAL=no``: every result written);
* ``numpy`` (float32: frames converted, then ``np.median``) and ``numpy-u16`` (``np.median``
  over the stacked unsigned 16-bit frames), plain numpy + astropy scripts;
* ``ccdproc`` (``combine`` with its defaults) and ``ccdproc-mem`` (``ImageFileCollection`` and
  ``combine(..., mem_limit=...)``), the same reduction with ccdproc.

Runs are interleaved (a slow moment of the machine hits every pipeline alike); the report gives
the median wall time with its range, CPU time, peak memory and bytes written, and the machine's
load average. All compute, per filter, (median science - master bias) / normalised (median
flat - master bias), and write one FITS file per filter; the script checks that they agree.

    python scripts/bench_calibration.py [--size 2048] [--bias 15] [--flats 9] [--science 3]
    python scripts/bench_calibration.py --scaling   # ophsh's memory: 60 vs 15 bias, 4096² vs 2048²
    python scripts/bench_calibration.py --pipelines ophsh,numpy --before old=../old/.venv/bin/python
    python scripts/bench_calibration.py --pipelines ophsh,ophsh-written
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
    left_mib: float = 0.0  # what the run left on disk: its store and its outputs
    low: float = 0.0  # fastest and slowest wall time of the runs this one stands for
    high: float = 0.0
    written_mib: float = 0.0  # what the run sent to the disk, as the kernel counted it
    outputs_mib: float = 0.0  # of which the calibrated images (the FITS files it exported)


def frames_by_kind(raw: Path) -> dict[tuple[str, str], list[Path]]:
    """The raw files grouped by (OBS_TYPE, FLT_ID), in name order."""
    groups: dict[tuple[str, str], list[Path]] = {}
    for path in sorted(raw.glob("*.fits")):
        header = fits.getheader(path)
        groups.setdefault((header["OBS_TYPE"], header["FLT_ID"]), []).append(path)
    return groups


def numpy_pipeline(raw: Path, out: Path, dtype=np.float32) -> None:
    """The reduction as a scientist writes it with numpy and astropy alone; the frames are
    converted to ``dtype`` first (None: medians of the stacked 16-bit frames as they are)."""
    groups = frames_by_kind(raw)

    def median(paths: list[Path]) -> np.ndarray:
        frames = [fits.getdata(p) for p in paths]
        if dtype is not None:
            frames = [f.astype(dtype) for f in frames]
        return np.median(np.stack(frames), axis=0)

    bias = median(groups["BIAS", "OPEN"])
    for filt in FILTERS:
        flat = median(groups["FLAT", filt]) - bias
        flat /= flat.mean()
        science = median(groups["OBJECT", filt]) - bias
        fits.writeto(out / f"calibrated_{filt}.fits", science / flat, overwrite=True)


def ccdproc_pipeline(raw: Path, out: Path, mem_limit: float | None = None) -> None:
    """The reduction with ccdproc, the astropy-affiliated package for CCD data: ``combine``
    with its defaults, or frames chosen with ``ImageFileCollection`` and combined within
    ``mem_limit`` bytes."""
    import warnings

    import ccdproc
    from astropy.wcs import FITSFixedWarning

    warnings.simplefilter("ignore", FITSFixedWarning)  # DATE-OBS -> MJD-OBS notes, per frame
    if mem_limit is None:
        groups = frames_by_kind(raw)
    else:
        collection = ccdproc.ImageFileCollection(raw, keywords=["OBS_TYPE", "FLT_ID"])
        groups = {}
        for row in collection.summary:
            key = (row["OBS_TYPE"], row["FLT_ID"])
            groups.setdefault(key, []).append(raw / row["file"])
    options = {"mem_limit": mem_limit} if mem_limit else {}

    def median(paths: list[Path]):
        return ccdproc.combine([str(p) for p in paths], method="median", unit="adu", **options)

    bias = median(groups["BIAS", "OPEN"])
    for filt in FILTERS:
        flat = ccdproc.subtract_bias(median(groups["FLAT", filt]), bias)
        science = ccdproc.subtract_bias(median(groups["OBJECT", filt]), bias)
        calibrated = ccdproc.flat_correct(science, flat)
        fits.writeto(out / f"calibrated_{filt}.fits", calibrated.data, overwrite=True)


PIPELINES = {
    "numpy": numpy_pipeline,
    "numpy-u16": lambda raw, out: numpy_pipeline(raw, out, dtype=None),
    "ccdproc": ccdproc_pipeline,
    "ccdproc-mem": lambda raw, out: ccdproc_pipeline(raw, out, mem_limit=256e6),
}


# Other installations of ophsh to time beside this one (--before NAME=PYTHON), by name.
OTHER_OPHSH: dict[str, str] = {}

# Pipelines that run this ophsh with other settings, and the environment that sets them.
VARIANTS: dict[str, dict[str, str]] = {"ophsh-written": {"OPHSH_VIRTUAL": "no"}}


def command(name: str, raw: Path, out: Path) -> list[str]:
    """The process that runs one pipeline: ophsh itself, or this script for the others.

    ``-P`` keeps the working directory off the module path, so that another installation runs
    its own ophsh, with the calibrate.oph of its own checkout when it has one (a venv inside it).
    """
    if name == "ophsh" or name in OTHER_OPHSH or name in VARIANTS:  # calibrate.oph, fresh store
        python = OTHER_OPHSH.get(name, sys.executable)
        own = Path(python).absolute().parents[2] / "scripts" / "calibrate.oph"
        script = own if name in OTHER_OPHSH and own.exists() else SCRIPTS / "calibrate.oph"
        store = str(out / "store")
        return [
            python,
            "-P",
            "-m",
            "ophsh",
            "-q",
            "--store",
            store,
            str(script),
            str(raw),
            str(out),
        ]
    return [sys.executable, __file__, "--run", name, str(raw), str(out)]


def measure(name: str, raw: Path, out: Path) -> Run:
    """Run one pipeline in a child process and read that child's own resource usage."""
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **VARIANTS.get(name, {})}
    return run_child(name, command(name, raw, out), env, out, "*.fits")


def run_child(name: str, argv: list[str], env: dict[str, str], out: Path, results: str) -> Run:
    """Run ``argv`` (writing into ``out``, its store in ``out/store``), and measure it: wall and
    CPU time, peak memory, bytes sent to the disk, what it left there, and the size of the
    files matching ``results``. The store is removed afterwards."""
    start = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, env=env)
    os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # ended, not yet reaped: read its io
    written = written_bytes(child.pid)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    if status:
        raise SystemExit(f"{name} pipeline failed (status {status})")
    left = stored_bytes(out) / (1 << 20)
    outputs = sum(f.stat().st_size for f in out.glob(results)) / (1 << 20)
    shutil.rmtree(out / "store", ignore_errors=True)
    cpu = usage.ru_utime + usage.ru_stime
    return Run(
        name, wall, cpu, usage.ru_maxrss / 1024, left, wall, wall, written / (1 << 20), outputs
    )


def written_bytes(pid: int) -> int:
    """Bytes a process sent towards the disk (``write_bytes`` of /proc/PID/io, less what was
    cancelled by deleting or truncating files before they reached it); 0 where not counted."""
    try:
        fields = dict(line.split(": ") for line in Path(f"/proc/{pid}/io").read_text().splitlines())
    except OSError:
        return 0
    return int(fields["write_bytes"]) - int(fields["cancelled_write_bytes"])


def stored_bytes(folder: Path) -> int:
    """Bytes of the files under ``folder``, each file once however many links it has; a file
    also linked from elsewhere (a raw file the store references in place) is the user's file
    under a second name, and is not counted."""
    seen: dict[tuple[int, int], list] = {}
    for path in folder.rglob("*"):
        if path.is_file():
            info = path.stat()
            seen.setdefault((info.st_dev, info.st_ino), [info.st_size, info.st_nlink, 0])[2] += 1
    return sum(size for size, links, found in seen.values() if found == links)


def disagreement(a: Path, b: Path) -> float:
    """The largest relative difference between two pipelines' calibrated images."""
    worst = 0.0
    for filt in FILTERS:
        x = fits.getdata(a / f"calibrated_{filt}.fits").astype(np.float64)
        y = fits.getdata(b / f"calibrated_{filt}.fits").astype(np.float64)
        worst = max(worst, float(np.nanmax(np.abs(x - y) / np.maximum(np.abs(y), 1e-12))))
    return worst


def median_run(runs: list[Run]) -> Run:
    """The run of median wall time with the range of all, and the largest peak memory seen."""
    ordered = sorted(runs, key=lambda r: r.wall)
    middle = ordered[len(ordered) // 2]
    return Run(
        middle.name,
        middle.wall,
        middle.cpu,
        max(r.peak_mib for r in runs),
        middle.left_mib,
        ordered[0].wall,
        ordered[-1].wall,
        middle.written_mib,
        middle.outputs_mib,
    )


def report(runs: list[Run]) -> None:
    """A table of the runs; the first one is compared with each of the others."""
    base = runs[0]
    print(f"load average (1, 5, 15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(
        f"{'pipeline':12} {'wall s':>7} {'(min-max)':>13} {'cpu s':>7} {'peak MiB':>9} "
        f"{'written MiB':>11} {'left MiB':>8} {'outputs':>7}  {base.name} takes"
    )
    for run in runs:
        ratio = (
            ""
            if run is base
            else (
                f"{base.wall / run.wall:.2f}x the wall, {base.cpu / max(run.cpu, 1e-9):.2f}x the "
                f"CPU of {run.name}"
            )
        )
        span = f"({run.low:.2f}-{run.high:.2f})"
        print(
            f"{run.name:12} {run.wall:7.2f} {span:>13} {run.cpu:7.2f} {run.peak_mib:9.0f} "
            f"{run.written_mib:11.0f} {run.left_mib:8.0f} {run.outputs_mib:7.0f}  {ratio}"
        )


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
            if name.startswith("ccdproc") and trial:
                continue  # ten times slower: one run says enough
            trials[name].append(measure(name, raw, work / name))
            os.sync()  # the next pipeline does not wait for this one's files to reach the disk
    runs = [median_run(trials[name]) for name in names]
    print(f"median of {args.repeat} interleaved runs (ccdproc: 1)")
    report(runs)
    outputs = sum(p.stat().st_size for p in (work / names[0]).glob("*.fits")) / (1 << 20)
    print(f"calibrated outputs: {outputs:.0f} MiB")
    names = [r.name for r in runs]
    for other in names[1:]:
        gap = disagreement(work / names[0], work / other)
        print(f"largest relative difference {names[0]} vs {other}: {gap:.2e}")


def scaling(args: argparse.Namespace, work: Path) -> None:
    """ophsh's peak memory as the frames grow (2048x2048, then 4096x4096) and as the bias frames
    go from 15 to 60."""
    print("ophsh: peak memory as frames grow in size and in number")
    for size, n_bias in ((args.size, 15), (args.size, 60), (2 * args.size, 15)):
        raw = work / f"raw{size}-{n_bias}"
        generate(raw, argparse.Namespace(**{**vars(args), "size": size}), n_bias)
        run = measure("ophsh", raw, work / f"ophsh{size}-{n_bias}")
        print(
            f"  {size}x{size}, {n_bias:2d} bias: wall {run.wall:6.2f} s, cpu {run.cpu:6.2f} s, "
            f"peak {run.peak_mib:5.0f} MiB, written {run.written_mib:5.0f} MiB "
            f"({run.outputs_mib:.0f} MiB of results)"
        )
        shutil.rmtree(raw)
        shutil.rmtree(work / f"ophsh{size}-{n_bias}", ignore_errors=True)


def add_before(parser: argparse.ArgumentParser) -> None:
    """The ``--before NAME=PYTHON`` option, which times another installation of ophsh."""
    parser.add_argument(
        "--before",
        action="append",
        default=[],
        metavar="NAME=PYTHON",
        help="also time the ophsh installed for PYTHON (e.g. an older checkout's venv) as NAME",
    )


def read_before(args: argparse.Namespace) -> dict[str, str]:
    """The installations ``--before`` names (name -> Python), added to ``args.pipelines``."""
    others = dict(item.partition("=")[::2] for item in args.before)
    args.pipelines = ",".join([args.pipelines, *others])
    return others


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=2048, help="frame side in pixels")
    parser.add_argument("--bias", type=int, default=15)
    parser.add_argument("--flats", type=int, default=9, help="flats per filter")
    parser.add_argument("--science", type=int, default=3, help="science frames per filter")
    parser.add_argument("--pipelines", default="ophsh,numpy,numpy-u16,ccdproc,ccdproc-mem")
    add_before(parser)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each fast pipeline")
    parser.add_argument(
        "--scaling", action="store_true", help="ophsh with 15 and 60 bias, and twice the size"
    )
    parser.add_argument("--dir", type=Path, help="work here instead of a temporary folder")
    parser.add_argument(
        "--run", nargs=3, metavar=("PIPELINE", "RAW", "OUT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    OTHER_OPHSH.update(read_before(args))
    if args.run:
        name, raw, out = args.run
        PIPELINES[name](Path(raw), Path(out))
        return 0
    if args.dir:
        args.dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        (scaling if args.scaling else bench)(args, Path(tmp))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
