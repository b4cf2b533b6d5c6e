"""Time reductions by concept level (oph_reduce2 on an oph_time dimension), checked against
xarray's resample on generated daily data with missing values, in several calendars."""

from __future__ import annotations

import itertools
import warnings

import netCDF4
import numpy as np
import pytest
import xarray as xr
from make_climate import make_climate

from ophsh.engine.model import TimeInfo
from ophsh.engine.time_groups import group_starts, group_values


def cube_array(backend, pid: str) -> np.ndarray:
    return np.asarray(backend.store.data(backend.store.cube_by_pid(pid)))


def dims_of(run, pid: str) -> tuple[dict, dict]:
    doc = run(f"oph_cubeschema cube={pid};level=2;show_time=yes;").reply.document
    info = {r[0]: r for r in doc.grid("cubeschema_diminfo").rows}
    values = {g.title: [r[1] for r in g.rows] for g in doc.grids("cubeschema_dimvalues")}
    return info, values


def rand_cube(run) -> str:
    """A 4 x 6 x 5 cube of random doubles: a and b explicit, c implicit."""
    run("oph_createcontainer container=g;dim=a|b|c;dim_type=int|int|int;")
    return run(
        "oph_randcube container=g;dim=a|b|c;dim_size=4|6|5;exp_ndim=2;nfrag=1;ntuple=24;"
        "measure=v;measure_type=double;"
    ).reply.document.output_cube


def import_daily(run, name: str) -> str:
    return run(
        f"oph_importnc2 src_path={name};measure=tos;exp_dim=lat|lon;imp_dim=time"
    ).reply.document.output_cube


@pytest.mark.parametrize("calendar", ["360_day", "noleap", "all_leap", "standard"])
def test_monthly_means_match_xarray_resample(run, backend, data_dir, calendar):
    path = make_climate(data_dir / "day.nc", years=2, grid=30, daily=True, calendar=calendar)
    pid = import_daily(run, "day.nc")
    out = run(f"oph_reduce2 cube={pid};operation=avg;concept_level=M;").reply.document.output_cube
    ds = xr.open_dataset(path, decode_times=xr.coders.CFDatetimeCoder(use_cftime=True))
    expected = ds.tos.resample(time="MS").mean().transpose("lat", "lon", "time").values
    got = cube_array(backend, out)
    assert got.shape == expected.shape == (6, 12, 24)
    assert np.isnan(got).any()  # land stays missing
    assert np.allclose(got, expected, rtol=1e-5, atol=1e-5, equal_nan=True)
    info, values = dims_of(run, out)
    assert info["time"][2:5] == ("24", "oph_time", "month")
    # each month's value lies halfway between its first and last day (noon)
    first = values["time"][0]
    assert first == ("1850-01-16 12:00:00" if calendar != "360_day" else "1850-01-16 00:00:00")


@pytest.mark.parametrize("budget", [None, 4096])
def test_climatology_of_monthly_means_matches_xarray_groupby_month(
    shell, run, backend, data_dir, budget
):
    """scripts/climate.oph's recipe: monthly means, then oph_apply's oph_reduce2 primitive over
    the values 12 apart; with the default budget and with blocks of a row."""
    from ophsh.engine.settings import Settings

    if budget:
        shell.backend.service.settings = Settings(memory_bytes=budget, threads=2)
    path = make_climate(data_dir / "day.nc", years=3, grid=30, daily=True, calendar="noleap")
    pid = import_daily(run, "day.nc")
    run(f"oph_reduce2 cube={pid};operation=avg;concept_level=M;")
    query = "oph_reduce2(measure,'OPH_AVG',0,12)"
    out = run(f"oph_apply query={query};measure_type=auto").reply.document.output_cube
    ds = xr.open_dataset(path, decode_times=xr.coders.CFDatetimeCoder(use_cftime=True))
    monthly = ds.tos.resample(time="MS").mean()
    expected = monthly.groupby("time.month").mean().transpose("lat", "lon", "month").values
    got = cube_array(backend, out)
    assert got.shape == expected.shape == (6, 12, 12)
    assert np.isnan(got).any() and not np.isnan(got).all()  # land stays missing
    assert np.allclose(got, expected, rtol=1e-5, atol=1e-5, equal_nan=True)


def test_other_levels_and_operations_match_xarray(run, backend, data_dir):
    path = make_climate(data_dir / "day.nc", years=3, grid=45, daily=True, calendar="noleap")
    pid = import_daily(run, "day.nc")
    ds = xr.open_dataset(path, decode_times=xr.coders.CFDatetimeCoder(use_cftime=True))
    for level, freq in (("y", "YS"), ("M", "MS")):
        for op, method in (("max", "max"), ("min", "min"), ("sum", "sum"), ("count", "count")):
            out = run(f"oph_reduce2 cube={pid};operation={op};concept_level={level};")
            got = cube_array(backend, out.reply.document.output_cube)
            resampled = getattr(ds.tos.resample(time=freq), method)()
            expected = resampled.transpose("lat", "lon", "time").values
            if op in ("sum", "max", "min"):  # an all-missing group is missing, not 0
                counts = ds.tos.resample(time=freq).count().transpose("lat", "lon", "time")
                expected = np.where(counts.values == 0, np.nan, expected)
            assert np.allclose(got, expected, rtol=1e-4, equal_nan=True), (level, op)
    out = run(f"oph_reduce2 cube={pid};operation=std;concept_level=y;").reply.document.output_cube
    expected = ds.tos.resample(time="YS").std(ddof=1).transpose("lat", "lon", "time").values
    got = cube_array(backend, out)
    assert np.isnan(got).any()  # land: no values, no deviation
    assert np.allclose(got, expected, rtol=1e-4, equal_nan=True)


def test_quarters_are_ophidias_month_groups(run, backend, data_dir):
    """Ophidia splits a year's months as Jan-Feb, Mar-May, Jun-Aug, Sep-Nov, Dec."""
    make_climate(data_dir / "day.nc", years=1, grid=90, daily=True, calendar="360_day")
    pid = import_daily(run, "day.nc")
    out = run(f"oph_reduce2 cube={pid};operation=count;concept_level=q;").reply.document
    info, _ = dims_of(run, out.output_cube)
    assert info["time"][2] == "5"
    ocean = cube_array(backend, out.output_cube)[0, 0]  # 60, 90, 90, 90, 30 days, minus gaps
    data = cube_array(backend, pid)[0, 0]
    sizes = [60, 90, 90, 90, 30]
    bounds = np.cumsum([0, *sizes])
    assert ocean.tolist() == [
        np.count_nonzero(~np.isnan(data[a:b])) for a, b in itertools.pairwise(bounds)
    ]


def test_midnight_decides_where_a_0000_sample_belongs(run, backend, data_dir):
    """Six-hourly samples at 00, 06, 12, 18: with midnight=24 the 00:00 one closes the day
    before; with midnight=00 it opens its own day."""
    with netCDF4.Dataset(data_dir / "six.nc", "w") as ds:
        ds.createDimension("time", 12)
        ds.createDimension("x", 2)
        t = ds.createVariable("time", "f8", ("time",))
        t.units, t.calendar = "hours since 2000-01-01 00:00:00", "standard"
        t[:] = np.arange(12) * 6.0
        v = ds.createVariable("v", "f4", ("x", "time"))
        v[:] = np.arange(24, dtype=np.float32).reshape(2, 12)
    pid = run("oph_importnc src_path=six.nc;measure=v;").reply.document.output_cube
    late = run(f"oph_reduce2 cube={pid};operation=sum;concept_level=d;").reply.document
    early = run(f"oph_reduce2 cube={pid};operation=sum;concept_level=d;midnight=00;")
    row = np.arange(12.0)
    assert cube_array(backend, late.output_cube)[0].tolist() == [
        0,
        1 + 2 + 3 + 4,
        5 + 6 + 7 + 8,
        9 + 10 + 11,
    ]
    assert cube_array(backend, early.reply.document.output_cube)[0].tolist() == [
        row[0:4].sum(),
        row[4:8].sum(),
        row[8:12].sum(),
    ]
    _, values = dims_of(run, late.output_cube)
    assert values["time"][:2] == ["2000-01-01 00:00:00", "2000-01-01 15:00:00"]


def test_reductions_the_hierarchy_does_not_allow_are_one_line_errors(shell, run, data_dir):
    make_climate(data_dir / "day.nc", years=1, grid=90, daily=True)
    pid = import_daily(run, "day.nc")
    monthly = run(f"oph_reduce2 cube={pid};operation=avg;concept_level=M;").reply.document
    finer = shell.run_line(f"oph_reduce2 cube={monthly.output_cube};operation=avg;concept_level=d;")
    assert not finer.ok and "coarser" in finer.message and "\n" not in finer.message
    lon = shell.run_line(f"oph_reduce2 cube={pid};operation=avg;concept_level=M;dim=lat;")
    assert not lon.ok and "\n" not in lon.message
    wrong = shell.run_line(f"oph_reduce2 cube={pid};operation=avg;concept_level=Z;")
    assert not wrong.ok and "not a level of oph_time" in wrong.message


def test_week_groups_start_on_monday_and_stop_at_the_year():
    time = TimeInfo(base_time="2020-12-28 00:00:00", units="d", calendar="standard")
    values = np.arange(14) + 0.5  # Mon 2020-12-28 .. Sun 2021-01-10
    starts = group_starts(values, time, "w", "24")
    assert starts.tolist() == [0, 4, 7]  # 28-31 Dec, Fri 1 - Sun 3 Jan, Mon 4 Jan on
    assert group_values(values, starts).tolist() == [2.0, 5.5, 10.5]


def test_aggregate2_reduces_an_explicit_time_dimension_by_period(run, backend, data_dir):
    """time explicit (oph_importnc's default): yearly means over rows, and a whole-dimension
    reduction, both against xarray."""
    path = make_climate(data_dir / "day.nc", years=3, grid=30, daily=True, calendar="all_leap")
    pid = run("oph_importnc src_path=day.nc;measure=tos;").reply.document.output_cube
    ds = xr.open_dataset(path, decode_times=xr.coders.CFDatetimeCoder(use_cftime=True))
    yearly = run(f"oph_aggregate2 cube={pid};operation=avg;dim=time;concept_level=y;")
    got = cube_array(backend, yearly.reply.document.output_cube)
    expected = ds.tos.resample(time="YS").mean().values
    assert got.shape == expected.shape == (3, 6, 12)
    assert np.allclose(got, expected, rtol=1e-5, equal_nan=True)
    info, values = dims_of(run, yearly.reply.document.output_cube)
    assert info["time"][2:5] == ("3", "oph_time", "year") and info["time"][5] == "no"
    assert values["time"][0] == "1850-07-02 00:00:00"  # halfway from Jan 1 to Dec 31, noon
    whole = run(f"oph_aggregate2 cube={pid};operation=max;dim=lat;").reply.document.output_cube
    expected = ds.tos.max("lat").values
    assert np.allclose(cube_array(backend, whole), expected, equal_nan=True)
    assert dims_of(run, whole)[0]["lat"][2] == "ALL"


@pytest.mark.parametrize("budget", [None, 256])
def test_aggregate_groups_of_rows(shell, run, backend, budget):
    """Against numpy, with the default memory budget and with one so small that every block
    is a row (or a column) of the result."""
    from ophsh.engine.settings import Settings

    if budget:
        shell.backend.service.settings = Settings(memory_bytes=budget, threads=2)
    pid = rand_cube(run)
    data = cube_array(backend, pid)
    rows = data.reshape(24, 5)
    for k, shape in ((1, (4, 6, 5)), (3, (4, 2, 5)), (12, (2, 5)), (24, (5,))):
        out = run(f"oph_aggregate cube={pid};operation=sum;group_size={k};")
        got = cube_array(backend, out.reply.document.output_cube)
        expected = rows.reshape(24 // k, k, 5).sum(axis=1).reshape(shape)
        assert np.allclose(got, expected), k
    out = run(f"oph_reduce cube={pid};operation=max;").reply.document.output_cube
    total = run(f"oph_aggregate cube={out};operation=max;").reply.document.output_cube
    assert cube_array(backend, total).shape == () and cube_array(backend, total) == data.max()
    info, values = dims_of(
        run, run(f"oph_aggregate cube={pid};operation=avg;group_size=2;").reply.document.output_cube
    )
    assert info["b"][2] == "3" and values["b"] == ["1", "2", "3"]


def test_aggregate_group_sizes_that_do_not_fit_are_refused(shell, run):
    rand_cube(run)
    for k in (5, 48, 9):
        outcome = shell.run_line(f"oph_aggregate operation=sum;group_size={k};")
        assert not outcome.ok and "group_size" in outcome.message and "\n" not in outcome.message


def test_intercube2_combines_n_cubes_skipping_missing_values(run, backend, data_dir):
    paths = [
        make_climate(data_dir / f"m{i}.nc", years=1, grid=30, daily=True, seed=i) for i in range(3)
    ]
    pids = [
        run(f"oph_importnc src_path=m{i}.nc;measure=tos;").reply.document.output_cube
        for i in range(3)
    ]
    stack = np.stack([xr.open_dataset(p).tos.values for p in paths])
    with warnings.catch_warnings():  # land: every cube missing there
        warnings.simplefilter("ignore", RuntimeWarning)
        expectations = (
            ("avg", np.nanmean(stack, axis=0)),
            ("sum", np.where(np.isnan(stack).all(0), np.nan, np.nansum(stack, axis=0))),
            ("max", np.nanmax(stack, axis=0)),
        )
    for op, expected in expectations:
        out = run(f"oph_intercube2 cubes={'|'.join(pids)};operation={op};measure=ens;")
        got = cube_array(backend, out.reply.document.output_cube)
        assert np.allclose(got, expected, rtol=1e-5, equal_nan=True), op
    out = run(f"oph_intercube2 cubes={'|'.join(pids)};operation=arg_min;").reply.document
    got = cube_array(backend, out.output_cube)
    both = ~np.isnan(stack).any(axis=0)
    assert np.array_equal(got[both], np.argmin(stack, axis=0)[both] + 1)
    schema = run(f"oph_cubeschema cube={out.output_cube};").reply.document
    assert schema.grid("cubeschema_cubeinfo").rows[0][2] == "tos"


def test_hierarchy_lists_and_describes_hierarchies(run, shell):
    doc = run("oph_hierarchy").reply.document
    assert [r[0] for r in doc.grid("hierarchy_list").rows] == ["oph_base", "oph_time"]
    time = run("oph_hierarchy hierarchy=oph_time;").reply.document
    assert time.text_titled("Function Name and Version") == "oph_time v1.0"
    rows = time.grid("hierarchy_attrs").rows
    assert [r[1] for r in rows] == list("AyqMwd63hQvmsc")
    assert rows[3][:4] == ("month", "M", "d", "30") and rows[-1][4] == "none"
    missing = shell.run_line("oph_hierarchy hierarchy=oph_space;")
    assert not missing.ok and "oph_space" in missing.message


def test_a_date_range_subset_then_monthly_maxima_match_xarray(run, backend, data_dir):
    path = make_climate(data_dir / "day.nc", years=2, grid=30, daily=True, calendar="noleap")
    pid = import_daily(run, "day.nc")
    part = run(
        f"oph_subset cube={pid};subset_dims=time;subset_type=coord;"
        "subset_filter=1850-11-10_1851-02-20;"
    ).reply.document.output_cube
    out = run(f"oph_reduce2 cube={part};operation=max;concept_level=M;").reply.document.output_cube
    ds = xr.open_dataset(path, decode_times=xr.coders.CFDatetimeCoder(use_cftime=True))
    # a date bound is an instant (00:00), so the noon of Feb 20 lies past the range
    chosen = ds.tos.sel(time=slice("1850-11-10", "1851-02-19"))
    expected = chosen.resample(time="MS").max().transpose("lat", "lon", "time").values
    got = cube_array(backend, out)
    assert got.shape == (6, 12, 4)
    assert np.allclose(got, expected, equal_nan=True)
    _, values = dims_of(run, out)
    # first group: Nov 10 noon .. Nov 30 noon; last: Feb 1 noon .. Feb 19 noon
    assert values["time"][0] == "1850-11-20 12:00:00"
    assert values["time"][-1] == "1851-02-10 12:00:00"


def test_time_reductions_give_the_same_values_in_small_blocks(shell, run, backend, data_dir):
    """A tiny memory budget: every group of rows (or every row) is its own block."""
    from ophsh.engine.settings import Settings

    make_climate(data_dir / "day.nc", years=2, grid=45, daily=True, calendar="360_day")
    explicit = run("oph_importnc src_path=day.nc;measure=tos;").reply.document.output_cube
    implicit = import_daily(run, "day.nc")
    lines = (
        f"oph_aggregate2 cube={explicit};operation=avg;dim=time;concept_level=M;",
        f"oph_reduce2 cube={implicit};operation=avg;concept_level=M;",
        f"oph_aggregate2 cube={explicit};operation=max;dim=time;",
    )
    whole = [cube_array(backend, run(line).reply.document.output_cube) for line in lines]
    shell.backend.service.settings = Settings(memory_bytes=1024, threads=2)
    small = [cube_array(backend, run(line).reply.document.output_cube) for line in lines]
    for a, b in zip(whole, small, strict=True):
        assert np.array_equal(a, b, equal_nan=True)
    assert np.allclose(whole[0], np.moveaxis(whole[1], -1, 0), equal_nan=True)
    data = cube_array(backend, explicit)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # land: no value at all
        assert np.array_equal(whole[2], np.nanmax(data, axis=0), equal_nan=True)


# Six-hourly values 0..1599 from 1850-01-01 00:00 (standard calendar), reduced with sum by
# Ophidia 1.9: number of groups, first group's time and sum, last group's time.
OPHIDIA_SIX_HOURLY = {
    ("d", "24"): (416, "1850-01-01 00:00:00", 0, "1851-02-04 12:00:00"),
    ("d", "00"): (400, "1850-01-01 09:00:00", 6, "1851-02-04 09:00:00"),
    ("w", "24"): (61, "1850-01-01 00:00:00", 0, "1851-02-04 00:00:00"),
    ("w", "00"): (59, "1850-01-03 21:00:00", 276, "1851-02-03 21:00:00"),
    ("M", "24"): (17, "1850-01-01 00:00:00", 0, "1851-02-03 00:00:00"),
    ("M", "00"): (14, "1850-01-16 09:00:00", 7626, "1851-02-02 21:00:00"),
    ("q", "24"): (9, "1850-01-01 00:00:00", 0, "1851-01-18 12:00:00"),
    ("q", "00"): (6, "1850-01-30 09:00:00", 27730, "1851-01-18 09:00:00"),
    ("y", "24"): (3, "1850-01-01 00:00:00", 0, "1851-01-18 12:00:00"),
    ("y", "00"): (2, "1850-07-02 09:00:00", 1065070, "1851-01-18 09:00:00"),
}


def test_groups_and_their_times_are_those_ophidia_gives(run, backend, data_dir):
    with netCDF4.Dataset(data_dir / "six.nc", "w") as ds:
        ds.createDimension("x", 1)
        ds.createDimension("time", 1600)
        t = ds.createVariable("time", "f8", ("time",))
        t.units, t.calendar = "hours since 1850-01-01 00:00:00", "standard"
        t[:] = np.arange(1600) * 6.0
        ds.createVariable("v", "f8", ("x", "time"))[:] = np.arange(1600.0)[None]
    pid = run("oph_importnc src_path=six.nc;measure=v;imp_concept_level=h;").reply.document
    for (level, midnight), (count, first, total, last) in OPHIDIA_SIX_HOURLY.items():
        out = run(
            f"oph_reduce2 cube={pid.output_cube};operation=sum;concept_level={level};"
            f"midnight={midnight};"
        ).reply.document.output_cube
        sums = cube_array(backend, out)[0]
        _, values = dims_of(run, out)
        assert (len(sums), values["time"][0], sums[0], values["time"][-1]) == (
            count,
            first,
            total,
            last,
        ), (level, midnight)
        assert sums.sum() == np.arange(1600.0).sum()


# Daily values 0..799 at noon from 1850-01-01 (days), reduced with sum by Ophidia 1.9 (midnight
# 24): number of groups, first group's time and sum, last group's time.
OPHIDIA_DAILY = {
    ("noleap", "w"): (117, "1850-01-04 00:00:00", 15, "1852-03-10 00:00:00"),
    ("noleap", "M"): (27, "1850-01-16 12:00:00", 465, "1852-03-06 12:00:00"),
    ("noleap", "q"): (12, "1850-01-30 12:00:00", 1711, "1852-03-06 12:00:00"),
    ("noleap", "y"): (3, "1850-07-02 12:00:00", 66430, "1852-02-05 00:00:00"),
    ("360_day", "w"): (118, "1850-01-04 00:00:00", 15, "1852-03-18 00:00:00"),
    ("360_day", "M"): (27, "1850-01-16 00:00:00", 435, "1852-03-11 00:00:00"),
    ("360_day", "q"): (12, "1850-02-01 00:00:00", 1770, "1852-03-11 00:00:00"),
    ("360_day", "y"): (3, "1850-07-01 00:00:00", 64620, "1852-02-11 00:00:00"),
    ("all_leap", "w"): (117, "1850-01-04 00:00:00", 15, "1852-03-08 12:00:00"),
    ("all_leap", "M"): (27, "1850-01-16 12:00:00", 465, "1852-03-05 00:00:00"),
    ("all_leap", "q"): (12, "1850-01-31 00:00:00", 1770, "1852-03-05 00:00:00"),
    ("all_leap", "y"): (3, "1850-07-02 00:00:00", 66795, "1852-02-04 00:00:00"),
}


@pytest.mark.parametrize("calendar", ["noleap", "360_day", "all_leap"])
def test_daily_groups_in_other_calendars_are_those_ophidia_gives(run, backend, data_dir, calendar):
    with netCDF4.Dataset(data_dir / "daily.nc", "w") as ds:
        ds.createDimension("x", 1)
        ds.createDimension("time", 800)
        t = ds.createVariable("time", "f8", ("time",))
        t.units, t.calendar = "days since 1850-01-01 00:00:00", calendar
        t[:] = np.arange(800) + 0.5
        ds.createVariable("v", "f8", ("x", "time"))[:] = np.arange(800.0)[None]
    pid = run("oph_importnc src_path=daily.nc;measure=v;").reply.document.output_cube
    for level in "wMqy":
        out = run(f"oph_reduce2 cube={pid};operation=sum;concept_level={level};")
        sums = cube_array(backend, out.reply.document.output_cube)[0]
        _, values = dims_of(run, out.reply.document.output_cube)
        got = (len(sums), values["time"][0], sums[0], values["time"][-1])
        assert got == OPHIDIA_DAILY[calendar, level], level


def test_intercube2_gives_what_ophidia_gives_around_missing_values(run, backend, data_dir):
    """Three cubes with NaNs here and there, combined by Ophidia 1.9 (rows copied from it)."""
    rows = ([1.0, np.nan, 3.0, np.nan], [4.0, 2.0, np.nan, np.nan], [0.5, 7.0, 1.0, np.nan])
    pids = []
    for i, row in enumerate(rows):
        with netCDF4.Dataset(data_dir / f"n{i}.nc", "w") as ds:
            ds.createDimension("x", 1)
            ds.createDimension("y", 4)
            var = ds.createVariable("v", "f8", ("x", "y"))
            var.set_auto_mask(False)
            var[:] = np.array([row])
        pids.append(run(f"oph_importnc src_path=n{i}.nc;measure=v;").reply.document.output_cube)
    ophidia = {
        "avg": [1.8333333333, 4.5, 2.0, np.nan],
        "sum": [5.5, 9.0, 4.0, np.nan],
        "mul": [2.0, 14.0, 3.0, np.nan],
        "max": [4.0, 7.0, 3.0, np.nan],
        "min": [0.5, 2.0, 1.0, np.nan],
        "arg_max": [2.0, 3.0, 1.0, np.nan],
        "arg_min": [3.0, 2.0, 3.0, np.nan],
    }
    for op, expected in ophidia.items():
        doc = run(f"oph_intercube2 cubes={'|'.join(pids)};operation={op};").reply.document
        assert [t.message for t in doc.texts("intercube")] == [doc.output_cube]  # as Ophidia
        got = cube_array(backend, doc.output_cube)[0]
        assert np.allclose(got, expected, equal_nan=True), op


def test_the_frequency_metadata_follows_the_reduction(run, data_dir):
    """As Ophidia updates it: the level's long name, ALL once the time dimension is gone."""
    make_climate(data_dir / "day.nc", years=1, grid=90, daily=True, calendar="noleap")
    pid = run(
        "oph_importnc src_path=day.nc;measure=tos;exp_dim=lat|lon;imp_dim=time;import_metadata=yes;"
    ).reply.document.output_cube

    def frequency(cube: str) -> list[str]:
        doc = run(f"oph_metadata cube={cube};metadata_key=frequency;").reply.document
        return [r[4] for r in doc.grid("metadata_list").rows if r[1] == ""]

    assert frequency(pid) == ["day"]
    monthly = run(f"oph_reduce2 cube={pid};operation=avg;concept_level=M;").reply.document
    assert frequency(monthly.output_cube) == ["month"]
    whole = run(f"oph_reduce2 cube={monthly.output_cube};operation=max;").reply.document
    assert frequency(whole.output_cube) == ["ALL"]
    by_lat = run(f"oph_aggregate2 cube={pid};operation=avg;dim=lat;").reply.document
    assert frequency(by_lat.output_cube) == ["day"]  # not a time dimension
    assert frequency(pid) == ["day"]  # the source keeps its own


def test_quantiles_and_arg_max_per_day_match_numpy(run, backend, data_dir):
    """Hourly values, odd sizes (5 x 3 cells, 100 hours): medians and the hour of the maximum
    of each day, the last day short."""
    rng = np.random.default_rng(7)
    values = rng.normal(size=(5, 3, 100))
    with netCDF4.Dataset(data_dir / "hours.nc", "w") as ds:
        for name, size in (("a", 5), ("b", 3), ("time", 100)):
            ds.createDimension(name, size)
        t = ds.createVariable("time", "f8", ("time",))
        t.units, t.calendar = "hours since 2001-03-01 00:30:00", "proleptic_gregorian"
        t[:] = np.arange(100.0)
        ds.createVariable("v", "f8", ("a", "b", "time"))[:] = values
    pid = run("oph_importnc src_path=hours.nc;measure=v;").reply.document.output_cube
    days = [values[..., k : k + 24] for k in range(0, 100, 24)]
    median = run(f"oph_reduce2 cube={pid};operation=quantile;order=0.5;concept_level=d;")
    got = cube_array(backend, median.reply.document.output_cube)
    assert np.allclose(got, np.stack([np.median(day, axis=-1) for day in days], axis=-1))
    peak = run(f"oph_reduce2 cube={pid};operation=arg_max;concept_level=d;")
    got = cube_array(backend, peak.reply.document.output_cube)
    assert np.array_equal(got, np.stack([day.argmax(axis=-1) + 1 for day in days], axis=-1))


def test_aggregate2_on_an_inner_explicit_time_dimension(run, backend, data_dir):
    path = make_climate(data_dir / "day.nc", years=1, grid=30, daily=True, calendar="noleap")
    pid = run(
        "oph_importnc2 src_path=day.nc;measure=tos;exp_dim=lat|time;imp_dim=lon;"
    ).reply.document.output_cube
    out = run(f"oph_aggregate2 cube={pid};operation=sum;dim=time;concept_level=M;")
    got = cube_array(backend, out.reply.document.output_cube)
    ds = xr.open_dataset(path, decode_times=xr.coders.CFDatetimeCoder(use_cftime=True))
    monthly = ds.tos.resample(time="MS")
    expected = monthly.sum().where(monthly.count() > 0).transpose("lat", "time", "lon").values
    assert got.shape == expected.shape == (6, 12, 12)
    assert np.allclose(got, expected, rtol=1e-5, equal_nan=True)


@pytest.mark.parametrize("budget", [None, 40_000, 2048])
def test_monthly_count_sum_and_mean_over_rows_match_xarray(shell, run, backend, data_dir, budget):
    """time explicit and outermost: each month's rows summed whole, or, when a month does not
    fit the budget, read a few rows (40 kB) or a row (2 kB) at a time; max and min too."""
    from ophsh.engine.settings import Settings

    if budget:
        shell.backend.service.settings = Settings(memory_bytes=budget, threads=2)
    path = make_climate(data_dir / "day.nc", years=2, grid=30, daily=True, calendar="standard")
    pid = run("oph_importnc src_path=day.nc;measure=tos;").reply.document.output_cube
    ds = xr.open_dataset(path, decode_times=xr.coders.CFDatetimeCoder(use_cftime=True))
    months = ds.tos.resample(time="MS")
    count = months.count()
    for operation, expected in (
        ("count", count),
        ("sum", months.sum().where(count > 0)),
        ("avg", months.mean()),
        ("max", months.max()),
        ("min", months.min()),
    ):
        out = run(f"oph_aggregate2 cube={pid};operation={operation};dim=time;concept_level=M;")
        got = cube_array(backend, out.reply.document.output_cube)
        assert got.shape == expected.shape == (24, 6, 12)
        assert np.allclose(got, expected.values, rtol=1e-6, atol=1e-5, equal_nan=True)
    ocean = count.values[count.values > 0]
    assert count.values.min() == 0 and ocean.min() < 28  # land, and missing days
