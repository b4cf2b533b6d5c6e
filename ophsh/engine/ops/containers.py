"""Containers: oph_createcontainer, oph_deletecontainer, oph_movecontainer, oph_containerschema."""

from __future__ import annotations

import posixpath

from ophsh.engine.context import OpContext
from ophsh.engine.model import MEASURE_DTYPES, TimeInfo
from ophsh.engine.params import Params
from ophsh.errors import ValidationError

__all__ = ["containerschema", "createcontainer", "deletecontainer", "movecontainer"]


def _per_dim(p: Params, name: str, count: int) -> list[str]:
    values = p.list(name)
    if len(values) == 1 and count > 1:
        return values * count
    if len(values) != count:
        raise ValidationError(f"{name} needs one value per dimension ({count}), not {len(values)}")
    return values


def createcontainer(ctx: OpContext, p: Params) -> None:
    """Create an empty container that declares the dimensions its cubes may use."""
    name = p.str("container").strip()
    if not name or "/" in name or name in (".", ".."):
        raise ValidationError(f"'{name}' is not a valid container name", param="container")
    dims = p.list("dim")
    if len(set(dims)) != len(dims):
        raise ValidationError("a dimension is named twice in dim=", param="dim")
    types = _per_dim(p, "dim_type", len(dims))
    for t in types:
        if t not in MEASURE_DTYPES:
            raise ValidationError(f"dim_type '{t}' is not one of {', '.join(MEASURE_DTYPES)}")
    hierarchies = _per_dim(p, "hierarchy", len(dims))
    timed = [d for d, h in zip(dims, hierarchies, strict=True) if h.lower() == "oph_time"]
    if len(timed) > 1:
        raise ValidationError("only one dimension may have the oph_time hierarchy")
    folder = ctx.tree.folder(ctx.cwd)
    container = ctx.store.containers.create(
        folder.id,
        name,
        zip(dims, types, hierarchies, strict=False),
        description=p.opt("description") or "",
        vocabulary=p.str("vocabulary"),
        times={d: time_args(p) for d in timed},
    )
    ctx.doc.add_text("createcontainer", "Output Container", container.pid)


def time_args(p: Params) -> TimeInfo:
    """The time facts given as base_time, units, calendar, month_lengths, leap_year and
    leap_month (Ophidia's defaults where absent)."""
    lengths = p.str("month_lengths")
    parts = lengths.split(",")
    if len(parts) != 12 or not all(v.strip().isdigit() and 0 < int(v) <= 31 for v in parts):
        raise ValidationError(
            f"month_lengths '{lengths}' must give 12 day counts", param="month_lengths"
        )
    return TimeInfo(
        base_time=p.str("base_time"),
        units=p.str("units"),
        calendar=p.str("calendar"),
        month_lengths=lengths,
        leap_year=str(p.int("leap_year")),
        leap_month=str(p.int("leap_month")),
    )


def deletecontainer(ctx: OpContext, p: Params) -> None:
    """Delete a container; ``force=yes`` deletes the cubes it still holds."""
    pid = p.opt("container_pid")
    container = ctx.container(pid or p.str("container"))
    ctx.store.delete_container(container, force=p.yes("force"))


def movecontainer(ctx: OpContext, p: Params) -> None:
    """Rename a container or move it to another folder: container=OLD|NEW."""
    names = p.list("container")
    if len(names) != 2:
        raise ValidationError("oph_movecontainer needs container=OLD|NEW", param="container")
    container = ctx.container(names[0])
    target = names[1].strip()
    tree = ctx.tree
    found = tree.find(ctx.cwd, target)
    if found is not None:  # an existing folder: move into it, keeping the name
        folder, name = found, container.name
    else:
        folder_path, name = posixpath.split(target)
        folder = tree.folder(ctx.cwd, folder_path or None)
    if not name or name in (".", ".."):
        raise ValidationError(f"'{target}' is not a valid container name", param="container")
    ctx.store.containers.move(container, folder.id, name)


def containerschema(ctx: OpContext, p: Params) -> None:
    """Describe a container and the dimensions it declares."""
    container = ctx.container(p.str("container"))
    ctx.doc.add_grid(
        "containerschema_info",
        "Container Information",
        ("NAME", "DESCRIPTION", "VOCABULARY"),
        ("string",) * 3,
        [[container.name, container.description or "-", container.vocabulary]],
    )
    columns = (
        "NAME",
        "TYPE",
        "HIERARCHY",
        "BASE TIME",
        "CALENDAR",
        "UNITS",
        "LEAP MONTH",
        "LEAP YEAR",
        "MONTH LENGTHS",
    )
    ctx.doc.add_grid(
        "containerschema_diminfo",
        "Dimension Information",
        columns,
        ("string",) * len(columns),
        [
            [name, kind, hierarchy, *_time_cells(container.time_of(name))]
            for name, kind, hierarchy in container.dims
        ],
    )


def _time_cells(time: TimeInfo | None) -> list[str]:
    if time is None:
        return [""] * 6
    return [
        time.base_time,
        time.calendar,
        time.units,
        time.leap_month,
        time.leap_year,
        time.month_lengths,
    ]
