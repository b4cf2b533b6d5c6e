"""oph_explorenc: what a NetCDF file holds, without importing it.

level=0 gives Ophidia's three lists (dimensions, variables, attributes); levels 1 and 2 show a
variable's values row by row the way oph_explorecube shows a cube's.
"""

from __future__ import annotations

import itertools

import numpy as np

from ophsh.engine.context import OpContext
from ophsh.engine.ops.explore import format_value
from ophsh.engine.ops.netcdf_file import NC_LOCK, attribute_items, open_nc, variable_type
from ophsh.engine.ops.netcdf_read import plan_variable
from ophsh.engine.params import Params
from ophsh.errors import ValidationError

__all__ = ["explorenc"]


def explorenc(ctx: OpContext, p: Params) -> None:
    source = p.opt("input") or p.opt("src_path")
    if not source:
        raise ValidationError("oph_explorenc needs src_path=", param="src_path")
    path = ctx.paths.real(ctx.cdd, source)
    level = p.int("level")
    with open_nc(path, source) as ds:
        if level == 0:
            _lists(ctx, ds)
            return
        measure = p.opt("measure")
        if not measure:
            raise ValidationError(f"level={level} shows the values of measure=", param="measure")
        _values(ctx, p, ds, measure, source, level)


def _lists(ctx: OpContext, ds) -> None:
    """The dimensions, the variables and every attribute of the file."""
    ctx.doc.add_grid(
        "explorenc_dimvalues",
        "Dimension list",
        ("DIMENSION", "SIZE", "UNLIMITED"),
        ("string",) * 3,
        [
            [name, str(len(dim)), "yes" if dim.isunlimited() else "no"]
            for name, dim in ds.dimensions.items()
        ],
    )
    rows = []
    for name, var in ds.variables.items():
        kind = np.dtype(var.dtype)
        rows.append(
            [name, variable_type(kind) if kind.kind in "iuf" else "char", "|".join(var.dimensions)]
        )
    ctx.doc.add_grid(
        "explorenc_data", "Variable list", ("VARIABLE", "TYPE", "DIMENSIONS"), ("string",) * 3, rows
    )
    items = attribute_items(ds, "")
    for name, var in ds.variables.items():
        items += attribute_items(var, name)
    ctx.doc.add_grid(
        "explorenc_metadata",
        "Metadata list",
        ("VARIABLE", "KEY", "TYPE", "VALUE"),
        ("string",) * 4,
        [[i.variable, i.key, i.type, i.value] for i in items],
    )


def _values(ctx: OpContext, p: Params, ds, measure: str, source: str, level: int) -> None:
    """Rows of the variable: explicit dimension values, then the row's array."""
    plan = plan_variable(ds, measure, source, p)
    explicit = [d for d in plan.dims if d.explicit]
    limit = p.int("limit_filter")
    total = int(np.prod([d.size for d in explicit], dtype=np.int64))
    if explicit and limit:  # read only the rows that are shown
        inner = int(np.prod([d.size for d in explicit[1:]], dtype=np.int64))
        keep = -(-limit // max(inner, 1))
        first = explicit[0]
        plan.chosen[first.name] = plan.chosen[first.name][:keep]
        plan.dims[0] = first.with_(size=min(first.size, keep), values=first.values[:keep])
    with NC_LOCK:
        data = plan.arrange(plan.read(0, plan.dims[0].size))
    kind = variable_type(plan.variable.dtype)
    show_index = p.yes("show_index")
    keys, types = [], []
    for d in explicit:
        keys.append(d.name)
        types.append(d.type)
        if show_index:
            keys.append(f"INDEX OF {d.name}")
            types.append("long")
    keys.append(measure)
    types.append(kind)
    rows = []
    n_exp = len(explicit)
    for position in itertools.islice(np.ndindex(*data.shape[:n_exp]), limit or None):
        row: list[str] = []
        for k, d in enumerate(explicit):
            row.append(format_value(plan.dims[k].values[position[k]], d.type))
            if show_index:
                row.append(str(int(plan.chosen[d.name][position[k]])))
        row.append(", ".join(format_value(v, kind) for v in np.ravel(data[position])))
        rows.append(row)
    ctx.doc.add_grid("explorenc_data", measure, keys, types, rows)
    shown = len(rows)
    ctx.doc.add_text(
        "explorenc_summary",
        "Summary",
        f"Selected {shown} row{'' if shown == 1 else 's'} out of {max(total, 1)}",
    )
    if level == 2:
        for d in plan.dims:
            ctx.doc.add_grid(
                "explorenc_dimvalues",
                d.name,
                ("INDEX", "VALUE") if show_index else ("VALUE",),
                ("long", d.type) if show_index else (d.type,),
                [
                    ([str(int(i))] if show_index else []) + [format_value(v, d.type)]
                    for i, v in zip(plan.chosen[d.name], d.values, strict=True)
                ],
            )
