"""NetCDF in and out: values, dimensions, time, metadata, missing values, subsets, round trips
through xarray, the three file formats, bad files, and PyOphidia against `ophsh serve`."""

from __future__ import annotations

import base64
import json
import sqlite3
import subprocess
import sys

import netCDF4
import numpy as np
import pytest
import xarray as xr
from make_climate import make_climate

from ophsh.engine.catalog import TIME_COLUMNS
from ophsh.engine.model import TimeInfo
from ophsh.engine.store import Store

TIME = TimeInfo(base_time="1850-01-01 00:00:00", calendar="noleap")


@pytest.fixture
def tos(data_dir):
    return make_climate(data_dir / "tos.nc", years=2, grid=10)


def cube_array(backend, pid: str) -> np.ndarray:
    store = backend.store
    return np.asarray(store.data(store.cube_by_pid(pid)))


def schema(run, pid: str, *extra: str):
    doc = run(f"oph_cubeschema cube={pid};level=2;{''.join(extra)}").reply.document
    dims = {r[0]: r for r in doc.grid("cubeschema_diminfo").rows}
    values = {g.title: [r[1] for r in g.rows] for g in doc.grids("cubeschema_dimvalues")}
    return doc, dims, values


def test_import_keeps_values_dimensions_types_and_time(run, backend, tos):
    pid = run("oph_importnc src_path=tos.nc;measure=tos").reply.document.output_cube
    doc, dims, values = schema(run, pid)
    assert doc.grid("cubeschema_cubeinfo").rows[0][3] == "float"
    # Ophidia's rule: the last dimension implicit, the others explicit in file order
    assert [(n, r[1], r[2], r[3], r[5]) for n, r in dims.items()] == [
        ("time", "double", "24", "oph_time", "no"),
        ("lat", "float", "18", "oph_base", "no"),
        ("lon", "float", "36", "oph_base", "yes"),
    ]
    source = xr.open_dataset(tos, decode_times=False)
    assert np.allclose([float(v) for v in values["lat"]], source.lat.values)
    assert np.allclose([float(v) for v in values["time"]], source.time.values)
    data = cube_array(backend, pid)
    assert data.dtype == np.float32
    assert np.array_equal(data, source.tos.values, equal_nan=True)  # land: NaN in both
    assert np.isnan(data).any()
    container = run("oph_containerschema container=tos.nc").reply.document
    time = next(r for r in container.grid("containerschema_diminfo").rows if r[0] == "time")
    assert time[2:6] == ("oph_time", "1850-01-01 00:00:00", "360_day", "d")
    dates = schema(run, pid, "show_time=yes;")[2]["time"]
    assert dates[:2] == ["1850-01-16 00:00:00", "1850-02-16 00:00:00"]


def test_exp_and_imp_dims_by_name_reorder_the_array(run, backend, tos):
    pid = run(
        "oph_importnc2 src_path=tos.nc;measure=tos;exp_dim=lat|lon;imp_dim=time;imp_concept_level=M"
    ).reply.document.output_cube
    _, dims, _ = schema(run, pid)
    assert [(n, r[4], r[5], r[6]) for n, r in dims.items()] == [
        ("lat", "cell", "no", "1"),
        ("lon", "cell", "no", "2"),
        ("time", "month", "yes", "1"),
    ]
    source = xr.open_dataset(tos).tos.transpose("lat", "lon", "time").values
    assert np.array_equal(cube_array(backend, pid), source, equal_nan=True)


@pytest.mark.parametrize("budget", [None, 4096])
def test_time_moved_inwards_is_imported_whole_within_any_budget(
    shell, run, backend, data_dir, budget
):
    """A time-major daily file with time implicit (read in slabs of days, staged in bands of
    rows): with the default budget, and one so small that a band is one row and a slab a few
    days; time in the middle of the cube, and a time subset with a gap."""
    from ophsh.engine.settings import Settings

    if budget:
        shell.backend.service.settings = Settings(memory_bytes=budget, threads=2)
    path = make_climate(data_dir / "day.nc", years=1, grid=20, daily=True, calendar="noleap")
    source = xr.open_dataset(path, decode_times=False).tos
    pid = run(
        "oph_importnc src_path=day.nc;measure=tos;exp_dim=lat;imp_dim=time|lon;"
        "subset_dims=time;subset_filter=0:40,50:364"
    ).reply.document.output_cube
    expected = source.isel(time=[*range(41), *range(50, 365)]).transpose("lat", "time", "lon")
    assert np.isnan(expected.values).any()  # land and gaps: missing values became NaN
    assert np.array_equal(cube_array(backend, pid), expected.values, equal_nan=True)


def test_metadata_keys_and_the_missing_value(run, tos):
    pid = run(
        "oph_importnc src_path=tos.nc;measure=tos;import_metadata=yes"
    ).reply.document.output_cube
    rows = run(f"oph_metadata cube={pid}").reply.document.grid("metadata_list").rows
    items = {(r[1], r[2]): (r[3], r[4]) for r in rows}
    assert items[("", "Conventions")] == ("text", "CF-1.7")
    assert items[("tos", "units")] == ("text", "degC")
    assert items[("tos", "_FillValue")] == ("float", "1e+20")
    assert items[("tos", "missing_value")] == ("float", "1e+20")
    assert items[("time", "calendar")] == ("text", "360_day")
    assert items[("lat", "units")] == ("text", "degrees_north")
    bare = run("oph_importnc src_path=tos.nc;measure=tos;import_metadata=no").reply.document
    rows = run(f"oph_metadata cube={bare.output_cube}").reply.document.grid("metadata_list").rows
    assert {(r[1], r[2]) for r in rows} == {("tos", "_FillValue"), ("tos", "missing_value")}


def test_subsets_at_import_by_index_and_by_coordinate(run, backend, tos):
    source = xr.open_dataset(tos, decode_times=False)
    by_index = run(
        "oph_importnc src_path=tos.nc;measure=tos;subset_dims=time|lat;subset_filter=0:11|3:5"
    ).reply.document.output_cube
    expected = source.tos.values[0:12, 3:6]
    assert np.array_equal(cube_array(backend, by_index), expected, equal_nan=True)
    by_coord = run(
        "oph_importnc src_path=tos.nc;measure=tos;container=c;subset_dims=lat|lon;"
        "subset_filter=-20:20|100:140;subset_type=coord"
    ).reply.document.output_cube
    values = schema(run, by_coord)[2]
    assert [float(v) for v in values["lat"]] == [-15.0, -5.0, 5.0, 15.0]
    assert [float(v) for v in values["lon"]] == [105.0, 115.0, 125.0, 135.0]
    picked = source.tos.sel(lat=slice(-20, 20), lon=slice(100, 140)).values
    assert np.array_equal(cube_array(backend, by_coord), picked, equal_nan=True)
    widened = run(
        "oph_importnc src_path=tos.nc;measure=tos;container=c;subset_dims=lat;"
        "subset_filter=0;subset_type=coord;offset=5"
    ).reply.document.output_cube
    assert [float(v) for v in schema(run, widened)[2]["lat"]] == [-5.0, 5.0]


def test_a_massive_import_makes_one_cube_per_file(run, data_dir):
    for year in range(3):
        make_climate(data_dir / "series" / f"tos_{year}.nc", years=1, start_year=year, seed=year)
    (data_dir / "series" / "notes.txt").write_text("not data")
    run("oph_createcontainer container=series;dim=time|lat|lon;dim_type=double|float|float")
    run("oph_importnc src_path=[path=series;file=*.nc];measure=tos;container=series")
    rows = run("oph_list level=3").reply.document.grid("list").rows
    sources = sorted(r[6].rpartition("/")[2] for r in rows if r[2])
    assert sources == [f"tos_{y}.nc" for y in range(3)]
    rows = (
        run("oph_containerschema container=series")
        .reply.document.grid("containerschema_diminfo")
        .rows
    )
    assert rows[0][2:5] == ("oph_time", "1850-01-01 00:00:00", "360_day")  # from the files


@pytest.mark.parametrize("fmt", ["NETCDF4", "NETCDF3_CLASSIC", "NETCDF3_64BIT_OFFSET"])
def test_export_gives_back_what_xarray_read_in_every_format(run, data_dir, fmt):
    make_climate(data_dir / "in.nc", years=2, grid=20, fmt=fmt)
    run("oph_importnc src_path=in.nc;measure=tos;import_metadata=yes")
    run("oph_exportnc output_path=out;output_name=back")
    with netCDF4.Dataset(data_dir / "out" / "back.nc") as ds:
        assert ds.data_model == "NETCDF4"
    source = xr.open_dataset(data_dir / "in.nc")
    back = xr.open_dataset(data_dir / "out" / "back.nc")
    xr.testing.assert_identical(back.tos, source.tos)  # coords, attrs, values, NaN on land
    assert back.attrs == source.attrs
    assert back.tos.encoding["_FillValue"] == source.tos.encoding["_FillValue"]
    assert back.time.encoding["calendar"] == "360_day"


def test_export_without_metadata_still_has_time_units_and_missing_values(run, data_dir, tos):
    run("oph_importnc src_path=tos.nc;measure=tos;exp_dim=lat|lon;imp_dim=time")
    run("oph_exportnc2 output_path=out/plain.nc;export_metadata=no")
    back = xr.open_dataset(data_dir / "out" / "plain.nc")
    source = xr.open_dataset(tos)
    assert back.tos.dims == ("lat", "lon", "time")
    assert list(back.time.values) == list(source.time.values)  # 360_day dates
    assert np.array_equal(
        back.tos.values, source.tos.transpose("lat", "lon", "time").values, equal_nan=True
    )


def test_export_never_replaces_a_file_without_force(shell, run, data_dir, tos):
    run("oph_importnc src_path=tos.nc;measure=tos")
    run("oph_exportnc output_path=out/x.nc")
    first = (data_dir / "out" / "x.nc").stat().st_ino
    outcome = shell.run_line("oph_exportnc output_path=out/x.nc")
    assert not outcome.ok and "already exists" in outcome.message
    assert "\n" not in outcome.message.strip()
    assert (data_dir / "out" / "x.nc").stat().st_ino == first
    stale = data_dir / "out" / ".ophsh-export-999999999-abcd1234.nc"
    stale.write_bytes(b"half")
    run("oph_exportnc output_path=out/x.nc;force=yes")
    assert (data_dir / "out" / "x.nc").stat().st_ino != first
    assert not stale.exists()  # its writer is gone: swept
    bad = shell.run_line("oph_exportnc output_path=out/x.nc;output_name=y")
    assert not bad.ok and "names a file" in bad.message
    assert sorted(p.name for p in (data_dir / "out").iterdir()) == ["x.nc"]


def _truncated(data_dir, tos):
    (data_dir / "trunc.nc").write_bytes(tos.read_bytes()[:4000])
    return "trunc.nc"


def _classic_truncated(data_dir, tos):
    path = make_climate(data_dir / "c.nc", fmt="NETCDF3_CLASSIC")
    path.write_bytes(path.read_bytes()[:3000])
    return "c.nc"


@pytest.mark.parametrize(
    ("make", "measure", "expected"),
    [
        (lambda d, t: (d / "text.nc").write_text("hello") and "text.nc", "tos", "not a readable"),
        (_truncated, "tos", "not a readable"),
        (_classic_truncated, "tos", "is truncated"),
        (lambda d, t: "nowhere.nc", "tos", "does not exist"),
        (lambda d, t: "tos.nc", "sst", "has no variable 'sst'"),
        (lambda d, t: "tos.nc", "tos;exp_dim=depth", "'depth' is not a dimension"),
        (lambda d, t: "tos.nc", "tos;subset_dims=lat;subset_filter=40:50", "outside 0:17"),
    ],
)
def test_bad_files_give_one_line_and_leave_nothing(
    shell, run, data_dir, tos, make, measure, expected
):
    name = make(data_dir, tos)
    before = run("oph_list level=2").reply.document.grid("list").rows
    outcome = shell.run_line(f"oph_importnc src_path={name};measure={measure}")
    assert not outcome.ok
    assert expected in outcome.message
    assert "\n" not in outcome.message.strip() and str(data_dir) not in outcome.message
    assert run("oph_list level=2").reply.document.grid("list").rows == before


def test_explorenc_lists_a_file_and_shows_values(run, data_dir, tos):
    doc = run("ncdump tos.nc").reply.document
    assert doc.grid("explorenc_dimvalues").rows[0] == ("time", "24", "yes")
    assert ("tos", "float", "time|lat|lon") in doc.grid("explorenc_data").rows
    assert ("tos", "units", "text", "degC") in doc.grid("explorenc_metadata").rows
    doc = run(
        "oph_explorenc src_path=tos.nc;measure=tos;level=2;subset_dims=lat;subset_filter=9;"
        "limit_filter=3"
    ).reply.document
    data = doc.grid("explorenc_data")
    assert data.keys == ("time", "lat", "tos") and len(data.rows) == 3
    source = xr.open_dataset(tos, decode_times=False).tos.values
    first = [float(v) for v in data.rows[0][2].split(", ")]
    assert np.allclose(first, source[0, 9], equal_nan=True)
    assert [g.title for g in doc.grids("explorenc_dimvalues")] == ["time", "lat", "lon"]


def test_explorecube_answers_what_pyophidia_decodes(run, tos):
    run("oph_importnc src_path=tos.nc;measure=tos;import_metadata=yes")
    doc = run(
        "oph_explorecube base64=yes;level=2;show_index=yes;subset_type=coord;limit_filter=0;"
        "export_metadata=yes"
    ).reply.document
    source = xr.open_dataset(tos, decode_times=False)
    grids = {g.title: g for g in doc.grids("explorecube_dimvalues")}
    assert grids["lat"].types == ("long", "float") and grids["time"].types == ("long", "double")
    lat = [np.frombuffer(base64.b64decode(r[1]), np.float32)[0] for r in grids["lat"].rows]
    assert np.array_equal(lat, source.lat.values)
    data = doc.grid("explorecube_data")
    at = data.keys.index("tos")
    rows = np.stack([np.frombuffer(base64.b64decode(r[at]), np.float32) for r in data.rows])
    assert np.array_equal(rows.reshape(source.tos.shape), source.tos.values, equal_nan=True)
    assert doc.grid("explorecube_diminfo").rows[0][:4] == ("time", "double", "24", "oph_time")
    assert ("tos", "units", "text", "degC") in doc.grid("explorecube_metadata").rows


def test_createcontainer_keeps_time_facts_and_old_stores_are_migrated(run, store_dir, backend):
    run(
        "oph_createcontainer container=clim;dim=time|lat;dim_type=double|float;"
        "hierarchy=oph_time|oph_base;calendar=360_day;base_time=2000-01-01 00:00:00;units=h"
    )
    rows = (
        run("oph_containerschema container=clim")
        .reply.document.grid("containerschema_diminfo")
        .rows
    )
    assert rows[0][:6] == ("time", "double", "oph_time", "2000-01-01 00:00:00", "360_day", "h")
    assert rows[1][3:] == ("",) * 6
    backend.close()
    db = sqlite3.connect(store_dir / "catalog.sqlite")  # as a schema 1 store had it
    for column in TIME_COLUMNS:
        db.execute(f"ALTER TABLE container_dims DROP COLUMN {column}")
    db.execute("UPDATE meta SET value = '1' WHERE key = 'schema'")
    db.commit()
    db.close()
    store = Store.open(store_dir)
    try:
        assert store.catalog.get_meta("schema") == "3"
        rows = store.catalog.query("SELECT name, calendar FROM container_dims ORDER BY pos")
        assert [tuple(r) for r in rows] == [("time", ""), ("lat", "")]  # facts lost with the drop
        made = store.containers.create(1, "again", [("t", "double", "oph_time")], times={"t": TIME})
        assert made.time_of("t") == TIME
    finally:
        store.close()


@pytest.mark.slow
def test_pyophidia_imports_reads_and_exports_netcdf_through_ophsh_serve(tmp_path):
    from PyOphidia import cube as oph_cube
    from test_server import PASSWORDS, Served

    server = Served(tmp_path / "served")
    try:
        make_climate(server.data / "tos.nc", years=1, grid=20)
        oph_cube.Cube.setclient("alice", PASSWORDS["alice"], "127.0.0.1", str(server.port))
        cube = oph_cube.Cube(src_path="tos.nc", measure="tos", import_metadata="yes")
        assert cube.pid and cube.pid.startswith("http://localhost/ophidia/")
        ds = cube.to_dataset()
        source = xr.open_dataset(server.data / "tos.nc")
        assert ds is not None
        assert np.array_equal(ds.lat.values, source.lat.values)
        assert np.array_equal(ds.lon.values, source.lon.values)
        assert list(ds.time.values) == [str(t) for t in source.time.values]
        assert np.array_equal(ds.tos.values, source.tos.values, equal_nan=True)
        assert ds.tos.attrs["units"] == "degC" and ds.attrs["Conventions"] == "CF-1.7"
        cube.info(display=False)
        assert cube.measure_type == "float"
        assert [(d["name"], d["hierarchy"]) for d in cube.dim_info] == [
            ("time", "oph_time"),
            ("lat", "oph_base"),
            ("lon", "oph_base"),
        ]
        exported = cube.export_array()
        assert [d["name"] for d in exported["dimension"]] == ["time", "lat", "lon"]
        rows = np.asarray(exported["measure"][0]["values"], dtype=np.float32)
        assert np.array_equal(rows.ravel(), source.tos.values.ravel(), equal_nan=True)
        oph_cube.Cube.explorenc(src_path="tos.nc", measure="tos", level=1, display=False)
        listed = json.loads(oph_cube.Cube.client.last_response)["response"]
        assert [o["objkey"] for o in listed][:2] == ["explorenc_data", "explorenc_summary"]
        cube.exportnc2(output_path="out", output_name="back", force="yes")
        back = xr.open_dataset(server.data / "out" / "back.nc")
        xr.testing.assert_identical(back.tos, source.tos)
    finally:
        server.stop()


@pytest.mark.parametrize(
    "calendar",
    ["standard", "gregorian", "proleptic_gregorian", "noleap", "365_day", "all_leap", "366_day"],
)
def test_every_cf_calendar_is_recognised_and_dated(run, data_dir, calendar):
    import cftime

    path = make_climate(data_dir / "cal.nc", years=1, grid=30)
    with netCDF4.Dataset(path, "a") as ds:
        ds["time"].calendar = calendar
        values = ds["time"][:]
    pid = run("oph_importnc src_path=cal.nc;measure=tos").reply.document.output_cube
    again = run("oph_importnc src_path=cal.nc;measure=tos").reply.document.output_cube
    rows = (
        run("oph_containerschema container=cal.nc")
        .reply.document.grid("containerschema_diminfo")
        .rows
    )
    assert rows[0][:5] == ("time", "double", "oph_time", "1850-01-01 00:00:00", calendar)
    assert again.rsplit("/", 2)[1] == pid.rsplit("/", 2)[1]  # the same container, reused
    dates = schema(run, pid, "show_time=yes;")[2]["time"]
    expected = cftime.num2date(values, "days since 1850-01-01", calendar)
    assert dates == [d.strftime("%Y-%m-%d %H:%M:%S") for d in expected]


def test_check_compliance_names_what_is_missing(shell, run, data_dir):
    path = make_climate(data_dir / "bare.nc", years=1, grid=30)
    with netCDF4.Dataset(path, "a") as ds:
        ds["tos"].delncattr("units")
    run("oph_importnc src_path=bare.nc;measure=tos;import_metadata=yes")
    outcome = shell.run_line(
        "oph_importnc src_path=bare.nc;measure=tos;import_metadata=yes;check_compliance=yes"
    )
    assert not outcome.ok and "tos:units" in outcome.message


def test_time_filters_take_dates_at_import_and_in_subset(run, backend, tos):
    source = xr.open_dataset(tos, decode_times=False).tos.values
    pid = run(
        "oph_importnc src_path=tos.nc;measure=tos;subset_dims=time;subset_type=coord;"
        "subset_filter=1850-03-01_1850-06-30"
    ).reply.document.output_cube
    assert np.array_equal(cube_array(backend, pid), source[2:6], equal_nan=True)
    dates = schema(run, pid, "show_time=yes;")[2]["time"]
    assert dates == [f"1850-{m:02d}-16 00:00:00" for m in range(3, 7)]
    run(f"oph_subset cube={pid};subset_dims=time;subset_type=coord;subset_filter=1850-05-16")
    sub = run("oph_cubeschema level=1;show_time=yes").reply.document
    assert [r[1] for r in next(sub.grids("cubeschema_dimvalues")).rows] == ["1850-05-16 00:00:00"]
    again = run(
        "oph_importnc src_path=tos.nc;measure=tos;subset_dims=time;subset_type=coord;"
        "subset_filter=45:105"  # numbers still work
    ).reply.document.output_cube
    assert np.array_equal(cube_array(backend, again), source[1:4], equal_nan=True)


ARGS = ("--years", "1", "--grid", "30", "--format", "NETCDF3_64BIT_OFFSET")


def test_the_command_line_imports_and_reports_a_bad_file_in_one_line(tmp_path):
    from conftest import SCRIPTS, ophsh

    made = subprocess.run(
        [sys.executable, str(SCRIPTS / "make_climate.py"), "tos.nc", *ARGS],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert made.returncode == 0, made.stderr
    with netCDF4.Dataset(tmp_path / "tos.nc") as ds:
        assert ds.data_model == "NETCDF3_64BIT_OFFSET"
    done = ophsh("-e", "oph_importnc src_path=tos.nc;measure=tos", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "http://localhost/ophidia/1/1" in done.stdout
    (tmp_path / "bad.nc").write_bytes(b"CDF\x01" + bytes(60))
    failed = ophsh("-e", "oph_importnc src_path=bad.nc;measure=tos", cwd=tmp_path)
    assert failed.returncode != 0
    lines = failed.stderr.strip().splitlines()
    assert len(lines) == 1 and "bad.nc" in lines[0] and "Traceback" not in failed.stderr


def test_concat_appends_a_later_file_along_time(run, shell, backend, data_dir):
    first = make_climate(data_dir / "tos_1850.nc", years=1, grid=30)
    later = make_climate(data_dir / "tos_1851.nc", years=1, grid=30, start_year=1, seed=1)
    pid = run("oph_importnc src_path=tos_1850.nc;measure=tos;exp_dim=lat|lon;imp_dim=time")
    pid = pid.reply.document.output_cube
    joined = run(f"oph_concatnc cube={pid};src_path=tos_1851.nc").reply.document.output_cube
    with netCDF4.Dataset(first) as a, netCDF4.Dataset(later) as b:
        both = np.ma.concatenate([a["tos"][:], b["tos"][:]]).transpose(1, 2, 0)
        expected = np.ma.filled(both, np.nan)  # land is missing, NaN in the cube
        times = np.concatenate([a["time"][:], b["time"][:]])
    assert np.array_equal(cube_array(backend, joined), expected, equal_nan=True)
    _, dims, values = schema(run, joined)
    assert dims["time"][2] == "24" and np.allclose([float(v) for v in values["time"]], times)
    again = run(f"oph_concatnc cube={pid};src_path=tos_1850.nc;dim_continue=yes")
    _, _, values = schema(run, again.reply.document.output_cube)
    assert [float(v) for v in values["time"]][11:14] == [345.0, 375.0, 405.0]
    make_climate(data_dir / "coarse.nc", years=1, grid=60)
    refused = shell.run_line(f"oph_concatnc cube={pid};src_path=coarse.nc")
    assert not refused.ok
    assert refused.message == f"dimension lat has 3 values in the file and 6 in {pid}"


def test_importncs_joins_files_in_time_order_whatever_order_they_are_named(
    run, shell, backend, data_dir
):
    early = make_climate(data_dir / "tos_a.nc", years=1, grid=30)
    late = make_climate(data_dir / "tos_b.nc", years=1, grid=30, start_year=1, seed=1)
    with netCDF4.Dataset(late, "a") as ds:  # the later file counts its days from 1851
        ds["time"].units = "days since 1851-01-01 00:00:00"
        ds["time"][:] = ds["time"][:] - 360
    (data_dir / "files.txt").write_text("tos_b.nc\ntos_a.nc\n")
    listed = run("oph_importncs src_list=files.txt;measure=tos").reply.document.output_cube
    matched = run("oph_importncs src_path=tos_*.nc;measure=tos").reply.document.output_cube
    found = run("oph_importncs src_path=[path=.;file=tos_?.nc];measure=tos")
    with netCDF4.Dataset(early) as a, netCDF4.Dataset(late) as b:
        both = np.ma.concatenate([a["tos"][:], b["tos"][:]])
        times = np.concatenate([a["time"][:], b["time"][:] + 360])
    for pid in (listed, matched, found.reply.document.output_cube):
        assert np.array_equal(cube_array(backend, pid), np.ma.filled(both, np.nan), equal_nan=True)
        _, dims, values = schema(run, pid)
        assert dims["time"][2] == "24" and [float(v) for v in values["time"]] == list(times)
    make_climate(data_dir / "coarse.nc", years=1, grid=60)
    refused = shell.run_line("oph_importncs src_path=tos_a.nc|coarse.nc;measure=tos")
    assert (
        not refused.ok
        and refused.message == "dimension lat differs between 'tos_a.nc' and 'coarse.nc'"
    )
