"""Operators that reshape a cube's layout, not its values: oph_rollup (inner explicit
dimensions become implicit), oph_drilldown (outer implicit dimensions become explicit),
oph_merge and oph_split (fragments).

The store keeps a cube's array with the explicit dimensions first, then the implicit ones, each
by level, so rolling up the innermost explicit dimension or drilling down the outermost implicit
one leaves the array as it is: the new cube shares its parent's file. The embedded store keeps
every cube in one fragment, so oph_merge and oph_split give a cube equal to their input.
"""

from __future__ import annotations

from ophsh.engine.context import OpContext
from ophsh.engine.model import Cube, Dim
from ophsh.engine.params import Params
from ophsh.errors import OperatorError, ValidationError

__all__ = ["drilldown", "merge", "rollup", "split"]


def _count(p: Params, name: str, *, least: int) -> int:
    text = p.str(name)
    try:
        value = int(text)
    except ValueError:
        raise ValidationError(f"{name} must be a whole number, not '{text}'") from None
    if value < least:
        raise ValidationError(f"{name} must be at least {least}")
    return value


def _same_array(ctx: OpContext, p: Params, cube: Cube, dims: list[Dim], objkey: str) -> None:
    ctx.derive(
        cube,
        dims=dims,
        staged=ctx.store.arrays.link(ctx.store.materialise(cube).data_file),
        objkey=objkey,
        container=p.opt("container"),
        description=p.str("description"),
    )


def rollup(ctx: OpContext, p: Params) -> None:
    """The innermost ``ndim`` explicit dimensions become the outermost implicit ones."""
    cube = ctx.cube(p.str("cube"))
    ndim = _count(p, "ndim", least=1)
    explicit = cube.explicit_dims
    if ndim > len(explicit):
        raise OperatorError(
            f"ndim={ndim} but {cube.pid} has {len(explicit)} explicit dimension(s) to roll up"
        )
    moved = {d.name: k + 1 for k, d in enumerate(explicit[len(explicit) - ndim :])}
    dims = [
        d.with_(explicit=False, level=moved[d.name])
        if d.name in moved
        else d.with_(level=d.level + ndim)
        if not d.explicit and not d.collapsed
        else d
        for d in cube.dims
    ]
    _same_array(ctx, p, cube, dims, "rollup")


def drilldown(ctx: OpContext, p: Params) -> None:
    """The outermost ``ndim`` implicit dimensions become the innermost explicit ones (all of
    them, as Ophidia allows: each row then holds one value)."""
    cube = ctx.cube(p.str("cube"))
    ndim = _count(p, "ndim", least=1)
    implicit = cube.implicit_dims
    if ndim > len(implicit):
        raise OperatorError(
            f"ndim={ndim} but {cube.pid} has {len(implicit)} implicit dimension(s) to drill down"
        )
    last = max((d.level for d in cube.explicit_dims), default=0)
    moved = {d.name: last + k + 1 for k, d in enumerate(implicit[:ndim])}
    dims = [
        d.with_(explicit=True, level=moved[d.name])
        if d.name in moved
        else d.with_(level=d.level - ndim)
        if not d.explicit and not d.collapsed
        else d
        for d in cube.dims
    ]
    _same_array(ctx, p, cube, dims, "drilldown")


def merge(ctx: OpContext, p: Params) -> None:
    """Merge fragments (nmerge at a time, 0 = all): one fragment here, so the same cube."""
    cube = ctx.cube(p.str("cube"))
    _count(p, "nmerge", least=0)
    _same_array(ctx, p, cube, list(cube.dims), "merge")


def split(ctx: OpContext, p: Params) -> None:
    """Split each fragment into nsplit: refused, as in Ophidia, when a fragment has fewer rows;
    the store keeps one fragment, so the values and dimensions stay the same."""
    cube = ctx.cube(p.str("cube"))
    nsplit = _count(p, "nsplit", least=1)
    rows = 1
    for d in cube.explicit_dims:
        rows *= d.size
    if nsplit > rows:
        raise OperatorError(f"nsplit={nsplit} but {cube.pid} has only {rows} row(s) to split")
    _same_array(ctx, p, cube, list(cube.dims), "split")
