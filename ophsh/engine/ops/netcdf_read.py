"""oph_importnc and oph_importnc2: one NetCDF variable into a new cube.

Dimensions keep their names, values and types; attributes become metadata items (global ones
with no variable); ``_FillValue``/``missing_value`` of a real-valued measure become NaN and stay
as metadata; a CF time coordinate gets the oph_time hierarchy and its facts in the container.
Nothing is stored until the whole variable was read: a bad file leaves no cube or container.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ophsh.engine.context import OpContext
from ophsh.engine.layouts import Layout
from ophsh.engine.metadata import MetadataItem
from ophsh.engine.model import Container, Dim, TimeInfo
from ophsh.engine.ops.containers import time_args
from ophsh.engine.ops.netcdf_file import (
    NC_LOCK,
    attribute_items,
    cf_time,
    open_nc,
    time_bounds,
    variable_type,
)
from ophsh.engine.ops.netcdf_place import contiguous_variable
from ophsh.engine.ops.netcdf_slabs import import_by_slabs, wants_slabs
from ophsh.engine.params import Params
from ophsh.errors import OperatorError, ValidationError

__all__ = [
    "Plan",
    "first_mismatch",
    "importnc",
    "plan_variable",
    "read_metadata",
    "save_import",
    "source_file",
]

_HIERARCHIES = ("oph_base", "oph_time")
_MISSING_KEYS = ("_FillValue", "missing_value")
_COMPRESSORS = ("zlib", "szip", "zstd", "bzip2", "blosc")  # the filters netCDF4 reports


@dataclass
class Plan:
    """How a variable becomes a cube: its dims in cube order and what to read of each."""

    variable: Any
    file_dims: list[str]
    dims: list[Dim]
    chosen: dict[str, np.ndarray]
    times: dict[str, TimeInfo] = field(default_factory=dict)
    missing: list[float] = field(default_factory=list)

    @property
    def order(self) -> list[int]:
        return [self.file_dims.index(d.name) for d in self.dims]

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(d.size for d in self.dims)

    def read(self, start: int, stop: int) -> np.ndarray:
        """Rows ``start:stop`` along the cube's first axis, in file order, as stored."""
        return self.read_part(self.dims[0].name, start, stop)

    def read_part(self, name: str, start: int, stop: int) -> np.ndarray:
        """Positions ``start:stop`` of the chosen ones along dimension ``name`` (all of the
        others), in file order, as stored."""
        picks = {**self.chosen, name: self.chosen[name][start:stop]}
        spans = tuple(slice(int(picks[n].min()), int(picks[n].max()) + 1) for n in self.file_dims)
        with NC_LOCK:
            try:
                raw = np.asarray(self.variable[spans])
            except Exception as err:  # a truncated file fails only when its data is read
                raise OperatorError(f"cannot read variable '{self.variable.name}': {err}") from None
        for axis, name in enumerate(self.file_dims):
            relative = picks[name] - picks[name].min()
            if len(relative) != raw.shape[axis]:
                raw = np.take(raw, relative, axis=axis)
        return raw

    def arrange(self, raw: np.ndarray) -> np.ndarray:
        """A block read in file order, in cube order, native-endian, missing values as NaN."""
        moved = np.transpose(raw, self.order) if self.order != sorted(self.order) else raw
        block = np.empty(moved.shape, dtype=raw.dtype.newbyteorder("="))
        real = block.dtype.kind == "f"
        missing = np.unique(np.asarray(self.missing if real else [], dtype=block.dtype))
        # a few rows at a time: each part is masked while its values are still in the cache
        row_bytes = max(1, block.nbytes // max(1, len(block)))
        step = max(1, (1 << 20) // row_bytes)
        for start in range(0, len(block), step):
            part = block[start : start + step]
            part[...] = moved[start : start + step]
            for value in missing:
                np.copyto(part, np.nan, where=part == value)
        return block


def importnc(ctx: OpContext, p: Params) -> None:
    """Read the variable ``measure`` of a NetCDF file into a new cube."""
    path, source = source_file(ctx, p)
    measure = p.str("measure")
    with open_nc(path, source) as ds:
        plan = plan_variable(ds, measure, source, p)
        metadata = read_metadata(ds, plan, p)
        dtype = np.dtype(plan.variable.dtype).newbyteorder("=")
        label = f"importing {measure}"
        staged = _in_place(ctx, path, plan, dtype)
        if staged is None and wants_slabs(plan):
            staged = import_by_slabs(ctx, plan, dtype, label)
        elif staged is None:
            row_bytes = int(np.prod(plan.shape[1:], dtype=np.int64)) * dtype.itemsize
            staged = ctx.stream(
                plan.shape, dtype, plan.read, plan.arrange, label=label, row_bytes=max(row_bytes, 1)
            )
    save_import(ctx, p, path, source, plan, staged, metadata)


def _in_place(ctx: OpContext, path: Path, plan: Plan, dtype: np.dtype) -> Any:
    """The whole variable referenced in place (nothing copied) when the cube keeps the file's
    order: read with pread when the file holds it in one piece (classic NetCDF, see
    :mod:`~ophsh.engine.ops.netcdf_place`), else through netCDF4 (chunked or interleaved);
    None when it must be copied. A compressed variable is copied, decompressed once: read in
    place, every later operator reading the cube would decompress all of it again."""
    whole = all(len(plan.chosen[n]) == plan.variable.shape[i] for i, n in enumerate(plan.file_dims))
    missing = set(plan.missing) if dtype.kind == "f" else set()
    if plan.order != sorted(plan.order) or not whole or len(missing) > 1:
        return None
    blank = missing.pop() if missing else None
    placed = contiguous_variable(path, plan.variable.name)
    if placed is not None and placed[1] == plan.shape:
        offset, shape, disk = placed
        layout = Layout(offset, shape, disk, dtype, blank=blank, source=str(path))
    elif _compressed(plan.variable):
        return None
    else:
        if all(plan.shape):  # a bad chunk at either end fails now, not at the first operator
            plan.read(0, 1), plan.read(plan.shape[0] - 1, plan.shape[0])
        disk, name = np.dtype(plan.variable.dtype), plan.variable.name
        layout = Layout(0, plan.shape, disk, dtype, blank=blank, source=str(path), variable=name)
    return ctx.store.arrays.reference(path, layout)


def _compressed(var: Any) -> bool:
    """Whether a NetCDF-4 variable passes through a compression filter."""
    with NC_LOCK:
        filters = var.filters() or {}
    return any(filters.get(name) for name in _COMPRESSORS)


def save_import(
    ctx: OpContext,
    p: Params,
    path: Path,
    source: str,
    plan: Plan,
    staged: Any,
    metadata: list[MetadataItem],
) -> None:
    """Publish a staged import as a cube of ``plan``'s dimensions, in the container asked for
    (made when absent, and removed again when the cube cannot be stored)."""
    try:
        container, made = _target_container(ctx, p, path, plan)
    except BaseException:
        staged.discard()
        raise
    try:
        ctx.make_cube(
            container=container,
            measure=p.str("measure"),
            measure_type=variable_type(plan.variable.dtype),
            dims=plan.dims,
            staged=staged,
            source=source,
            description=p.str("description"),
            metadata=metadata,
            objkey=p.spec.name.removeprefix("oph_"),
        )
    except BaseException:
        if made:  # a container made for this cube goes with it
            ctx.store.containers.delete(ctx.store.containers.by_id(container.id), force=True)
        raise


def source_file(ctx: OpContext, p: Params) -> tuple[Path, str]:
    """The local file named by ``input=`` or ``src_path=``, and the name as the user gave it."""
    source = p.opt("input") or p.opt("src_path")
    if not source:
        raise ValidationError(f"{p.spec.name} needs src_path=", param="src_path")
    if source.startswith(("http://", "https://")):
        raise OperatorError("the embedded store reads local files only; download the file first")
    return ctx.paths.real(ctx.cdd, source), source


def plan_variable(
    ds: Any, measure: str, shown: str, p: Params, layout: tuple[list[str], list[str]] | None = None
) -> Plan:
    """Check ``measure`` and the dimension arguments against the file and plan the read;
    ``layout`` (explicit, implicit names) replaces exp_dim and imp_dim."""
    if measure not in ds.variables:
        names = ", ".join(v for v in ds.variables if v not in ds.dimensions) or "none"
        raise OperatorError(f"'{shown}' has no variable '{measure}' (its variables: {names})")
    var = ds.variables[measure]
    with NC_LOCK:
        var.set_auto_maskandscale(False)
    if var.dtype == str or np.dtype(var.dtype).kind not in "iuf":
        raise OperatorError(f"variable '{measure}' does not hold numbers")
    names = list(var.dimensions)
    if not names:
        raise OperatorError(f"variable '{measure}' has no dimensions; there is nothing to import")
    explicit, implicit = layout or split_dims(names, _list(p, "exp_dim"), _list(p, "imp_dim"))
    coords = {n: _coordinate(ds, n) for n in names}
    ordered = explicit + implicit
    hierarchies = _hierarchies(p, ordered, ds)
    concepts = _concepts(p, "exp_concept_level", explicit) + _concepts(
        p, "imp_concept_level", implicit
    )
    times: dict[str, TimeInfo] = {}
    for name, hierarchy in zip(ordered, hierarchies, strict=True):
        if hierarchy == "oph_time":
            found = cf_time(ds.variables[name]) if name in ds.variables else None
            times[name] = found or (time_args(p) if p.spec.param("calendar") else TimeInfo())
    dated = p.spec.param("time_filter") is None or p.str("time_filter") != "no"
    chosen = _selection(p, names, coords, times if dated else {})
    dims = []
    for k, name in enumerate(ordered):
        values = coords[name][chosen[name]]
        dims.append(
            Dim(
                name=name,
                type=variable_type(values.dtype),
                size=len(values),
                explicit=name in explicit,
                level=(explicit.index(name) if name in explicit else implicit.index(name)) + 1,
                values=values,
                hierarchy=hierarchies[k],
                concept_level=concepts[k],
            )
        )
    attrs = {k: var.getncattr(k) for k in var.ncattrs()}
    missing = [float(v) for key in _MISSING_KEYS if key in attrs for v in np.ravel(attrs[key])]
    return Plan(var, names, dims, chosen, times, missing)


def first_mismatch(
    mine: Sequence[Dim], theirs: Sequence[Dim], along: str, *, values: str = "all"
) -> tuple[Dim, str] | None:
    """The first dimension but ``along`` that differs between two files, or a cube and a file,
    with what differs: its "size", or its "values" (compared for ``values`` = "all" dimensions,
    only the "explicit" ones, or "none")."""
    for one, other in zip(mine, theirs, strict=True):
        if one.name == along:
            continue
        if one.size != other.size:
            return one, "size"
        if values == "all" or (values == "explicit" and one.explicit):
            a, b = np.asarray(one.values, float), np.asarray(other.values, float)
            if not np.allclose(a, b, rtol=1e-12, atol=0.0):
                return one, "values"
    return None


def _list(p: Params, name: str) -> list[str]:
    """A list argument; [] when the operator has no such parameter or it says "none"."""
    if p.spec.param(name) is None or p.opt(name) is None:
        return []
    return p.list(name)


def split_dims(names: list[str], exp: list[str], imp: list[str]) -> tuple[list[str], list[str]]:
    """Explicit and implicit dimensions. Ophidia's rule for ``auto``: without imp_dim the last
    dimension of the variable is implicit and the others explicit, in file order; with only
    imp_dim, the others are explicit in file order."""
    exp = [] if exp in ([], ["auto"]) else exp
    imp = [] if imp in ([], ["auto"]) else imp
    for name in exp + imp:
        if name not in names:
            raise ValidationError(
                f"'{name}' is not a dimension of the variable ({', '.join(names)})"
            )
    if len(set(exp + imp)) != len(exp + imp):
        raise ValidationError("a dimension is both in exp_dim and imp_dim, or named twice")
    if not imp:
        imp = [n for n in names if n not in exp][-1:] if exp else names[-1:]
    if not exp:
        exp = [n for n in names if n not in imp]
    if set(exp + imp) != set(names):
        missing = ", ".join(n for n in names if n not in exp + imp)
        raise ValidationError(f"exp_dim and imp_dim must cover every dimension; missing {missing}")
    return exp, imp


def _coordinate(ds: Any, name: str) -> np.ndarray:
    """The values of dimension ``name``: its coordinate variable, else 1, 2, ... (int)."""
    size = len(ds.dimensions[name])
    var = ds.variables.get(name)
    if var is not None and var.dimensions == (name,) and np.dtype(var.dtype).kind in "iuf":
        with NC_LOCK:
            var.set_auto_maskandscale(False)
            try:
                values = np.asarray(var[:])
            except Exception as err:
                raise OperatorError(
                    f"cannot read the values of dimension '{name}': {err}"
                ) from None
        return values.astype(values.dtype.newbyteorder("="), copy=False)
    return np.arange(1, size + 1, dtype=np.int32)


def _selection(
    p: Params, names: list[str], coords: dict[str, np.ndarray], times: dict[str, TimeInfo]
) -> dict[str, np.ndarray]:
    """0-based indices to read along each dimension (subset_dims/subset_filter/subset_type);
    coordinate filters on a time dimension may give dates."""
    chosen = {n: np.arange(len(coords[n])) for n in names}
    dims = p.list("subset_dims") if p.opt("subset_dims") else []
    filters = p.list("subset_filter") if p.str("subset_filter") not in ("all", "") else []
    if len(dims) != len(filters):
        raise ValidationError("subset_dims and subset_filter need the same number of values")
    kinds = p.list("subset_type") or ["index"]
    # oph_explorenc's offset is something else (a percentage for its fits)
    offsets = (p.list("offset") if p.spec.name.startswith("oph_importnc") else []) or ["0"]
    for i, (name, text) in enumerate(zip(dims, filters, strict=True)):
        if name not in names:
            raise ValidationError(f"subset_dims: '{name}' is not a dimension ({', '.join(names)})")
        kind = kinds[min(i, len(kinds) - 1)]
        try:
            offset = float(offsets[min(i, len(offsets) - 1)])
        except ValueError:
            raise ValidationError(f"offset '{offsets[i]}' must be a number") from None
        time = times.get(name)
        parts = [_part(part, coords[name], name, kind, offset, time) for part in text.split(",")]
        picked = np.unique(np.concatenate(parts))
        if not picked.size:
            raise OperatorError(f"subset_filter '{text}' selects nothing along {name}")
        chosen[name] = picked
    return chosen


def _part(
    part: str, values: np.ndarray, name: str, kind: str, offset: float, time: TimeInfo | None
) -> np.ndarray:
    dates = time_bounds(part, time) if kind == "coord" and time is not None else None
    if dates is not None:
        real = values.astype(np.float64)
        return np.flatnonzero((real >= dates[0] - offset) & (real <= dates[1] + offset))
    bounds = part.strip().split(":")
    if len(bounds) > 2:
        raise ValidationError(f"subset_filter '{part}': strided ranges are not supported at import")
    try:
        lo, hi = (float(b) for b in (bounds[0], bounds[-1]))
    except ValueError:
        raise ValidationError(f"subset_filter '{part}' for {name} must be a or a:b") from None
    if kind == "coord":
        real = values.astype(np.float64)
        return np.flatnonzero((real >= lo - offset) & (real <= hi + offset))
    if not (lo.is_integer() and hi.is_integer()) or not 0 <= lo <= hi < len(values):
        raise ValidationError(
            f"subset_filter '{part}' is outside 0:{len(values) - 1}, the indices of {name}"
        )
    return np.arange(int(lo), int(hi) + 1)


def _hierarchies(p: Params, ordered: list[str], ds: Any) -> list[str]:
    """One hierarchy per dimension: as given, else oph_time for a CF time coordinate."""
    given = _list(p, "hierarchy")
    if given in ([], ["oph_base"]):
        found = [n for n in ordered if n in ds.variables and cf_time(ds.variables[n])]
        return ["oph_time" if found and n == found[0] else "oph_base" for n in ordered]
    if len(given) != len(ordered):
        raise ValidationError(
            f"hierarchy needs one value per dimension ({', '.join(ordered)}), in that order"
        )
    given = [h.lower() for h in given]
    for h in given:
        if h not in _HIERARCHIES:
            raise ValidationError(f"hierarchy '{h}' is not one of {', '.join(_HIERARCHIES)}")
    if given.count("oph_time") > 1:
        raise ValidationError("only one dimension may have the oph_time hierarchy")
    return given


def _concepts(p: Params, name: str, dims: list[str]) -> list[str]:
    given = _list(p, name) or ["c"]
    if len(given) == 1:
        return given * len(dims)
    if len(given) != len(dims):
        raise ValidationError(f"{name} needs one value per dimension ({', '.join(dims)})")
    return given


def read_metadata(ds: Any, plan: Plan, p: Params) -> list[MetadataItem]:
    """Global, dimension and measure attributes; without import_metadata only the measure's
    missing value, which the cube needs to be exported faithfully. With check_compliance=yes
    a file lacking the CF basics is refused."""
    items = _metadata(ds, plan, p.yes("import_metadata"))
    if p.yes("check_compliance"):
        _check_compliance(plan, items)
    return items


def _metadata(ds: Any, plan: Plan, everything: bool) -> list[MetadataItem]:
    measure = plan.variable
    if not everything:
        return [i for i in attribute_items(measure, measure.name) if i.key in _MISSING_KEYS]
    items = attribute_items(ds, "")
    for name in plan.file_dims:
        if name in ds.variables and name != measure.name:
            items += attribute_items(ds.variables[name], name)
    return items + attribute_items(measure, measure.name)


def _check_compliance(plan: Plan, metadata: list[MetadataItem]) -> None:
    """check_compliance=yes: the measure has units and a name, every coordinate its units."""
    have = {(m.variable, m.key) for m in metadata}
    measure = plan.variable.name
    lacking = [f"{measure}:units"] if (measure, "units") not in have else []
    if (measure, "standard_name") not in have and (measure, "long_name") not in have:
        lacking.append(f"{measure}:standard_name or long_name")
    lacking += [f"{d}:units" for d in plan.file_dims if (d, "units") not in have]
    if lacking:
        raise OperatorError(
            "the file is not CF compliant enough: missing " + ", ".join(lacking),
            hint="import with import_metadata=yes, or without check_compliance",
        )


def _target_container(ctx: OpContext, p: Params, path: Path, plan: Plan) -> tuple[Container, bool]:
    """The container to import into and whether it was made now (absent ones are created)."""
    name = p.opt("container") or path.name
    declared = [(d.name, d.type, d.hierarchy) for d in plan.dims]
    if "://" in name or "/" in name.strip("/"):
        container, made = ctx.container(name), False
    else:
        folder = ctx.tree.folder(ctx.cwd)
        container = ctx.store.containers.named(folder.id, name.strip("/"))
        made = container is None
        if made:
            try:
                container = ctx.store.containers.create(
                    folder.id,
                    name.strip("/"),
                    declared,
                    vocabulary=p.str("vocabulary"),
                    times=plan.times,
                )
            except OperatorError:  # a parallel import of the same request made it meanwhile
                container, made = ctx.store.containers.named(folder.id, name.strip("/")), False
                if container is None:
                    raise
    missing = [d.name for d in plan.dims if container.dim_type(d.name) is None]
    if not missing and not made:  # a container declared without time facts learns them
        unknown = {n: t for n, t in plan.times.items() if container.time_of(n) is None}
        if unknown:
            ctx.store.containers.record_times(container, unknown)
            container = ctx.store.containers.by_id(container.id)
    if missing:
        raise OperatorError(
            f"container '{container.name}' does not declare dimension(s) {', '.join(missing)}",
            hint="import into another container, or create one with dim="
            + "|".join(d.name for d in plan.dims),
        )
    return container, made
