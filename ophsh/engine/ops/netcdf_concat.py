"""oph_concatnc and oph_concatnc2: a new cube, the input cube followed by a NetCDF file's data
along the cube's innermost implicit dimension (the time axis of a climate cube, say).

The file's variable has the cube's measure name and the cube's dimensions; every other
dimension must have the cube's size and, with check_exp_dim=yes, explicit dimensions its values.
The appended values of the dimension are the file's, shifted by dim_offset; with dim_continue=yes
they carry on from the cube's last value, one step (dim_offset, else the cube's last spacing)
after it, keeping the file's spacing. Values are taken in the file's units as they are.
"""

from __future__ import annotations

import numpy as np

from ophsh.engine.context import OpContext
from ophsh.engine.model import Cube, Dim
from ophsh.engine.ops.netcdf_file import open_nc
from ophsh.engine.ops.netcdf_read import Plan, first_mismatch, plan_variable, source_file
from ophsh.engine.params import Params
from ophsh.errors import OperatorError

__all__ = ["concatnc"]


def concatnc(ctx: OpContext, p: Params) -> None:
    """Append the data of a NetCDF file to a cube along its innermost implicit dimension."""
    cube = ctx.cube(p.str("cube"))
    if not cube.implicit_dims:
        raise OperatorError(f"{cube.pid} has no implicit dimension to append along")
    along = cube.implicit_dims[-1]
    path, source = source_file(ctx, p)
    layout = [d.name for d in cube.explicit_dims], [d.name for d in cube.implicit_dims]
    with open_nc(path, source) as ds:
        variable = ds.variables.get(cube.measure)
        if variable is not None and set(variable.dimensions) != {*layout[0], *layout[1]}:
            raise OperatorError(
                f"'{cube.measure}' in '{source}' has dimensions {', '.join(variable.dimensions)}; "
                f"{cube.pid} has {', '.join(layout[0] + layout[1])}"
            )
        plan = plan_variable(ds, cube.measure, source, p, layout=layout)
        _check_fits(cube, plan, along, p.yes("check_exp_dim"))
        added = plan.dims[cube.axis(along.name)]
        values = _new_values(along, np.asarray(added.values), p)
        axis = cube.axis(along.name)
        shape = tuple(size + added.size if k == axis else size for k, size in enumerate(cube.shape))
        dtype = np.dtype(cube.storage)
        if axis == 0:
            rows = plan.arrange(plan.read(0, added.size)).astype(dtype, copy=False)
            staged = ctx.store.arrays.stage(np.concatenate([ctx.whole(cube), rows]))
        else:
            staged = ctx.stream(
                shape,
                dtype,
                lambda a, b: (ctx.store.rows(cube, a, b), plan.read(a, b)),
                lambda pair: np.concatenate(
                    [pair[0], plan.arrange(pair[1]).astype(dtype, copy=False)], axis=axis
                ),
                label=f"appending {source}",
                row_bytes=max(1, int(np.prod(shape[1:]))) * dtype.itemsize,
            )
    dims = [
        d.with_(size=len(values), values=values) if d.name == along.name else d for d in cube.dims
    ]
    ctx.derive(
        cube,
        dims=dims,
        staged=staged,
        objkey=p.spec.name.removeprefix("oph_"),
        description=p.str("description"),
    )


def _check_fits(cube: Cube, plan: Plan, along: Dim, check_values: bool) -> None:
    """Every dimension but ``along`` has the cube's size (and explicit ones its values)."""
    found = first_mismatch(
        cube.active_dims, plan.dims, along.name, values="explicit" if check_values else "none"
    )
    if found is None:
        return
    dim, what = found
    if what == "size":
        theirs = plan.dims[cube.axis(dim.name)].size
        raise OperatorError(
            f"dimension {dim.name} has {theirs} values in the file and {dim.size} in {cube.pid}"
        )
    raise OperatorError(
        f"the values of dimension {dim.name} differ between the file and {cube.pid}",
        hint="check_exp_dim=no appends all the same",
    )


def _new_values(along: Dim, added: np.ndarray, p: Params) -> np.ndarray:
    """The dimension's values after appending: the cube's, then the file's, placed as asked."""
    mine = np.asarray(along.values)
    given = p.opt("dim_offset")
    offset = float(given) if given is not None else None
    moved = added.astype(np.float64)
    if p.yes("dim_continue"):
        step = (
            offset if offset is not None else (float(mine[-1] - mine[-2]) if len(mine) > 1 else 1.0)
        )
        moved = float(mine[-1]) + step + (moved - moved[0])
    elif offset is not None:
        moved = moved + offset
    joined = np.concatenate([mine.astype(np.float64), moved])
    if mine.dtype.kind in "iu" and np.all(joined == np.round(joined)):
        return joined.astype(mine.dtype)
    return joined.astype(
        np.result_type(mine.dtype, np.float64) if mine.dtype.kind != "f" else mine.dtype
    )
