"""oph_exportnc and oph_exportnc2: a cube as one CF NetCDF4 file.

Each live dimension becomes a NetCDF dimension with a coordinate variable of its type and
values; the measure keeps its Ophidia type. With export_metadata the metadata items become
attributes again (typed as stored; items with no variable are global attributes); a time
dimension without a ``units`` item gets CF units and calendar from the container's time facts.
NaN in a real measure is written as its ``_FillValue`` when the cube has one.

The file is written aside in the target folder and renamed into place, as oph_exportfits does.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ophsh.engine.context import OpContext
from ophsh.engine.exports import publish, where_to
from ophsh.engine.metadata import MetadataItem
from ophsh.engine.model import Cube, dtype_of
from ophsh.engine.ops.netcdf_file import NC_LOCK, cf_units
from ophsh.engine.params import Params
from ophsh.errors import OperatorError

__all__ = ["exportnc"]

NC_SUFFIX = ".nc"
_INTEGER = {"byte": np.int8, "short": np.int16, "int": np.int32, "long": np.int64}
_REAL = {"float": np.float32, "double": np.float64}
# Attributes netCDF keeps for itself.
_RESERVED = re.compile(r"^(_FillValue|_NCProperties|_Netcdf4.*|_SuperblockVersion|_IsNetcdf4)$")


def exportnc(ctx: OpContext, p: Params) -> None:
    """Write the cube as a NetCDF4 file; an existing file is replaced only with force=yes."""
    cube = ctx.cube(p.str("cube"))
    force = p.yes("force")
    directory, name, place = where_to(ctx, p, cube, (NC_SUFFIX,))
    names = [d.name for d in cube.active_dims]
    if cube.measure in names:
        raise OperatorError(f"the measure and a dimension are both called '{cube.measure}'")
    metadata = ctx.store.metadata.items(cube.id)
    if not p.yes("export_metadata") and p.str("export_metadata") != "postpone":
        metadata = [m for m in metadata if m.variable == cube.measure and m.key == "_FillValue"]
    options = {"deflate": int(p.str("deflate") or 0), "shuffle": p.yes("shuffle")}

    def write(target: Path) -> None:
        _write(ctx, cube, target, metadata, **options)

    target = publish(
        directory,
        name,
        write,
        force=force,
        sync=ctx.settings.fsync,
        place=place,
        kind="NetCDF",
        refused=(RuntimeError, ValueError, TypeError),  # netCDF4 refused a name or a value
    )
    shown_target = ctx.paths.to_virtual(target) if p.opt("output_path") else str(target)
    ctx.doc.add_text(p.spec.name.removeprefix("oph_"), "Output File", shown_target)


def _write(
    ctx: OpContext,
    cube: Cube,
    target: Path,
    metadata: list[MetadataItem],
    *,
    deflate: int,
    shuffle: bool,
) -> None:
    import netCDF4

    container = ctx.store.containers.by_id(cube.container)
    attrs: dict[str, dict[str, object]] = {}
    for item in metadata:
        attrs.setdefault(item.variable, {})[item.key] = _value(item)
    measure_attrs = attrs.get(cube.measure, {})
    kind = dtype_of(cube.measure_type)
    fill = measure_attrs.get("_FillValue")
    fill = np.asarray(fill, dtype=kind).ravel()[0] if fill is not None else None
    compress = {"zlib": deflate > 0, "complevel": deflate or 4, "shuffle": shuffle}
    with NC_LOCK, netCDF4.Dataset(target, "w", format="NETCDF4") as ds:
        _set_attrs(ds, attrs.get("", {}))
        for dim in cube.active_dims:
            ds.createDimension(dim.name, dim.size)
            var = ds.createVariable(dim.name, dtype_of(dim.type), (dim.name,))
            own = dict(attrs.get(dim.name, {}))
            time = container.time_of(dim.name)
            if time is not None and "units" not in own:
                own["units"], factor = cf_units(time)
                own.setdefault("calendar", time.calendar)
                var[:] = np.asarray(dim.values, dtype=np.float64) * factor
            else:
                var[:] = np.asarray(dim.values).astype(dtype_of(dim.type))
            _set_attrs(var, own)
        shape = cube.shape
        var = ds.createVariable(
            cube.measure,
            kind,
            tuple(d.name for d in cube.active_dims),
            fill_value=fill if fill is not None else False,
            **compress,
        )
        var.set_auto_maskandscale(False)
        _set_attrs(var, measure_attrs)
        rows = shape[0] if shape else 1
        # a block, its copy with the fill value and netCDF's own copy fit the memory budget
        row_bytes = max(1, int(np.prod(shape[1:], dtype=np.int64)) * kind.itemsize)
        step = max(1, ctx.settings.memory_bytes // (3 * row_bytes))
        for start in range(0, rows, step):
            ctx.check_cancel()
            stop = min(rows, start + step)
            block = ctx.store.rows(cube, start, stop) if shape else ctx.store.data(cube)
            block = np.asarray(block, dtype=kind)
            if fill is not None and kind.kind == "f":
                block = np.where(np.isnan(block), fill, block)
            if shape:
                var[start:stop] = block
            else:
                var.assignValue(block)
            ctx.progress("exporting", stop, rows)


def _value(item: MetadataItem) -> object:
    """An attribute value from a metadata item: numbers typed as stored, else text."""
    kind = _INTEGER.get(item.type) or _REAL.get(item.type)
    if kind is None:
        return item.value
    try:
        numbers = [float(v) if kind in _REAL.values() else int(v) for v in item.value.split(",")]
        array = np.asarray(numbers, dtype=kind)
    except (ValueError, OverflowError):
        return item.value
    return array[0] if array.size == 1 else array


def _set_attrs(target, attrs: dict[str, object]) -> None:
    for key, value in attrs.items():
        if _RESERVED.match(key) or not key:
            continue
        try:
            target.setncattr(key, value)
        except (AttributeError, TypeError, ValueError, RuntimeError):
            continue  # a name or value NetCDF cannot hold; the cube keeps it
