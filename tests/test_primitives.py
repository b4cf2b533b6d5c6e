"""oph_apply's primitives on generated blocks (odd sizes, missing values), checked against
numpy; the query language and its one-line errors."""

from __future__ import annotations

import numpy as np
import pytest

from ophsh.engine.primitives import FUNCTIONS, evaluate
from ophsh.errors import ValidationError
from ophsh.spec import load_specs

PRIMS = load_specs().primitives


@pytest.fixture
def block():
    """5 rows of 7 values with two missing (NaN)."""
    data = np.random.default_rng(3).normal(10, 4, size=(5, 7)).round(2)
    data[1, 2] = np.nan
    data[4, 6] = np.nan
    return data


def auto(query, measure, **kw):
    return evaluate(query, measure, PRIMS, manual=False, **kw).values


def same(a, b):
    return np.allclose(a, b, equal_nan=True)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("oph_sum_scalar(measure,-2.5)", lambda a: a - 2.5),
        ("oph_mul_scalar(measure,3)", lambda a: a * 3),
        ("oph_affine(measure,2,1)", lambda a: a * 2 + 1),
        ("oph_sum_array(measure,oph_reverse(measure))", lambda a: a + a[:, ::-1]),
        ("oph_sub_array(measure,oph_rotate(measure,1))", lambda a: a - np.roll(a, 1, -1)),
        ("oph_mul_array(measure,measure)", lambda a: a * a),
        ("oph_div_array(measure,oph_sum_scalar(measure,1))", lambda a: a / (a + 1)),
        ("oph_abs_array(measure,measure)", lambda a: np.hypot(a, a)),
        ("oph_max_array(measure,oph_reverse(measure))", lambda a: np.maximum(a, a[:, ::-1])),
        ("oph_operator_array(measure,measure,'oph_sub')", lambda a: a - a),
        ("oph_math(measure,'OPH_MATH_SQRT')", np.sqrt),
        ("oph_math(measure,'oph_math_log10')", np.log10),
        ("oph_predicate(measure,'x-10','>0','1','0')", lambda a: np.where(a > 10, 1, 0.0)),
        ("oph_predicate(measure,'x','nan','0','x')", lambda a: np.nan_to_num(a, nan=0)),
        (
            "oph_predicate(measure,'2*x^2','<=200','x','-x')",
            lambda a: np.where(2 * a**2 <= 200, a, -a),
        ),
        ("oph_replace(measure,nan,-1)", lambda a: np.nan_to_num(a, nan=-1)),
        ("oph_replace(oph_mul_scalar(measure,0),0,7)", lambda a: np.where(np.isnan(a), a, 7)),
        ("oph_cast(measure,nan,-999)", lambda a: np.nan_to_num(a, nan=-999)),
        ("oph_find(measure,10,4)", lambda a: (np.abs(a - 10) <= 4).sum(-1, keepdims=True)),
        ("oph_count_array(measure,0)", lambda a: (~np.isnan(a)).sum(-1, keepdims=True)),
        ("oph_count_array(measure)", lambda a: np.full((5, 1), 7)),
    ],
)
def test_element_wise_primitives_match_numpy(block, query, expected):
    with np.errstate(invalid="ignore"):
        assert same(auto(query, block), expected(block))


def test_missingvalue_leaves_those_elements_alone(block):
    block[0, 0] = -1
    out = auto("oph_sum_scalar(measure,5,-1)", block)
    assert out[0, 0] == -1 and same(out[0, 1:], block[0, 1:] + 5)


def test_predicate2_picks_one_occurrence_and_index(block):
    late = auto("oph_predicate2(measure,'INDEX','>5','x','0','last')", block)
    assert same(late[:, :6], 0) and same(late[:, 6], block[:, 6])
    first = auto("oph_predicate2(measure,'x','>10','INDEX','0','first')", block)
    for row, values in zip(first, block, strict=True):
        hits = np.flatnonzero(values > 10)
        expected = np.zeros(7)
        if hits.size:
            expected[hits[0]] = hits[0] + 1
        assert same(row, expected)


def test_normalize_and_quantize(block):
    top = np.nanmax(block, -1, keepdims=True)
    assert same(auto("oph_normalize(measure)", block), block / top)
    mean = np.nanmean(block, -1, keepdims=True)
    assert same(auto("oph_normalize(measure,'OPH_AVG_REL')", block), block / mean - 1)
    mm = auto("oph_normalize(measure,'oph_max_min',7)", block)
    assert same(np.nanmin(mm, -1), 0) and same(np.nanmax(mm, -1), 1)
    halves = auto("oph_normalize(measure,'OPH_AVG',3)", np.arange(6.0).reshape(1, 6))
    assert same(halves, [[-1, 0, 1, -1, 0, 1]])
    q = auto("oph_quantize(measure,oph_to_bin('8,12'),oph_to_bin('1,2,3'))", block)
    expected = np.where(block <= 8, 1.0, np.where(block <= 12, 2.0, 3.0))
    assert same(q, np.where(np.isnan(block), np.nan, expected))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("oph_reduce(measure)", lambda a: np.nanmax(a, -1, keepdims=True)),
        ("oph_reduce(measure,'OPH_SUM',0)", lambda a: np.nansum(a, -1, keepdims=True)),
        ("oph_operator(measure,'OPH_AVG')", lambda a: np.nanmean(a, -1, keepdims=True)),
        ("oph_accumulate(measure)", lambda a: np.cumsum(a, -1)),
        ("oph_get_subarray(measure,3,2)", lambda a: a[:, 2:4]),
        ("oph_get_subarray(measure,4)", lambda a: a[:, 3:]),
        ("oph_shift(measure,2,0)", lambda a: np.concatenate([np.zeros((5, 2)), a[:, :5]], -1)),
        ("oph_shift(measure,-3,0)", lambda a: np.concatenate([a[:, 3:], np.zeros((5, 3))], -1)),
        ("oph_rotate(measure,-2)", lambda a: np.roll(a, -2, -1)),
        ("oph_concat(measure,oph_reverse(measure))", lambda a: np.hstack([a, a[:, ::-1]])),
        ("oph_extend(measure,2)", lambda a: np.hstack([a, a])),
        ("oph_extend(measure,2,'i')", lambda a: np.repeat(a, 2, -1)),
        (
            "oph_extend(oph_reduce(measure,'oph_avg',0),oph_count_array(measure))",
            lambda a: np.repeat(np.nanmean(a, -1, keepdims=True), 7, -1),
        ),
        ("oph_padding(measure,9,0)", lambda a: np.hstack([a, np.zeros((5, 2))])),
        (
            "oph_interlace(measure,oph_mul_scalar(measure,2))",
            lambda a: np.dstack([a, 2 * a]).reshape(5, 14),
        ),
        ("oph_moving_avg(measure,1)", lambda a: a),
        ("oph_gsl_sort(measure)", lambda a: np.sort(a, -1)),
        ("oph_gsl_sd(measure)", lambda a: np.nanstd(a, -1, ddof=1, keepdims=True)),
        ("oph_gsl_quantile(measure,0.25,0.9)", lambda a: np.nanquantile(a, [0.25, 0.9], -1).T),
        ("oph_gsl_boxplot(measure)", lambda a: np.nanquantile(a, [0, 0.25, 0.5, 0.75, 1], -1).T),
        (
            "oph_gsl_complex_get_real(oph_gsl_ifft(oph_gsl_fft(measure)))",
            lambda a: np.where(np.isnan(a).any(-1, keepdims=True), np.nan, a),
        ),
        ("oph_gsl_complex_get_abs(oph_gsl_fft(measure))", lambda a: np.abs(np.fft.fft(a))),
    ],
)
def test_reductions_reshaping_and_statistics_match_numpy(block, query, expected):
    assert same(auto(query, block), expected(block))


def test_reduce_in_groups_and_along_an_inner_dimension():
    a = np.arange(2 * 12, dtype=float).reshape(2, 12)
    assert same(auto("oph_reduce(measure,'OPH_SUM',4)", a), a.reshape(2, 3, 4).sum(-1))
    # 3 x 4 rows-major: reduce the outer dimension of 3 (elements 4 apart)
    assert same(auto("oph_reduce2(measure,'OPH_MAX',3,4)", a), a.reshape(2, 3, 4).max(axis=1))


def test_moving_average_window_and_get_subarray2():
    a = np.arange(1.0, 13).reshape(2, 6)
    sma = auto("oph_moving_avg(measure,3,'OPH_SMA')", a)
    assert same(sma[:, 2:], (a[:, :-2] + a[:, 1:-1] + a[:, 2:]) / 3)
    assert np.isnan(sma[:, :2]).all()
    gap = np.array([[1.0, np.nan, 3, 5]])
    assert same(auto("oph_moving_avg(measure,2)", gap), [[np.nan, 1, 3, 4]])
    ewma = auto("oph_moving_avg(measure,0.5,'OPH_EWMA')", np.array([[2.0, 4, 8]]))
    assert same(ewma, [[2, 3, 5.5]])
    removed = auto("oph_replace(measure,2)", np.array([[1.0, 2, 3], [2, 5, 6]]))
    assert same(removed, [[1, 3], [5, 6]])
    assert same(auto("oph_deaccumulate(oph_accumulate(measure))", a), a)
    pairs = auto("oph_gsl_fft(measure)", a)
    assert pairs.shape == (2, 12) and same(pairs[:, 0::2] + 1j * pairs[:, 1::2], np.fft.fft(a))
    # a row as 2 x 3 (3 innermost): keep the outer index 2, then inner indices 1 and 3
    assert same(auto("oph_get_subarray2(measure,'2',3,2)", a), a[:, 3:])
    assert same(auto("oph_get_subarray2(measure,'1:2:end',3)", a), a[:, [0, 2, 3, 5]])
    both = auto("oph_get_subarray3(measure,'2',3,2,'1,3',1,3)", a)
    assert same(both, a[:, [3, 5]])


def test_histogram_stats_fit_and_spline():
    rng = np.random.default_rng(5)
    a = rng.uniform(0, 1, (3, 11))
    freqs = auto("oph_gsl_histogram(measure,4,'FREQS')", a)
    every = auto("oph_gsl_histogram(measure,4)", a)
    cdf = auto("oph_gsl_histogram(measure,4,'FREQS','CDF')", a)
    for row, whole, cumulative, values in zip(freqs, every, cdf, a, strict=True):
        counts, edges = np.histogram(values, bins=4, range=(values.min(), values.max() + 1))
        assert same(row, counts) and same(cumulative, np.cumsum(counts) / 11)
        assert same(whole[0::2], edges) and same(whole[1::2], counts)
    stats = auto("oph_gsl_stats(measure,'11100001100001')", a)
    assert same(stats[:, 0], a.mean(-1)) and same(stats[:, 1], a.var(-1, ddof=1))
    assert same(stats[:, 3], a.max(-1)) and same(stats[:, 4], a.min(-1))
    assert same(stats[:, 5], np.quantile(a, 0.95, axis=-1))
    assert auto("oph_gsl_stats(measure)", a).shape == (3, 14)
    x = np.arange(1.0, 12)
    line = 2 * x + 3 + np.zeros((3, 1))
    fit = auto("oph_gsl_fit_linear(measure,dimension,dimension)", line, dimension=x)
    assert same(fit, line)
    curve = np.sin(x)[None, :].repeat(2, 0)
    assert same(auto("oph_gsl_spline(measure,dimension,dimension)", curve, dimension=x), curve)
    corr = auto("oph_gsl_correlation(measure,oph_mul_scalar(measure,-2))", a)
    assert same(corr, -np.ones((3, 1)))


def test_manual_types_set_the_output_type_and_are_checked():
    a = np.ones((2, 3))
    result = evaluate(
        "oph_sum_scalar('oph_float','oph_int',measure,1)", a, PRIMS, measure_type="float"
    )
    assert result.output_type == "int" and same(result.values, a + 1)
    inner = "oph_sum_scalar('oph_int','oph_float',measure,1)"
    nested = f"oph_math('oph_double','oph_double',{inner},'OPH_MATH_ABS')"
    with pytest.raises(
        ValidationError, match="oph_math reads oph_double but oph_sum_scalar gives oph_float"
    ):
        evaluate(nested, a, PRIMS, measure_type="int")
    assert evaluate(nested, a, PRIMS, measure_type="int", check_type=False).output_type == "double"
    with pytest.raises(ValidationError, match="reads oph_float but the measure is oph_double"):
        evaluate("oph_reverse('oph_float','oph_float',measure)", a, PRIMS, measure_type="double")
    pair = "oph_sum_array('oph_double|oph_double','oph_double',measure,measure)"
    assert same(evaluate(pair, a, PRIMS, measure_type="double").values, 2 * a)


@pytest.mark.parametrize(
    ("query", "manual", "message"),
    [
        ("oph_sum_scalr(measure,1)", False, "did you mean oph_sum_scalar"),
        ("oph_sum_scalar(measure,1)", True, "wants the input and output types first"),
        ("oph_sum_scalar('oph_double','oph_double',measure)", False, "leaves the types out"),
        ("oph_math(measure)", False, "takes 2 to 2 arguments after the types, not 1"),
        ("oph_math(measure,'OPH_MATH_NOPE')", False, "unknown function 'OPH_MATH_NOPE'"),
        ("oph_reduce(measure,'OPH_MEDIAN')", False, "unknown operation"),
        ("oph_roll_up(measure,2)", False, "combines rows: oph_apply gives it every row at once"),
        ("oph_sum_scalar(measure,1", False, "expected ')'"),
        ("oph_predicate(measure,'x+','>0','1','0')", False, "expression 'x+'"),
        ("oph_predicate(measure,'y','>0','1','0')", False, "'y' at 1"),
        ("oph_sum_scalar(measure,'ten')", False, "wrong type"),
    ],
)
def test_user_errors_are_one_line(query, manual, message):
    with pytest.raises(ValidationError) as err:
        evaluate(query, np.ones((2, 4)), PRIMS, manual=manual, measure_type="double")
    assert message in str(err.value) and "\n" not in str(err.value)


def test_every_evaluated_primitive_is_documented():
    assert set(FUNCTIONS) <= set(PRIMS)


def test_permute_reduce3_interlace2_extract_and_compare():
    a = np.arange(2 * 12, dtype=float).reshape(2, 12)
    # rows as 3 x 4 (4 innermost): swap the two dimensions
    swapped = auto("oph_permute(measure,'2,1',4,3)", a)
    assert same(swapped, a.reshape(2, 3, 4).transpose(0, 2, 1).reshape(2, 12))
    groups = auto("oph_reduce3(measure,'OPH_SUM',oph_to_bin('1,3'))", a)  # 1 then 3, again
    chunks = a.reshape(2, 3, 4)
    expected = np.stack([chunks[..., 0], chunks[..., 1:].sum(-1)], -1).reshape(2, 6)
    assert same(groups, expected)
    woven = auto("oph_interlace2(oph_to_bin('2,1'),measure,oph_get_subarray(measure,1,6))", a)
    assert same(woven[:, :3], np.stack([a[:, 0], a[:, 1], a[:, 0]], -1))
    assert woven.shape == (2, 18)
    picked = auto("oph_extract(measure,oph_to_bin('12,1'))", a)
    assert same(picked, a[:, [11, 0]])
    assert same(auto("oph_compare(measure,measure)", a), [[0], [0]])
    assert same(auto("oph_compare(measure,oph_reverse(measure))", a), [[1], [1]])


def test_wavelets_invert_and_keep_energy():
    x = np.random.default_rng(4).normal(size=(3, 16))
    assert same(
        auto("oph_gsl_dwt(measure,'HAAR')", np.array([[1.0, 2, 3, 4]])),
        [[5, -2, -(0.5**0.5), -(0.5**0.5)]],
    )
    for family in ("HAAR", "DAUBECHIES", "DAUBECHIES_C"):
        y = auto(f"oph_gsl_dwt(measure,'{family}')", x)
        assert same((y**2).sum(-1), (x**2).sum(-1))
        assert same(auto(f"oph_gsl_idwt(oph_gsl_dwt(measure,'{family}'),'{family}')", x), x)
    with pytest.raises(ValidationError, match="power of two"):
        auto("oph_gsl_dwt(measure)", np.ones((1, 6)))


def test_kcluster_finds_separated_groups():
    values = np.array([[0.1, 20.2, 9.9, 0.0, 10.1, 19.8, np.nan, 0.2]])
    centres = auto("oph_ccluster_kcluster(measure,3,'CENTROIDS')", values)
    assert same(centres, [[0.1, 10.0, 20.0]])
    labels = auto("oph_ccluster_kcluster(measure,3,'KMEANS','LABELS')", values)
    assert same(labels, [[0, 2, 1, 0, 1, 2, np.nan, 0]])
    near = auto("oph_ccluster_kcluster(measure,3,'KMEDIANS','ALL')", values)
    assert same(near, [[0.1, 20.0, 10.0, 0.1, 10.0, 20.0, np.nan, 0.1]])


def test_operation_array_and_get_index_array(block):
    twice = "oph_mul_scalar(measure,2)"
    out = auto(f"oph_operation_array(measure,{twice},oph_reverse(measure),'oph_avg',-1)", block)
    assert same(out, np.nanmean(np.stack([block, 2 * block, block[:, ::-1]]), axis=0))
    arg = auto(f"oph_operation_array(measure,{twice},'oph_arg_max',-1)", np.abs(block))
    assert same(arg[~np.isnan(block)], 2)
    assert same(auto("oph_get_index_array(1,7,2)", block), np.tile([1, 3, 5, 7], (5, 1)))
    assert same(auto("oph_get_index_array(1,6,2)", block)[0], [1, 3, 5])


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("oph_arg_array(measure,oph_reverse(measure))", lambda a: np.arctan2(a[:, ::-1], a)),
        (
            "oph_arg_min_array(measure,oph_reverse(measure))",
            lambda a: np.where(a <= a[:, ::-1], 1.0, 2.0),
        ),
        ("oph_min_array(measure,oph_reverse(measure))", lambda a: np.minimum(a, a[:, ::-1])),
        (
            "oph_mask_array(measure,oph_predicate(measure,'x','>10','1','0'))",
            lambda a: np.where(a > 10, a, np.nan),
        ),
        ("oph_append(measure,measure)", lambda a: np.hstack([a, a])),
        ("oph_convert_d(oph_reduce(measure,'OPH_MIN'))", lambda a: np.nanmin(a, -1, keepdims=True)),
        ("oph_convert_l(oph_get_subarray(measure,1,1))", lambda a: np.trunc(a[:, :1])),
        ("oph_size_array(measure)", lambda a: np.full((5, 1), 7.0)),
        ("oph_extract(measure,oph_value_to_bin(3))", lambda a: a[:, 2:3]),
        ("oph_gsl_complex_get_imag(oph_gsl_fft(measure))", lambda a: np.fft.fft(a).imag),
        ("oph_gsl_complex_get_arg(oph_gsl_fft(measure))", lambda a: np.angle(np.fft.fft(a))),
        (
            "oph_gsl_complex_to_rect(oph_gsl_complex_to_polar(oph_gsl_fft(measure)))",
            lambda a: np.stack([np.fft.fft(a).real, np.fft.fft(a).imag], -1).reshape(5, 14),
        ),
    ],
)
def test_the_other_simple_primitives_match_numpy(block, query, expected):
    clean = np.nan_to_num(block, nan=3.5)
    with np.errstate(invalid="ignore"):
        assert same(auto(query, clean), expected(clean))


def test_fit_linear_coefficients():
    x = np.arange(1.0, 9)
    y = np.vstack([3 * x - 2, 0.5 * x + 1])
    coeff = auto("oph_gsl_fit_linear_coeff(measure,dimension,'110001')", y, dimension=x)
    assert same(coeff, [[-2, 3, 0], [1, 0.5, 0]])
