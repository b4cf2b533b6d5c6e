"""Looking into cubes: oph_subset (a cube restricted to chosen ranges) and oph_explorecube
(values as a grid, the way Ophidia prints them, or base64 for programs such as PyOphidia)."""

from __future__ import annotations

import base64
import itertools

import numpy as np

from ophsh.engine.context import OpContext
from ophsh.engine.model import Cube, Dim, dtype_of
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


def _coord_part(part: str, dim: Dim, offset: float) -> np.ndarray:
    values = np.asarray(dim.values, dtype=np.float64)
    bounds = part.split(":")
    try:
        lo, hi = float(bounds[0]), float(bounds[-1])
    except ValueError:
        raise ValidationError(f"subset_filter '{part}' for {dim.name} must be v or lo:hi") from None
    if len(bounds) > 2 or lo > hi:
        raise ValidationError(f"subset_filter '{part}' for {dim.name} must be v or lo:hi")
    return np.flatnonzero((values >= lo - offset) & (values <= hi + offset))


def select(cube: Cube, p: Params) -> dict[str, np.ndarray]:
    """0-based indices chosen along each dimension named in subset_dims (others: all)."""
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
            _coord_part(part, dim, offset) if kind == "coord" else _index_part(part, dim.size, name)
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
        data = ctx.store.data(cube)
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
    chosen = select(cube, p)
    ctx.derive(
        cube,
        dims=_subset_dims(cube, chosen),
        data=_take(ctx, cube, chosen),
        objkey="subset",
        container=p.opt("container"),
        description=p.str("description"),
    )


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
    chosen = select(cube, p)
    limit = p.int("limit_filter")
    total = int(np.prod([len(chosen.get(d.name, d.values)) for d in cube.explicit_dims]))
    shown_rows = _limit_rows(cube, chosen, limit)
    data = _take(ctx, cube, shown_rows)
    dims = [d for d in _subset_dims(cube, shown_rows) if not d.collapsed]
    explicit = [d for d in sorted(dims, key=lambda d: d.level) if d.explicit]
    reduced = [d for d in cube.dims if d.explicit and d.collapsed]
    show_id, show_index, b64 = p.yes("show_id"), p.yes("show_index"), p.yes("base64")
    kind = cube.measure_type
    columns = [("ID", "long")] if show_id else []
    for d in explicit:
        columns.append((d.name, d.type))
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
            value = np.asarray(d.values)[position[k]]
            row.append(_encode(value, d.type) if b64 else format_value(value, d.type))
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
            values = np.asarray(d.values)
            ctx.doc.add_grid(
                "explorecube_dimvalues",
                d.name,
                ["INDEX", "VALUE"] if show_index else ["VALUE"],
                ["long", d.type] if show_index else [d.type],
                [
                    ([str(int(i) + 1)] if show_index else [])
                    + [_encode(v, d.type) if b64 else format_value(v, d.type)]
                    for i, v in zip(index, values, strict=True)
                ],
            )
    shown = len(rows)
    ctx.doc.add_text(
        "explorecube_summary",
        "Summary",
        f"Selected {shown} row{'' if shown == 1 else 's'} out of {max(total, 1)}",
    )
