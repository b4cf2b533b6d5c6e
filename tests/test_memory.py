"""Exports and reductions of cubes larger than the memory budget stay within it.

Each measured command runs in a process of its own (the real ``ophsh -e``), and its peak memory
(``wait4``'s rusage) is compared with that of the same command on a tiny cube: the difference is
what the large cube cost, which must stay below ``OPHSH_MEMORY_MB``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import netCDF4
import numpy as np
import pytest
from astropy.io import fits
from factories import write_fits
from make_climate import make_climate

BUDGET_MB = 16


def ophsh_ok(line: str, cwd: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ophsh", "-q", "-e", line], cwd=cwd, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


# Runs a command and prints its peak memory in KiB (-1 if it failed). A process starts with the
# peak of the one that forked it, so the command is started from this small one, not from pytest.
LAUNCHER = (
    "import os, subprocess, sys\n"
    "child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)\n"
    "_, status, usage = os.wait4(child.pid, 0)\n"
    "print(-1 if status else usage.ru_maxrss)\n"
)


def peak_mib(line: str, cwd: Path) -> float:
    """Run ``ophsh -e line`` with a budget of BUDGET_MB and return its peak resident memory."""
    env = {**os.environ, "OPHSH_MEMORY_MB": str(BUDGET_MB), "OPHSH_THREADS": "2"}
    command = [sys.executable, "-c", LAUNCHER, sys.executable, "-m", "ophsh", "-q", "-e", line]
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    peak = int(done.stdout)
    assert peak > 0, f"{line!r} failed: {done.stderr}"
    return peak / 1024


def extra_cost(tmp_path: Path, frames: dict[str, list[np.ndarray]], line: str) -> float:
    """What ``line`` costs on the cube made of the frames named "large" beyond what it costs on
    the one named "tiny" (one frame: imported; several: imported and stacked along z)."""
    peaks = {}
    for name, arrays in frames.items():
        for i, data in enumerate(arrays):
            write_fits(tmp_path / name / f"f{i}.fits", data, OBJECT=name)
        ophsh_ok(
            f"oph_createcontainer container={name};dim=NAXIS2|NAXIS1;dim_type=int|int", tmp_path
        )
        ophsh_ok(f"oph_importfits src_path=[path={name};file=*.fits];container={name}", tmp_path)
        if len(arrays) > 1:
            ophsh_ok(f"oph_mergecubes2 cubes=[container={name}];dim=z", tmp_path)
        peaks[name] = peak_mib(line.format(name=name), tmp_path)
    return peaks["large"] - peaks["tiny"]


@pytest.mark.parametrize("dtype", [np.uint16, np.float64])
def test_a_fits_export_of_a_cube_four_times_the_budget_stays_within_it(tmp_path, dtype):
    rows = 4 * (BUDGET_MB << 20) // (4096 * np.dtype(dtype).itemsize)
    large = np.random.default_rng(1).integers(0, 65535, size=(rows, 4096)).astype(dtype)
    line = "oph_exportfits output_path=out;output_name={name};export_metadata=yes"
    cost = extra_cost(tmp_path, {"tiny": [large[:4, :4]], "large": [large]}, line)
    with fits.open(tmp_path / "out" / "large.fits") as hdul:
        assert hdul[0].header["OBJECT"] == "large"
        assert np.array_equal(hdul[0].data, large)
    assert cost < BUDGET_MB, f"the export took {cost:.1f} MiB more than for a tiny cube"


def test_a_netcdf_export_of_a_cube_four_times_the_budget_stays_within_it(tmp_path):
    large = np.random.default_rng(2).normal(size=(4 * (BUDGET_MB << 20) // (4096 * 8), 4096))
    line = "oph_exportnc output_path=out;output_name={name}"
    cost = extra_cost(tmp_path, {"tiny": [large[:4, :4]], "large": [large]}, line)
    with netCDF4.Dataset(tmp_path / "out" / "large.nc") as ds:
        assert np.array_equal(ds.variables["image"][:], large)
    assert cost < BUDGET_MB, f"the export took {cost:.1f} MiB more than for a tiny cube"


def test_the_median_of_frames_four_times_the_budget_stays_within_it(tmp_path):
    rng = np.random.default_rng(3)
    rows = (BUDGET_MB << 20) // (4096 * 2)  # five frames of a quarter of the budget each
    large = [rng.integers(0, 65535, size=(rows, 4096), dtype=np.uint16) for _ in range(5)]
    line = "oph_reduce2 operation=quantile;order=0.5;dim=z"
    cost = extra_cost(tmp_path, {"tiny": [f[:4, :4] for f in large], "large": large}, line)
    assert cost < BUDGET_MB, f"the median took {cost:.1f} MiB more than for tiny frames"
    ophsh_ok("oph_exportfits output_path=out;output_name=median", tmp_path)
    median = fits.getdata(tmp_path / "out" / "median.fits")
    assert np.array_equal(median, np.median(np.stack(large), axis=0))


def test_monthly_means_of_a_chunked_netcdf_four_times_the_budget_stay_within_it(tmp_path):
    """The daily variable is referenced in place and read through netCDF4; a month of it (7.8
    MB of float32) does not fit the budget's blocks and is read a few days at a time."""
    peaks, paths = {}, {}
    for name, grid in (("tiny", 30.0), ("large", 1.0)):  # 94 MiB of float32 for the large one
        paths[name] = make_climate(tmp_path / f"{name}.nc", years=1, grid=grid, daily=True)
        line = f"oph_importnc src_path={name}.nc;measure=tos;container={name}"
        ophsh_ok(line, tmp_path)
        line = "oph_aggregate2 dim=time;concept_level=M;operation=avg"
        peaks[name] = peak_mib(line, tmp_path)
    cost = peaks["large"] - peaks["tiny"]
    assert cost < BUDGET_MB, f"the monthly means took {cost:.1f} MiB more than for a tiny file"
    ophsh_ok("oph_exportnc output_path=out;output_name=monthly", tmp_path)
    with netCDF4.Dataset(paths["large"]) as ds:
        daily = ds["tos"][:].filled(np.nan)
    with netCDF4.Dataset(tmp_path / "out" / "monthly.nc") as ds:
        monthly = ds["tos"][:].filled(np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # land: no value in the month
        expected = np.stack([np.nanmean(daily[m * 30 : m * 30 + 30], axis=0) for m in range(12)])
    np.testing.assert_allclose(monthly, expected, rtol=1e-6)
