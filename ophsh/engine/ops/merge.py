"""Merging cubes: oph_mergecubes2 (stack along a new dimension) and oph_mergecubes (append or
interlace along the first implicit dimension).

``cubes=`` takes PIDs joined by ``|`` or, beyond Ophidia, a selection filter in brackets
(``cubes=[container=night;metadata_key=OBS_TYPE;metadata_value=BIAS]``) that expands to the
matching cubes in id order. A stack of plain cubes is stored without copying a value (see
:mod:`ophsh.engine.arrays`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ophsh.engine.arrays import Staged
from ophsh.engine.context import OpContext
from ophsh.engine.massive import select_cubes
from ophsh.engine.model import Cube, Dim, dtype_of
from ophsh.engine.params import Params
from ophsh.errors import OperatorError
from ophsh.syntax import is_group, split_values

__all__ = ["chosen_cubes", "mergecubes", "mergecubes2", "same_shape"]


def chosen_cubes(ctx: OpContext, value: str) -> list[Cube]:
    """The cubes a ``cubes=`` value names: PIDs, or a [filter] (an empty match is an error)."""
    if is_group(value):
        cubes = select_cubes(ctx, value[1:-1])
        if not cubes:
            raise OperatorError(f"no cube matches cubes={value}", hint="check it with oph_list")
        return cubes
    return [ctx.cube(pid) for pid in split_values(value)]


def same_shape(first: Cube, other: Cube) -> None:
    """Fail with the first dimension where ``other`` differs from ``first``."""
    a, b = first.active_dims, other.active_dims
    if len(a) != len(b):
        raise OperatorError(
            f"{other.pid} has {len(b)} dimension(s) and {first.pid} has {len(a)}",
        )
    for da, db in zip(a, b, strict=True):
        if da.size != db.size or da.explicit != db.explicit:
            kind = lambda d: "explicit" if d.explicit else "implicit"  # noqa: E731
            raise OperatorError(
                f"dimension {da.name} differs: {kind(da)} size {da.size} in {first.pid}, "
                f"{kind(db)} size {db.size} in {other.pid}"
            )


def _inputs(ctx: OpContext, p: Params, *, check_shapes: bool = True) -> list[Cube]:
    cubes = chosen_cubes(ctx, p.str("cubes"))
    if p.str("order") == "source":
        cubes.sort(key=lambda c: (c.level != 0, c.source if c.level == 0 else ""))
    number = p.int("number")
    cubes = [cubes[0]] * (number - 1) + cubes
    if len(cubes) < 2:
        raise OperatorError("merging needs at least two cubes", hint="or number=2 or more")
    first = cubes[0]
    for other in cubes[1:]:
        if other.measure_type != first.measure_type:
            raise OperatorError(
                f"{other.pid} holds {other.measure_type} values and {first.pid} "
                f"{first.measure_type}"
            )
        if check_shapes:
            same_shape(first, other)
    return cubes


def _stream(
    ctx: OpContext, cubes: list[Cube], shape: tuple[int, ...], join: Callable, label: str
) -> Staged:
    """Stage ``join([rows of each cube])`` block by block along the first axis."""
    dtype = np.result_type(*[np.dtype(c.storage) for c in cubes])
    if not shape[:-1] or not cubes[0].shape:
        data = join([ctx.whole(c) for c in cubes])
        return ctx.store.arrays.stage(np.asarray(data, dtype=dtype))
    return ctx.stream(
        shape,
        dtype,
        lambda a, b: join([ctx.store.rows(c, a, b) for c in cubes]),
        lambda block: block,
        label=label,
        row_bytes=max(1, int(np.prod(shape[1:]))) * dtype.itemsize,
    )


def mergecubes2(ctx: OpContext, p: Params) -> None:
    """Stack cubes along a new innermost implicit dimension (or extend it if it exists)."""
    cubes = _inputs(ctx, p, check_shapes=False)
    first = cubes[0]
    name = p.opt("dim") or f"d{first.id}"
    dim_type = p.str("dim_type")
    existing = next((d for d in first.implicit_dims if d.name == name), None)
    if existing is not None:
        _extend(ctx, p, cubes, existing)
        return
    for other in cubes[1:]:
        same_shape(first, other)
    if any(d.name == name for d in first.dims):
        raise OperatorError(f"{first.pid} already has a dimension called '{name}'")
    implicit = [d for d in first.dims if not d.explicit]
    new = Dim(
        name=name,
        type=dim_type,
        size=len(cubes),
        explicit=False,
        level=max((d.level for d in implicit), default=0) + 1,
        values=np.arange(1, len(cubes) + 1).astype(dtype_of(dim_type)),
    )
    shape = (*first.shape, len(cubes))
    files = ctx.store.arrays
    if first.shape and not any(files.is_stack(c.data_file) for c in cubes):
        cubes = [ctx.store.materialise(c) for c in cubes]  # a stack links array files
        staged = files.stack([c.data_file for c in cubes])
    else:
        staged = _stream(ctx, cubes, shape, lambda parts: np.stack(parts, axis=-1), "mergecubes2")
    ctx.derive(
        first,
        dims=[*first.dims, new],
        staged=staged,
        objkey="mergecubes",
        container=p.opt("container"),
        description=p.str("description"),
        parents=cubes,
    )


def _extend(ctx: OpContext, p: Params, cubes: list[Cube], dim: Dim) -> None:
    """mergecubes2 onto a stack the first cube already is: each other cube adds one slot, or
    all of its own slots when it has the dimension too."""
    first = cubes[0]
    if first.axis(dim.name) != len(first.shape) - 1:
        raise OperatorError(f"dimension '{dim.name}' must be the innermost to be extended")
    size = 0
    for cube in cubes:
        if cube.shape == first.shape[:-1]:
            size += 1
        elif cube.shape[:-1] == first.shape[:-1]:
            size += cube.shape[-1]
        else:
            raise OperatorError(f"{cube.pid} does not fit {first.pid} along '{dim.name}'")

    def join(parts: list[np.ndarray]) -> np.ndarray:
        slots = [part if part.ndim == len(first.shape) else part[..., None] for part in parts]
        return np.concatenate(slots, axis=-1)

    shape = (*first.shape[:-1], size)
    staged = _stream(ctx, cubes, shape, join, "mergecubes2")
    values = np.arange(1, size + 1).astype(np.asarray(dim.values).dtype)
    dims = [d.with_(size=size, values=values) if d.name == dim.name else d for d in first.dims]
    ctx.derive(
        first,
        dims=dims,
        staged=staged,
        objkey="mergecubes",
        container=p.opt("container"),
        description=p.str("description"),
        parents=cubes,
    )


def _appendable(first: Cube, other: Cube) -> None:
    """mode=a: the same dimensions as ``first``, only the first implicit one may differ in size."""
    a, b = first.active_dims, other.active_dims
    if len(a) != len(b) or any(da.explicit != db.explicit for da, db in zip(a, b, strict=True)):
        same_shape(first, other)
    grown = first.implicit_dims[0]
    for da, db in zip(a, b, strict=True):
        if da.size != db.size and da.name != grown.name:
            kind = "explicit" if da.explicit else "implicit"
            raise OperatorError(
                f"dimension {da.name} differs: {kind} size {da.size} in {first.pid}, "
                f"size {db.size} in {other.pid}",
                hint=f"only {grown.name}, the first implicit dimension, may differ with mode=a",
            )


def _joiner(first: Cube, shape: tuple[int, ...], append: bool) -> Callable:
    """Join blocks of rows as Ophidia joins row arrays: the flat arrays of a row are
    concatenated (append) or interlaced element by element, then read in ``shape``."""
    lead = len(first.explicit_dims)

    def join(parts: list[np.ndarray]) -> np.ndarray:
        flat = [part.reshape(*part.shape[:lead], -1) for part in parts]
        row = np.concatenate(flat, axis=-1) if append else np.stack(flat, axis=-1)
        return row.reshape(*parts[0].shape[:lead], *shape[lead:])

    return join


def mergecubes(ctx: OpContext, p: Params) -> None:
    """Join cubes along the first implicit dimension: ``mode=a`` appends each cube's row arrays
    (that dimension may differ in size), ``mode=i`` interlaces them element by element (same
    shapes). With ``hold_values=yes`` the dimension keeps the cubes' values one after the other
    (in both modes, as Ophidia does), otherwise it becomes a ``long`` index 1..n."""
    append = p.str("mode") == "a"
    cubes = _inputs(ctx, p, check_shapes=not append)
    first = cubes[0]
    if not first.implicit_dims:
        raise OperatorError(f"{first.pid} has no implicit dimension to merge along")
    grown = first.implicit_dims[0]
    if append:
        for other in cubes[1:]:
            _appendable(first, other)
    sizes = [c.implicit_dims[0].size for c in cubes]
    size = sum(sizes)
    if p.yes("hold_values"):
        values = np.concatenate([np.asarray(c.implicit_dims[0].values) for c in cubes])
        new = grown.with_(size=size, values=values.astype(np.asarray(grown.values).dtype))
    else:
        new = grown.with_(size=size, type="long", values=np.arange(1, size + 1, dtype=np.int64))
    shape = tuple(size if d.name == grown.name else d.size for d in first.active_dims)
    join = _joiner(first, shape, append)
    if first.explicit_dims:
        staged = _stream(ctx, cubes, shape, join, "mergecubes")
    else:
        dtype = np.result_type(*[np.dtype(c.storage) for c in cubes])
        data = join([ctx.whole(c) for c in cubes])
        staged = ctx.store.arrays.stage(np.asarray(data, dtype=dtype))
    ctx.derive(
        first,
        dims=[new if d.name == grown.name else d for d in first.dims],
        staged=staged,
        objkey="mergecubes",
        container=p.opt("container"),
        description=p.str("description"),
        parents=cubes,
    )
