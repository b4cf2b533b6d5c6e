"""Time a climate workload several ways on one generated file, side by side: daily sea surface
temperature on a 1-degree grid to monthly means and a monthly climatology.

Pipelines, each in its own process so that wall time, CPU time and peak memory are its own:

* ``ophsh``: ``scripts/climate.oph`` through the real ``ophsh`` on a fresh embedded store
  (oph_importnc in the file's order, oph_aggregate2 concept_level=M, the monthly file imported
  again with time implicit, oph_apply with the oph_reduce2 primitive, two oph_exportnc2), within
  the default ``OPHSH_MEMORY_MB`` budget; ``ophsh-64MB`` the same within 64 MB;
* ``xarray``: ``ds.resample(time="MS").mean()`` then ``groupby("time.month").mean()``, each
  written with ``to_netcdf``; ``xarray+dask`` the same on a dataset opened in chunks of a year
  (only when dask is installed);
* ``numpy``: a plain netCDF4 + numpy script (the whole variable read at once, one ``nanmean``
  per month, the years of each calendar month averaged).

Runs are interleaved (a slow moment of the machine hits every pipeline alike); the report gives
the median wall time with its range, CPU time, peak memory and what each run left on disk, the
machine's load average, and the largest differences between the pipelines' results.

The daily file is classic NetCDF with tos in one piece (``--file contiguous``, the default),
NetCDF-4 in chunks of a day (``--file chunked``), or the same compressed as CMOR writes CMIP
files (``--file compressed``: zlib level 1 with the shuffle filter).

    python scripts/bench_climate.py [--years 30] [--repeat 3] [--file contiguous|chunked|compressed]
    python scripts/bench_climate.py --years 2 --repeat 1      # a quick run
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from bench_calibration import Run, add_before, median_run, read_before, report, run_child

SCRIPTS = Path(__file__).resolve().parent
MEASURE = "tos"
OUTPUTS = ("monthly", "climatology")
# How the daily file is written: classic NetCDF with time of fixed size (tos in one piece, as
# many archives keep daily files), NetCDF-4 with time unlimited (tos in chunks), or NetCDF-4
# compressed as CMOR writes CMIP files (zlib level 1 and shuffle, a chunk per day)
FILES = {
    "contiguous": ["--format=NETCDF3_64BIT_OFFSET", "--fixed-time"],
    "chunked": ["--format=NETCDF4"],
    "compressed": ["--format=NETCDF4", "--deflate=1"],
}
BUDGETS = {"ophsh": None, "ophsh-64MB": "64"}  # OPHSH_MEMORY_MB of each ophsh run (None: default)
# Other installations of ophsh to time beside this one (--before NAME=PYTHON), by name.
OTHER_OPHSH: dict[str, str] = {}


def xarray_pipeline(source: Path, out: Path, chunks: dict | None = None) -> None:
    """The workload as written with xarray (and dask when ``chunks`` are given)."""
    import xarray as xr

    with xr.open_dataset(source, chunks=chunks) as ds:
        ds.encoding.pop("unlimited_dims", None)  # the climatology has no time dimension
        monthly = ds[[MEASURE]].resample(time="MS").mean()
        if chunks is not None:
            monthly = monthly.compute()  # the climatology is made from it: compute it once
        monthly.to_netcdf(out / "monthly.nc")
        monthly.groupby("time.month").mean().to_netcdf(out / "climatology.nc")


def numpy_pipeline(source: Path, out: Path) -> None:
    """The workload as a scientist writes it with netCDF4 and numpy alone."""
    import cftime
    import netCDF4

    with netCDF4.Dataset(source) as ds:
        time_var = ds["time"]
        dates = cftime.num2date(time_var[:], time_var.units, time_var.calendar)
        months = np.array([d.year * 12 + d.month - 1 for d in dates])
        data = ds[MEASURE][:].filled(np.nan)  # the fill value becomes NaN
        lat, lon = ds["lat"][:], ds["lon"][:]
    starts = np.flatnonzero(np.diff(months, prepend=-1))
    stops = np.append(starts[1:], len(months))
    with warnings.catch_warnings():  # land: every day missing, a NaN mean
        warnings.simplefilter("ignore", RuntimeWarning)
        monthly = np.stack(
            [np.nanmean(data[a:b], axis=0) for a, b in zip(starts, stops, strict=True)]
        )
    calendar_month = months[starts] % 12
    climatology = np.stack([monthly[calendar_month == m].mean(axis=0) for m in range(12)])
    for name, values in (("monthly", monthly), ("climatology", climatology)):
        with netCDF4.Dataset(out / f"{name}.nc", "w") as ds:
            ds.createDimension("time", len(values))
            ds.createDimension("lat", len(lat))
            ds.createDimension("lon", len(lon))
            ds.createVariable("lat", "f4", ("lat",))[:] = lat
            ds.createVariable("lon", "f4", ("lon",))[:] = lon
            var = ds.createVariable(MEASURE, "f4", ("time", "lat", "lon"), fill_value=1e20)
            var[:] = np.ma.masked_invalid(values)


PIPELINES = {
    "numpy": numpy_pipeline,
    "xarray": xarray_pipeline,
    "xarray+dask": lambda source, out: xarray_pipeline(source, out, chunks={"time": 365}),
}


def command(name: str, source: Path, out: Path) -> tuple[list[str], dict[str, str]]:
    """The process that runs one pipeline, and its environment."""
    env = dict(os.environ)
    if name in BUDGETS or name in OTHER_OPHSH:
        env.pop("OPHSH_MEMORY_MB", None)
        if BUDGETS.get(name):
            env["OPHSH_MEMORY_MB"] = BUDGETS[name]
        store = str(out / "store")
        script = str(SCRIPTS / "climate.oph")
        return [
            OTHER_OPHSH.get(name, sys.executable),
            "-P",  # another installation runs its own ophsh, not this checkout's
            "-m",
            "ophsh",
            "-q",
            "--store",
            store,
            script,
            str(source),
            str(out),
        ], env
    return [sys.executable, __file__, "--run", name, str(source), str(out)], env


def measure(name: str, source: Path, out: Path) -> Run:
    """Run one pipeline in a child process and read that child's own resource usage."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    argv, env = command(name, source, out)
    return run_child(name, argv, env, out, "*.nc")


def result(folder: Path, name: str) -> np.ndarray:
    """One pipeline's output as (time, lat, lon) float64, missing values as NaN, whatever
    order its file gives the dimensions in."""
    import netCDF4

    with netCDF4.Dataset(folder / f"{name}.nc") as ds:
        var = ds[MEASURE]
        values = var[:].astype(np.float64).filled(np.nan)
        time_name = next(d for d in var.dimensions if d not in ("lat", "lon"))
        order = [var.dimensions.index(d) for d in (time_name, "lat", "lon")]
    return np.transpose(values, order)


def disagreement(a: Path, b: Path) -> float:
    """The largest relative difference between two pipelines' outputs; missing values must be
    missing in both."""
    worst = 0.0
    for name in OUTPUTS:
        x, y = result(a, name), result(b, name)
        if x.shape != y.shape:
            raise SystemExit(f"{name}: {a.name} gives shape {x.shape}, {b.name} {y.shape}")
        if not np.array_equal(np.isnan(x), np.isnan(y)):
            raise SystemExit(f"{name}: {a.name} and {b.name} miss different values")
        gap = np.abs(x - y) / np.maximum(np.abs(y), 1e-12)
        worst = max(worst, float(np.nanmax(gap)))
    return worst


def generate(path: Path, args: argparse.Namespace) -> None:
    """Write the daily file in a child process (this one stays small), then flush it."""
    command = [
        sys.executable,
        str(SCRIPTS / "make_climate.py"),
        str(path),
        "--daily",
        f"--years={args.years}",
        f"--grid={args.grid}",
        f"--calendar={args.calendar}",
        "--seed=1",
        *FILES[args.file],
    ]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    os.sync()


def bench(args: argparse.Namespace, work: Path) -> None:
    source = work / "daily.nc"
    started = time.perf_counter()
    generate(source, args)
    size = source.stat().st_size / (1 << 20)
    print(
        f"data: {args.years} years of daily {MEASURE} on a {args.grid:g}-degree grid "
        f"({args.calendar}, 5% of ocean values missing), {args.file} {size:.0f} MiB, "
        "generated in "
        f"{time.perf_counter() - started:.1f} s"
    )
    names = args.pipelines.split(",")
    if "xarray+dask" in names and importlib.util.find_spec("dask") is None:
        print("dask is not installed: no xarray+dask run")
        names.remove("xarray+dask")
    trials: dict[str, list[Run]] = {name: [] for name in names}
    for _ in range(args.repeat):
        for name in names:  # interleaved, so a slow moment of the machine hits all alike
            trials[name].append(measure(name, source, work / name))
            os.sync()  # the next pipeline does not wait for this one's files to reach the disk
    runs = [median_run(trials[name]) for name in names]
    budget = os.environ.get("OPHSH_MEMORY_MB") or "256"
    print(
        f"median of {args.repeat} interleaved runs; ophsh within OPHSH_MEMORY_MB={budget}, "
        "ophsh-64MB within 64"
    )
    report(runs)
    for other in names[1:]:
        gap = disagreement(work / names[0], work / other)
        print(f"largest relative difference {names[0]} vs {other}: {gap:.2e}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", type=int, default=30, help="years of daily data (30)")
    parser.add_argument("--grid", type=float, default=1.0, help="grid step in degrees (1)")
    parser.add_argument("--calendar", default="noleap", help="calendar of the data (noleap)")
    parser.add_argument(
        "--file", choices=tuple(FILES), default="contiguous", help="how tos is stored"
    )
    parser.add_argument("--pipelines", default="ophsh,ophsh-64MB,xarray,xarray+dask,numpy")
    add_before(parser)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each pipeline")
    parser.add_argument("--dir", type=Path, help="work here instead of a temporary folder")
    parser.add_argument(
        "--run", nargs=3, metavar=("PIPELINE", "SOURCE", "OUT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    OTHER_OPHSH.update(read_before(args))
    if args.run:
        name, source, out = args.run
        PIPELINES[name](Path(source), Path(out))
        return 0
    known = {*PIPELINES, *BUDGETS, *OTHER_OPHSH}
    unknown = [n for n in args.pipelines.split(",") if n not in known]
    if unknown:
        parser.error(f"unknown pipeline(s) {', '.join(unknown)}")
    if args.dir:
        args.dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        bench(args, Path(tmp))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
