"""Looking into cubes: oph_subset (a cube restricted to chosen ranges) and oph_explorecube
(values as a grid, the way Ophidia prints them, or base64 for programs such as PyOphidia)."""

from __future__ import annotations

import base64
import itertools

import numpy as np

from ophsh.engine.arrays import Staged
from ophsh.engine.context import OpContext
from ophsh.engine.model import Cube, Dim, TimeInfo, dtype_of
from ophsh.engine.ops.netcdf_file import season_steps, time_bounds, time_strings
from ophsh.engine.params import Params
from ophsh.errors import OperatorError, ValidationError

__all__ = ["explorecube", "format_value", "select", "subset"]

# Ophidia's primitives print reals with 10 decimals, or in exponent form when that is too long.
_FIXED_WIDTH = 18


def format_value(value, kind: str) -> str:
    """A value as Ophidia prints it: integers plainly, reals with 10 decimals."""
    if kind in ("double", "float"):
        value = float(value)
        if np.isnan(value):
            return "nan"
        text = f"{value:.10f}"
        return text if len(text) <= _FIXED_WIDTH else f"{value:.8e}"
    return str(int(value))


def _index_part(part: str, size: int, name: str) -> np.ndarray:
    bounds = [b.strip() for b in part.split(":")]
    try:
        nums = [size if b == "end" else int(b) for b in bounds]
    except ValueError:
        raise ValidationError(
            f"subset_filter '{part}' for {name} must be i, i:j or i:step:j (1-based, 'end' allowed)"
        ) from None
    if len(nums) == 1:
        lo, step, hi = nums[0], 1, nums[0]
    elif len(nums) == 2:
        lo, step, hi = nums[0], 1, nums[1]
    elif len(nums) == 3 and nums[1] > 0:
        lo, step, hi = nums
    else:
        raise ValidationError(f"subset_filter '{part}' for {name} is not a valid range")
    if not 1 <= lo <= size or not 1 <= hi <= size:
        raise ValidationError(f"subset_filter '{part}' is outside 1:{size}, the range of {name}")
    return np.arange(lo - 1, hi, step)


def _coord_part(part: str, dim: Dim, offset: float, time: TimeInfo | None) -> np.ndarray:
    values = np.asarray(dim.values, dtype=np.float64)
    season = season_steps(part, values, time) if time is not None else None
    if season is not None:
        return season
    dates = time_bounds(part, time) if time is not None else None
    if dates is not None:  # DATE or DATE_DATE on a time dimension
        return np.flatnonzero((values >= dates[0] - offset) & (values <= dates[1] + offset))
    bounds = part.split(":")
    try:
        lo, hi = float(bounds[0]), float(bounds[-1])
    except ValueError:
        raise ValidationError(f"subset_filter '{part}' for {dim.name} must be v or lo:hi") from None
    if len(bounds) > 2 or lo > hi:
        raise ValidationError(f"subset_filter '{part}' for {dim.name} must be v or lo:hi")
    return np.flatnonzero((values >= lo - offset) & (values <= hi + offset))


def select(
    cube: Cube, p: Params, times: dict[str, TimeInfo] | None = None
) -> dict[str, np.ndarray]:
    """0-based indices chosen along each dimension named in subset_dims (others: all);
    coordinate filters on the time dimensions in ``times`` may give dates."""
    names = p.list("subset_dims") if p.opt("subset_dims") else []
    texts = p.list("subset_filter") if p.str("subset_filter") not in ("all", "") else []
    if len(names) != len(texts):
        raise ValidationError(
            f"subset_dims names {len(names)} dimension(s) but subset_filter gives "
            f"{len(texts)} filter(s)"
        )
    kinds = p.list("subset_type") or ["index"]
    offsets = [float(v) for v in p.list("offset")] if p.spec.param("offset") else [0.0]
    chosen: dict[str, np.ndarray] = {}
    for i, (name, text) in enumerate(zip(names, texts, strict=True)):
        dim = cube.dim(name)
        if dim.collapsed:
            raise OperatorError(f"dimension '{name}' of {cube.pid} was reduced away")
        kind = kinds[i] if i < len(kinds) else kinds[-1]
        offset = offsets[i] if i < len(offsets) else offsets[-1]
        parts = [
            _coord_part(part, dim, offset, (times or {}).get(name))
            if kind == "coord"
            else _index_part(part, dim.size, name)
            for part in text.split(",")
        ]
        picked = np.unique(np.concatenate(parts))
        if not picked.size:
            raise OperatorError(f"subset_filter '{text}' selects nothing along {name}")
        chosen[name] = picked
    return chosen


def _take(ctx: OpContext, cube: Cube, chosen: dict[str, np.ndarray]) -> np.ndarray:
    """The chosen values; along the first axis only the rows in the chosen span are read."""
    dims = cube.active_dims
    if dims and dims[0].name in chosen:
        first = chosen[dims[0].name]
        data = ctx.store.rows(cube, int(first.min()), int(first.max()) + 1)
        data = np.take(data, first - first.min(), axis=0)
    else:
        data = ctx.mapped(cube)  # memory-mapped: explorecube shows what it reads anyway
    for axis, dim in enumerate(dims[1:], 1):
        if dim.name in chosen:
            data = np.take(data, chosen[dim.name], axis=axis)
    return np.asarray(data)


def _subset_dims(cube: Cube, chosen: dict[str, np.ndarray]) -> list[Dim]:
    return [
        d.with_(size=len(chosen[d.name]), values=np.asarray(d.values)[chosen[d.name]])
        if d.name in chosen
        else d
        for d in cube.dims
    ]


def subset(ctx: OpContext, p: Params) -> None:
    """A new cube holding the chosen index or coordinate ranges."""
    cube = ctx.cube(p.str("cube"))
    chosen = select(cube, p, _times(ctx, cube, p))
    dims = _subset_dims(cube, chosen)
    if not cube.shape:
        staged, data = None, _take(ctx, cube, chosen)
    else:
        staged, data = _stream_subset(ctx, cube, chosen), None
    ctx.derive(
        cube,
        dims=dims,
        data=data,
        staged=staged,
        objkey="subset",
        container=p.opt("container"),
        description=p.str("description"),
    )


def _stream_subset(ctx: OpContext, cube: Cube, chosen: dict[str, np.ndarray]) -> Staged:
    """The chosen values staged block by block along the first axis, within the budget."""
    active = cube.active_dims
    rows = chosen.get(active[0].name, np.arange(cube.shape[0]))
    inner = [(axis, chosen[d.name]) for axis, d in enumerate(active[1:], 1) if d.name in chosen]
    shape = (len(rows), *(len(chosen.get(d.name, range(d.size))) for d in active[1:]))
    stored = np.dtype(cube.storage)

    def read(start: int, stop: int) -> np.ndarray:
        wanted = rows[start:stop]
        low, high = int(wanted.min()), int(wanted.max()) + 1
        if high - low <= 2 * len(wanted):  # close together: one read of the span
            block = np.take(ctx.store.rows(cube, low, high), wanted - low, axis=0)
        else:  # far apart (a stride): row by row, so the block stays within the budget
            block = np.concatenate([ctx.store.rows(cube, int(r), int(r) + 1) for r in wanted])
        for axis, picked in inner:
            block = np.take(block, picked, axis=axis)
        return block

    span = max(1, cube.elements // cube.shape[0]) * stored.itemsize
    return ctx.stream(shape, stored, read, lambda block: block, label="subset", row_bytes=span)


def _limit_rows(cube: Cube, chosen: dict[str, np.ndarray], limit: int) -> dict[str, np.ndarray]:
    """The selection trimmed along the first explicit dimension to what ``limit`` rows need."""
    explicit = cube.explicit_dims
    if not limit or not explicit:
        return chosen
    first = explicit[0]
    inner = int(np.prod([len(chosen.get(d.name, d.values)) for d in explicit[1:]]))
    wanted = -(-limit // max(inner, 1))
    return {**chosen, first.name: chosen.get(first.name, np.arange(first.size))[:wanted]}


def _encode(values: np.ndarray, kind: str) -> str:
    return base64.b64encode(np.ascontiguousarray(values, dtype=dtype_of(kind)).tobytes()).decode()


def explorecube(ctx: OpContext, p: Params) -> None:
    """Rows of the (subset) cube: explicit dimension values, then the row's array."""
    cube = ctx.cube(p.str("cube"))
    chosen = select(cube, p, _times(ctx, cube, p))
    limit = p.int("limit_filter")
    total = int(np.prod([len(chosen.get(d.name, d.values)) for d in cube.explicit_dims]))
    shown_rows = _limit_rows(cube, chosen, limit)
    data = _take(ctx, cube, shown_rows)
    dims = [d for d in _subset_dims(cube, shown_rows) if not d.collapsed]
    explicit = [d for d in sorted(dims, key=lambda d: d.level) if d.explicit]
    reduced = [d for d in cube.dims if d.explicit and d.collapsed]
    show_id, show_index, b64 = p.yes("show_id"), p.yes("show_index"), p.yes("base64")
    dates = _dates(ctx, cube, dims) if p.yes("show_time") else {}
    kind = cube.measure_type

    def cell(d: Dim, k: int, value) -> str:
        if d.name in dates:
            return dates[d.name][k]
        return _encode(value, d.type) if b64 else format_value(value, d.type)

    def cell_type(d: Dim) -> str:
        return "string" if d.name in dates else d.type

    columns = [("ID", "long")] if show_id else []
    for d in explicit:
        columns.append((d.name, cell_type(d)))
        if show_index:
            columns.append((f"INDEX OF {d.name}", "long"))
    columns += [(d.name, "string") for d in reduced]
    columns.append((cube.measure, kind))
    n_exp = len(explicit)
    full = [d.size for d in cube.explicit_dims]
    picked = [shown_rows.get(d.name, np.arange(d.size)) for d in explicit]
    rows = []
    for position in itertools.islice(np.ndindex(*data.shape[:n_exp]), limit or None):
        original = [int(picked[k][i]) for k, i in enumerate(position)]
        row: list = []
        if show_id:
            row.append(str(int(np.ravel_multi_index(original, full)) + 1 if full else 1))
        for k, d in enumerate(explicit):
            row.append(cell(d, position[k], np.asarray(d.values)[position[k]]))
            if show_index:
                row.append(str(original[k] + 1))
        row.extend("ALL" for _ in reduced)
        values = np.ravel(data[position])
        row.append(
            _encode(values, kind) if b64 else ", ".join(format_value(v, kind) for v in values)
        )
        rows.append(row)
    keys, types = zip(*columns, strict=True)
    ctx.doc.add_grid("explorecube_data", cube.measure, keys, types, rows)
    if p.int("level") == 2:
        for d in explicit + [d for d in dims if not d.explicit]:
            index = shown_rows.get(d.name, np.arange(d.size))
            ctx.doc.add_grid(
                "explorecube_dimvalues",
                d.name,
                ["INDEX", "VALUE"] if show_index else ["VALUE"],
                ["long", cell_type(d)] if show_index else [cell_type(d)],
                [
                    ([str(int(i) + 1)] if show_index else []) + [cell(d, k, v)]
                    for k, (i, v) in enumerate(zip(index, np.asarray(d.values), strict=True))
                ],
            )
    shown = len(rows)
    ctx.doc.add_text(
        "explorecube_summary",
        "Summary",
        f"Selected {shown} row{'' if shown == 1 else 's'} out of {max(total, 1)}",
    )
    if p.yes("export_metadata"):
        _describe(ctx, cube)


def _times(ctx: OpContext, cube: Cube, p: Params) -> dict[str, TimeInfo]:
    """The time facts of the cube's time dimensions, unless time_filter=no."""
    if p.spec.param("time_filter") is None or p.str("time_filter") == "no":
        return {}
    container = ctx.store.containers.by_id(cube.container)
    found = {d.name: container.time_of(d.name) for d in cube.dims if d.hierarchy == "oph_time"}
    return {name: time for name, time in found.items() if time is not None}


def _dates(ctx: OpContext, cube: Cube, dims: list[Dim]) -> dict[str, list[str]]:
    """Dates of the values of the cube's time dimensions (show_time=yes)."""
    container = ctx.store.containers.by_id(cube.container)
    found: dict[str, list[str]] = {}
    for d in dims:
        time: TimeInfo | None = container.time_of(d.name)
        if d.hierarchy == "oph_time" and time is not None:
            found[d.name] = time_strings(np.asarray(d.values), time)
    return found


def _describe(ctx: OpContext, cube: Cube) -> None:
    """export_metadata=yes: the cube's dimensions and metadata, as Ophidia adds them."""
    ctx.doc.add_grid(
        "explorecube_diminfo",
        "Dimension Information",
        ("NAME", "TYPE", "SIZE", "HIERARCHY", "CONCEPT LEVEL", "ARRAY", "LEVEL", "LATTICE NAME"),
        ("string", "string", "int", "string", "string", "string", "int", "string"),
        [
            [
                d.name,
                d.type,
                "ALL" if d.collapsed else str(d.size),
                d.hierarchy,
                d.concept_level,
                "no" if d.explicit else "yes",
                str(d.level),
                "-",
            ]
            for d in sorted(cube.dims, key=lambda d: (not d.explicit, d.level))
        ],
    )
    ctx.doc.add_grid(
        "explorecube_metadata",
        "Metadata List",
        ("Variable", "Key", "Type", "Value"),
        ("string",) * 4,
        [[m.variable, m.key, m.type, m.value] for m in ctx.store.metadata.items(cube.id)],
    )
