"""Reductions: oph_reduce (a row's arrays), oph_reduce2 (one implicit dimension) and
oph_aggregate (across rows).

Results keep the input's measure type (an int cube gets truncated averages, as in Ophidia). Work
goes block by block along the first axis within the memory budget of
:mod:`ophsh.engine.kernels`, so reducing a stack of many frames needs no more memory than a few.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ophsh.engine.arrays import Staged
from ophsh.engine.context import OpContext
from ophsh.engine.kernels import NETWORK_LIMIT, as_type, quantile_across, reduce_last
from ophsh.engine.model import Cube, Dim
from ophsh.engine.ops.time_reduction import mark_frequency, reduce_by_level
from ophsh.engine.params import Params
from ophsh.engine.recipes import Recipe
from ophsh.errors import OperatorError, ValidationError

__all__ = ["aggregate", "aggregate2", "collapse", "reduce", "reduce2", "reduce_axes"]


def _missing(p: Params) -> float | None:
    return p.real("missingvalue") if p.opt("missingvalue") else None


def _order(p: Params) -> float:
    order = p.real("order")
    if p.str("operation") == "quantile" and not 0 <= order <= 1:
        raise ValidationError(f"order={order:g} is not a quantile; use a value in 0..1")
    return order


def collapse(dims: Sequence[Dim], names: set[str]) -> list[Dim]:
    """The dimensions with ``names`` reduced away (kept, with size 0, as Ophidia shows them)."""
    return [d.with_(size=0, collapsed=True) if d.name in names else d for d in dims]


def reduce_axes(
    ctx: OpContext,
    cube: Cube,
    axes: Sequence[int],
    kernel: Callable[[np.ndarray], np.ndarray],
    out_shape: tuple[int, ...],
    label: str,
    missing: float | None = None,
) -> Staged:
    """Stage ``kernel`` applied to the cube with ``axes`` moved last and merged into one.

    The kernel maps a block ``(..., n)`` to ``(...)`` or ``(..., m)``; blocks are rows of the
    first axis when that axis is kept, else the whole array.
    """
    out_dtype = cube.dtype
    ndim = len(cube.shape)
    kept = [a for a in range(ndim) if a not in axes]

    def run(block: np.ndarray) -> np.ndarray:
        moved = np.moveaxis(block, list(axes), list(range(ndim - len(axes), ndim)))
        merged = moved.reshape(*moved.shape[: ndim - len(axes)], -1)
        with np.errstate(all="ignore"):
            return as_type(kernel(merged), out_dtype, missing).reshape(-1, *out_shape[1:])

    if 0 in axes or not kept or not out_shape:
        ctx.check_cancel()
        result = run(ctx.whole(cube))
        return ctx.store.arrays.stage(result.reshape(out_shape))
    rows = cube.shape[0]
    row_bytes = max(1, cube.elements // max(rows, 1)) * max(np.dtype(cube.storage).itemsize, 8)
    return ctx.stream(
        out_shape,
        out_dtype,
        lambda a, b: ctx.store.rows(cube, a, b),
        run,
        label=label,
        row_bytes=row_bytes,
    )


def reduce2(ctx: OpContext, p: Params) -> None:
    """Reduce one implicit dimension away (default: the innermost)."""
    cube = ctx.cube(p.str("cube"))
    name = p.opt("dim")
    implicit = cube.implicit_dims
    if name is None:
        if not implicit:
            raise OperatorError(f"{cube.pid} has no implicit dimension left to reduce")
        dim = implicit[-1]
    else:
        dim = cube.dim(name)
        if dim.collapsed:
            raise OperatorError(f"dimension '{name}' of {cube.pid} is already reduced")
        if dim.explicit:
            raise OperatorError(
                f"'{name}' is an explicit dimension; oph_reduce2 reduces implicit ones",
                hint="use oph_aggregate for explicit dimensions, or oph_permute/oph_rollup",
            )
    level = p.str("concept_level")
    operation, order, missing = p.str("operation"), _order(p), _missing(p)
    if level not in ("A", "all"):
        reduce_by_level(ctx, p, cube, dim, level, order=order, missing=missing)
        return
    axis = cube.axis(dim.name)
    shape = tuple(s for i, s in enumerate(cube.shape) if i != axis)
    files = ctx.store.arrays
    if (
        operation == "quantile"
        and files.is_stack(cube.data_file)
        and axis == len(shape)
        and shape
        and files.member_count(cube.data_file) <= NETWORK_LIMIT
    ):
        staged = _stack_quantile(ctx, cube, shape, order)
    else:
        staged = reduce_axes(
            ctx,
            cube,
            [axis],
            lambda block: reduce_last(block, operation, order=order, missing=missing),
            shape,
            "reduce2",
            missing,
        )
    _publish_reduced(ctx, p, cube, dim, staged, "reduce2")


FEW_FRAMES = 3  # a quantile across this many frames or fewer is virtual


def _stack_quantile(
    ctx: OpContext, cube: Cube, shape: tuple[int, ...], order: float
) -> Staged | Recipe:
    """A quantile across the frames of a stack, read straight from each frame's file. Across
    at most :data:`FEW_FRAMES` frames it is a virtual cube: computing it again when read costs
    about what writing it and reading it back would."""
    row_size = max(1, int(np.prod(shape[1:])))
    count = ctx.store.arrays.member_count(cube.data_file)
    # A quantile that falls on one value (an odd count's median) is one of the frames' numbers:
    # it is kept in their type (e.g. 16 bits, not 64), exactly; the measure type is unchanged.
    stored = np.dtype(cube.storage)
    exact = stored.kind in "iu" and float((count - 1) * order).is_integer()
    dtype = stored if exact else cube.dtype
    if count <= FEW_FRAMES:
        recipe = ctx.recipe("stack_quantile", {"order": order}, [cube], dtype, shape=shape)
        if recipe is not None:
            return recipe
    return ctx.stream(
        shape,
        dtype,
        lambda a, b: ctx.store.member_rows(cube, a, b),
        lambda frames: quantile_across(frames, order, dtype),
        label="reduce2",
        row_bytes=row_size * (count * stored.itemsize + dtype.itemsize),
    )


def reduce(ctx: OpContext, p: Params) -> None:
    """Reduce each row's array: all of it (group_size=all) or groups of k values."""
    cube = ctx.cube(p.str("cube"))
    implicit = cube.implicit_dims
    if not implicit:
        raise OperatorError(f"{cube.pid} has no implicit dimension left to reduce")
    operation, order, missing = p.str("operation"), _order(p), _missing(p)
    n_exp = len(cube.explicit_dims)
    group = p.str("group_size")
    if group in ("all", ""):
        axes = list(range(n_exp, len(cube.shape)))
        shape = cube.shape[:n_exp]
        dims = collapse(cube.dims, {d.name for d in implicit})
        kernel = lambda block: reduce_last(block, operation, order=order, missing=missing)  # noqa: E731
    else:
        size = _group_size(group)
        if len(implicit) != 1:
            raise OperatorError("group_size=k needs a cube with exactly one implicit dimension")
        last = implicit[0]
        if last.size % size:
            raise OperatorError(f"group_size={size} does not divide {last.name} (size {last.size})")
        axes = [len(cube.shape) - 1]
        shape = (*cube.shape[:n_exp], last.size // size)
        groups = last.size // size
        dims = [
            d.with_(size=groups, values=np.asarray(d.values)[::size]) if d.name == last.name else d
            for d in cube.dims
        ]

        def kernel(block: np.ndarray) -> np.ndarray:
            grouped = block.reshape(*block.shape[:-1], groups, size)
            return reduce_last(grouped, operation, order=order, missing=missing)

    staged = reduce_axes(ctx, cube, axes, kernel, tuple(shape), "reduce", missing)
    ctx.derive(
        cube,
        dims=dims,
        staged=staged,
        objkey="reduce",
        container=p.opt("container"),
        description=p.str("description"),
    )


def _group_size(text: str) -> int:
    try:
        size = int(text)
    except ValueError:
        raise ValidationError(f"group_size must be 'all' or a number, not '{text}'") from None
    if size < 1:
        raise ValidationError("group_size must be at least 1")
    return size


def aggregate(ctx: OpContext, p: Params) -> None:
    """Reduce across rows: all of them into one (group_size=all), or every k consecutive rows
    into one, as Ophidia counts rows (the innermost explicit dimension fastest)."""
    cube = ctx.cube(p.str("cube"))
    explicit = cube.explicit_dims
    if not explicit:
        raise OperatorError(f"{cube.pid} has no explicit dimension left to aggregate")
    operation, missing = p.str("operation"), _missing(p)
    group = p.str("group_size")
    size = None if group in ("all", "") else _group_size(group)
    dims, rows_out = _grouped_rows(cube, size)
    staged = _stage_row_groups(ctx, cube, dims, rows_out, operation, missing)
    made = ctx.derive(
        cube,
        dims=dims,
        staged=staged,
        objkey="aggregate",
        container=p.opt("container"),
        description=p.str("description"),
    )
    before = {d.name for d in cube.dims if d.collapsed}
    mark_frequency(ctx, made, cube, [d.name for d in dims if d.collapsed and d.name not in before])


def _stage_row_groups(
    ctx: OpContext,
    cube: Cube,
    dims: list[Dim],
    rows_out: int,
    operation: str,
    missing: float | None,
) -> Staged:
    """Stage the reduction of consecutive groups of rows into ``rows_out`` rows, in blocks:
    of output rows while an explicit dimension is left, else of the first implicit one."""
    n_exp = len(cube.explicit_dims)
    data = ctx.mapped(cube)  # memory-mapped: blocks read only their part
    inner = tuple(cube.shape[n_exp:])
    rows = int(np.prod(cube.shape[:n_exp]))
    size = rows // rows_out
    live = sorted((d for d in dims if not d.collapsed), key=lambda d: (not d.explicit, d.level))
    shape = tuple(d.size for d in live)
    flat = data.reshape(rows, *inner)

    def reduce_rows(block: np.ndarray) -> np.ndarray:
        grouped = np.asarray(block).reshape(-1, size, *block.shape[1:])
        with np.errstate(all="ignore"):
            result = reduce_last(np.moveaxis(grouped, 1, -1), operation, missing=missing)
        return as_type(result, cube.dtype, missing)

    inner_elements = int(np.prod(inner)) if inner else 1
    if live and live[0].explicit:
        per_row = rows_out // shape[0]  # output rows under one value of the first axis
        return ctx.stream(
            shape,
            cube.dtype,
            lambda a, b: flat[a * per_row * size : b * per_row * size],
            lambda block: reduce_rows(block).reshape(-1, *shape[1:]),
            label="aggregate",
            row_bytes=per_row * size * inner_elements * 16,
        )
    if not shape:
        ctx.check_cancel()
        return ctx.store.arrays.stage(reduce_rows(flat).reshape(()))
    return ctx.stream(
        shape,
        cube.dtype,
        lambda a, b: flat[:, a:b],
        lambda block: reduce_rows(block)[0],
        label="aggregate",
        row_bytes=rows * (inner_elements // max(shape[0], 1)) * 16,
    )


def _grouped_rows(cube: Cube, size: int | None) -> tuple[list[Dim], int]:
    """The dimensions after groups of ``size`` rows (None: all) become one, and the number of
    rows left. Inner explicit dimensions that a group covers collapse; the one it splits keeps
    a 1-based index as values."""
    explicit = cube.explicit_dims
    rows = int(np.prod([d.size for d in explicit]))
    size = rows if size is None else size
    if size > rows or rows % size:
        raise OperatorError(f"group_size={size} does not divide the {rows} rows of {cube.pid}")
    changed: dict[str, Dim] = {}
    residual = size
    for d in reversed(explicit):
        if residual == 1:
            break
        if d.size <= residual:
            if residual % d.size:
                raise OperatorError(
                    f"group_size={size} does not fit dimension {d.name} (size {d.size})"
                )
            residual //= d.size
            changed[d.name] = d.with_(size=0, collapsed=True)
        else:
            if d.size % residual:
                raise OperatorError(
                    f"group_size={size} does not fit dimension {d.name} (size {d.size})"
                )
            left = d.size // residual
            changed[d.name] = d.with_(
                size=left,
                type="long",
                values=np.arange(1, left + 1, dtype=np.int64),
                concept_level="-",
            )
            residual = 1
    return [changed.get(d.name, d) for d in cube.dims], rows // size


def aggregate2(ctx: OpContext, p: Params) -> None:
    """Reduce one explicit dimension (default: the innermost): all of it (concept_level=A) or
    its time periods (a coarser level of oph_time), like oph_reduce2 does for implicit ones."""
    cube = ctx.cube(p.str("cube"))
    name = p.opt("dim")
    if name is None:
        if not cube.explicit_dims:
            raise OperatorError(f"{cube.pid} has no explicit dimension left to aggregate")
        dim = cube.explicit_dims[-1]
    else:
        dim = cube.dim(name)
        if dim.collapsed:
            raise OperatorError(f"dimension '{name}' of {cube.pid} is already reduced")
        if not dim.explicit:
            raise OperatorError(
                f"'{name}' is an implicit dimension; oph_aggregate2 reduces explicit ones",
                hint="use oph_reduce2 for implicit dimensions",
            )
    operation, missing = p.str("operation"), _missing(p)
    level = p.str("concept_level")
    if level not in ("A", "all"):
        reduce_by_level(ctx, p, cube, dim, level, order=2.0, missing=missing, objkey="aggregate2")
        return
    axis = cube.axis(dim.name)
    shape = tuple(s for i, s in enumerate(cube.shape) if i != axis)
    if axis == 0 and shape:  # blocks along the next axis, read from the mapped array
        data = ctx.mapped(cube)
        staged = ctx.stream(
            shape,
            cube.dtype,
            lambda a, b: data[:, a:b],
            lambda block: _across_first(block, operation, missing, cube.dtype),
            label="aggregate2",
            row_bytes=cube.elements // shape[0] * 16,
        )
    else:
        staged = reduce_axes(
            ctx,
            cube,
            [axis],
            lambda block: reduce_last(block, operation, missing=missing),
            shape,
            "aggregate2",
            missing,
        )
    _publish_reduced(ctx, p, cube, dim, staged, "aggregate2")


def _across_first(
    block: np.ndarray, operation: str, missing: float | None, dtype: np.dtype
) -> np.ndarray:
    """``block`` reduced along its first axis."""
    with np.errstate(all="ignore"):
        result = reduce_last(np.moveaxis(np.asarray(block), 0, -1), operation, missing=missing)
    return as_type(result, dtype, missing)


def _publish_reduced(
    ctx: OpContext, p: Params, cube: Cube, dim: Dim, staged: Staged, objkey: str
) -> None:
    """The cube with ``dim`` reduced away, its container's frequency noted."""
    made = ctx.derive(
        cube,
        dims=collapse(cube.dims, {dim.name}),
        staged=staged,
        objkey=objkey,
        container=p.opt("container"),
        description=p.str("description"),
    )
    mark_frequency(ctx, made, cube, [dim.name])
