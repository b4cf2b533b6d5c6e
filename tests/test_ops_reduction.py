"""Merging, reducing and combining cubes, each step checked against numpy on real FITS frames."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits
from factories import write_fits

from ophsh.engine.kernels import WIRE_ELEMENTS, quantile_across, quantile_last, reduce_last
from ophsh.engine.settings import Settings


@pytest.fixture
def load(run, tmp_path):
    """Write arrays as FITS frames (header TAG=name), import them into container 'c'."""

    def _load(arrays: list[np.ndarray], tag: str = "F") -> None:
        for i, data in enumerate(arrays):
            write_fits(tmp_path / "data" / f"{tag}{i:02d}.fits", data, TAG=tag)
        if not any(r[1].rstrip("/") == "c" for r in run("ls").reply.document.grid("list").rows):
            run("oph_createcontainer container=c;dim=NAXIS2|NAXIS1;dim_type=int|int")
        run(f"oph_importfits src_path=[file={tag}*.fits];container=c;imp_dim=NAXIS1")

    return _load


@pytest.fixture
def values(run, tmp_path):
    """The current cube's values, as a user gets them: exported to FITS and read back."""
    count = iter(range(1000))

    def _values(cube: str = "") -> np.ndarray:
        name = f"v{next(count)}"
        target = f"cube={cube};" if cube else ""
        run(f"oph_exportfits {target}output_path=out;output_name={name};force=yes")
        return fits.getdata(tmp_path / "data" / "out" / f"{name}.fits").astype(np.float64)

    return _values


def frames(n: int, shape=(7, 5), *, seed=0, dtype=np.uint16) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "u":
        return [rng.integers(100, 60000, size=shape, dtype=dtype) for _ in range(n)]
    return [rng.normal(100, 30, size=shape).astype(dtype) for _ in range(n)]


def stack_median(run, tag="F") -> str:
    """Stack the frames tagged ``tag``, take their median; returns the stack's PID."""
    outcome = run(
        f"oph_mergecubes2 cubes=[container=c;metadata_key=TAG;metadata_value={tag}];dim=z"
    )
    run("oph_reduce2 dim=z;operation=quantile;order=0.5")
    return outcome.reply.document.text_titled("Output Cube")


@pytest.mark.parametrize("n", [5, 4, 1 + 1])  # odd, even (mean of the two middle values), two
def test_median_of_uint16_frames_equals_numpy(load, run, values, n):
    data = frames(n, shape=(7, 5))
    load(data)
    stack_median(run)
    assert np.array_equal(values(), np.median(np.stack(data).astype(np.float64), axis=0))


def test_median_of_float_frames_with_nan_pixels(load, run, values):
    data = frames(5, shape=(9, 11), dtype=np.float32)
    data[2][3, 4] = np.nan
    load(data)
    stack = stack_median(run)
    expected = np.median(np.stack(data).astype(np.float64), axis=0)
    actual = values()
    assert np.isnan(actual[3, 4])  # quantile keeps missing values, as Ophidia does
    assert np.allclose(actual, expected, rtol=1e-12, equal_nan=True)
    run(f"oph_reduce2 cube={stack};operation=avg;dim=z")  # avg skips NaN
    means = values()
    assert np.allclose(means, np.nanmean(np.stack(data).astype(np.float64), axis=0))


@pytest.mark.parametrize(
    ("operation", "expected"),
    [
        ("count", lambda s: np.full(s.shape[1:], s.shape[0])),
        ("max", lambda s: s.max(axis=0)),
        ("min", lambda s: s.min(axis=0)),
        ("avg", lambda s: s.mean(axis=0)),
        ("sum", lambda s: s.sum(axis=0)),
        ("std", lambda s: s.std(axis=0, ddof=1)),
        ("var", lambda s: s.var(axis=0, ddof=1)),
        ("arg_max", lambda s: s.argmax(axis=0) + 1),
        ("arg_min", lambda s: s.argmin(axis=0) + 1),
        ("quantile;order=0.25", lambda s: np.quantile(s, 0.25, axis=0)),
    ],
)
def test_every_reduce2_operation_against_numpy(load, run, values, operation, expected):
    data = frames(6, shape=(4, 3), seed=3)
    load(data)
    run("oph_mergecubes2 cubes=[container=c];dim=z")
    run(f"oph_reduce2 operation={operation}")
    assert np.allclose(values(), expected(np.stack(data).astype(np.float64)), rtol=1e-12)


def test_small_memory_budget_and_one_thread_give_the_same_median(load, run, values, shell):
    data = frames(7, shape=(33, 17), seed=5)
    load(data)
    shell.backend.service.settings = Settings(memory_bytes=1024, threads=1)  # a row a block
    stack_median(run)
    assert np.array_equal(values(), np.median(np.stack(data).astype(np.float64), axis=0))


def test_mean_of_a_cube_by_reduce_then_aggregate(load, run, values):
    data = frames(1, shape=(6, 4), seed=2)
    load(data)
    run("oph_reduce operation=avg")
    assert np.allclose(values(), data[0].astype(np.float64).mean(axis=1))
    run("oph_aggregate operation=avg")
    assert np.allclose(values(), data[0].mean())


def test_reduce_in_groups(load, run, values):
    data = frames(1, shape=(3, 6), seed=4)
    load(data)
    run("oph_reduce operation=sum;group_size=2")
    assert np.allclose(values(), data[0].astype(np.float64).reshape(3, 3, 2).sum(axis=-1))


def test_intercube_sub_and_div_against_numpy(load, run, values, shell):
    a, b = frames(2, shape=(5, 8), seed=6)
    load([a], tag="A")
    first = shell.state.get("OPH_DATACUBE")
    load([b], tag="B")
    second = shell.state.get("OPH_DATACUBE")
    run(f"oph_intercube cube={first};cube2={second};operation=sub")
    assert np.allclose(values(), a.astype(np.float64) - b)
    run(f"oph_intercube cubes={first}|{second};operation=div")
    assert np.allclose(values(), a.astype(np.float64) / b)


def test_division_by_zero_gives_nan_and_a_warning_that_counts(load, run, values, shell):
    a = frames(1, shape=(4, 4), dtype=np.float32)[0]
    b = np.ones((4, 4), dtype=np.float32)
    b[1, 2] = b[3, 0] = 0
    load([a], tag="A")
    first = shell.state.get("OPH_DATACUBE")
    load([b], tag="B")
    outcome = run(f"oph_intercube cube={first};cube2=$OPH_DATACUBE;operation=div")
    result = values()
    assert np.isnan(result[1, 2]) and np.isnan(result[3, 0])
    assert np.isfinite(np.delete(result.ravel(), [6, 12])).all()
    warning = outcome.reply.document.text_titled("WARNING")
    assert warning and "division by zero at 2 value(s)" in warning


def test_mismatched_shapes_name_the_dimension(load, run, shell):
    load(frames(1, shape=(4, 5)), tag="A")
    first = shell.state.get("OPH_DATACUBE")
    load(frames(1, shape=(4, 6)), tag="B")
    outcome = shell.run_line(f"oph_intercube cube={first};cube2=$OPH_DATACUBE;operation=sub")
    assert not outcome.ok
    assert "NAXIS1" in outcome.message and "5" in outcome.message and "6" in outcome.message


def test_a_single_value_cube2_applies_to_every_value(load, run, values, shell):
    data = frames(1, shape=(5, 3), seed=8)[0]
    load([data])
    image = shell.state.get("OPH_DATACUBE")
    run("oph_reduce operation=avg")
    run("oph_aggregate operation=avg")
    run(f"oph_intercube cube={image};cube2=$OPH_DATACUBE;operation=div")
    assert np.allclose(values(), data / data.astype(np.float64).mean())


def test_an_empty_selection_is_a_clear_error(load, run, shell):
    load(frames(2))
    outcome = shell.run_line(
        "oph_mergecubes2 cubes=[container=c;metadata_key=TAG;metadata_value=X]"
    )
    assert not outcome.ok and "no cube matches" in outcome.message


def test_a_stack_outlives_the_frames_it_was_made_of(load, run, values, shell):
    data = frames(3, seed=9)
    load(data)
    run("oph_mergecubes2 cubes=[container=c;level=0];dim=z")
    stack = shell.state.get("OPH_DATACUBE")
    run("oph_delete cube=[container=c;level=0]")
    run(f"oph_reduce2 cube={stack};operation=max")
    assert np.array_equal(values(), np.max(np.stack(data), axis=0))


@pytest.mark.parametrize(("mode", "join"), [("a", "append"), ("i", "interlace")])
def test_mergecubes_appends_or_interlaces(load, run, values, mode, join):
    data = frames(2, shape=(3, 4), seed=10)
    load(data)
    run(f"oph_mergecubes cubes=[container=c];mode={mode}")
    a, b = (d.astype(np.float64) for d in data)
    expected = np.concatenate([a, b], axis=1) if join == "append" else np.stack([a, b], -1)
    assert np.array_equal(values(), expected.reshape(3, 8))


def naxis1(run) -> tuple[str, list[str]]:
    """The current cube's NAXIS1: its type and values, as oph_cubeschema shows them."""
    doc = run("oph_cubeschema level=2;dim=NAXIS1").reply.document
    info = doc.grid("cubeschema_diminfo")
    types = dict(zip(info.column("NAME"), info.column("TYPE"), strict=True))
    return types["NAXIS1"], doc.grid("cubeschema_dimvalues").column("VALUE")


@pytest.mark.parametrize("hold", ["yes", "no"])
def test_mergecubes_appends_arrays_of_other_lengths(load, run, values, hold):
    """As in Ophidia 1.9: with mode=a the implicit dimension may differ in size; hold_values=yes
    keeps each cube's values in turn, no numbers them 1..n as a long dimension."""
    a, b = frames(1, shape=(3, 4), seed=11)[0], frames(1, shape=(3, 2), seed=12)[0]
    load([a], tag="A")
    load([b], tag="B")
    run(f"oph_mergecubes cubes=[container=c];mode=a;hold_values={hold}")
    assert np.array_equal(values(), np.concatenate([a, b], axis=1).astype(np.float64))
    kind, shown = naxis1(run)
    if hold == "yes":
        assert (kind, shown) == ("int", ["1", "2", "3", "4", "1", "2"])
    else:
        assert (kind, shown) == ("long", [str(i) for i in range(1, 7)])


def test_mergecubes_interlaces_only_arrays_of_one_length(load, run, shell):
    load(frames(1, shape=(3, 4), seed=13), tag="A")
    load(frames(1, shape=(3, 2), seed=14), tag="B")
    outcome = shell.run_line("oph_mergecubes cubes=[container=c];mode=i")
    assert not outcome.ok and "dimension NAXIS1 differs" in outcome.message
    only_a = "[container=c;metadata_key=TAG;metadata_value=A]"
    run(f"oph_mergecubes cubes={only_a};number=2;hold_values=yes")
    assert naxis1(run) == ("int", ["1", "2", "3", "4"] * 2)  # Ophidia's: one after the other


@pytest.mark.parametrize("n", [2, 3, 8, 15, 16, 60, 129, 200])
@pytest.mark.parametrize("order", [0.0, 0.1, 0.5, 0.75, 1.0])
def test_quantile_kernel_matches_numpy_for_any_count(n, order):
    rng = np.random.default_rng(n)
    block = rng.integers(0, 1000, size=(3, 4, n)).astype(np.uint16)
    expected = np.quantile(block.astype(np.float64), order, axis=-1)
    assert np.allclose(quantile_last(block, order), expected, rtol=1e-12, atol=0)


@pytest.mark.parametrize("n", [3, 4, 15])
def test_quantile_across_frames_larger_than_a_tile(n):
    """A block of any size is taken tile by tile; the values at the tiles' edges are right."""
    rng = np.random.default_rng(n)
    shape = (3, WIRE_ELEMENTS // 2 + 7)  # three rows: tiles end inside rows, and a short one
    stack = [rng.integers(0, 65535, size=shape, dtype=np.uint16) for _ in range(n)]
    expected = np.median(np.stack(stack).astype(np.float64), axis=0)
    exact = np.uint16 if n % 2 else np.float64
    result = quantile_across([f.copy() for f in stack], 0.5, np.dtype(exact))
    assert result.dtype == exact and result.shape == shape
    assert np.array_equal(result, expected)


def test_missing_values_are_skipped_by_avg():
    block = np.array([[1.0, -999.0, 3.0], [np.nan, 2.0, 4.0]])
    assert np.allclose(reduce_last(block, "avg", missing=-999.0), [2.0, 3.0])


def test_massive_forms_run_an_operator_on_every_selected_cube(load, run, values, shell):
    data = frames(3, shape=(4, 6), seed=12)
    load(data)
    outcome = run("oph_reduce cube=[container=c;level=0];operation=max")
    grid = outcome.reply.document.grid("massive_list")
    assert grid.column("EXIT STATUS") == ["OPH_STATUS_COMPLETED"] * 3
    maxima = sorted(tuple(values(row[3])) for row in grid.rows)
    assert maxima == sorted(tuple(d.astype(np.float64).max(axis=1)) for d in data)
    outcome = run("oph_intercube cube=[container=c;level=1];cube2=" + grid.rows[0][3])
    assert len(outcome.reply.document.grid("massive_list").rows) == 3


def test_intercube_corr_gives_pearson_per_row(load, run, values, shell):
    a, b = frames(2, shape=(5, 9), seed=13)
    load([a], tag="A")
    first = shell.state.get("OPH_DATACUBE")
    load([b], tag="B")
    run(f"oph_intercube cube={first};cube2=$OPH_DATACUBE;operation=corr")
    expected = [
        np.corrcoef(x, y)[0, 1] for x, y in zip(a.astype(float), b.astype(float), strict=True)
    ]
    assert np.allclose(values(), expected)


def test_an_interrupted_reduction_keeps_nothing(load, run, shell):
    data = frames(5, shape=(64, 16), seed=14)
    load(data)
    run("oph_mergecubes2 cubes=[container=c];dim=z")
    shell.backend.service.settings = Settings(memory_bytes=1024, threads=1)  # many small blocks
    before = run("oph_list level=2;path=/").reply.document.grid("list").rows

    def stop_after_first_block(label: str, done: int, total: int) -> None:
        if label == "reduce2" and done > 0:
            shell.backend.interrupt()  # what Ctrl-C does in the interactive shell

    shell.progress = stop_after_first_block
    outcome = shell.run_line("oph_reduce2 operation=quantile;order=0.5")
    assert not outcome.ok and "interrupted" in outcome.message
    shell.progress = None
    after = run("oph_list level=2;path=/").reply.document.grid("list").rows
    assert after == before  # no half-made cube
    store = shell.backend.store
    assert not list(store.arrays.tmp.iterdir())  # and no staged file left behind
