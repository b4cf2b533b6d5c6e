"""Element-wise primitives: scalars, pairs of arrays, oph_math, oph_cast, predicates, counts,
replacements, normalisation and quantisation. Every function takes whole blocks (rows along the
first axis, elements along the last) and returns an array of the same rows."""

from __future__ import annotations

import numpy as np

from ophsh.engine.primitives.syntax import x_expression
from ophsh.errors import ValidationError

__all__ = ["FUNCTIONS", "MATH", "missing_mask"]


def missing_mask(a: np.ndarray, missingvalue: float | None = None) -> np.ndarray:
    """True where an element is missing: NaN, or equal to ``missingvalue`` when one is given."""
    mask = np.isnan(a)
    if missingvalue is not None and not np.isnan(missingvalue):
        mask |= a == float(missingvalue)
    return mask


def _keep_missing(result, a, missingvalue):
    return np.where(missing_mask(a, missingvalue), a, result)


def sum_scalar(m, scalar=0.0, missingvalue=None, id_measure=None):
    return _keep_missing(m + float(scalar), m, missingvalue)


def mul_scalar(m, scalar=1.0, missingvalue=None, id_measure=None):
    return _keep_missing(m * float(scalar), m, missingvalue)


def sum_scalar2(m, scalar1=0.0, scalar2=0.0, id_measure=None):
    """m + scalar1 on real arrays; m + (scalar1 + i*scalar2) on complex ones."""
    if np.iscomplexobj(m):
        return m + complex(float(scalar1), float(scalar2))
    return m + float(scalar1)


def mul_scalar2(m, scalar1=1.0, scalar2=0.0, id_measure=None):
    """m * scalar1 on real arrays; m * (scalar1 + i*scalar2) on complex ones."""
    if np.iscomplexobj(m):
        return m * complex(float(scalar1), float(scalar2))
    return m * float(scalar1)


def affine(m, scalar=1.0, translation=0.0, missingvalue=None, id_measure=None):
    return _keep_missing(m * float(scalar) + float(translation), m, missingvalue)


def _pair(function):
    def primitive(a, b, missingvalue=None):
        a, b = np.broadcast_arrays(a, b)
        if a.shape[-1:] != b.shape[-1:]:
            raise ValidationError("the two arrays must have the same length")
        missing = missing_mask(a, missingvalue) | missing_mask(b, missingvalue)
        return np.where(missing, np.nan, function(a, b))

    return primitive


PAIRS = {
    "oph_sum": np.add,
    "oph_sub": np.subtract,
    "oph_mul": np.multiply,
    "oph_div": np.true_divide,
    "oph_max": np.fmax,
    "oph_min": np.fmin,
    "oph_abs": np.hypot,
    "oph_arg": lambda a, b: np.arctan2(b, a),
    "oph_arg_max": lambda a, b: np.where(a >= b, 1.0, 2.0),
    "oph_arg_min": lambda a, b: np.where(a <= b, 1.0, 2.0),
    "oph_mask": lambda a, b: np.where(b == 1, a, np.nan),
}


def operator_array(a, b, operator, missingvalue=None):
    name = str(operator).lower()
    if name not in PAIRS:
        raise ValidationError(
            f"oph_operator_array: unknown operator '{operator}'", hint=", ".join(PAIRS)
        )
    return _pair(PAIRS[name])(a, b, missingvalue)


MATH = {
    "OPH_MATH_ABS": np.abs,
    "OPH_MATH_ACOS": np.arccos,
    "OPH_MATH_ASIN": np.arcsin,
    "OPH_MATH_ATAN": np.arctan,
    "OPH_MATH_CEIL": np.ceil,
    "OPH_MATH_COS": np.cos,
    "OPH_MATH_COT": lambda x: 1 / np.tan(x),
    "OPH_MATH_DEGREES": np.degrees,
    "OPH_MATH_EXP": np.exp,
    "OPH_MATH_FLOOR": np.floor,
    "OPH_MATH_INT": np.trunc,
    "OPH_MATH_LN": np.log,
    "OPH_MATH_LOG10": np.log10,
    "OPH_MATH_LOG2": np.log2,
    "OPH_MATH_NINT": np.rint,
    "OPH_MATH_RADIANS": np.radians,
    "OPH_MATH_RAND": lambda x: np.random.default_rng().random(x.shape),
    "OPH_MATH_ROUND": np.round,
    "OPH_MATH_SIGN": np.sign,
    "OPH_MATH_SIN": np.sin,
    "OPH_MATH_SQRT": np.sqrt,
    "OPH_MATH_SQR": np.square,
    "OPH_MATH_TAN": np.tan,
}


def math(m, function):
    key = str(function).upper()
    if key not in MATH:
        raise ValidationError(f"oph_math: unknown function '{function}'", hint=", ".join(MATH))
    return MATH[key](m)


def cast(m, missingvalue=None, output_missingvalue=None):
    """Missing input values (NaN or ``missingvalue``) become ``output_missingvalue`` (NaN when
    none is given); the evaluator converts to the declared output type."""
    out = np.where(missing_mask(m, missingvalue), np.nan, m)
    if output_missingvalue is not None:
        out = np.where(np.isnan(out), float(output_missingvalue), out)
    return out


_COMPARE = {
    ">=": np.greater_equal,
    "<=": np.less_equal,
    "==": np.equal,
    "!=": np.not_equal,
    "<>": np.not_equal,
    ">": np.greater,
    "<": np.less,
    "=": np.equal,
}


def _condition(value, condition: str):
    cond = str(condition).strip()
    if cond.lower() in ("nan", "=nan", "==nan"):
        return np.isnan(value)
    if cond.lower() in ("!nan", "!=nan", "<>nan"):
        return ~np.isnan(value)
    for symbol, test in _COMPARE.items():
        if cond.startswith(symbol):
            with np.errstate(invalid="ignore"):
                return test(value, x_expression(cond[len(symbol) :], value))
    raise ValidationError(f"comparison '{condition}' must look like >0, <=5, ==1, !=0 or nan")


def _branch(text, m):
    return m if str(text).strip().lower() == "x" else x_expression(str(text), m)


def predicate(m, expression, condition, then, otherwise):
    test = _condition(x_expression(str(expression), m), condition)
    return np.where(test, _branch(then, m), _branch(otherwise, m))


def predicate2(m, expression, condition, then, otherwise, occurrence="all"):
    """Like oph_predicate; the expression and ``then``/``otherwise`` may also be INDEX (the
    1-based position), and ``occurrence`` (all, first/begin, last/end or n) keeps only that
    true element."""
    index = np.broadcast_to(np.arange(1, m.shape[-1] + 1, dtype=np.float64), m.shape)
    indexed = str(expression).strip().upper() == "INDEX"
    value = index if indexed else x_expression(str(expression), m)
    test = np.broadcast_to(_condition(value, condition), m.shape)
    which = str(occurrence).strip().lower()
    if which != "all":
        rank = np.cumsum(test, axis=-1)
        if which in ("first", "begin"):
            keep = rank == 1
        elif which in ("last", "end"):
            keep = rank == rank[..., -1:]
        else:
            keep = rank == int(float(which))
        test = test & keep

    def branch(text):
        return index if str(text).strip().upper() == "INDEX" else _branch(text, m)

    return np.where(test, branch(then), branch(otherwise))


def find(m, value, distance=0.0):
    return (np.abs(m - float(value)) <= float(distance)).sum(axis=-1).astype(np.float64)


def count_array(m, include_missing_values=1, missingvalue=None):
    if int(include_missing_values):
        return np.full(m.shape[:-1], float(m.shape[-1]))
    return (~missing_mask(m, missingvalue)).sum(axis=-1).astype(np.float64)


def replace(m, old_value=0.0, new_value=None, id_measure=None):
    """Elements equal to ``old_value`` (0 by default; nan matches missing ones) become
    ``new_value``; without a new value they are removed."""
    old = float(old_value)
    target = np.isnan(m) if np.isnan(old) else m == old
    if new_value is not None:
        return np.where(target, float(new_value), m)
    kept = (~target).sum(axis=-1)
    if kept.size and (kept != kept.flat[0]).any():
        raise ValidationError("oph_replace: removing values leaves arrays of different lengths")
    return m[~target].reshape(*m.shape[:-1], int(kept.flat[0]) if kept.size else 0)


NORMALIZE = {
    "OPH_MAX": lambda g, low, high, mean, top: g / high,
    "OPH_MAX_ABS": lambda g, low, high, mean, top: g / top,
    "OPH_MAX_MIN": lambda g, low, high, mean, top: (g - low) / (high - low),
    "OPH_AVG": lambda g, low, high, mean, top: g - mean,
    "OPH_AVG_REL": lambda g, low, high, mean, top: g / mean - 1,
}


def normalize(m, kind="OPH_MAX", count=0, missingvalue=None):
    """Each array, or each group of ``count`` elements, divided by its maximum (OPH_MAX), its
    largest magnitude (OPH_MAX_ABS), rescaled to 0..1 (OPH_MAX_MIN), less its mean (OPH_AVG) or
    relative to it (OPH_AVG_REL); missing elements are left out and stay missing."""
    name = str(kind).upper()
    if name not in NORMALIZE:
        raise ValidationError(f"oph_normalize: unknown type '{kind}'", hint=", ".join(NORMALIZE))
    n = m.shape[-1]
    size = int(count) or n
    if n % size:
        raise ValidationError(f"oph_normalize: count {size} does not divide the length {n}")
    data = np.where(missing_mask(m, missingvalue), np.nan, m)
    g = data.reshape(*m.shape[:-1], n // size, size)
    with np.errstate(all="ignore"):
        stats = (
            np.nanmin(g, axis=-1, keepdims=True),
            np.nanmax(g, axis=-1, keepdims=True),
            np.nanmean(g, axis=-1, keepdims=True),
            np.nanmax(np.abs(g), axis=-1, keepdims=True),
        )
        return NORMALIZE[name](g, *stats).reshape(m.shape)


def quantize(m, levels, values):
    """Each element becomes the value of the first level it does not exceed (the last value
    above every level)."""
    bounds = np.asarray(levels, dtype=np.float64).reshape(-1)
    out = np.asarray(values, dtype=np.float64).reshape(-1)
    if out.size != bounds.size + 1:
        raise ValidationError("oph_quantize: give one value more than levels")
    picked = out[np.searchsorted(bounds, m, side="left")]
    return np.where(np.isnan(m), np.nan, picked)


STACKED = {
    "oph_avg": lambda a: np.nanmean(a, axis=0),
    "oph_sum": lambda a: np.nansum(a, axis=0),
    "oph_mul": lambda a: np.nanprod(a, axis=0),
    "oph_max": lambda a: np.nanmax(a, axis=0),
    "oph_min": lambda a: np.nanmin(a, axis=0),
    "oph_arg_max": lambda a: np.nanargmax(np.where(np.isnan(a), -np.inf, a), axis=0) + 1.0,
    "oph_arg_min": lambda a: np.nanargmin(np.where(np.isnan(a), np.inf, a), axis=0) + 1.0,
}


def operation_array(*args):
    """One operation (oph_avg, oph_sum, oph_mul, oph_max, oph_min, oph_arg_max, oph_arg_min)
    across several arrays, element by element, leaving out missing elements."""
    *arrays, operation, missingvalue = args
    if not arrays or isinstance(operation, (int, float)) or isinstance(arrays[-1], str):
        raise ValidationError("give the arrays, then the operation and the missing value")
    name = str(operation).lower()
    if name not in STACKED:
        raise ValidationError(f"unknown operation '{operation}'", hint=", ".join(STACKED))
    stacked = np.stack(np.broadcast_arrays(*arrays))
    stacked = np.where(missing_mask(stacked, float(missingvalue)), np.nan, stacked)
    with np.errstate(all="ignore"):
        out = STACKED[name](stacked)
    return np.where(np.isnan(stacked).all(axis=0), np.nan, out)


def get_index_array(start, stop, stride=1.0):
    """start, start + stride, ... up to stop (which closes the list), as one array."""
    first, last, step = float(start), float(stop), float(stride)
    if first > last or step <= 0:
        raise ValidationError("start must not pass stop and the stride must be positive")
    values = np.minimum(first + step * np.arange(1 + int((last - first) // step)), last)
    return values[None, :]


FUNCTIONS = {
    "oph_operation_array": operation_array,
    "oph_get_index_array": get_index_array,
    "oph_sum_scalar": sum_scalar,
    "oph_mul_scalar": mul_scalar,
    "oph_sum_scalar2": sum_scalar2,
    "oph_mul_scalar2": mul_scalar2,
    "oph_affine": affine,
    **{f"{name}_array": _pair(function) for name, function in PAIRS.items()},
    "oph_operator_array": operator_array,
    "oph_math": math,
    "oph_cast": cast,
    "oph_predicate": predicate,
    "oph_predicate2": predicate2,
    "oph_find": find,
    "oph_count_array": count_array,
    "oph_replace": replace,
    "oph_normalize": normalize,
    "oph_quantize": quantize,
}
