"""oph_expand, oph_sequence, oph_concat2, oph_sum_scalar2/oph_mul_scalar2 and oph_filter on
generated blocks (odd sizes, missing values) checked against numpy, through the real shell on
imported float and int cubes, and the primitives oph_apply refuses as Ophidia does."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from factories import exported, float_and_int_cubes

from ophsh.engine.primitives import FUNCTIONS, REFUSED, evaluate
from ophsh.errors import ValidationError
from ophsh.spec import load_specs

PRIMS = load_specs().primitives
INDEX = [1.0, 2.0, 4.0, 5.0, 6.0, 8.0, 9.0]
BIN = "oph_to_bin('1,2,4,5,6,8,9')"


@pytest.fixture
def block():
    """5 rows of 7 values with two missing (NaN)."""
    data = np.random.default_rng(5).normal(500, 250, size=(5, 7)).round(3)
    data[1, 2] = np.nan
    data[4, 6] = np.nan
    return data


def manual(query, measure, **kw):
    return evaluate(query, measure, PRIMS, manual=True, check_type=False, **kw).values


def auto(query, measure, **kw):
    return evaluate(query, measure, PRIMS, manual=False, **kw).values


def same(a, b):
    return np.allclose(a, b, equal_nan=True)


def test_scalar2_uses_the_first_scalar_on_real_arrays(block):
    assert same(auto("oph_sum_scalar2(measure,5,7)", block), block + 5)
    assert same(auto("oph_mul_scalar2(measure,2,7)", block), block * 2)
    assert same(auto("oph_mul_scalar2(measure)", block), block)


def test_scalar2_uses_both_scalars_on_complex_arrays(block):
    fft = "oph_gsl_fft('oph_double','oph_complex_double',measure)"
    spectrum = np.fft.fft(np.nan_to_num(block), axis=-1)
    for name, expected in (
        ("oph_sum_scalar2", spectrum + (2 + 7j)),
        ("oph_mul_scalar2", spectrum * (2 + 7j)),
    ):
        query = f"{name}('oph_complex_double','oph_complex_double',{fft},2,7)"
        out = manual(query, np.nan_to_num(block))
        pairs = np.stack([expected.real, expected.imag], axis=-1).reshape(5, -1)
        assert np.allclose(out, pairs)


def _expected_expand(row, grid, filling, step=1.0):
    """Each grid point takes the first element whose coordinate lies within half a step."""
    out = []
    for g in grid:
        near = [v for c, v in zip(INDEX, row, strict=True) if g - step / 2 <= c < g + step / 2]
        out.append(near[0] if near else (g if filling == "INTERP" else filling))
    return out


@pytest.mark.parametrize(
    ("tail", "grid", "filling"),
    [
        ("", range(1, 10), np.nan),
        (",1,1,9,-5", range(1, 10), -5.0),
        (",0,1,9,'INTERP'", range(0, 10), "INTERP"),
        (",2,2,8", range(2, 9, 2), np.nan),
        (",0.5,0.5,9", np.arange(0.5, 9.01, 0.5), np.nan),
    ],
)
def test_expand_places_elements_on_the_grid(block, tail, grid, filling):
    out = auto(f"oph_expand(measure,{BIN}{tail})", block)
    step = grid[1] - grid[0]
    expected = np.array([_expected_expand(row, grid, filling, step) for row in block])
    assert out.shape == (5, len(grid)) and same(out, expected)


def test_expand_reads_the_implicit_dimension_as_index(block):
    out = auto("oph_expand(measure,dimension,1,1,9)", block, dimension=np.array(INDEX))
    assert same(out, [_expected_expand(row, range(1, 10), np.nan) for row in block])


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (f"oph_expand(measure,{BIN},1,1,10)", "grid goes past the last index value 9"),
        ("oph_expand(measure,oph_to_bin('1,2,3'))", "the index has 3 values but the array has 7"),
        ("oph_expand(measure,oph_to_bin('1,3,2,4,5,6,7'))", "the index values must increase"),
        (f"oph_expand(measure,{BIN},1,1,9,'zero')", "filling 'zero' is neither"),
        (f"oph_expand(measure,{BIN},5,1,1)", "no grid from 5 to 1 by 1"),
    ],
)
def test_expand_errors(block, query, message):
    with pytest.raises(ValidationError, match=message):
        auto(query, block)


def _runs(row):
    """(first, last, length) of every run of non-zero values, 1-based."""
    out, position = [], 1
    for on, group in itertools.groupby(row != 0):
        size = len(list(group))
        if on:
            out.append((position, position + size - 1, size))
        position += size
    return out


def test_sequence_gives_lengths_first_and_last_positions():
    mask = (np.random.default_rng(2).random((6, 11)) > 0.45).astype(float)
    mask[3] = 0
    runs = [_runs(row) for row in mask]
    width = max(len(r) for r in runs)
    for info, pick in (("length", 2), ("first", 0), ("last", 1)):
        out = auto(f"oph_sequence(measure,'{info}')", mask)
        expected = [[r[pick] for r in row] + [np.nan] * (width - len(row)) for row in runs]
        assert same(out, expected)
        padded = auto(f"oph_sequence(measure,'{info}','yes')", mask)
        assert same(padded, [[r[pick] for r in row] + [0] * (11 - len(row)) for row in runs])


def test_sequence_reads_values_as_bytes_like_ophidia():
    # Ophidia reads each value as one byte: 255.5 counts as set, 256.5 (256) and NaN do not
    row = np.array([[255.5, 1.0, 256.5, np.nan, -3.0, 0.2, 7.0]])
    assert same(auto("oph_sequence(measure,'first')", row), [[1, 5, 7]])


def test_sequence_errors():
    with pytest.raises(ValidationError, match="unknown info 'middle'"):
        auto("oph_sequence(measure,'middle')", np.ones((2, 3)))
    with pytest.raises(ValidationError, match="padding is 'yes' or 'no'"):
        auto("oph_sequence(measure,'length','maybe')", np.ones((2, 3)))


def test_concat2_joins_two_arrays(block):
    assert same(
        auto("oph_concat2(measure,oph_reverse(measure))", block), np.hstack([block, block[:, ::-1]])
    )
    assert same(auto("oph_concat2(measure)", block), block)
    with pytest.raises(ValidationError, match="one other array, not several"):
        auto("oph_concat2(measure,measure,measure)", block)


def numbers(text: str) -> list[float]:
    return [float(v) for v in text.split()]


# First rows filtered by Ophidia 1.9 (oph_apply on oph_randcube cubes of 7 and 8 doubles)
ROW7 = numbers(
    "260.1828692761 694.1176032154 350.4086008064 90.9475814975 714.6477697951 "
    "874.4433731187 754.1121764826"
)
OPHIDIA7 = {
    ("LPF", 0.2): numbers(
        "391.6703524854 603.4679479403 382.2661521752 124.191912791 622.886003367 "
        "1006.5480314561 607.8295739769"
    ),
    ("HPF", 0.2): numbers(
        "-273.9399841799 159.9947497595 -183.7142526495 -443.1752719585 180.5249163391 "
        "340.3205196627 219.9893230266"
    ),
    ("BPF", 0.1, 0.3): numbers(
        "-142.4525009706 69.3450944843 -151.8567012808 -409.930940665 88.763149911 "
        "472.4251780002 73.7067205209"
    ),
    ("BSF", 0.1, 0.3): ROW7,
}
ROW8 = numbers(
    "871.7677606604 437.917378935 934.2770855568 784.4172500933 410.2900230374 "
    "775.6641352436 447.9791086391 348.6093773267"
)
OPHIDIA8 = {
    ("LPF", 0.2): numbers(
        "579.9386657584 729.6119562479 790.324281895 719.5661513175 622.6926588656 "
        "563.3960170044 512.5054532271 492.8869351762"
    ),
    ("HPF", 0.3): numbers(
        "266.7794922774 -271.5558556233 169.0024062863 44.7123770861 -237.4522384527 "
        "232.4068399288 -39.4767419635 -164.4162795392"
    ),
    ("BPF", 0.1, 0.3): numbers(
        "205.689266187 -148.7346564647 268.1985910834 197.7652146936 -255.788471436 "
        "189.0120998439 -218.0993858343 -238.0426580729"
    ),
    ("BSF", 0.1, 0.4): numbers(
        "896.8173632849 417.7786572453 909.2274829323 804.5559717829 435.3396256619 "
        "755.5254135539 422.9295060145 368.7480990164"
    ),
}
OPHIDIA8_COMPLEX = {
    ("LPF", 0.2): numbers(
        "1658.2945169221 0 1427.9261635977 -63.1502935514 871.7677606604 -89.3080016083 "
        "315.6093577231 -63.1502935514 85.2410043987 0 315.6093577231 63.1502935514 "
        "871.7677606604 89.3080016083 1427.9261635977 63.1502935514"
    ),
    ("HPF", 0.2): numbers(
        "4139.1543588318 0 -957.2757468746 -555.6376573359 -971.9661711585 "
        "-80.5548867586 136.6957007999 416.9582964996 -554.0619243654 0 136.6957007999 "
        "-416.9582964996 -971.9661711585 80.5548867586 -957.2757468746 555.6376573359"
    ),
    ("BPF", 0.1, 0.3): numbers(
        "3040.5507111179 0 1427.9261635977 -549.4482704691 -510.4884335354 "
        "-89.3080016083 315.6093577231 423.1476833663 1467.4971985945 0 315.6093577231 "
        "-423.1476833663 -510.4884335354 89.3080016083 1427.9261635977 549.4482704691"
    ),
    ("BSF", 0.1, 0.4): numbers(
        "2842.1391690346 0 -641.6663891516 -6.1893868667 1282.0577836978 8.7531148497 "
        "1564.6218643976 -6.1893868667 -278.0236016391 0 1564.6218643976 6.1893868667 "
        "1282.0577836978 -8.7531148497 -641.6663891516 6.1893868667"
    ),
}


def _filter_query(args, inner="measure", kind="oph_double"):
    cuts = ",".join(str(a) for a in args[1:])
    return f"oph_filter('{kind}','{kind}',{inner},'{args[0]}',{cuts})"


@pytest.mark.parametrize(("row", "table"), [(ROW7, OPHIDIA7), (ROW8, OPHIDIA8)])
def test_filter_matches_ophidia_on_real_rows(row, table):
    for args, expected in table.items():
        assert np.allclose(manual(_filter_query(args), np.array([row])), [expected], atol=1e-8)


def test_filter_matches_ophidia_on_complex_rows():
    fft = "oph_gsl_fft('oph_double','oph_complex_double',measure)"
    for args, expected in OPHIDIA8_COMPLEX.items():
        out = manual(_filter_query(args, fft, "oph_complex_double"), np.array([ROW8]))
        assert np.allclose(out, [expected], atol=1e-8)


def test_filter_removes_the_frequencies_numpy_says(block):
    data = np.nan_to_num(block)
    spectrum = np.fft.rfft(data, axis=-1)
    low = spectrum.copy()
    low[:, 3:] = 0  # 7 values, cut 0.2: frequencies 3 and up go
    assert np.allclose(auto("oph_filter(measure,'LPF',0.2)", data), np.fft.irfft(low, n=7))
    # Ophidia's rounding keeps frequency 1 at cut 0.2: only the mean goes
    assert np.allclose(
        auto("oph_filter(measure,'HPF',0.2)", data), data - data.mean(-1, keepdims=True)
    )
    assert np.isnan(auto("oph_filter(measure,'LPF',0.2)", block)[1]).all()


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("oph_filter(measure,'LPF')", "oph_filter takes 3 to 4 arguments after the types, not 2"),
        ("oph_filter(measure,'BPF',0.1)", "BPF takes 2 cut frequencies"),
        ("oph_filter(measure,'LPF',0.1,0.2)", "LPF takes 1 cut frequency"),
        ("oph_filter(measure,'LPF',0.7)", r"cut frequencies lie in \[0, 0.5\]"),
        ("oph_filter(measure,'BSF',0.3,0.1)", "the first not above the second"),
        ("oph_filter(measure,'NOTCH',0.1)", "unknown filter type 'NOTCH'"),
        ("oph_filter(measure,'LPF','low')", "an argument has the wrong type"),
        ("oph_sum_scalar2(measure,1,2,1,9)", "takes 1 to 4 arguments after the types, not 5"),
    ],
)
def test_wrong_arguments_are_one_line_errors(block, query, message):
    with pytest.raises(ValidationError, match=message):
        auto(query, block)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("oph_compress(measure)", "oph_compress is reserved"),
        ("oph_sum_scalar(oph_uncompress(measure),1)", "oph_uncompress is reserved"),
        ("oph_dump(measure)", "oph_dump gives text, not an array"),
        ("oph_id_to_index(5,3)", "oph_id_to_index works on row identifiers"),
        ("oph_id3(5,'1,2',2)", "oph_id3 works on row identifiers"),
        ("oph_id_of_subset(3,10)", "oph_id_of_subset works on row identifiers"),
    ],
)
def test_apply_refuses_what_ophidia_refuses(block, query, message):
    with pytest.raises(ValidationError, match=message):
        auto(query, block)


def test_no_primitive_is_both_evaluated_and_refused():
    assert not set(FUNCTIONS) & set(REFUSED)


@pytest.fixture
def cubes(run, tmp_path):
    """A 5x9 float32 frame with missing values and a 5x9 int32 frame, imported (in this order;
    the int cube is the current one)."""
    rng = np.random.default_rng(12)
    floats = rng.normal(500, 250, size=(5, 9)).astype(np.float32)
    floats[1, 4] = np.nan
    ints = rng.integers(-3, 3, size=(5, 9)).astype(np.int32)
    source = float_and_int_cubes(run, tmp_path / "data", floats, ints)
    return floats.astype(np.float64), ints.astype(np.float64), source


def test_through_the_shell_on_float_and_int_cubes(cubes, run, tmp_path):
    floats, ints, float_cube = cubes
    run("oph_apply query=oph_sequence('oph_int','oph_int',measure,'last','yes')")
    expected = [[r[1] for r in _runs(row)] + [0] * (9 - len(_runs(row))) for row in ints]
    assert np.array_equal(exported(run, tmp_path / "data", "s"), expected)

    run(f"oph_apply cube={float_cube};query=oph_sum_scalar2('oph_float','oph_float',measure,2.5)")
    assert same(exported(run, tmp_path / "data", "a"), floats + np.float32(2.5))

    run(f"oph_apply cube={float_cube};query=oph_filter('oph_float','oph_double',measure,'LPF',0.2)")
    spectrum = np.fft.rfft(floats, axis=-1)
    spectrum[:, 3:] = 0  # 9 values, cut 0.2: frequencies 3 and up go
    out = exported(run, tmp_path / "data", "l")
    assert np.allclose(out[[0, 2, 3, 4]], np.fft.irfft(spectrum, n=9)[[0, 2, 3, 4]], atol=1e-3)
    assert np.isnan(out[1]).all()


def test_expand_and_concat2_through_the_shell(cubes, run, tmp_path):
    floats, _, float_cube = cubes
    # the implicit dimension NAXIS1 holds 1..9: a grid of half steps puts NaN in between
    query = "oph_expand('oph_float','oph_float',measure,dimension,1,0.5,9)"
    run(f"oph_apply cube={float_cube};query={query}")
    out = exported(run, tmp_path / "data", "e")
    assert out.shape == (5, 17)
    assert same(out[:, ::2], floats) and np.isnan(out[:, 1::2]).all()

    query = (
        "oph_concat2('oph_float','oph_float',measure,oph_reverse('oph_float','oph_float',measure))"
    )
    run(f"oph_apply cube={float_cube};query={query}")
    assert same(exported(run, tmp_path / "data", "c"), np.hstack([floats, floats[:, ::-1]]))


def test_refusals_through_the_shell_leave_no_cube(cubes, shell):
    def listed():
        return shell.run_line("oph_list level=2").reply.document.grid("list").rows

    before = listed()
    outcome = shell.run_line("oph_apply query=oph_compress('oph_int','oph_int',measure)")
    assert not outcome.ok and "oph_compress is reserved" in outcome.message
    assert len(before) == 3 and listed() == before
