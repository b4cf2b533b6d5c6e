"""Cube housekeeping: oph_delete, oph_duplicate, oph_permute, oph_cubeschema, oph_cubesize,
oph_cubeelements."""

from __future__ import annotations

import numpy as np

from ophsh.engine.context import OpContext
from ophsh.engine.model import Cube, Dim, dtype_of
from ophsh.engine.ops.netcdf_file import time_strings
from ophsh.engine.params import Params
from ophsh.errors import OperatorError, ValidationError

__all__ = [
    "cubeelements",
    "cubeschema",
    "cubesize",
    "delete",
    "duplicate",
    "permute",
    "size_in",
]

UNITS = {"KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30, "TB": 1 << 40, "PB": 1 << 50}

# The long names of the concept levels of Ophidia's two hierarchies. Cubes keep the one-letter
# code (as concept_level= is given); oph_cubeschema shows the name, as Ophidia does.
CONCEPT_LEVELS = {
    "oph_base": {"A": "ALL", "c": "cell"},
    "oph_time": {
        "A": "ALL",
        "y": "year",
        "q": "quarter",
        "M": "month",
        "w": "week",
        "d": "day",
        "6": "6_hour",
        "3": "3_hour",
        "h": "hour",
        "Q": "15_minute",
        "v": "5_minute",
        "m": "minute",
        "s": "second",
        "c": "second",
    },
}


def delete(ctx: OpContext, p: Params) -> None:
    """Remove a cube and its data."""
    ctx.store.delete_cube(ctx.cube(p.str("cube")))


def size_in(cube: Cube, unit: str) -> float:
    """The logical size of the cube's values (elements x measure type), in ``unit``."""
    return cube.elements * cube.dtype.itemsize / UNITS[unit]


def _rows(cube: Cube) -> tuple[int, int]:
    explicit = int(np.prod([d.size for d in cube.explicit_dims], dtype=np.int64))
    implicit = int(np.prod([d.size for d in cube.implicit_dims], dtype=np.int64))
    return explicit, implicit


def cubeschema(ctx: OpContext, p: Params) -> None:
    """Describe a cube: general facts, sizes, dimensions and (level 1, 2) dimension values."""
    cube = ctx.cube(p.str("cube"))
    action = p.str("action")
    if action == "clear":  # the dimensions reduced away are forgotten
        cube = ctx.store.replace_dims(cube, [d for d in cube.dims if not d.collapsed])
    elif action == "add":
        added, shifted = _added(ctx, cube, p)
        dims = [d.with_(level=d.level + 1) if d.name in shifted else d for d in cube.dims]
        cube = ctx.store.replace_dims(cube, [*dims, added])
    level = p.int("level")
    wanted = p.list("dim") if p.opt("dim") and p.str("dim") != "all" else None
    rows, per_row = _rows(cube)
    ctx.doc.add_grid(
        "cubeschema_cubeinfo",
        "Datacube Information",
        (
            "PID",
            "CREATION DATE",
            "MEASURE",
            "MEASURE TYPE",
            "LEVEL",
            "NUMBER OF FRAGMENTS",
            "SOURCE FILE",
        ),
        ("string", "string", "string", "string", "int", "int", "string"),
        [[cube.pid, cube.created, cube.measure, cube.measure_type, cube.level, 1, cube.source]],
    )
    ctx.doc.add_grid(
        "cubeschema_morecubeinfo",
        "Datacube Additional Information",
        (
            "DESCRIPTION",
            "HOST x CUBE",
            "FRAGMENTS x DATABASE",
            "ROWS x FRAGMENT",
            "ELEMENTS x ROW",
            "COMPRESSED",
            "CUBE SIZE",
            "UNIT",
            "NUMBER OF ELEMENTS",
        ),
        ("string", "int", "int", "int", "int", "string", "float", "string", "long"),
        [
            [
                cube.description or "-",
                1,
                1,
                rows,
                per_row,
                "no",
                f"{size_in(cube, 'MB'):.6f}",
                "MB",
                cube.elements,
            ]
        ],
    )
    dims = [d for d in cube.dims if wanted is None or d.name in wanted]
    if level in (0, 2):
        ctx.doc.add_grid(
            "cubeschema_diminfo",
            "Dimension Information",
            (
                "NAME",
                "TYPE",
                "SIZE",
                "HIERARCHY",
                "CONCEPT LEVEL",
                "ARRAY",
                "LEVEL",
                "LATTICE NAME",
            ),
            ("string", "string", "string", "string", "string", "string", "int", "string"),
            [
                [
                    d.name,
                    d.type,
                    "ALL" if d.collapsed else d.size,
                    d.hierarchy,
                    concept_level(d),
                    "no" if d.explicit else "yes",
                    d.level,
                    "-",
                ]
                for d in _schema_order(dims)
            ],
        )
    if level in (1, 2):
        container = ctx.store.containers.by_id(cube.container)
        for d in _schema_order(dims):
            if d.collapsed:
                continue
            time = container.time_of(d.name) if p.yes("show_time") else None
            if time is not None and d.hierarchy == "oph_time":  # values as dates
                kind, values = "string", time_strings(d.values, time)
            else:
                kind, values = d.type, [_value(v) for v in d.values]
            ctx.doc.add_grid(
                "cubeschema_dimvalues",
                d.name,
                ("INDEX", "VALUE"),
                ("long", kind),
                [[i + 1, v] for i, v in enumerate(values)],
            )


def concept_level(dim: Dim) -> str:
    """The name of a dimension's concept level in its hierarchy (ALL once it is reduced);
    the code itself in a hierarchy not known here."""
    code = "A" if dim.collapsed else dim.concept_level
    return CONCEPT_LEVELS.get(dim.hierarchy.lower(), {}).get(code, code)


def _added(ctx: OpContext, cube: Cube, p: Params) -> tuple[Dim, set[str]]:
    """A dimension of size 1 for action=add: declared by the cube's container, implicit
    (dim_array=yes) and placed at dim_level among the implicit ones."""
    name = p.str("dim")
    if name in ("", "all") or "|" in name:
        raise ValidationError("action=add needs one dimension name in dim=", param="dim")
    if any(d.name == name for d in cube.dims):
        raise OperatorError(f"{cube.pid} already has a dimension called '{name}'")
    kind = ctx.store.containers.by_id(cube.container).dim_type(name)
    if kind is None:
        raise OperatorError(
            f"container '{cube.container_name}' does not declare a dimension '{name}'"
        )
    if not p.yes("dim_array"):
        raise OperatorError(
            "the embedded store adds implicit dimensions only (dim_array=yes)",
            hint="add it as implicit, then oph_rollup can make it explicit",
        )
    implicit = [d for d in cube.dims if not d.explicit and not d.collapsed]
    level = min(max(1, p.int("dim_level")), len(implicit) + 1)
    if level == 1 and not cube.explicit_dims:
        raise OperatorError("a cube with no explicit dimension takes new ones after its first")
    shifted = {d.name for d in implicit if d.level >= level}
    added = Dim(name, kind, 1, False, level, np.ones(1, dtype=dtype_of(kind)))
    return added, shifted


def _schema_order(dims: list[Dim]) -> list[Dim]:
    return sorted(dims, key=lambda d: (not d.explicit, d.level))


def _value(v) -> str:
    return repr(float(v)) if isinstance(v, (float, np.floating)) else str(v)


def cubesize(ctx: OpContext, p: Params) -> None:
    cube = ctx.cube(p.str("cube"))
    unit = p.str("byte_unit")
    ctx.doc.add_grid(
        "cubesize",
        "Cube Size",
        ("CUBE SIZE", "UNIT"),
        ("double", "string"),
        [[f"{size_in(cube, unit):.6f}", unit]],
    )


def cubeelements(ctx: OpContext, p: Params) -> None:
    cube = ctx.cube(p.str("cube"))
    ctx.doc.add_grid(
        "cubeelements",
        "Number of Cube Elements",
        ("NUMBER OF ELEMENTS",),
        ("long",),
        [[cube.elements]],
    )


def duplicate(ctx: OpContext, p: Params) -> None:
    """An identical copy of the cube, one level up (its array is shared, not copied). A
    virtual cube is written first: this is how a user asks for one to be kept as an array."""
    cube = ctx.cube(p.str("cube"))
    ctx.derive(
        cube,
        dims=cube.dims,
        staged=ctx.store.arrays.link(ctx.store.materialise(cube).data_file),
        objkey="duplicate",
        container=p.opt("container"),
        description=p.str("description"),
    )


def permute(ctx: OpContext, p: Params) -> None:
    """Reorder the implicit dimensions: dim_pos gives the new level of each, in level order."""
    cube = ctx.cube(p.str("cube"))
    implicit = list(cube.implicit_dims)
    text = p.str("dim_pos")
    try:
        levels = [int(v) for v in text.replace("|", ",").split(",")]
    except ValueError:
        raise ValidationError(f"dim_pos '{text}' must list levels, e.g. 2,1") from None
    if sorted(levels) != list(range(1, len(implicit) + 1)):
        raise ValidationError(
            f"dim_pos must be a permutation of 1..{len(implicit)}, one level per implicit "
            f"dimension ({', '.join(d.name for d in implicit)})"
        )
    new_level = {d.name: level for d, level in zip(implicit, levels, strict=True)}
    n_exp = len(cube.explicit_dims)
    order = sorted(range(len(implicit)), key=lambda i: levels[i])
    axes = [*range(n_exp), *(n_exp + i for i in order)]
    dims = [d.with_(level=new_level[d.name]) if d.name in new_level else d for d in cube.dims]
    if n_exp:  # the rows stay where they are: each block's arrays are reordered
        stored = np.dtype(cube.storage)
        staged = ctx.stream(
            tuple(cube.shape[a] for a in axes),
            stored,
            lambda a, b: ctx.store.rows(cube, a, b),
            lambda block: np.ascontiguousarray(np.transpose(block, axes)),
            label="permute",
            row_bytes=max(1, cube.elements // cube.shape[0]) * stored.itemsize,
        )
        data = None
    else:  # one row holds everything
        staged, data = None, np.ascontiguousarray(np.transpose(ctx.whole(cube), axes))
    ctx.derive(
        cube,
        dims=dims,
        data=data,
        staged=staged,
        objkey="permute",
        container=p.opt("container"),
        description=p.str("description"),
    )
