"""oph_reduce2 to a concept level of the oph_time hierarchy: daily values to monthly means,
hours to days, months to years... groups follow the cube's calendar (see
:mod:`ophsh.engine.time_groups`); the reduced dimension keeps one value per group and takes the
new concept level."""

from __future__ import annotations

import numpy as np

from ophsh.engine.context import OpContext
from ophsh.engine.kernels import reduce_last
from ophsh.engine.model import Cube, Dim
from ophsh.engine.params import Params
from ophsh.engine.time_groups import check_reduction, group_starts, group_values
from ophsh.errors import OperatorError

__all__ = ["reduce_by_level", "reduce_groups"]

_SPREADS = frozenset({"std", "var", "cmoment", "acmoment", "rmoment", "armoment"})


def reduce_groups(
    block: np.ndarray,
    starts: np.ndarray,
    operation: str,
    *,
    order: float,
    missing: float | None,
) -> np.ndarray:
    """Reduce consecutive slices of the last axis of ``block`` (float64 result)."""
    stops = np.append(starts[1:], block.shape[-1])
    parts = []
    for a, b in zip(starts, stops, strict=True):
        part = reduce_last(block[..., a:b], operation, order=order, missing=missing)
        if operation in _SPREADS:  # a group with no values has no spread either
            empty = reduce_last(block[..., a:b], "count", missing=missing) == 0
            part = np.where(empty, np.nan, part)
        parts.append(part)
    return np.stack(parts, axis=-1)


def reduce_by_level(
    ctx: OpContext,
    p: Params,
    cube: Cube,
    dim: Dim,
    level: str,
    *,
    order: float,
    missing: float | None,
) -> None:
    """Reduce the implicit dimension ``dim`` to the periods of concept level ``level``."""
    check_reduction(dim.hierarchy, dim.concept_level, level, dim.name)
    container = ctx.store.containers.by_id(cube.container)
    time = container.time_of(dim.name)
    if dim.hierarchy != "oph_time" or time is None:
        raise OperatorError(
            f"dimension '{dim.name}' has no time facts; only concept_level=A reduces it"
        )
    starts = group_starts(np.asarray(dim.values), time, level, p.str("midnight"))
    operation = p.str("operation")
    axis = cube.axis(dim.name)
    shape = tuple(len(starts) if i == axis else s for i, s in enumerate(cube.shape))
    out_dtype = cube.dtype

    def kernel(block: np.ndarray) -> np.ndarray:
        moved = np.moveaxis(np.asarray(block), axis, -1)
        with np.errstate(all="ignore"):
            reduced = reduce_groups(moved, starts, operation, order=order, missing=missing)
        return np.moveaxis(reduced, -1, axis).astype(out_dtype)

    if axis == 0:
        ctx.check_cancel()
        staged = ctx.store.arrays.stage(kernel(np.asarray(ctx.store.data(cube))))
    else:
        rows = cube.shape[0]
        row_bytes = max(1, cube.elements // max(rows, 1)) * 8 * 2
        staged = ctx.stream(
            shape,
            out_dtype,
            lambda a, b: ctx.store.rows(cube, a, b),
            kernel,
            label="reduce2",
            row_bytes=row_bytes,
        )
    values = group_values(np.asarray(dim.values), starts)
    dims = [
        d.with_(size=len(starts), values=values, concept_level=level) if d.name == dim.name else d
        for d in cube.dims
    ]
    ctx.derive(
        cube,
        dims=dims,
        staged=staged,
        objkey="reduce2",
        container=p.opt("container"),
        description=p.str("description"),
    )
