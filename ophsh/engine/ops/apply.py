"""oph_apply: a primitive expression evaluated on every row's array.

The query is parsed, never executed (``ophsh.engine.primitives``). ``measure`` is the row's
array and ``dimension`` the implicit dimension's values. With ``measure_type=manual`` each
primitive starts with its input and output types
(``oph_sum_scalar('oph_double','oph_double',measure,-100)``) and the outermost one sets the
result's type; with ``auto`` the types are left out and the cube keeps its type. A query with
an aggregate primitive (``oph_aggregate_operator``, ``oph_roll_up``...) combines every row into
one: the explicit dimensions collapse, as in Ophidia (where each fragment gives one row).

A query whose primitives all map each value on its own to a real value (oph_sum_scalar,
oph_mul_scalar, oph_math...: see :mod:`ophsh.engine.elementwise`) gives a virtual cube, computed
when read (:mod:`ophsh.engine.recipes`).
"""

from __future__ import annotations

import numpy as np

from ophsh.engine.context import OpContext
from ophsh.engine.elementwise import apply_block, elementwise_query
from ophsh.engine.kernels import as_type
from ophsh.engine.model import Cube, Dim, dtype_of
from ophsh.engine.ops.reduction import collapse
from ophsh.engine.params import Params
from ophsh.engine.primitives import Evaluation, combines_rows
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

    settings = {
        "query": query,
        "n_exp": n_exp,
        "manual": manual,
        "measure_type": cube.measure_type,
        "check_type": p.str("check_type") == "yes",
    }

    def run(block: np.ndarray, all_rows: bool = False) -> Evaluation:
        return apply_block(
            block,
            dimension=dimension,
            primitives=ctx.specs.primitives,
            all_rows=all_rows,
            **settings,
        )

    common = {
        "objkey": "apply",
        "measure": p.opt("measure"),
        "container": p.opt("container"),
        "description": p.str("description"),
    }
    if combines_rows(query, ctx.specs.primitives):
        ctx.check_cancel()
        _publish_combined(
            ctx, cube, run(np.asarray(ctx.whole(cube)), all_rows=True), manual, common
        )
        return

    first = ctx.store.rows(cube, 0, 1) if cube.shape and n_exp else ctx.whole(cube)
    sample = run(np.asarray(first))
    kind = sample.output_type if manual and sample.output_type else cube.measure_type
    out_dtype = dtype_of(kind)
    out_width = sample.values.shape[-1]
    reduced = out_width != width

    lost: list[int] = []  # missing values cast to 0, per block (appends are thread-safe)

    def kernel(block: np.ndarray) -> np.ndarray:
        value = run(block).values
        if value.shape[-1] != out_width:
            raise OperatorError("oph_apply: the query gives arrays of different lengths")
        return _stored(value if reduced else value.reshape(block.shape), out_dtype, lost)

    dims = _reduced_dims(list(cube.dims), implicit, out_width) if reduced else list(cube.dims)
    out_shape = (
        *cube.shape[:n_exp],
        *(row_shape if not reduced else (out_width,) * (out_width > 1)),
    )
    common |= {"dims": dims, "measure_type": kind}
    recipe = None
    if not reduced and out_dtype.kind == "f" and n_exp and elementwise_query(query):
        recipe = ctx.recipe("apply", settings, [cube], out_dtype)
    if recipe is not None:
        ctx.derive(cube, staged=recipe, **common)
        return
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
        made = ctx.derive(cube, staged=staged, **common)
    else:
        ctx.check_cancel()
        made = ctx.derive(cube, data=kernel(ctx.whole(cube)).reshape(out_shape), **common)
    _warn_lost(ctx, sum(lost), kind, made)


def _publish_combined(ctx: OpContext, cube: Cube, result: Evaluation, manual: bool, common):
    """The one row a query with an aggregate primitive gives, as a cube whose explicit
    dimensions are collapsed."""
    implicit = cube.implicit_dims
    row_shape = tuple(d.size for d in implicit)
    width = int(np.prod(row_shape))
    kind = result.output_type if manual and result.output_type else cube.measure_type
    out_width = result.values.shape[-1]
    dims = collapse(cube.dims, {d.name for d in cube.explicit_dims})
    if out_width != width:
        dims = _reduced_dims(dims, implicit, out_width)
    shape = row_shape if out_width == width else (out_width,) * (out_width > 1)
    lost: list[int] = []
    data = _stored(result.values, dtype_of(kind), lost).reshape(shape)
    made = ctx.derive(cube, data=data, dims=dims, measure_type=kind, **common)
    _warn_lost(ctx, sum(lost), kind, made)


def _stored(value: np.ndarray, dtype: np.dtype, lost: list[int]) -> np.ndarray:
    """The values in the result's type; as Ophidia casts, an integer type stores a missing
    value as 0 (their number is added to ``lost``)."""
    if dtype.kind in "iu":
        lost.append(int(np.isnan(value).sum()))
    return as_type(value, dtype, None)


def _warn_lost(ctx: OpContext, count: int, kind: str, made: Cube) -> None:
    if count:
        ctx.doc.add_text(
            "warning",
            "WARNING",
            f"{count} missing value(s) are 0 in {made.pid}, as Ophidia casts them to {kind}; "
            "give oph_cast an output missing value to keep them apart, e.g. "
            "oph_cast(...,measure,NULL,-9999)",
        )


def _reduced_dims(dims: list[Dim], implicit: list[Dim], width: int) -> list[Dim]:
    """After a query that changes the length: one implicit dimension of ``width`` values
    (1..n), or none."""
    if width == 1:
        return collapse(dims, {d.name for d in implicit})
    keep = implicit[0]
    dims = collapse(dims, {d.name for d in implicit[1:]})
    return [
        d.with_(size=width, values=np.arange(1, width + 1).astype(np.asarray(d.values).dtype))
        if d.name == keep.name
        else d
        for d in dims
    ]
