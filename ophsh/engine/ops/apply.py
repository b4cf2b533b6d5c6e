"""oph_apply: a primitive expression evaluated on every row's array.

The query is parsed, never executed (``ophsh.engine.primitives``). ``measure`` is the row's
array and ``dimension`` the implicit dimension's values. With ``measure_type=manual`` each
primitive starts with its input and output types
(``oph_sum_scalar('oph_double','oph_double',measure,-100)``) and the outermost one sets the
result's type; with ``auto`` the types are left out and the cube keeps its type.
"""

from __future__ import annotations

import numpy as np

from ophsh.engine.context import OpContext
from ophsh.engine.model import Cube, dtype_of
from ophsh.engine.ops.reduction import collapse
from ophsh.engine.params import Params
from ophsh.engine.primitives import evaluate
from ophsh.errors import OperatorError

__all__ = ["apply"]


def apply(ctx: OpContext, p: Params) -> None:
    cube = ctx.cube(p.str("cube"))
    if p.opt("dim_query"):
        raise OperatorError("dim_query is not available in the embedded store")
    query = p.str("query")
    manual = p.str("measure_type") == "manual"
    implicit = cube.implicit_dims
    n_exp = len(cube.explicit_dims)
    row_shape = tuple(d.size for d in implicit)
    width = int(np.prod(row_shape))
    dimension = np.asarray(implicit[0].values, dtype=np.float64) if len(implicit) == 1 else None

    def run(block: np.ndarray):
        rows = np.asarray(block, dtype=np.float64).reshape(*block.shape[:n_exp], width)
        return evaluate(
            query,
            rows,
            ctx.specs.primitives,
            manual=manual,
            measure_type=cube.measure_type,
            check_type=p.str("check_type") == "yes",
            dimension=dimension,
        )

    first = ctx.store.rows(cube, 0, 1) if cube.shape and n_exp else ctx.whole(cube)
    sample = run(np.asarray(first))
    kind = sample.output_type if manual and sample.output_type else cube.measure_type
    out_dtype = dtype_of(kind)
    out_width = sample.values.shape[-1]
    reduced = out_width != width

    def kernel(block: np.ndarray) -> np.ndarray:
        value = run(block).values
        if value.shape[-1] != out_width:
            raise OperatorError("oph_apply: the query gives arrays of different lengths")
        if not reduced:
            value = value.reshape(block.shape)
        if out_dtype.kind in "iu" and np.isnan(value).any():
            raise OperatorError(
                f"oph_apply: missing values cannot be stored as {kind}; "
                "give oph_cast an output missing value, e.g. oph_cast(...,measure,NULL,-9999)"
            )
        return value.astype(out_dtype)

    dims = _reduced_dims(cube, out_width) if reduced else list(cube.dims)
    out_shape = (
        *cube.shape[:n_exp],
        *(row_shape if not reduced else (out_width,) * (out_width > 1)),
    )
    common = {
        "dims": dims,
        "objkey": "apply",
        "measure": p.opt("measure"),
        "measure_type": kind,
        "container": p.opt("container"),
        "description": p.str("description"),
    }
    if n_exp and cube.shape:
        arrays_per_row = int(np.prod(cube.shape[1:n_exp], dtype=np.int64))  # a block's row
        staged = ctx.stream(
            out_shape,
            out_dtype,
            lambda a, b: ctx.store.rows(cube, a, b),
            lambda block: kernel(block).reshape(-1, *out_shape[1:]),
            label="apply",
            row_bytes=arrays_per_row * max(1, width, out_width) * 16,
        )
        ctx.derive(cube, staged=staged, **common)
        return
    ctx.check_cancel()
    data = kernel(ctx.whole(cube)).reshape(out_shape)
    ctx.derive(cube, data=data, **common)


def _reduced_dims(cube: Cube, width: int):
    """After a query that changes the length: one implicit dimension of ``width`` values
    (1..n), or none."""
    implicit = cube.implicit_dims
    if width == 1:
        return collapse(cube.dims, {d.name for d in implicit})
    keep = implicit[0]
    dims = collapse(cube.dims, {d.name for d in implicit[1:]})
    return [
        d.with_(size=width, values=np.arange(1, width + 1).astype(np.asarray(d.values).dtype))
        if d.name == keep.name
        else d
        for d in dims
    ]
