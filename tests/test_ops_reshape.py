"""oph_rollup, oph_drilldown, oph_merge and oph_split: layouts change, values do not."""

from __future__ import annotations

import numpy as np
from make_climate import make_climate


def cube_array(backend, pid: str) -> np.ndarray:
    return np.asarray(backend.store.data(backend.store.cube_by_pid(pid)))


def layout(run, pid: str) -> list[tuple[str, str, str, str]]:
    """(name, size, array, level) of each dimension, as oph_cubeschema shows them."""
    doc = run(f"oph_cubeschema cube={pid};").reply.document
    return [(r[0], r[2], r[5], r[6]) for r in doc.grid("cubeschema_diminfo").rows]


def climate(run, data_dir) -> str:
    make_climate(data_dir / "tos.nc", years=1, grid=30)  # time, lat explicit; lon implicit
    return run("oph_importnc src_path=tos.nc;measure=tos;").reply.document.output_cube


def test_rollup_then_drilldown_moves_dimensions_and_keeps_values(run, backend, data_dir):
    pid = climate(run, data_dir)
    data = cube_array(backend, pid)
    assert np.isnan(data).any()
    rolled = run(f"oph_rollup cube={pid};ndim=1;").reply.document.output_cube
    assert layout(run, rolled) == [
        ("time", "12", "no", "1"),
        ("lat", "6", "yes", "1"),
        ("lon", "12", "yes", "2"),
    ]
    assert np.array_equal(cube_array(backend, rolled), data, equal_nan=True)
    # one row per month now holds its whole lat x lon field: a reduction sees all of it
    means = run(f"oph_reduce cube={rolled};operation=avg;").reply.document.output_cube
    assert np.allclose(cube_array(backend, means), np.nanmean(data, axis=(1, 2)))
    both = run(f"oph_drilldown cube={rolled};ndim=1;").reply.document.output_cube
    assert layout(run, both) == layout(run, pid)
    assert np.array_equal(cube_array(backend, both), data, equal_nan=True)
    flat = run(f"oph_rollup cube={pid};ndim=2;").reply.document.output_cube
    assert [d[2] for d in layout(run, flat)] == ["yes", "yes", "yes"]
    again = run(f"oph_drilldown cube={flat};ndim=2;").reply.document.output_cube
    assert layout(run, again) == layout(run, pid)


def test_rollup_and_drilldown_refuse_too_many_dimensions(shell, run, data_dir):
    pid = climate(run, data_dir)
    rolled = shell.run_line(f"oph_rollup cube={pid};ndim=3;")
    assert not rolled.ok and "2 explicit" in rolled.message and "\n" not in rolled.message
    drilled = shell.run_line(f"oph_drilldown cube={pid};ndim=2;")
    assert not drilled.ok and "1 implicit" in drilled.message
    zero = shell.run_line(f"oph_rollup cube={pid};ndim=0;")
    assert not zero.ok and "at least 1" in zero.message


def test_merge_and_split_give_the_same_cube(shell, run, backend, data_dir):
    pid = climate(run, data_dir)
    data = cube_array(backend, pid)
    for line in (f"oph_merge cube={pid};nmerge=0;", f"oph_split cube={pid};nsplit=4;"):
        out = run(line).reply.document.output_cube
        assert out != pid and layout(run, out) == layout(run, pid)
        assert np.array_equal(cube_array(backend, out), data, equal_nan=True)
    too_many = shell.run_line(f"oph_split cube={pid};nsplit=73;")
    assert not too_many.ok and "72 row(s)" in too_many.message


def test_drilling_down_every_implicit_dimension_leaves_one_value_a_row(run, backend, data_dir):
    """As in Ophidia, rows of a single value; oph_rollup brings the array back."""
    pid = climate(run, data_dir)
    data = cube_array(backend, pid)
    flat = run(f"oph_drilldown cube={pid};ndim=1;").reply.document.output_cube
    assert [d[2:] for d in layout(run, flat)] == [("no", "1"), ("no", "2"), ("no", "3")]
    shown = run(f"oph_explorecube cube={flat};limit_filter=3;").reply.document
    rows = shown.grid("explorecube_data").rows
    assert len(rows) == 3 and rows[0][-1] == f"{data[0, 0, 0]:.10f}"
    back = run(f"oph_rollup cube={flat};ndim=1;").reply.document.output_cube
    assert layout(run, back) == layout(run, pid)
    assert np.array_equal(cube_array(backend, back), data, equal_nan=True)
