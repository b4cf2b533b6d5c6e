"""Aggregate primitives: the arrays of all the rows combined into one array, element by
element (oph_aggregate_operator, oph_aggregate_stats and its two steps) or one after the other
(oph_roll_up). They take the whole block of rows and return one row. Missing values (NaN) are
left out of every combination."""

from __future__ import annotations

import numpy as np

from ophsh.errors import ValidationError

__all__ = ["FUNCTIONS"]

_OPERATORS = {
    "oph_count": lambda a: np.sum(~np.isnan(a), axis=0).astype(np.float64),
    "oph_max": lambda a: np.nanmax(a, axis=0),
    "oph_min": lambda a: np.nanmin(a, axis=0),
    "oph_sum": lambda a: np.where(np.isnan(a).all(axis=0), np.nan, np.nansum(a, axis=0)),
    "oph_avg": lambda a: np.nanmean(a, axis=0),
}


def aggregate_operator(m, operator="oph_max", missingvalue=None):
    """count, max, min, sum or avg of every element over the rows."""
    name = str(operator).strip().lower()
    if not name.startswith("oph_"):
        name = f"oph_{name}"
    if name not in _OPERATORS:
        raise ValidationError(
            f"unknown operator '{operator}'", hint="oph_count, oph_max, oph_min, oph_sum, oph_avg"
        )
    values = np.asarray(m, dtype=np.float64)
    if missingvalue is not None and not np.isnan(missingvalue):
        values = np.where(values == float(missingvalue), np.nan, values)
    with np.errstate(all="ignore"):
        return _OPERATORS[name](values)[None, :]


_STATS = ("mean", "variance", "std", "skew", "kurtosis", "max", "min")


def _mask(mask) -> list[int]:
    """Which statistics a mask of up to seven 0/1 digits selects (default: all)."""
    text = "1111111" if mask is None else str(mask).strip().strip("'\"")
    if not text or len(text) > len(_STATS) or set(text) - {"0", "1"} or "1" not in text:
        raise ValidationError(
            f"mask '{mask}' is not up to 7 digits 0/1 with a 1",
            hint="mean, variance, std, skew, kurtosis, max, min",
        )
    return [i for i, digit in enumerate(text) if digit == "1"]


def _moments(wanted: list[int]) -> int:
    """How many power sums the statistics need (mean 1, variance/std 2, skew 3, kurtosis 4)."""
    return max([{0: 1, 1: 2, 2: 2, 3: 3, 4: 4}.get(i, 0) for i in wanted])


def _partials(a: np.ndarray, wanted: list[int]) -> list[np.ndarray]:
    """Count, power sums, max and min of every element over the rows, as the stats need."""
    present = ~np.isnan(a)
    zeroed = np.where(present, a, 0.0)
    out = [present.sum(axis=0).astype(np.float64)]
    out += [np.sum(zeroed**k, axis=0) for k in range(1, _moments(wanted) + 1)]
    if 5 in wanted:
        out.append(np.nanmax(a, axis=0))
    if 6 in wanted:
        out.append(np.nanmin(a, axis=0))
    return out


def _statistics(parts: list[np.ndarray], wanted: list[int]) -> np.ndarray:
    """The selected statistics from count and power sums (sample variance, as Ophidia)."""
    n, sums = parts[0], parts[1 : 1 + _moments(wanted)]
    extremes = iter(parts[1 + len(sums) :])
    mu = sums[0] / n if sums else None
    columns = []
    for i in wanted:
        if i >= 5:
            columns.append(next(extremes))
            continue
        if i == 0:
            columns.append(mu)
            continue
        variance = (sums[1] - n * mu**2) / (n - 1)
        if i == 1:
            columns.append(variance)
        elif i == 2:
            columns.append(np.sqrt(variance))
        elif i == 3:
            m3 = sums[2] - 3 * mu * sums[1] + 3 * mu**2 * sums[0] - n * mu**3
            columns.append(m3 / (n * variance**1.5))
        else:
            m4 = sums[3] - 4 * mu * sums[2] + 6 * mu**2 * sums[1] - 4 * mu**3 * sums[0]
            columns.append((m4 + n * mu**4) / (n * variance**2) - 3)
    return np.stack(columns, axis=-1)


def aggregate_stats(m, mask=None):
    """For every element, the statistics the mask selects, one after the other."""
    wanted = _mask(mask)
    with np.errstate(all="ignore"):
        table = _statistics(_partials(np.asarray(m, dtype=np.float64), wanted), wanted)
    return table.reshape(1, -1)


def aggregate_stats_partial(m, mask=None):
    """For every element: the count, then the power sums, max and min the mask needs."""
    wanted = _mask(mask)
    with np.errstate(all="ignore"):
        parts = _partials(np.asarray(m, dtype=np.float64), wanted)
    return np.stack(parts, axis=-1).reshape(1, -1)


def aggregate_stats_final(m, mask=None):
    """The statistics from rows of oph_aggregate_stats_partial (made with the same mask)."""
    wanted = _mask(mask)
    size = 1 + _moments(wanted) + (5 in wanted) + (6 in wanted)
    a = np.asarray(m, dtype=np.float64)
    if a.shape[-1] % size:
        raise ValidationError(
            f"the arrays hold {a.shape[-1]} values, not groups of {size} from "
            "oph_aggregate_stats_partial with the same mask"
        )
    grouped = a.reshape(a.shape[0], -1, size)
    sums = [np.nansum(grouped[..., k], axis=0) for k in range(1 + _moments(wanted))]
    extremes = []
    position = len(sums)
    if 5 in wanted:
        extremes.append(np.nanmax(grouped[..., position], axis=0))
        position += 1
    if 6 in wanted:
        extremes.append(np.nanmin(grouped[..., position], axis=0))
    with np.errstate(all="ignore"):
        return _statistics(sums + extremes, wanted).reshape(1, -1)


def roll_up(m, size):
    """The arrays of the first ``size`` rows one after the other (NaN where rows lack)."""
    count = int(float(size))
    if count < 1:
        raise ValidationError(f"size must be at least 1, not {size}")
    a = np.asarray(m, dtype=np.float64)
    taken = a[:count]
    if taken.shape[0] < count:
        taken = np.vstack([taken, np.full((count - taken.shape[0], a.shape[-1]), np.nan)])
    return taken.reshape(1, -1)


FUNCTIONS = {
    "oph_aggregate_operator": aggregate_operator,
    "oph_aggregate_stats": aggregate_stats,
    "oph_aggregate_stats_partial": aggregate_stats_partial,
    "oph_aggregate_stats_final": aggregate_stats_final,
    "oph_roll_up": roll_up,
}
