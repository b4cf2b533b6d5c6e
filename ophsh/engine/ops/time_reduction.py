"""Reducing a time dimension to a concept level of the oph_time hierarchy (oph_reduce2 on an
implicit one, oph_aggregate2 on an explicit one): daily values to monthly means, hours to days,
months to years... Groups follow the cube's calendar (see :mod:`ophsh.engine.time_groups`); the
reduced dimension keeps one value per group and takes the new concept level."""

from __future__ import annotations

import numpy as np

from ophsh.engine.arrays import Staged
from ophsh.engine.context import OpContext
from ophsh.engine.kernels import as_type, reduce_last
from ophsh.engine.metadata import MetadataSelection
from ophsh.engine.model import Cube, Dim
from ophsh.engine.params import Params
from ophsh.engine.time_groups import HIERARCHIES, check_reduction, group_starts, group_values
from ophsh.errors import OperatorError

__all__ = ["mark_frequency", "reduce_by_level", "reduce_groups", "reduce_rows", "stage_groups"]

_SPREADS = frozenset({"std", "var", "cmoment", "acmoment", "rmoment", "armoment"})
_AT_ONCE = frozenset({"count", "sum", "avg", "max", "min"})


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
    if operation in ("max", "min"):
        fill, ufunc = (-np.inf, np.maximum) if operation == "max" else (np.inf, np.minimum)
        filled = np.where(valid, data.astype(np.float64, copy=False), fill)
        result = ufunc.reduceat(filled, starts, axis=-1)
    else:
        result = np.add.reduceat(np.where(valid, data, 0), starts, axis=-1, dtype=np.float64)
        if operation == "avg":
            return result / count
    return np.where(count == 0, np.nan, result)


def reduce_rows(
    block: np.ndarray, starts: np.ndarray, operation: str, missing: float | None
) -> np.ndarray:
    """count, sum or avg of groups of consecutive rows (the first axis) of ``block``, a group
    at a time: each group's rows are summed into float64 whole rows at once, which is several
    times faster than reducing along a strided axis. NaN and ``missing`` are left out; a group
    with no value left gives NaN, its count 0."""
    data = np.asarray(block)
    stops = np.append(starts[1:], data.shape[0])
    shape = (len(starts), *data.shape[1:])
    count = np.empty(shape, dtype=np.float64)
    total = np.empty(shape, dtype=np.float64)
    for k, (a, b) in enumerate(zip(starts, stops, strict=True)):
        part = data[a:b]
        gap = np.isnan(part) if part.dtype.kind == "f" else np.zeros(part.shape, dtype=bool)
        if missing is not None:
            gap |= part == missing
        count[k] = (b - a) - gap.sum(axis=0, dtype=np.int64)
        if operation != "count":
            np.sum(np.where(gap, 0, part), axis=0, dtype=np.float64, out=total[k])
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
        if axis == 0 and operation in ("count", "sum", "avg"):
            with np.errstate(all="ignore"):
                return reduce_rows(block, local, operation, missing).astype(out_dtype)
        moved = np.moveaxis(np.asarray(block), axis, -1)
        with np.errstate(all="ignore"):
            reduced = reduce_groups(moved, local, operation, order=order, missing=missing)
        return as_type(np.moveaxis(reduced, -1, axis), out_dtype, missing)

    if axis == 0:  # output row k reads the input rows of group k
        widest = int((stops - starts).max()) if len(starts) else 1

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
