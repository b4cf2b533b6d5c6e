"""oph_intercube: two cubes combined value by value; oph_intercube2: any number of cubes.

Both cubes must have the same shape (the error names the dimension that differs) and measure
type. Beyond Ophidia, a cube2 holding a single value (e.g. a mean made by oph_aggregate) is
applied to every value of the first cube. Division by zero gives NaN, reported by a warning that
counts the values concerned, never an error.

Except for operation=corr, the result is a virtual cube (see :mod:`ophsh.engine.recipes`) unless
virtual cubes are off: nothing is written, its values are computed when read.
"""

from __future__ import annotations

import numpy as np

from ophsh.engine.context import OpContext
from ophsh.engine.elementwise import intercube2_block, intercube_block
from ophsh.engine.model import Cube
from ophsh.engine.ops.merge import same_shape
from ophsh.engine.ops.reduction import collapse
from ophsh.engine.params import Params
from ophsh.errors import OperatorError, ValidationError
from ophsh.syntax import split_values

__all__ = ["correlation", "intercube", "intercube2"]

COUNT_BLOCK = 8 << 20  # bytes of cube2 read at a time to count its zeros (small: it may be virtual)


def _pair(ctx: OpContext, p: Params) -> tuple[Cube, Cube]:
    if p.opt("cubes"):
        pids = split_values(p.str("cubes"))
        if len(pids) != 2:
            raise ValidationError("cubes= takes exactly two PIDs (first|second)", param="cubes")
        return ctx.cube(pids[0]), ctx.cube(pids[1])
    if not p.opt("cube") or not p.opt("cube2"):
        raise ValidationError("oph_intercube needs cube= and cube2= (or cubes=first|second)")
    return ctx.cube(p.str("cube")), ctx.cube(p.str("cube2"))


def intercube(ctx: OpContext, p: Params) -> None:
    first, second = _pair(ctx, p)
    operation = p.str("operation")
    if second.measure_type != first.measure_type:
        raise OperatorError(
            f"{first.pid} holds {first.measure_type} values and {second.pid} {second.measure_type}",
            hint="convert one with oph_apply measure_type=manual, e.g. oph_cast",
        )
    scalar = second.elements == 1 and first.elements != 1
    if not scalar:
        same_shape(first, second)
    if operation == "corr":
        _correlation(ctx, p, first, second)
        return
    out_dtype = first.dtype
    missing = p.real("missingvalue") if p.opt("missingvalue") else None
    kept = _exact_storage(first, second, operation, missing) or out_dtype
    params = {"operation": operation, "compute": out_dtype.str, "missing": missing}
    recipe = ctx.recipe("intercube", params, [first, second], kept, whole=[1] if scalar else [])
    if recipe is not None:
        zeros = 0
        if operation == "div":
            zeros = _zeros(ctx, second, out_dtype) * (first.elements if scalar else 1)
        cube = ctx.derive(first, dims=first.dims, staged=recipe, **_target(p, first, second))
    else:
        cube, zeros = _written(ctx, p, first, second, scalar, params, kept)
    if zeros:
        ctx.doc.add_text(
            "warning",
            "WARNING",
            f"division by zero at {zeros} value(s) of {second.pid}; they are "
            f"{'NaN' if out_dtype.kind == 'f' else '0'} in {cube.pid}",
        )


def _target(p: Params, first: Cube, second: Cube) -> dict:
    """Where the result of oph_intercube goes and how it is described."""
    return {
        "objkey": "intercube",
        "container": p.opt("container"),
        "description": p.str("description"),
        "measure": p.opt("measure"),
        "parents": [first, second],
    }


def _zeros(ctx: OpContext, cube: Cube, dtype: np.dtype) -> int:
    """How many values of ``cube`` are 0 once in ``dtype``, read block by block."""
    if not cube.shape:
        return int(np.count_nonzero(np.asarray(ctx.store.data(cube), dtype=dtype) == 0))
    rows = cube.shape[0]
    row_bytes = max(1, cube.elements // rows) * dtype.itemsize
    step = max(1, min(ctx.settings.memory_bytes // 2, COUNT_BLOCK) // row_bytes)
    total = 0
    for start in range(0, rows, step):
        ctx.check_cancel()
        block = np.asarray(ctx.store.rows(cube, start, start + step), dtype=dtype)
        total += int(np.count_nonzero(block == 0))
    return total


def _written(
    ctx: OpContext,
    p: Params,
    first: Cube,
    second: Cube,
    scalar: bool,
    params: dict,
    kept: np.dtype,
) -> tuple[Cube, int]:
    """The result computed and written now; with the number of divisions by zero."""
    operation, out_dtype, missing = params["operation"], first.dtype, params["missing"]
    zeros: list[int] = []  # one count per block (blocks run on several threads)
    factor = np.asarray(ctx.store.data(second), dtype=out_dtype).reshape(()) if scalar else None

    def combine(pair: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        b = factor if scalar else np.asarray(pair[1], dtype=out_dtype)
        if operation == "div":
            zeros.append(int(np.count_nonzero(np.broadcast_to(b == 0, np.shape(pair[0])))))
        return intercube_block(pair[0], b, operation, out_dtype, kept, missing)

    if first.shape:
        rows = first.shape[0]
        staged = ctx.stream(
            first.shape,
            kept,
            lambda a, b: (
                ctx.store.rows(first, a, b),
                None if scalar else ctx.store.rows(second, a, b),
            ),
            combine,
            label="intercube",
            row_bytes=max(1, first.elements // rows) * 3 * out_dtype.itemsize,
        )
        cube = ctx.derive(first, dims=first.dims, staged=staged, **_target(p, first, second))
    else:
        ctx.check_cancel()
        data = combine((ctx.whole(first), ctx.whole(second)))
        cube = ctx.derive(first, dims=first.dims, data=data, **_target(p, first, second))
    return cube, sum(zeros)


def _exact_storage(
    first: Cube, second: Cube, operation: str, missing: float | None
) -> np.dtype | None:
    """A narrower type that holds every result exactly: sums and differences of frames of 16
    bits or less fit 32-bit integers (the measure type stays what it is). None otherwise."""
    stored = [np.dtype(first.storage), np.dtype(second.storage)]
    small_integers = all(d.kind in "iu" and d.itemsize <= 2 for d in stored)
    if operation in ("sum", "sub") and small_integers and missing is None:
        return np.dtype(np.int32)
    return None


def correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson's correlation of ``a`` and ``b`` along the last axis (NaN where one is flat)."""
    a = a - a.mean(axis=-1, keepdims=True)
    b = b - b.mean(axis=-1, keepdims=True)
    with np.errstate(all="ignore"):
        return (a * b).sum(axis=-1) / np.sqrt((a * a).sum(axis=-1) * (b * b).sum(axis=-1))


def _correlation(ctx: OpContext, p: Params, first: Cube, second: Cube) -> None:
    """operation=corr: one value per row, the implicit dimensions collapse."""
    n_exp = len(first.explicit_dims)
    if len(first.implicit_dims) == 0:
        raise OperatorError(f"{first.pid} has no implicit dimension to correlate along")
    shape = first.shape[:n_exp]
    a = np.asarray(ctx.whole(first), dtype=np.float64).reshape(*shape, -1)
    b = np.asarray(ctx.whole(second), dtype=np.float64).reshape(*shape, -1)
    ctx.derive(
        first,
        dims=collapse(first.dims, {d.name for d in first.implicit_dims}),
        data=correlation(a, b).astype(first.dtype),
        objkey="intercube",
        container=p.opt("container"),
        description=p.str("description"),
        measure=p.opt("measure"),
        parents=[first, second],
    )


def intercube2(ctx: OpContext, p: Params) -> None:
    """Combine N cubes of one shape value by value: avg, sum, mul, max, min, or arg_max /
    arg_min (the 1-based position of the cube that holds the extreme). Missing values (NaN,
    missingvalue=) are left out, as reductions do."""
    pids = split_values(p.str("cubes")) if p.opt("cubes") else []
    if not pids:
        raise ValidationError("oph_intercube2 needs cubes=first|second|...", param="cubes")
    cubes = [ctx.cube(pid) for pid in pids]
    first = cubes[0]
    for other in cubes[1:]:
        if other.measure_type != first.measure_type:
            raise OperatorError(
                f"{first.pid} holds {first.measure_type} values and {other.pid} "
                f"{other.measure_type}"
            )
        same_shape(first, other)
    operation = p.str("operation")
    missing = p.real("missingvalue") if p.opt("missingvalue") else None
    out_dtype = first.dtype

    common = dict(
        objkey="intercube",  # Ophidia 1.9 answers with the objkey of oph_intercube
        container=p.opt("container"),
        description=p.str("description"),
        measure=p.opt("measure"),
        parents=cubes,
    )
    params = {"operation": operation, "missing": missing}
    recipe = ctx.recipe("intercube2", params, cubes, out_dtype)
    if recipe is not None:
        ctx.derive(first, dims=first.dims, staged=recipe, **common)
    elif first.shape:
        rows = first.shape[0]
        staged = ctx.stream(
            first.shape,
            out_dtype,
            lambda a, b: [ctx.store.rows(c, a, b) for c in cubes],
            lambda blocks: intercube2_block(blocks, operation, missing, out_dtype),
            label="intercube2",
            row_bytes=max(1, first.elements // rows) * (len(cubes) + 1) * 8,
        )
        ctx.derive(first, dims=first.dims, staged=staged, **common)
    else:
        data = intercube2_block([ctx.whole(c) for c in cubes], operation, missing, out_dtype)
        ctx.derive(first, dims=first.dims, data=data, **common)
