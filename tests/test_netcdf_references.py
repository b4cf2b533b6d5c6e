"""A NetCDF variable imported whole in the file's order is referenced in place (a link to the
file, nothing copied), like FITS frames: read with pread when it lies in one piece (classic
NetCDF), through netCDF4 when it is chunked, compressed or interleaved. Other imports are
copied. Values are checked against netCDF4's own reading; the climate script's results against
xarray."""

from __future__ import annotations

import os

import netCDF4
import numpy as np
import pytest
import xarray as xr
from conftest import SCRIPTS, ophsh
from make_climate import make_climate


def imported(run, shell, line: str):
    pid = run(line).reply.document.output_cube
    store = shell.backend.store
    cube = store.cube_by_pid(pid)
    return store, cube, store.arrays.frame(cube.data_file)


def filled(path, name: str = "tos") -> np.ndarray:
    """The variable as netCDF4 reads it, missing values as NaN."""
    with netCDF4.Dataset(path) as ds:
        return np.ma.filled(ds[name][:].astype(np.float32), np.nan)


@pytest.mark.parametrize("fmt", ["NETCDF3_CLASSIC", "NETCDF3_64BIT_OFFSET"])
def test_a_classic_variable_in_one_piece_is_referenced_not_copied(run, shell, data_dir, fmt):
    path = make_climate(data_dir / "day.nc", years=1, grid=30, daily=True, fmt=fmt, unlimited=False)
    store, cube, frame = imported(run, shell, "oph_importnc src_path=day.nc;measure=tos")
    assert frame.stat().st_ino == path.stat().st_ino  # the user's file under a second name
    got = store.data(cube)
    expected = filled(path)
    assert got.shape == expected.shape == (360, 6, 12) and got.dtype == np.float32
    assert np.isnan(got).any() and not np.isnan(got).all()  # land and gaps are missing
    np.testing.assert_array_equal(got, expected)
    # reading it again after the user deleted the file: the store's link keeps it
    path.unlink()
    np.testing.assert_array_equal(store.data(cube), expected)


def test_the_only_record_variable_is_referenced_too(run, shell, data_dir):
    path = data_dir / "rec.nc"
    values = np.arange(5 * 4 * 3, dtype=np.int16).reshape(5, 4, 3)
    with netCDF4.Dataset(path, "w", format="NETCDF3_CLASSIC") as ds:
        for name, size in (("t", None), ("y", 4), ("x", 3)):
            ds.createDimension(name, size)
        ds.createVariable("v", "i2", ("t", "y", "x"))[:] = values
    store, cube, frame = imported(run, shell, "oph_importnc src_path=rec.nc;measure=v")
    assert frame.stat().st_ino == path.stat().st_ino
    np.testing.assert_array_equal(store.data(cube), values)


@pytest.mark.parametrize(
    "fmt",
    [
        "NETCDF4",  # HDF5, chunked along the unlimited time
        "NETCDF4_CLASSIC",
        "NETCDF3_CLASSIC",  # tos and time interleave, record by record
    ],
)
def test_a_chunked_or_interleaved_variable_is_referenced_too(run, shell, data_dir, fmt):
    path = make_climate(data_dir / "day.nc", years=1, grid=30, daily=True, fmt=fmt)
    store, cube, frame = imported(run, shell, "oph_importnc src_path=day.nc;measure=tos")
    assert frame.stat().st_ino == path.stat().st_ino
    expected = filled(path)
    path.unlink()
    got = store.data(cube)
    assert got.shape == (360, 6, 12) and np.isnan(got).any() and not np.isnan(got).all()
    np.testing.assert_array_equal(got, expected)
    # read block by block by an operator, and merged with itself into a stack of references
    monthly = run("oph_aggregate2 dim=time;concept_level=M;operation=max").reply.document
    months = store.data(store.cube_by_pid(monthly.output_cube))
    want = np.fmax.reduce(expected.reshape(12, 30, 6, 12), axis=1)  # NaN only where all are
    np.testing.assert_array_equal(months, want)
    both = run(f"oph_mergecubes2 cubes={cube.pid}|{cube.pid}").reply.document.output_cube
    np.testing.assert_array_equal(
        store.data(store.cube_by_pid(both)), np.stack([expected, expected], axis=-1)
    )


@pytest.mark.parametrize(
    ("deflate", "layout"),
    [
        (1, ""),  # compressed, as CMOR writes CMIP files: decompressed once, not at every read
        (0, ";exp_dim=lat|lon;imp_dim=time"),  # another order
        (0, ";subset_dims=time;subset_filter=3:40"),  # a part
    ],
)
def test_other_imports_are_copied(run, shell, data_dir, deflate, layout):
    path = make_climate(data_dir / "day.nc", years=1, grid=30, daily=True, deflate=deflate)
    store, cube, frame = imported(run, shell, f"oph_importnc src_path=day.nc;measure=tos{layout}")
    assert frame.suffix == ".npy" and frame.stat().st_ino != path.stat().st_ino
    expected = filled(path)
    if "imp_dim" in layout:
        expected = expected.transpose(1, 2, 0)
    if "subset" in layout:
        expected = expected[3:41]
    np.testing.assert_array_equal(store.data(cube), expected)


@pytest.mark.parametrize("fmt", ["NETCDF3_CLASSIC", "NETCDF4"])
def test_a_referenced_file_edited_in_place_is_refused_by_name(run, shell, data_dir, fmt):
    path = make_climate(data_dir / "day.nc", years=1, grid=30, daily=True, fmt=fmt, unlimited=False)
    _, cube, _ = imported(run, shell, "oph_importnc src_path=day.nc;measure=tos")
    with netCDF4.Dataset(path, "a") as ds:
        ds["tos"][0, 0, 0] = 3.0
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))
    outcome = shell.run_line(f"oph_aggregate2 cube={cube.pid};operation=avg;dim=time;")
    assert not outcome.ok
    assert outcome.message.startswith(f"cube {cube.pid} cannot be read: the file it references")
    assert str(path) in outcome.message and "changed in place" in outcome.message


def checksummed(path, steps: int = 8) -> np.ndarray:
    """A NetCDF-4 variable v(t, y, x) in chunks of one step, each with its Fletcher-32 checksum
    (so a damaged chunk is noticed when read); returns the values."""
    values = (np.arange(steps * 4 * 5, dtype=np.float32) + 0.25).reshape(steps, 4, 5)
    with netCDF4.Dataset(path, "w", format="NETCDF4") as ds:
        for name, size in (("t", steps), ("y", 4), ("x", 5)):
            ds.createDimension(name, size)
        ds.createVariable("v", "f4", ("t", "y", "x"), chunksizes=(1, 4, 5), fletcher32=True)[:] = (
            values
        )
    return values


def damage(path, step: np.ndarray) -> None:
    """Flip a byte in the stored numbers of one step (found by their bytes: not compressed)."""
    data = bytearray(path.read_bytes())
    at = data.find(step.astype("<f4").tobytes())
    assert at > 0 and data.count(step.astype("<f4").tobytes()) == 1
    data[at + 9] ^= 0xFF
    path.write_bytes(bytes(data))


def test_a_damaged_last_chunk_is_refused_at_import_and_leaves_nothing(shell, run, data_dir):
    path = data_dir / "bad.nc"
    damage(path, checksummed(path)[-1])
    before = run("oph_list level=2").reply.document.grid("list").rows
    outcome = shell.run_line("oph_importnc src_path=bad.nc;measure=v")
    assert not outcome.ok and "cannot read variable 'v'" in outcome.message
    assert "\n" not in outcome.message.strip()
    assert run("oph_list level=2").reply.document.grid("list").rows == before
    assert not any((shell.backend.store.root / "data").iterdir())


def test_a_chunk_damaged_inside_is_reported_when_it_is_read(shell, run, data_dir):
    """Only the first and last steps are read at import (as lazily as xarray opens a file); a
    damaged chunk between them is one clear error when an operator reaches it."""
    path = data_dir / "bad.nc"
    damage(path, checksummed(path)[3])
    cube = run("oph_importnc src_path=bad.nc;measure=v").reply.document.output_cube
    before = run("oph_list level=2").reply.document.grid("list").rows
    outcome = shell.run_line(f"oph_reduce cube={cube};operation=sum")
    assert not outcome.ok
    assert outcome.message.startswith(f"cube {cube} cannot be read: cannot read variable 'v'")
    assert str(path) in outcome.message and "\n" not in outcome.message.strip()
    assert run("oph_list level=2").reply.document.grid("list").rows == before  # nothing half-made


def test_the_climate_script_gives_xarrays_monthly_means_and_climatology(tmp_path):
    """scripts/climate.oph through the real command line, within a small memory budget."""
    path = make_climate(
        tmp_path / "day.nc",
        years=3,
        grid=30,
        daily=True,
        calendar="noleap",
        fmt="NETCDF3_64BIT_OFFSET",
        unlimited=False,
    )
    out = tmp_path / "out"
    done = ophsh(
        "-q",
        "--store",
        str(tmp_path / "store"),
        str(SCRIPTS / "climate.oph"),
        str(path),
        str(out),
        env={"OPHSH_MEMORY_MB": "1"},
    )
    assert done.returncode == 0, done.stderr
    ds = xr.open_dataset(path, decode_times=xr.coders.CFDatetimeCoder(use_cftime=True))
    monthly = ds.tos.resample(time="MS").mean()
    climatology = monthly.groupby("time.month").mean()
    for name, expected in (("monthly", monthly), ("climatology", climatology)):
        with netCDF4.Dataset(out / f"{name}.nc") as result:
            var = result["tos"]
            got = np.ma.filled(var[:].astype(np.float64), np.nan)
            dims = var.dimensions
        order = [next(d for d in dims if d not in ("lat", "lon")), "lat", "lon"]
        got = np.transpose(got, [dims.index(d) for d in order])
        want = expected.transpose(expected.dims[0], "lat", "lon").values
        assert got.shape == want.shape == ((36 if name == "monthly" else 12), 6, 12)
        assert np.isnan(got).any() and not np.isnan(got).all()
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-5)
