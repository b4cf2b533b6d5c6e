"""Reducing a time dimension to a concept level of the oph_time hierarchy (oph_reduce2 on an
implicit one, oph_aggregate2 on an explicit one): daily values to monthly means, hours to days,
months to years... Groups follow the cube's calendar (see :mod:`ophsh.engine.time_groups`); the
reduced dimension keeps one value per group and takes the new concept level."""

from __future__ import annotations

import numpy as np

from ophsh.engine.arrays import Staged
from ophsh.engine.context import OpContext
from ophsh.engine.kernels import as_type, blocks, one_row_fits, reduce_last
from ophsh.engine.metadata import MetadataSelection
from ophsh.engine.model import Cube, Dim
from ophsh.engine.params import Params
from ophsh.engine.time_groups import HIERARCHIES, check_reduction, group_starts, group_values
from ophsh.errors import OperatorError

__all__ = [
    "mark_frequency",
    "reduce_by_level",
    "reduce_groups",
    "reduce_rows",
    "stage_groups",
]

_SPREADS = frozenset({"std", "var", "cmoment", "acmoment", "rmoment", "armoment"})
_AT_ONCE = frozenset({"count", "sum", "avg", "max", "min"})
_BY_ROWS = frozenset({"count", "sum", "avg"})  # reduced along the first axis by reduce_rows
_EXTREMES = {"max": (-np.inf, np.maximum), "min": (np.inf, np.minimum)}  # fill, ufunc
_IN_PIECES = _BY_ROWS | _EXTREMES.keys()  # what a group read a few rows at a time can give


def reduce_groups(
    block: np.ndarray,
    starts: np.ndarray,
    operation: str,
    *,
    order: float,
    missing: float | None,
) -> np.ndarray:
    """Reduce consecutive slices of the last axis of ``block`` (float64 result)."""
    if operation in _AT_ONCE:
        return _reduce_at(block, starts, operation, missing)
    stops = np.append(starts[1:], block.shape[-1])
    parts = []
    for a, b in zip(starts, stops, strict=True):
        part = reduce_last(block[..., a:b], operation, order=order, missing=missing)
        if operation in _SPREADS:  # a group with no values has no spread either
            empty = reduce_last(block[..., a:b], "count", missing=missing) == 0
            part = np.where(empty, np.nan, part)
        parts.append(part)
    return np.stack(parts, axis=-1)


def _reduce_at(
    block: np.ndarray, starts: np.ndarray, operation: str, missing: float | None
) -> np.ndarray:
    """count, sum, avg, max and min of every group in one pass (NaN and ``missing`` left out;
    a group with no value left gives NaN, its count 0)."""
    data = np.asarray(block)  # kept in its type: sums are taken in float64 all the same
    if data.dtype.kind not in "iuf":
        data = data.astype(np.float64)
    valid = ~np.isnan(data) if data.dtype.kind == "f" else np.ones(data.shape, dtype=bool)
    if missing is not None:
        valid &= data != missing
    count = np.add.reduceat(valid, starts, axis=-1, dtype=np.float64)
    if operation == "count":
        return count
    if operation in _EXTREMES:
        fill, ufunc = _EXTREMES[operation]
        filled = np.where(valid, data.astype(np.float64, copy=False), fill)
        result = ufunc.reduceat(filled, starts, axis=-1)
    else:
        result = np.add.reduceat(np.where(valid, data, 0), starts, axis=-1, dtype=np.float64)
    return _finish(count, result, operation)


def reduce_rows(
    block: np.ndarray, starts: np.ndarray, operation: str, missing: float | None
) -> np.ndarray:
    """count, sum or avg of groups of consecutive rows (the first axis) of ``block``, a group
    at a time: each group's rows are summed into float64 whole rows at once, which is several
    times faster than reducing along a strided axis. NaN and ``missing`` are left out; a group
    with no value left gives NaN, its count 0."""
    data = np.asarray(block)
    stops = np.append(starts[1:], data.shape[0])
    count = np.zeros((len(starts), *data.shape[1:]), dtype=np.float64)
    total = np.zeros_like(count)
    for k, (a, b) in enumerate(zip(starts, stops, strict=True)):
        _add_rows(data[a:b], missing, count[k], None if operation == "count" else total[k])
    return _finish(count, total, operation)


def _add_rows(
    part: np.ndarray,
    missing: float | None,
    count: np.ndarray,
    total: np.ndarray | None,
    operation: str = "sum",
) -> None:
    """Add the rows ``part`` into each cell's ``count`` of values and, unless ``total`` is
    None, into their float64 sum (or, for ``operation`` max or min, keep the largest or the
    smallest in ``total``); NaN and ``missing`` are left out."""
    gap = np.isnan(part) if part.dtype.kind == "f" else np.zeros(part.shape, dtype=bool)
    if missing is not None:
        gap |= part == missing
    count += len(part) - gap.sum(axis=0, dtype=np.int64)
    if total is None:
        return
    if operation in _EXTREMES:
        fill, ufunc = _EXTREMES[operation]
        ufunc(total, ufunc.reduce(np.where(gap, fill, part), axis=0), out=total)
    else:
        total += np.sum(np.where(gap, 0, part), axis=0, dtype=np.float64)


def _finish(count: np.ndarray, total: np.ndarray, operation: str) -> np.ndarray:
    """The count, sum, avg, max or min of groups from what :func:`_add_rows` kept (NaN where a
    group's count is 0, but for the count itself)."""
    if operation == "count":
        return count
    if operation == "avg":
        return total / count
    return np.where(count == 0, np.nan, total)


def stage_groups(
    ctx: OpContext,
    cube: Cube,
    axis: int,
    starts: np.ndarray,
    operation: str,
    *,
    order: float,
    missing: float | None,
    label: str,
) -> Staged:
    """Stage the cube with groups of consecutive positions along ``axis`` (beginning at
    ``starts``) reduced to one position each, block by block along the first axis."""
    stops = np.append(starts[1:], cube.shape[axis])
    shape = tuple(len(starts) if i == axis else s for i, s in enumerate(cube.shape))
    out_dtype = cube.dtype
    inner = max(1, cube.elements // max(cube.shape[0], 1))

    def reduce_along(block: np.ndarray, local: np.ndarray) -> np.ndarray:
        if axis == 0 and operation in _BY_ROWS:
            with np.errstate(all="ignore"):
                return reduce_rows(block, local, operation, missing).astype(out_dtype)
        moved = np.moveaxis(np.asarray(block), axis, -1)
        with np.errstate(all="ignore"):
            reduced = reduce_groups(moved, local, operation, order=order, missing=missing)
        return as_type(np.moveaxis(reduced, -1, axis), out_dtype, missing)

    if axis == 0:  # output row k reads the input rows of group k
        widest = int((stops - starts).max()) if len(starts) else 1
        budget, workers = ctx.settings.memory_bytes, ctx.settings.threads
        if operation in _IN_PIECES and not one_row_fits(widest * inner * 16, budget, workers):
            return _stage_in_pieces(ctx, cube, starts, stops, operation, missing, label)

        def read(a: int, b: int):
            return ctx.store.rows(cube, int(starts[a]), int(stops[b - 1])), starts[a:b] - starts[a]

        return ctx.stream(
            shape,
            out_dtype,
            read,
            lambda job: reduce_along(*job),
            label=label,
            row_bytes=widest * inner * 16,
        )
    return ctx.stream(
        shape,
        out_dtype,
        lambda a, b: ctx.store.rows(cube, a, b),
        lambda block: reduce_along(block, starts),
        label=label,
        row_bytes=inner * 16,
    )


def _stage_in_pieces(
    ctx: OpContext,
    cube: Cube,
    starts: np.ndarray,
    stops: np.ndarray,
    operation: str,
    missing: float | None,
    label: str,
) -> Staged:
    """count, sum, avg, max or min of groups of rows (along the first axis) too large to be
    read whole within the memory budget: each group is read a piece of rows at a time, added
    into float64 counts and sums (or extremes)."""
    inner = max(1, cube.elements // max(cube.shape[0], 1))
    widest = int((stops - starts).max())
    half = ctx.settings.memory_bytes // 2  # for the pieces; the other half for the sums
    _, piece = next(blocks(widest, 2 * inner * 16, half, ctx.settings.threads))

    def reduce_pieces(a: int, b: int) -> np.ndarray:
        count = np.zeros((b - a, *cube.shape[1:]), dtype=np.float64)
        start = _EXTREMES[operation][0] if operation in _EXTREMES else 0.0
        total = None if operation == "count" else np.full_like(count, start)
        for k in range(a, b):
            for first in range(int(starts[k]), int(stops[k]), piece):
                ctx.check_cancel()
                part = ctx.store.rows(cube, first, min(first + piece, int(stops[k])))
                kept = None if total is None else total[k - a]
                _add_rows(part, missing, count[k - a], kept, operation)
        with np.errstate(all="ignore"):
            reduced = _finish(count, total, operation)
        if operation in _EXTREMES:  # as reduce_groups' results are cast
            return as_type(reduced, cube.dtype, missing)
        return reduced.astype(cube.dtype)

    shape = (len(starts), *cube.shape[1:])
    return ctx.stream(
        shape,
        cube.dtype,
        lambda a, b: (a, b),
        lambda rows: reduce_pieces(*rows),
        label=label,
        row_bytes=2 * inner * 16,  # the counts and sums of a result row, and its copy
    )


def reduce_by_level(
    ctx: OpContext,
    p: Params,
    cube: Cube,
    dim: Dim,
    level: str,
    *,
    order: float,
    missing: float | None,
    objkey: str = "reduce2",
) -> None:
    """Reduce dimension ``dim`` to the periods of concept level ``level``."""
    check_reduction(dim.hierarchy, dim.concept_level, level, dim.name)
    container = ctx.store.containers.by_id(cube.container)
    time = container.time_of(dim.name)
    if dim.hierarchy != "oph_time" or time is None:
        raise OperatorError(
            f"dimension '{dim.name}' has no time facts; only concept_level=A reduces it"
        )
    starts = group_starts(np.asarray(dim.values), time, level, p.str("midnight"))
    staged = stage_groups(
        ctx,
        cube,
        cube.axis(dim.name),
        starts,
        p.str("operation"),
        order=order,
        missing=missing,
        label=objkey,
    )
    values = group_values(np.asarray(dim.values), starts)
    dims = [
        d.with_(size=len(starts), values=values, concept_level=level) if d.name == dim.name else d
        for d in cube.dims
    ]
    made = ctx.derive(
        cube,
        dims=dims,
        staged=staged,
        objkey=objkey,
        container=p.opt("container"),
        description=p.str("description"),
    )
    mark_frequency(ctx, made, cube, [dim.name], level)


def mark_frequency(
    ctx: OpContext, made: Cube, source: Cube, names: list[str], level: str = "A"
) -> None:
    """After a time dimension among ``names`` was reduced to ``level``, the new cube's global
    "frequency" metadata (when it has one) names that level, as Ophidia updates it: "month",
    "year"..., "ALL" for a whole reduction."""
    container = ctx.store.containers.by_id(source.container)
    if not any(container.time_of(n) is not None for n in names):
        return
    value = dict((lv[0], lv[1]) for lv in HIERARCHIES["oph_time"]).get(level, "ALL")
    chosen = MetadataSelection(keys=("frequency",))
    for record in ctx.store.metadata.select(made.id, chosen):
        if record.item.variable == "":
            ctx.store.metadata.update(record.id, value, ctx.user)
