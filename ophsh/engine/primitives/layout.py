"""Primitives that place a row's elements anew: oph_expand (onto a regular grid of
coordinates), oph_sequence (the runs of non-zero elements) and oph_concat2 (two arrays joined).
Every function takes whole blocks (rows along the first axis) and works on them with numpy."""

from __future__ import annotations

import numpy as np

from ophsh.errors import ValidationError

__all__ = ["FUNCTIONS"]


def _number(value, default: float) -> float:
    """A numeric argument; NULL (NaN) or absent means ``default``."""
    if value is None:
        return default
    number = float(value)
    return default if np.isnan(number) else number


def _filling(value, grid: np.ndarray) -> np.ndarray:
    """What a grid point with no element gets: NaN, a number, or 'INTERP' (its coordinate)."""
    if value is None:
        return np.full(grid.shape, np.nan)
    if isinstance(value, str):
        word = value.strip().upper()
        if word == "INTERP":
            return grid
        if word == "NAN":
            return np.full(grid.shape, np.nan)
        raise ValidationError(f"filling '{value}' is neither a number, 'NAN' nor 'INTERP'")
    return np.full(grid.shape, float(value))


def expand(m, index=None, start=None, step=None, stop=None, filling=None):
    """Element k sits at coordinate index[k]; the result has one element per grid point
    start, start+step, ..., stop: the element within half a step, else the filling."""
    if index is None:
        return m
    coords = np.asarray(index, dtype=np.float64)
    if coords.ndim != 2 or coords.shape[0] != 1:
        raise ValidationError("the index must be one array for every row (dimension or oph_to_bin)")
    coords = coords[0]
    if coords.size != m.shape[-1]:
        raise ValidationError(
            f"the index has {coords.size} values but the array has {m.shape[-1]} elements"
        )
    if coords.size and np.any(np.diff(coords) <= 0):
        raise ValidationError("the index values must increase")
    first = _number(start, coords[0])
    pace = _number(step, 1.0)
    last = _number(stop, coords[-1])
    count = 1 + int(np.round((last - first) / pace)) if pace > 0 else 0
    if count < 1:
        raise ValidationError(f"no grid from {first:g} to {last:g} by {pace:g}")
    grid = first + pace * np.arange(count)
    slot = np.searchsorted(coords, grid - pace / 2.0, side="left")
    if slot[-1] >= coords.size:
        raise ValidationError(
            f"the grid goes past the last index value {coords[-1]:g} (stop at {last:g})"
        )
    hit = coords[slot] < grid + pace / 2.0
    return np.where(hit, m[..., slot], _filling(filling, grid))


_INFOS = ("length", "first", "last")


def _on(m: np.ndarray) -> np.ndarray:
    """Which elements count as set: Ophidia reads each value as one byte (its integer part
    modulo 256); NaN and values beyond 32 bits read as 0."""
    whole = np.trunc(np.where(np.isfinite(m) & (np.abs(m) < 2.0**31), m, 0.0))
    return (whole.astype(np.int64) & 0xFF) != 0


def sequence(m, info="length", padding="no"):
    """One value per run of set elements: its length, or the 1-based position of its first or
    last element. With padding='yes' the result keeps the row's length, filled with 0;
    otherwise rows with fewer runs than the longest are filled with NaN."""
    kind = str(info).strip().lower()
    if kind not in _INFOS:
        raise ValidationError(f"unknown info '{info}'", hint="length, first or last")
    pad = str(padding).strip().lower()
    if pad not in ("yes", "no"):
        raise ValidationError(f"padding is 'yes' or 'no', not '{padding}'")
    on = _on(np.asarray(m)).astype(np.int8)
    rows, n = on.shape
    edges = np.diff(np.pad(on, ((0, 0), (1, 1))), axis=-1)
    row, begin = np.nonzero(edges == 1)
    _, end = np.nonzero(edges == -1)
    value = {"length": end - begin, "first": begin + 1, "last": end}[kind]
    counts = np.bincount(row, minlength=rows)
    rank = np.arange(row.size) - np.repeat(np.cumsum(counts) - counts, counts)
    width = n if pad == "yes" else max(1, int(counts.max(initial=0)))
    out = np.full((rows, width), 0.0 if pad == "yes" else np.nan)
    out[row, rank] = value
    return out


def concat2(m, *others):
    """The array followed by one other. Ophidia pairs the array with the others in turn,
    one row each; the embedded store takes a single other array."""
    if not others:
        return m
    if len(others) > 1:
        raise ValidationError(
            "the embedded store joins the array with one other array, not several"
        )
    other = np.asarray(others[0])
    rows = max(m.shape[0], other.shape[0])
    parts = [np.broadcast_to(a, (rows, a.shape[-1])) for a in (m, other)]
    return np.concatenate(parts, axis=-1)


FUNCTIONS = {
    "oph_expand": expand,
    "oph_sequence": sequence,
    "oph_concat2": concat2,
}
