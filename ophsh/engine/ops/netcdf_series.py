"""oph_importncs: one variable of several NetCDF files into one cube, joined along the files'
unlimited dimension (usually time), as Ophidia does.

``src_path`` names the files (``a.nc|b.nc``, a pattern such as ``tos_*.nc`` or a filter
``[path=DIR;file=*.nc]``: all one run, not a massive one); ``src_list``
names a text file listing them, one per line. The other dimensions must agree between files.
When the joining dimension is a CF time axis, the files are put in time order and their times
counted in the units and calendar of the earliest file, which also gives the cube its metadata.
"""

from __future__ import annotations

import glob
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from ophsh.engine.context import OpContext
from ophsh.engine.massive import select_files
from ophsh.engine.ops.netcdf_file import NC_LOCK, open_nc
from ophsh.engine.ops.netcdf_read import (
    Plan,
    first_mismatch,
    plan_variable,
    read_metadata,
    save_import,
)
from ophsh.engine.params import Params
from ophsh.engine.paths import shown
from ophsh.errors import OperatorError, ValidationError
from ophsh.syntax import is_group, split_values

__all__ = ["importncs"]


def importncs(ctx: OpContext, p: Params) -> None:
    """Import ``measure`` from every file named, joined along their unlimited dimension."""
    files = _files(ctx, p)
    measure = p.str("measure")
    with ExitStack() as stack:
        sets = [stack.enter_context(open_nc(path, name)) for path, name in files]
        first = plan_variable(sets[0], measure, files[0][1], p)
        along = _unlimited(sets[0], first, files[0][1])
        layout = (
            [d.name for d in first.dims if d.explicit],
            [d.name for d in first.dims if not d.explicit],
        )
        plans = [first] + [
            plan_variable(ds, measure, name, p, layout=layout)
            for ds, (_, name) in zip(sets[1:], files[1:], strict=True)
        ]
        for plan, (_, name) in zip(plans[1:], files[1:], strict=True):
            _check_agrees(first, plan, along, files[0][1], name)
        axis = [d.name for d in first.dims].index(along)
        raw = [np.asarray(plan.dims[axis].values) for plan in plans]
        starts = [_counted(sets[0], ds, along, v[:1]) for ds, v in zip(sets, raw, strict=True)]
        order = sorted(range(len(plans)), key=lambda i: float(starts[i][0]) if len(raw[i]) else 0)
        earliest = order[0]  # its units, metadata and container name are the cube's
        joined = np.concatenate([_counted(sets[earliest], sets[i], along, raw[i]) for i in order])
        first = plans[earliest]
        plans = [plans[i] for i in order]
        dims = [
            d.with_(size=len(joined), values=joined) if d.name == along else d for d in first.dims
        ]
        metadata = read_metadata(sets[earliest], first, p)
        dtype = np.dtype(first.variable.dtype).newbyteorder("=")
        shape = tuple(d.size for d in dims)
        staged = ctx.stream(
            shape,
            dtype,
            lambda a, b: _rows(plans, axis, a, b),
            lambda block: block.astype(dtype, copy=False),
            label=f"importing {measure} from {len(files)} files",
            row_bytes=max(1, int(np.prod(shape[1:]))) * dtype.itemsize,
        )
    path, name = files[earliest]
    save_import(ctx, p, path, name, replace(first, dims=dims), staged, metadata)


def _files(ctx: OpContext, p: Params) -> list[tuple[Path, str]]:
    """The files to import, as (path, name shown to the user), patterns expanded in order."""
    given = p.opt("input") or p.opt("src_path")
    if p.opt("src_list"):
        listing = ctx.paths.real(ctx.cdd, p.str("src_list"))
        try:
            names = [line.strip() for line in listing.read_text().splitlines() if line.strip()]
        except OSError as err:
            raise OperatorError(
                f"cannot read src_list '{shown(p.str('src_list'))}': {err.strerror}"
            ) from None
    elif given and is_group(given):
        return [(f, ctx.paths.to_virtual(f)) for f in select_files(ctx, given[1:-1])]
    elif given:
        names = split_values(given)
    else:
        raise ValidationError("oph_importncs needs src_path= or src_list=", param="src_path")
    files = []
    for name in names:
        if any(c in name for c in "*?["):
            base = ctx.paths.real(ctx.cdd, None)
            found = sorted(glob.glob(name, root_dir=base))
            if not found:
                raise OperatorError(f"no file matches '{name}'")
            files += [(ctx.paths.real(ctx.cdd, f), f) for f in found]
        else:
            files.append((ctx.paths.real(ctx.cdd, name), name))
    return files


def _unlimited(ds: Any, plan: Plan, name: str) -> str:
    """The dimension the files are joined along: the variable's unlimited one, else its first."""
    for dim in plan.file_dims:
        if ds.dimensions[dim].isunlimited():
            return dim
    if len(plan.file_dims) == 1:
        return plan.file_dims[0]
    raise OperatorError(f"'{name}' has no unlimited dimension to join the files along")


def _counted(reference: Any, ds: Any, dim: str, values: np.ndarray) -> np.ndarray:
    """``values`` of ``dim`` in ``ds`` counted in the units of ``reference`` (CF time axes)."""
    if reference is ds or dim not in ds.variables or dim not in reference.variables:
        return values
    import cftime

    with NC_LOCK:
        mine, theirs = ds.variables[dim], reference.variables[dim]
        units, target = getattr(mine, "units", None), getattr(theirs, "units", None)
        calendar = getattr(theirs, "calendar", "standard")
    if not units or not target or units == target or "since" not in units:
        return values
    dates = cftime.num2date(values.astype(np.float64), units, calendar)
    return np.asarray(cftime.date2num(dates, target, calendar), dtype=values.dtype)


def _check_agrees(first: Plan, other: Plan, along: str, a: str, b: str) -> None:
    found = first_mismatch(first.dims, other.dims, along)
    if found is not None:
        raise OperatorError(f"dimension {found[0].name} differs between '{a}' and '{b}'")


def _rows(plans: list[Plan], axis: int, start: int, stop: int) -> np.ndarray:
    """Rows ``start:stop`` of the joined array, in cube order."""
    if axis:
        return np.concatenate([pl.arrange(pl.read(start, stop)) for pl in plans], axis=axis)
    parts, offset = [], 0
    for plan in plans:
        size = plan.shape[0]
        lo, hi = max(start, offset), min(stop, offset + size)
        if lo < hi:
            parts.append(plan.arrange(plan.read(lo - offset, hi - offset)))
        offset += size
    return np.concatenate(parts)
