"""Numeric kernels of the analysis operators, as Ophidia's primitives define them.

Every reduction works along the last axis of a block and follows Ophidia's rules: NaN values,
and values equal to ``missing`` when one is given, are left out (count, sum, avg, min, max, std,
var, moments, arg_max, arg_min; a group with no valid value gives NaN); ``var`` and ``std`` divide
by n - 1; arg_max and arg_min count from 1; ``quantile`` keeps every value, so a NaN in the group
gives NaN, and interpolates linearly at position (n - 1) * order, like ``numpy.quantile``.

:func:`blocks` cuts the first axis of an array into pieces that fit a memory budget, and
:func:`map_blocks` runs a kernel over them on a few threads (numpy releases the GIL in the heavy
loops) while the results are written in order. Budget and threads are given by the caller
(:class:`~ophsh.engine.settings.Settings`). Block sizes come from bytes, never from a count of
rows: a block has as many rows as fit its share of the budget, up to :data:`BLOCK_BYTES`, so a
larger image makes more blocks, not larger ones, and memory stays flat in the frame size.

Quantiles of up to :data:`NETWORK_LIMIT` values are taken with a selection network: Batcher's
odd-even merge sort, pruned to the comparators that decide the wanted ranks, run as element-wise
``minimum``/``maximum`` over whole arrays ("wires", one per value). For a median of 15 frames this
is some 30 times faster than ``numpy.median`` and gives the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Any

from ophsh.lazy import numpy as np

__all__ = [
    "REDUCTIONS",
    "as_type",
    "blocks",
    "map_blocks",
    "one_row_fits",
    "quantile_across",
    "quantile_last",
    "quantile_wires",
    "reduce_last",
]

REDUCTIONS = (
    "count",
    "max",
    "min",
    "avg",
    "sum",
    "std",
    "var",
    "cmoment",
    "acmoment",
    "rmoment",
    "armoment",
    "quantile",
    "arg_max",
    "arg_min",
)


# The most one block may cost. Larger blocks are no faster (a few MiB already make the cost of a
# block, a Python call and a read per input, negligible, and smaller blocks stay closer to the
# CPU's caches between numpy's passes: the calibration of 4096x4096 frames took no longer with
# blocks of 16 MiB than of 64 MiB and more); they only take memory, growing with the frames.
BLOCK_BYTES = 16 << 20


def blocks(rows: int, row_bytes: int, budget: int, workers: int = 1) -> Iterator[tuple[int, int]]:
    """Consecutive ``(start, stop)`` ranges of ``rows``, a row costing ``row_bytes``, cut so that
    the blocks alive at once fit ``budget`` bytes (one per worker, and one more: the block being
    written, or read while the last one is still held), each within :data:`BLOCK_BYTES`."""
    row_bytes = max(1, row_bytes)
    per_block = max(1, min(budget // ((workers + 1) * row_bytes), BLOCK_BYTES // row_bytes))
    for start in range(0, rows, per_block):
        yield start, min(rows, start + per_block)


def one_row_fits(row_bytes: int, budget: int, workers: int = 1) -> bool:
    """Whether :func:`map_blocks` holds its blocks of a single row costing ``row_bytes`` within
    ``budget`` (as it counts them: each twice, one per worker and one more)."""
    return budget >= (workers + 1) * 2 * max(1, row_bytes)


def map_blocks(
    read: Callable[[int, int], Any],
    kernel: Callable[[Any], np.ndarray],
    write: Callable[[np.ndarray], None],
    rows: int,
    row_bytes: int,
    *,
    budget: int,
    workers: int = 1,
    tick: Callable[[int], None] = lambda done: None,
) -> None:
    """``write(kernel(read(start, stop)))`` for every block, in order, on ``workers`` threads,
    with at most ``workers`` blocks in memory at once, all within ``budget``."""
    # row_bytes counts a row of the input and of the result; the kernel's working copies as much.
    ranges = list(blocks(rows, 2 * row_bytes, budget, workers))
    if workers == 1 or len(ranges) == 1:
        for start, stop in ranges:
            write(kernel(read(start, stop)))
            tick(stop)
        return
    with ThreadPoolExecutor(workers, thread_name_prefix="ophsh-kernel") as pool:
        pending = []
        for start, stop in ranges:
            pending.append((stop, pool.submit(lambda a, b: kernel(read(a, b)), start, stop)))
            if len(pending) >= workers:  # keep at most `workers` blocks in memory
                stop_done, future = pending.pop(0)
                write(future.result())
                tick(stop_done)
        for stop_done, future in pending:
            write(future.result())
            tick(stop_done)


def _valid(block: np.ndarray, missing: float | None) -> np.ndarray | None:
    """Mask of the values that count, or None when every value does."""
    mask = None
    if block.dtype.kind == "f":
        nan = np.isnan(block)
        if nan.any():
            mask = ~nan
    if missing is not None:
        keep = block != missing
        mask = keep if mask is None else mask & keep
    return mask


NETWORK_LIMIT = 128


@lru_cache(maxsize=64)
def selection_network(n: int, ranks: tuple[int, ...]) -> tuple[tuple[int, int], ...]:
    """Comparators ``(i, j)`` (min to i, max to j) that put the values of ``ranks`` in place."""
    size = 1 << max(0, (n - 1).bit_length())
    comparators = []
    p = 1
    while p < size:
        k = p
        while k >= 1:
            for j in range(k % p, size - k, 2 * k):
                for i in range(min(k, size - j - k)):
                    if (i + j) // (2 * p) == (i + j + k) // (2 * p):
                        comparators.append((i + j, i + j + k))
            k //= 2
        p *= 2
    # Wires n.. would hold +inf: comparators touching them change nothing. Then keep only what
    # can reach a wanted rank, walking backwards.
    needed, kept = set(ranks), []
    for a, b in reversed([c for c in comparators if c[1] < n]):
        if a in needed or b in needed:
            kept.append((a, b))
            needed.update((a, b))
    return tuple(reversed(kept))


def _ranks(n: int, order: float) -> tuple[int, int, float]:
    pos = (n - 1) * order
    lo = min(math.floor(pos), n - 1)
    return lo, min(lo + 1, n - 1), pos - lo


def quantile_wires(wires: Sequence[np.ndarray], order: float) -> np.ndarray:
    """The ``order`` quantile across equally shaped arrays (one per value), as float64.

    The arrays are overwritten (pass copies). A NaN in any of them gives NaN there.
    """
    n = len(wires)
    lo, hi, frac = _ranks(n, order)
    wires = list(wires)
    spare = np.empty_like(wires[0])
    for a, b in selection_network(n, (lo, hi) if frac else (lo,)):
        x, y = wires[a], wires[b]
        np.minimum(x, y, out=spare)
        np.maximum(x, y, out=y)
        wires[a], spare = spare, x
    result = wires[lo].astype(np.float64)
    if frac:
        result += (wires[hi] - result) * frac
    if wires[0].dtype.kind == "f":
        nan = np.isnan(wires[0])
        for wire in wires[1:]:
            nan |= np.isnan(wire)
        result[nan] = np.nan
    return result


# Values per input a selection network handles at once: small enough for the CPU caches.
WIRE_ELEMENTS = 1 << 15


def quantile_across(frames: Sequence[np.ndarray], order: float, dtype: np.dtype) -> np.ndarray:
    """The ``order`` quantile across equally shaped arrays, as ``dtype``: a block of any size,
    taken a cache-sized tile of :data:`WIRE_ELEMENTS` values at a time. The arrays are
    overwritten."""
    flat = [np.ascontiguousarray(frame).reshape(-1) for frame in frames]
    out = np.empty(flat[0].shape, dtype)
    for start in range(0, out.size, WIRE_ELEMENTS):
        stop = start + WIRE_ELEMENTS
        out[start:stop] = quantile_wires([values[start:stop] for values in flat], order)
    return out.reshape(np.shape(frames[0]))


def quantile_last(block: np.ndarray, order: float) -> np.ndarray:
    """The ``order`` quantile along the last axis (linear interpolation), as float64."""
    n = block.shape[-1]
    if n == 0:
        return np.full(block.shape[:-1], np.nan)
    if 1 < n <= NETWORK_LIMIT:
        return quantile_wires(list(np.moveaxis(block, -1, 0).copy()), order)
    lo, hi, frac = _ranks(n, order)
    kth = [lo, hi] if frac and hi != lo else [lo]
    part = np.partition(block, kth, axis=-1)
    low = part[..., lo].astype(np.float64)
    if len(kth) == 2:
        high = part[..., hi].astype(np.float64)
        low = low + (high - low) * frac
    if block.dtype.kind == "f":
        low[np.isnan(block).any(axis=-1)] = np.nan
    return low


def reduce_last(
    block: np.ndarray, operation: str, *, order: float = 2.0, missing: float | None = None
) -> np.ndarray:
    """Reduce ``block`` along its last axis with one of :data:`REDUCTIONS` (float64 result)."""
    if operation == "quantile":
        return quantile_last(block, order)
    mask = _valid(block, missing)
    data = block.astype(np.float64, copy=False)
    count = np.full(block.shape[:-1], block.shape[-1]) if mask is None else mask.sum(axis=-1)
    if operation == "count":
        return count.astype(np.float64)
    empty = count == 0
    if operation in ("max", "min", "arg_max", "arg_min"):
        fill = -np.inf if operation in ("max", "arg_max") else np.inf
        filled = data if mask is None else np.where(mask, data, fill)
        if operation.startswith("arg"):
            pick = np.argmax if operation == "arg_max" else np.argmin
            result = pick(filled, axis=-1).astype(np.float64) + 1
        else:
            result = filled.max(axis=-1) if operation == "max" else filled.min(axis=-1)
        return np.where(empty, np.nan, result)
    zeroed = data if mask is None else np.where(mask, data, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        total = zeroed.sum(axis=-1)
        if operation == "sum":
            return np.where(empty, np.nan, total)
        mean = total / count
        if operation == "avg":
            return mean
        if operation in ("var", "std"):
            dev = zeroed - mean[..., None]
            if mask is not None:
                dev = np.where(mask, dev, 0.0)
            var = (dev * dev).sum(axis=-1) / np.maximum(count - 1, 1)
            var = np.where(empty, np.nan, var)  # no valid value: no variance, as for the mean
            return np.sqrt(var) if operation == "std" else var
        centred = operation in ("cmoment", "acmoment")
        base = zeroed - mean[..., None] if centred else zeroed
        if operation in ("acmoment", "armoment"):
            base = np.abs(base)
        powered = base**order
        if mask is not None:
            powered = np.where(mask, powered, 0.0)
        return powered.sum(axis=-1) / count
    raise ValueError(f"unknown reduction {operation}")


def as_type(values: np.ndarray, dtype: np.dtype, missing: float | None) -> np.ndarray:
    """Reduced values in the cube's type; as Ophidia casts, an integer type stores a NaN (a
    group of only missing values) as the missing value, or 0 without one."""
    if np.dtype(dtype).kind in "iu":
        values = np.where(np.isnan(values), 0 if missing is None else missing, values)
    return values.astype(dtype)
