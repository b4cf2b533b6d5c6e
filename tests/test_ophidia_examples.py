"""Ophidia's published examples on the embedded store: the workflows of Ophidia's workflow
catalogue (re-written in tests/data/ophidia-workflows, see its README) and the oph_term commands
of Ophidia's functional CI (tests/data/ophidia-ci), on a CMIP-like tos file from
scripts/make_climate.py (360_day calendar, land as missing values)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import netCDF4
import numpy as np
import pytest
from make_climate import make_climate

from ophsh.document import Document
from ophsh.workflow.references import expand

DATA = Path(__file__).resolve().parent / "data"
WORKFLOWS = DATA / "ophidia-workflows"
CATALOGUE = os.environ.get("OPHIDIA_WORKFLOW_CATALOGUE")  # a checkout, to run the originals


@pytest.fixture
def tos(tmp_path) -> Path:
    return make_climate(tmp_path / "data" / "tos.nc", years=1, grid=10)


def masked_tos(path: Path) -> np.ma.MaskedArray:
    with netCDF4.Dataset(path) as ds:
        return ds["tos"][:].astype(np.float64)


def statuses(outcome) -> dict[str, str]:
    grid = outcome.reply.document.grid("workflow_list")
    return {row[5]: row[7].removeprefix("OPH_STATUS_") for row in grid.rows}


def submit(shell, path: Path, *args: str):
    outcome = shell.run_line(" ".join([str(path), *args]))
    assert outcome.ok, outcome.message
    if outcome.reply.document is None:  # exec_mode async: a job id now, watch waits for it
        outcome = shell.run_line("watch")
        assert outcome.ok, outcome.message
    assert "ERROR" not in outcome.reply.document.to_json()
    return outcome


def listed(run) -> list[tuple[str, ...]]:
    """The rows of oph_list level=2: type, path, cube, description."""
    return list(run("oph_list level=2;").reply.document.grid("list").rows)


def test_a_sequential_loop_averages_four_months_and_cleans_up(shell, run, tos):
    result = statuses(submit(shell, WORKFLOWS / "loop.json", "1", str(tos), "tos"))
    assert [result[f"aggregate [{i}]"] for i in range(1, 5)] == ["COMPLETED"] * 4
    assert set(result.values()) == {"COMPLETED"}
    assert listed(run) == []  # cubes deleted and container dropped by the workflow


def test_a_parallel_loop_runs_every_month(shell, run, tos):
    result = statuses(submit(shell, WORKFLOWS / "parallel_loop.json", "1", str(tos), "tos"))
    assert set(result.values()) == {"COMPLETED"}
    assert sorted(n for n in result if n.startswith("aggregate")) == [
        f"aggregate [{i}]" for i in range(1, 5)
    ]
    assert [row[:2] for row in listed(run)] == [("c", "test")]  # the cubes deleted, not it


@pytest.mark.parametrize("inner", ["0", "1"])
def test_selection_inside_a_loop_takes_the_branch_its_condition_names(shell, tos, inner):
    result = statuses(submit(shell, WORKFLOWS / "if_in_loop.json", "1", str(tos), "tos", inner))
    # first pass (value 1): the outer if; second pass (value 0): else, then $4 decides
    assert result["cubeschema_1 [1]"] == "COMPLETED" and result["else_1 [1]"] == "UNSELECTED"
    assert result["cubeschema_1 [2]"] == "UNSELECTED"
    inner_branches = [
        n for n in ("cubeschema_2", "cubeschema_3") if result[f"{n} [2]"] == "COMPLETED"
    ]
    assert inner_branches == ["cubeschema_2" if inner == "1" else "cubeschema_3"]
    assert result["endfor"] == "COMPLETED"


@pytest.mark.parametrize(
    "conditions, chosen",
    [(("0", "0"), "cubeschema_4"), (("0", "1"), "cubeschema_3"), (("1", "0"), "cubeschema_2")],
)
def test_elseif_inside_a_loop(shell, tos, conditions, chosen):
    args = ("1", str(tos), "tos", *conditions)
    result = statuses(submit(shell, WORKFLOWS / "elseif_in_loop.json", *args))
    inner = {name: result[f"{name} [2]"] for name in ("cubeschema_2", "cubeschema_3")}
    inner["cubeschema_4"] = result["cubeschema_4 [2]"]
    assert [name for name, status in inner.items() if status == "COMPLETED"] == [chosen]


@pytest.mark.parametrize("condition, parallel", [("1", "no"), ("0", "no"), ("0", "yes")])
def test_a_loop_inside_a_selection_reads_the_measure_type(shell, tos, condition, parallel):
    args = ("1", str(tos), "tos", condition, parallel)
    result = statuses(submit(shell, WORKFLOWS / "loop_in_if.json", *args))
    applied = [result["apply [1]"], result["apply [2]"]]
    assert applied == (["UNSELECTED"] * 2 if condition == "1" else ["COMPLETED"] * 2)
    assert result["endif"] == "COMPLETED"


def test_reductions_are_exported_in_celsius(shell, tmp_path, tos):
    out = tmp_path / "data" / "out"
    out.mkdir()
    submit(shell, WORKFLOWS / "reduce_export.json", str(tos), str(out))
    source = masked_tos(tos) - 273.15
    for name, expected in (("max", source.max(0)), ("min", source.min(0)), ("avg", source.mean(0))):
        with netCDF4.Dataset(out / f"tos_{name}.nc") as ds:
            got = ds["tos"][:]
            assert ds["tos"].dimensions == ("lat", "lon")
        assert np.array_equal(got.mask, expected.mask)  # land stays missing
        np.testing.assert_allclose(got.compressed(), expected.compressed(), rtol=1e-5)


def test_a_subset_is_averaged_and_summarised_by_boxplot(shell, run, tmp_path):
    path = make_climate(tmp_path / "data" / "tos2.nc", years=1, grid=2)
    cube = run(f"oph_importnc src_path={path};measure=tos;imp_dim=time;").reply.document
    result = statuses(submit(shell, WORKFLOWS / "subset_boxplot.json", cube.output_cube))
    assert set(result.values()) == {"COMPLETED"}
    exported = sorted(tmp_path.rglob("*.nc"))  # in the session's export area of the store
    shapes = {}
    for file in exported:
        with netCDF4.Dataset(file) as ds:
            if "tos" in ds.variables and file != path:
                shapes[file] = ds["tos"].shape
    # index subset 35:45 x 10:25 of the 2-degree grid; boxplot gives 5 numbers per cell
    assert sorted(shapes.values()) == [(11, 16), (11, 16, 5)], (exported, shapes)


def test_oph_set_reads_a_cell_of_its_parents_reply(submit_doc, run, tos):
    """oph_set value=objkey.title.column: the measure type from oph_cubeschema's grid."""
    type_of = "value=cubeschema_cubeinfo.Datacube Information.MEASURE TYPE"
    query = "query=oph_sub_array('oph_@{t}|oph_@{t}','oph_@{t}',measure,measure)"
    flow = flow_of(
        task("imp", "oph_importnc", [f"src_path={tos}", "measure=tos", "imp_dim=time"]),
        task("schema", "oph_cubeschema", [], {"task": "imp", "type": "single"}),
        task("type", "oph_set", ["key=t", type_of], {"task": "schema"}),
        task(
            "sub",
            "oph_apply",
            [query, "check_type=no", "description=@{t}"],
            {"task": "imp", "type": "single"},
            {"task": "type"},
        ),
    )
    outcome = submit_doc(flow)
    assert outcome.ok, outcome.message
    cube = outcome.reply.document.grid("workflow_list").rows[-1][8]
    schema = run(f"oph_cubeschema cube={cube};").reply.document
    assert schema.grid("cubeschema_cubeinfo").column("MEASURE TYPE") == ["float"]
    assert "float" in schema.to_json()  # the description took the variable's value


def task(name: str, operator: str, arguments: list[str], *dependencies: dict) -> dict:
    return {
        "name": name,
        "operator": operator,
        "arguments": arguments,
        "dependencies": [*dependencies],
    }


def flow_of(*tasks: dict) -> dict:
    return {"name": "example", "exec_mode": "sync", "tasks": list(tasks)}


@pytest.fixture
def submit_doc(shell, tmp_path):
    def _submit(document: dict):
        path = tmp_path / "data" / "wf.json"
        path.write_text(json.dumps(document))
        return shell.run_line(str(path))

    return _submit


def reply() -> Document:
    doc = Document(producer="t")
    doc.add_text("status_text", "Output Cube", "http://h/1/2")
    doc.add_grid(
        "fs", "/data", ("T", "OBJECT"), ("string", "string"), [["f", "a.nc"], ["f", "b.nc"]]
    )
    doc.add_grid("other", "Sizes", ("A", "B"), ("int", "int"), [["1", "2"], ["3", "4"]])
    return doc


@pytest.mark.parametrize(
    "value, expected",
    [
        ("fs./data.OBJECT", "a.nc"),
        ("/data(*,2)", "a.nc|b.nc"),
        ("/data(end,2)", "b.nc"),
        ("other.Sizes(2,*)", "3|4"),
        ("other(2,2)", "4"),
        ("Sizes.B(2)", "4"),
        ("status_text", "http://h/1/2"),
        ("Output Cube", "http://h/1/2"),
        ("x|other.Sizes.A", "x|1"),
        ("other.Sizes(*,*)", "other.Sizes(*,*)"),  # a whole grid is not a value
        ("other.Sizes(9,1)", "other.Sizes(9,1)"),  # out of range: left as written
        ("nothing.here", "nothing.here"),
        ("plain", "plain"),
    ],
)
def test_references_into_a_reply(value, expected):
    assert expand(value, [reply()]) == expected


# -- Ophidia's functional CI (ophidia-ci/functional/main.sh), line by line -----------------
def test_the_commands_of_ophidias_ci_run_without_error(shell, tmp_path):
    workspace = tmp_path / "data" / "workspace"
    for name in ("file.nc", "file_2.nc"):
        make_climate(workspace / name, years=1, grid=30, daily=True)
    lines = (DATA / "ophidia-ci" / "functional.oph").read_text().splitlines()
    failed = []
    for number, line in enumerate(lines, 1):
        line = line.replace("$1", str(workspace)).replace("$2", "tos")
        outcome = shell.run_line(line)
        text = outcome.reply.document.to_json() if outcome.reply else ""
        if not outcome.ok or re.search(r"\bERROR\b", text):
            failed.append(f"{number}: {line[:60]}: {outcome.message}")
    assert failed == []
    assert len(lines) == 154


@pytest.mark.skipif(
    not CATALOGUE,
    reason="the published catalogue files are not in this repository (it has no licence); "
    "set OPHIDIA_WORKFLOW_CATALOGUE to a checkout of it to run them verbatim",
)
@pytest.mark.parametrize(
    "name, args",
    [
        ("test1", ()),
        ("test2", ()),
        ("test3", ("0",)),
        ("test3", ("1",)),
        ("test4", ("0", "0")),
        ("test4", ("0", "1")),
        ("test4", ("1", "0")),
        ("test4", ("1", "1")),
        ("test5", ("1", "no")),
        ("test5", ("0", "no")),
        ("test5", ("0", "yes")),
    ],
)
def test_the_published_indigo_tests_as_ophidias_ci_runs_them(shell, tos, name, args):
    path = Path(CATALOGUE) / "indigo" / "test" / f"{name}.json"
    result = statuses(submit(shell, path, "1", str(tos), "tos", *args))
    assert "ERROR" not in result.values()


def test_a_bracketed_path_with_a_pattern_imports_each_matching_file(run, tmp_path):
    """src_path=[DIR/*.nc], as Ophidia's CI writes it: DIR is the folder, *.nc the files."""
    folder = tmp_path / "data" / "many"
    for year in (0, 1):
        make_climate(folder / f"tos_{year}.nc", years=1, grid=30, start_year=year)
    (folder / "notes.txt").write_text("not a NetCDF file")
    doc = run(f"oph_importnc src_path=[{folder}/*.nc];measure=tos;imp_dim=time;").reply.document
    cubes = [row[3] for row in doc.grid("massive_list").rows] if doc.grid("massive_list") else []
    assert len(cubes) == 2
    for year, cube in enumerate(cubes):
        out = tmp_path / "data" / f"back_{year}.nc"
        run(f"oph_exportnc2 cube={cube};output_path={out.parent};output_name={out.stem};")
        with netCDF4.Dataset(out) as ds:
            got = ds["tos"][:]
            assert ds["tos"].dimensions == ("lat", "lon", "time")
        expected = masked_tos(folder / f"tos_{year}.nc").transpose(1, 2, 0)
        np.testing.assert_allclose(np.ma.filled(got, np.nan), np.ma.filled(expected, np.nan))


def test_a_workflow_parameter_the_operator_lacks_is_ignored_but_a_typo_is_refused(submit_doc):
    make = task("c", "oph_createcontainer", ["container=k", "dim=x|y", "dim_type=int|int"])
    drop = task("d", "oph_deletecontainer", ["container=k", "vocabulary=CF"], {"task": "c"})
    outcome = submit_doc(flow_of(make, drop))
    assert outcome.ok, outcome.message
    drop["arguments"] = ["containr=k"]
    outcome = submit_doc(flow_of(make, drop))
    assert not outcome.ok
    assert "has no parameter 'containr' (did you mean container=?)" in outcome.message


def test_the_summer_quantile_trend_runs_on_a_daily_cube(shell, run, tmp_path):
    path = make_climate(tmp_path / "data" / "day.nc", years=5, grid=30, daily=True)
    cube = run(f"oph_importnc src_path={path};measure=tos;imp_dim=time;imp_concept_level=d;")
    args = ("1", cube.reply.document.output_cube, "historical", "0.9")
    result = statuses(submit(shell, WORKFLOWS / "season_trend.json", *args))
    assert result == dict.fromkeys(("subset", "reduce2", "apply", "metadata"), "COMPLETED")


@pytest.mark.parametrize("season", ["DJF", "MAM", "JJA", "SON"])
def test_a_season_filter_keeps_the_seasons_days(run, tmp_path, season):
    """Ophidia's DJF takes each winter's December from the year before, so the last December of
    the data belongs to no winter it can show."""
    import xarray as xr

    path = make_climate(tmp_path / "data" / "day.nc", years=3, grid=90, daily=True)
    cube = run(f"oph_importnc src_path={path};measure=tos;imp_dim=time;").reply.document
    out = run(
        f"oph_subset cube={cube.output_cube};subset_dims=time;subset_type=coord;"
        f"subset_filter={season};"
    ).reply.document.output_cube
    with xr.open_dataset(path) as ds:  # a 360_day calendar decodes to cftime dates
        time = ds["time"]
        keep = (time.dt.season == season).values
        if season == "DJF":
            keep &= ~((time.dt.month == 12) & (time.dt.year == int(time.dt.year.max()))).values
        expected = ds["time"].values[keep]
    shown = run(f"oph_cubeschema cube={out};level=2;dim=time;show_time=yes;").reply.document
    days = [row[1][:10] for g in shown.grids("cubeschema_dimvalues") for row in g.rows]
    assert days == [d.strftime("%Y-%m-%d") for d in expected]
    assert len(days) == (90 * 3 if season != "DJF" else 60 * 3 + 30 * 2)


def test_a_workflow_file_that_is_not_json_is_refused_in_one_line(shell, tmp_path):
    """As the catalogue's clipc/snow_off workflow: a tab inside a JSON string."""
    path = tmp_path / "data" / "tab.json"
    path.write_text('{"name": "t", "tasks": [{"name": "a", "operator": "oph_list\t"}]}')
    outcome = shell.run_line(str(path))
    assert not outcome.ok
    assert outcome.message == (
        f"'{path}' is not valid JSON: invalid control character at line 1, column 60"
    )


def test_monthly_means_of_packed_shorts_keep_land_missing(run, tmp_path):
    """The CLIPC SST workflow's time reduction: int16 packed values, -32768 on land; a month of
    only missing values is the missing value (Ophidia casts NaN to it), not a number."""
    from make_climate import make_packed_sst

    path = make_packed_sst(
        tmp_path / "data" / "sst.nc", grid=60, first="1991-01-01", last="1991-03-31"
    )
    cube = run(
        f"oph_importnc src_path={path};measure=analysed_sst;imp_dim=time;imp_concept_level=d;"
        "units=s;base_time=1981-01-01 00:00:00;"
    ).reply.document.output_cube
    monthly = run(
        f"oph_reduce2 cube={cube};operation=avg;dim=time;concept_level=M;missingvalue=-32768;"
    ).reply.document.output_cube
    out = tmp_path / "data" / "out"
    run(f"oph_exportnc2 cube={monthly};output_path={out};output_name=monthly;")
    with netCDF4.Dataset(out / "monthly.nc") as ds:
        ds.set_auto_maskandscale(False)
        got = ds["analysed_sst"][:]
    with netCDF4.Dataset(path) as ds:
        ds.set_auto_maskandscale(False)
        raw = ds["analysed_sst"][:].astype(np.float64)
    days = np.repeat([0, 1, 2], [31, 28, 31])
    means = np.stack([raw[days == m].mean(axis=0) for m in range(3)], axis=-1)
    land = raw[0] == -32768
    expected = np.where(land[..., None], -32768, np.trunc(means)).astype(np.int16)
    assert got.dtype == np.int16 and land.any()
    np.testing.assert_array_equal(got, expected)
    overall = run(f"oph_reduce cube={cube};operation=avg;missingvalue=-32768;").reply.document
    run(f"oph_exportnc2 cube={overall.output_cube};output_path={out};output_name=avg;")
    with netCDF4.Dataset(out / "avg.nc") as ds:
        ds.set_auto_maskandscale(False)
        mean = ds["analysed_sst"][:]
    expected = np.where(land, -32768, np.trunc(raw.mean(axis=0))).astype(np.int16)
    np.testing.assert_array_equal(mean, expected)


# -- engine behaviour the catalogue's temperature/salinity workflow needs --------------------
RAND = [
    "container=r",
    "dim=lat|lon|time",
    "dim_size=2|3|4",
    "exp_ndim=2",
    "nfrag=1",
    "ntuple=6",
    "measure=v",
    "measure_type=double",
]


CONTAINER = ["container=r", "dim=lat|lon|time", "dim_type=int|int|int"]


def single(name: str) -> dict:
    return {"task": name, "type": "single"}


def containers(run) -> list[str]:
    return sorted(row[1] for row in run("oph_list level=1;").reply.document.grid("list").rows)


def test_nested_loops_run_each_inner_iteration_once_per_outer_one(submit_doc, run):
    inner = task("make", "oph_createcontainer", ["container=c_@{o}_&{i}", "dim=x", "dim_type=int"])
    flow = flow_of(
        task("outer", "oph_for", ["key=o", "values=a|b"]),
        task("inner", "oph_for", ["key=i", "counter=1:2"], {"task": "outer"}),
        {**inner, "dependencies": [{"task": "inner"}]},
        task("inner_end", "oph_endfor", [], {"task": "make"}),
        task("after", "oph_createcontainer", ["container=after_@{o}", "dim=x", "dim_type=int"]),
        task("outer_end", "oph_endfor", [], {"task": "after"}),
    )
    flow["tasks"][4]["dependencies"] = [{"task": "inner_end"}]
    outcome = submit_doc(flow)
    assert outcome.ok, outcome.message
    assert containers(run) == ["after_a", "after_b", "c_a_1", "c_a_2", "c_b_1", "c_b_2"]


@pytest.mark.parametrize("condition, lat", [("0", 2), ("1", 1)])
def test_a_false_if_with_forward_passes_its_cube_to_the_endif(submit_doc, run, condition, lat):
    flow = flow_of(
        task("c", "oph_createcontainer", CONTAINER),
        task("cube", "oph_randcube", RAND, {"task": "c"}),
        task("if", "oph_if", [f"condition={condition}", "forward=yes"], single("cube")),
        task("sub", "oph_subset", ["subset_dims=lat", "subset_filter=1"], single("if")),
        task("endif", "oph_endif", [], single("sub")),
        task("red", "oph_reduce", ["operation=max"], single("endif")),
    )  # fmt: skip
    outcome = submit_doc(flow)
    assert outcome.ok, outcome.message
    assert statuses(outcome)["red"] == "COMPLETED"
    out = outcome.reply.document.grid("workflow_list").rows[-1][8]
    shown = run(f"oph_cubeschema cube={out};").reply.document.grid("cubeschema_diminfo")
    sizes = dict(zip(shown.column("NAME"), shown.column("SIZE"), strict=True))
    assert sizes["lat"] == str(lat)


def test_cube_names_the_cube_a_task_is_given(submit_doc, run):
    flow = flow_of(
        task("c", "oph_createcontainer", CONTAINER),
        task("cube", "oph_randcube", RAND, {"task": "c"}),
        task("keep", "oph_set", ["key=kept", "value=@CUBE"], single("cube")),
        task("copy", "oph_duplicate", ["cube=@{kept}", "description=of @{kept}"], {"task": "keep"}),
    )  # fmt: skip
    outcome = submit_doc(flow)
    assert outcome.ok, outcome.message
    rows = {row[5]: row[8] for row in outcome.reply.document.grid("workflow_list").rows}
    listed_cubes = run("oph_list level=2;").reply.document.grid("list").rows
    assert [r[3] for r in listed_cubes if r[2] == rows["copy"]] == [f"of {rows['cube']}"]


# -- the catalogue's temperature/salinity workflow (generic/temperature_salinity.json) --------
def nemo_records(folder: Path, count: int) -> np.ndarray:
    """``count`` one-step records as the workflow reads them: votemper and vosaline on (y, x,
    time_counter), land 0 (the workflow's missing value); tos from make_climate gives
    votemper, salinity is made from it. Returns votemper (record, y, x)."""
    source = make_climate(folder.parent / "source.nc", years=(count + 11) // 12, grid=30)
    with netCDF4.Dataset(source) as ds:
        temperature = ds["tos"][:count].filled(0).astype(np.float32)
        time = ds["time"][:count]
    for i in range(count):
        with netCDF4.Dataset(folder / f"GLOB16_1d_grid_T2D_record_{i + 1}.nc", "w") as ds:
            for name, size in (("time_counter", None), ("y", 6), ("x", 12)):
                ds.createDimension(name, size)
            t = ds.createVariable("time_counter", "f8", ("time_counter",))
            t.units, t.calendar = "days since 1850-01-01", "360_day"
            t[:] = time[i : i + 1]
            for name, values in (
                ("votemper", temperature[i]),
                ("vosaline", salinity(temperature[i])),
            ):
                ds.createVariable(name, "f4", ("time_counter", "y", "x"))[:] = values[None]
    return temperature


def salinity(temperature: np.ndarray) -> np.ndarray:
    return np.where(temperature == 0, 0, 30 + temperature / 10).astype(np.float32)


def test_temperature_and_salinity_series_grow_one_record_at_a_time(shell, tmp_path):
    """oph_mergecubes mode=a;hold_values=yes appends each new record's mean (implicit size 1)
    to the series so far (size 2, 3, ...), keeping the records' times."""
    records = tmp_path / "data" / "records"
    records.mkdir(parents=True)
    out = tmp_path / "data" / "out"
    out.mkdir()
    temperature = nemo_records(records, 51)
    args = ("1", str(records), "votemper", "vosaline", str(out), "3:8", "2:5")
    result = statuses(submit(shell, WORKFLOWS / "temperature_salinity.json", *args))
    appended = [status for name, status in result.items() if name.startswith("mergecubes")]
    assert appended.count("COMPLETED") == 2 * 2 * 49  # variables x spaces x records 2..50
    assert set(result.values()) == {"COMPLETED", "UNSELECTED"}
    first_times = []
    for i in range(50):
        with netCDF4.Dataset(records / f"GLOB16_1d_grid_T2D_record_{i + 1}.nc") as ds:
            first_times.append(float(ds["time_counter"][0]))
    for variable, values in (("votemper", temperature), ("vosaline", salinity(temperature))):
        for space, block in (("global", values), ("local", values[:, 1:5, 2:8])):
            with netCDF4.Dataset(out / f"{variable}_{space}_50_progress.nc") as ds:
                series = ds[variable][:]
                times = ds["time_counter"][:]
            # per record: the average over x of the non-missing cells, then over the rows
            sums = np.where(block == 0, np.nan, block)
            expected = np.nanmean(np.nanmean(sums, axis=2), axis=1)
            np.testing.assert_allclose(np.ravel(series), expected[:50], rtol=1e-5)
            np.testing.assert_allclose(times, first_times)  # hold_values=yes


# -- the catalogue's CLIPC SST workflows (clipc/sea_surface_temperature) -----------------------
POSTPROCESS = '#!/bin/sh\ntest -f "$1/$2" && echo "$(basename "$0") $2" >> "$1/scripts.log"\n'


def packed(path: Path, variable: str) -> np.ndarray:
    with netCDF4.Dataset(path) as ds:
        ds.set_auto_maskandscale(False)
        return ds[variable][:]


def mean_of_valid(values: np.ndarray, axis: int) -> np.ndarray:
    """int16 mean of the values other than -32768 (-32768 when there are none), truncated."""
    valid = values != -32768
    counts = valid.sum(axis=axis)
    sums = np.where(valid, values.astype(np.float64), 0).sum(axis=axis)
    means = np.trunc(sums / np.maximum(counts, 1))
    return np.where(counts > 0, means, -32768).astype(np.int16)


@pytest.mark.parametrize("name", ["sst_monthly", "sst_monthly_delete"])
def test_the_sst_climatology_and_anomaly_of_packed_daily_shorts(shell, run, tmp_path, name):
    """Monthly means of int16 daily SST (1991-01..2010-04, 232 months), the mean of every 12th
    month from each calendar month, and the anomaly from the mean of all months (oph_apply
    oph_extend(oph_reduce(...), 232)), exported and handed to post-processing scripts."""
    from make_climate import make_packed_sst

    data = tmp_path / "data"
    source = make_packed_sst(data / "ESA-CCI-SST-1991_2010_day.nc", grid=30)
    scripts = data / "scripts"
    scripts.mkdir()
    for script in (
        "postprocess_sst",
        "postprocess_clim",
        "postprocess_anomaly",
        "postproc_attribute",
    ):
        (scripts / f"{script}.sh").write_text(POSTPROCESS)
        (scripts / f"{script}.sh").chmod(0o755)
    out = data / "out"
    out.mkdir()
    result = statuses(submit(shell, WORKFLOWS / f"{name}.json", "1", str(out), str(scripts)))
    assert set(result.values()) == {"COMPLETED"}

    raw = packed(source, "analysed_sst")
    with netCDF4.Dataset(source) as ds:
        dates = netCDF4.num2date(ds["time"][:], ds["time"].units, ds["time"].calendar)
    month = np.array([(d.year - 1991) * 12 + d.month - 1 for d in dates])
    assert month.max() == 231
    daily = np.where((raw > 4500) | (raw < -300), -32768, raw)
    monthly = np.stack([mean_of_valid(daily[month == m], 0) for m in range(232)], axis=-1)
    got = packed(out / "SST_ESA-CCI-SST_1991-2010_mon.nc", "monthly_mean_sst")
    np.testing.assert_array_equal(got, monthly)
    assert (got == -32768).any()  # land
    names = ["Sep", "Oct", "Nov", "Dec", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug"]
    for index, label in enumerate(names):  # month index+1, every 12th: the first is January
        got = packed(out / f"{label}_SST_ESA-CCI-SST_1991-2010_mon.nc", "monthly_clim_mean_sst")
        np.testing.assert_array_equal(got, mean_of_valid(monthly[..., index::12], -1))
    overall = mean_of_valid(monthly, -1)[..., None]
    land = overall == -32768
    anomaly = np.where(land | (monthly == -32768), -32768, monthly - overall).astype(np.int16)
    got = packed(out / "ANOMALY_ESA-CCI-SST_1991-2010_mon.nc", "monthly_anomaly")
    np.testing.assert_array_equal(got, anomaly)
    logged = (out / "scripts.log").read_text().split("\n")
    assert len([line for line in logged if line]) == 2 * (1 + 12 + 1)  # 2 scripts per export
    if name == "sst_monthly_delete":
        assert listed(run) == []  # its intermediate cubes deleted, its container too


# -- the catalogue's anomaly workflow (generic/anomaly.json) -----------------------------------
def test_a_loop_over_the_files_oph_fs_lists_imports_them_all(shell, tmp_path):
    """oph_for values=/FOLDER(*,2) takes the file names from oph_fs's reply, so the loop is
    unrolled once oph_fs has run; the files join one cube and give the anomaly from its mean."""
    folder = tmp_path / "data" / "series"
    files = [
        make_climate(folder / f"tos_{year}.nc", years=1, grid=30, start_year=year)
        for year in range(3)
    ]
    # as the workflow expects: $2 relative to the data directory, whose listing's title is /$2
    assert shell.run_line("setenv OPH_CDD=/").ok
    relative = str(folder).lstrip("/")
    result = statuses(submit(shell, WORKFLOWS / "anomaly.json", "1", relative, "tos"))
    assert set(result.values()) == {"COMPLETED", "UNSELECTED"}
    assert [result[f"importnc [{i}]"] for i in (1, 2, 3)] == ["COMPLETED"] + ["UNSELECTED"] * 2
    assert [result[f"concatnc [{i}]"] for i in (2, 3)] == ["COMPLETED"] * 2
    source = np.ma.concatenate([masked_tos(f) for f in files])  # 36 months
    expected = (source - source.mean(axis=0)).transpose(1, 2, 0)
    exported = [f for f in tmp_path.rglob("*.nc") if f.parent != folder]
    got = []
    for file in exported:
        with netCDF4.Dataset(file) as ds:
            if "anomaly" in ds.variables:
                got.append(ds["anomaly"][:])
    assert len(got) == 1 and got[0].shape == expected.shape
    values = np.ma.filled(got[0], np.nan)
    land = values[expected.mask]
    assert land.size and not np.isfinite(land[land < 1e20]).any()  # missing: NaN or the 1e20
    np.testing.assert_allclose(values[~expected.mask], expected.compressed(), rtol=1e-4, atol=1e-4)


def test_a_loop_over_a_reply_that_names_nothing_stops_with_a_clear_error(submit_doc):
    flow = flow_of(
        task("list", "oph_fs", ["dpath=/"]),
        task("for", "oph_for", ["key=f", "values=/nowhere(*,2)"], {"task": "list"}),
        task("make", "oph_createcontainer", ["container=@{f}", "dim=x", "dim_type=int"],
             {"task": "for"}),
        task("end", "oph_endfor", [], {"task": "make"}),
    )  # fmt: skip
    outcome = submit_doc(flow)
    assert not outcome.ok
    assert "oph_for values=/nowhere(*,2) names nothing in its parents' replies" in outcome.message


@pytest.mark.parametrize("parallel", ["no", "yes"])
def test_an_endfor_hands_on_the_last_iteration_or_all_of_them(submit_doc, parallel):
    """As Ophidia's oph_endfor: a sequential loop's gives the last iteration's cube, a parallel
    loop's every iteration's (a single dependency on it then fails)."""
    flow = flow_of(
        task("c", "oph_createcontainer", CONTAINER),
        task("for", "oph_for", ["key=i", "counter=1:3", f"parallel={parallel}"], {"task": "c"}),
        task("cube", "oph_randcube", [*RAND, "description=&{i}"], {"task": "for"}),
        task("end", "oph_endfor", [], single("cube")),
        task("schema", "oph_cubeschema", [], single("end")),
    )  # fmt: skip
    outcome = submit_doc(flow)
    rows = {row[5]: row for row in outcome.reply.document.grid("workflow_list").rows}
    if parallel == "no":
        assert outcome.ok, outcome.message
        assert rows["end"][8] == rows["cube [3]"][8] and rows["schema"][8] == rows["end"][8]
    else:
        assert len(rows["end"][8].split("|")) == 3
        assert not outcome.ok and "'end' gave 3 outputs" in outcome.message
