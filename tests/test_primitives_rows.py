"""The aggregate primitives in oph_apply (every row combined into one): oph_aggregate_operator,
oph_aggregate_stats and its two steps, oph_roll_up; checked against numpy on generated blocks
with missing values and through the real shell on imported float and int cubes."""

from __future__ import annotations

import numpy as np
import pytest
from factories import exported, float_and_int_cubes
from scipy import stats

from ophsh.engine.primitives import evaluate
from ophsh.errors import ValidationError
from ophsh.spec import load_specs

PRIMS = load_specs().primitives


@pytest.fixture
def block():
    """9 rows of 5 values, three missing (NaN)."""
    data = np.random.default_rng(21).normal(50, 20, size=(9, 5)).round(3)
    data[0, 1] = data[4, 1] = data[7, 3] = np.nan
    return data


def combined(query, measure):
    return evaluate(query, measure, PRIMS, manual=False, all_rows=True).values


def same(a, b):
    return np.allclose(a, b, equal_nan=True)


@pytest.mark.parametrize(
    ("operator", "expected"),
    [
        ("", np.nanmax),
        ("'oph_max'", np.nanmax),
        ("'oph_min'", np.nanmin),
        ("'oph_sum'", np.nansum),
        ("'OPH_AVG'", np.nanmean),
        ("'oph_count'", lambda a, axis: np.sum(~np.isnan(a), axis=axis)),
    ],
)
def test_aggregate_operator_combines_the_rows(block, operator, expected):
    query = f"oph_aggregate_operator(measure{',' + operator if operator else ''})"
    assert same(combined(query, block), expected(block, axis=0)[None, :])


def test_aggregate_operator_leaves_out_the_missingvalue(block):
    block[2, 0] = -999
    out = combined("oph_aggregate_operator(measure,'oph_avg',-999)", block)
    assert np.isclose(out[0, 0], np.mean(np.delete(block[:, 0], 2)))


def _stats_table(a):
    """mean, variance, std, skewness, kurtosis, max, min of each column, NaN left out."""
    columns = []
    for column in a.T:
        v = column[~np.isnan(column)]
        sd = np.std(v, ddof=1)
        third = np.mean((v - v.mean()) ** 3) / sd**3
        fourth = np.mean((v - v.mean()) ** 4) / sd**4 - 3
        columns.append([v.mean(), np.var(v, ddof=1), sd, third, fourth, v.max(), v.min()])
    return np.array(columns)


def test_aggregate_stats_for_every_mask(block):
    table = _stats_table(block)
    assert same(combined("oph_aggregate_stats(measure)", block), table.reshape(1, -1))
    for mask in ("1000000", "0110000", "0001100", "0000011", "101"):
        picked = [i for i, digit in enumerate(mask) if digit == "1"]
        out = combined(f"oph_aggregate_stats(measure,'{mask}')", block)
        assert same(out, table[:, picked].reshape(1, -1)), mask


def test_aggregate_stats_skewness_is_scipys_times_the_sample_correction(block):
    v = block[:, 0]
    n = v.size
    out = combined("oph_aggregate_stats(measure,'0001')", block)[0, 0]
    assert np.isclose(out, stats.skew(v) * ((n - 1) / n) ** 1.5)


def test_aggregate_stats_in_two_steps_gives_the_same(block):
    mask = "1111111"
    partial = combined(f"oph_aggregate_stats_partial(measure,'{mask}')", block)
    assert partial.shape == (1, 5 * 7)  # count, 4 sums, max, min per element
    assert same(partial.reshape(5, 7)[:, 0], np.sum(~np.isnan(block), axis=0))
    # three groups of rows each give their partial results, then the final step joins them
    parts = np.vstack(
        [
            combined(f"oph_aggregate_stats_partial(measure,'{mask}')", g)
            for g in block[:9].reshape(3, 3, 5)
        ]
    )
    final = combined(f"oph_aggregate_stats_final(measure,'{mask}')", parts)
    assert same(final, _stats_table(block).reshape(1, -1))
    with pytest.raises(ValidationError, match="not groups of 3"):
        combined("oph_aggregate_stats_final(measure,'0100000')", np.ones((2, 7)))


def test_roll_up_joins_the_first_rows(block):
    assert same(combined("oph_roll_up(measure,4)", block), block[:4].reshape(1, -1))
    out = combined("oph_roll_up(measure,11)", block)
    assert same(out[0, :45], block.ravel()) and np.isnan(out[0, 45:]).all()


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("oph_aggregate_operator(measure,'oph_median')", "unknown operator 'oph_median'"),
        ("oph_aggregate_stats(measure,'12')", "mask '12' is not up to 7 digits"),
        ("oph_aggregate_stats(measure,'11111111')", "is not up to 7 digits"),
        ("oph_roll_up(measure,0)", "size must be at least 1"),
        ("oph_roll_up(measure)", "takes 2 to 2 arguments after the types, not 1"),
        (
            "oph_sum_array(measure,oph_aggregate_operator(measure))",
            "uses measure only inside the combining primitive",
        ),
    ],
)
def test_errors(block, query, message):
    with pytest.raises(ValidationError, match=message):
        combined(query, block)


def test_only_a_whole_cube_feeds_an_aggregate(block):
    with pytest.raises(ValidationError, match="combines rows: oph_apply gives it every row"):
        evaluate("oph_roll_up(measure,2)", block, PRIMS, manual=False)


@pytest.fixture
def cubes(run, tmp_path):
    """A 7x5 float32 frame with missing values and a 7x5 int32 frame, imported (the int cube
    is the current one)."""
    rng = np.random.default_rng(4)
    floats = rng.normal(20, 5, size=(7, 5)).astype(np.float32)
    floats[3, 2] = floats[5, 2] = np.nan
    ints = rng.integers(-50, 50, size=(7, 5)).astype(np.int32)
    source = float_and_int_cubes(run, tmp_path / "data", floats, ints)
    return floats.astype(np.float64), ints.astype(np.float64), source


def test_through_the_shell_one_row_with_the_explicit_dimension_collapsed(cubes, run, tmp_path):
    floats, ints, float_cube = cubes
    run("oph_apply query=oph_aggregate_operator('oph_int','oph_float',measure,'oph_avg')")
    schema = run("oph_cubeschema").reply.document
    info = schema.grid("cubeschema_diminfo")
    sizes = dict(zip(info.column("NAME"), info.column("SIZE"), strict=True))
    assert sizes == {"NAXIS2": "ALL", "NAXIS1": "5"}
    assert np.allclose(exported(run, tmp_path / "data", "avg"), ints.mean(axis=0), atol=1e-5)

    query = "oph_aggregate_stats('oph_float','oph_double',measure,'0010001')"
    run(f"oph_apply cube={float_cube};query={query}")
    out = exported(run, tmp_path / "data", "sd")
    expected = np.stack([np.nanstd(floats, axis=0, ddof=1), np.nanmin(floats, axis=0)], axis=-1)
    assert np.allclose(out, expected.ravel(), atol=1e-4)

    run(f"oph_apply cube={float_cube};measure_type=auto;query=oph_roll_up(measure,3)")
    assert same(exported(run, tmp_path / "data", "roll"), floats[:3].ravel())
