"""oph_hierarchy: the dimension hierarchies the store knows (oph_base, oph_time) and the
concept levels of one of them, in the grids Ophidia replies with."""

from __future__ import annotations

from ophsh.engine.context import OpContext
from ophsh.engine.params import Params
from ophsh.engine.time_groups import HIERARCHIES, OPERATIONS
from ophsh.errors import NotFoundError

__all__ = ["hierarchy"]

_VERSION = "1.0"
_TIP = "To see the concept levels of one of these hierarchies: oph_hierarchy hierarchy=NAME;"


def hierarchy(ctx: OpContext, p: Params) -> None:
    """hierarchy=all lists the hierarchies; a name shows its concept levels."""
    name = p.str("hierarchy")
    if name in ("all", ""):
        ctx.doc.add_grid(
            "hierarchy_list",
            "Hierarchy List",
            ["HIERARCHY NAME"],
            ["string"],
            [[known] for known in HIERARCHIES],
        )
        ctx.doc.add_text("hierarchy_tip", "Useful Tip", _TIP)
        return
    version = p.str("hierarchy_version")
    if name not in HIERARCHIES or version not in ("latest", _VERSION):
        known = ", ".join(HIERARCHIES)
        shown = name if version == "latest" else f"{name} version {version}"
        raise NotFoundError(f"there is no hierarchy {shown} (known: {known}, version 1.0)")
    ctx.doc.add_text("hierarchy_function", "Function Name and Version", f"{name} v{_VERSION}")
    ctx.doc.add_grid(
        "hierarchy_attrs",
        "Hierarchy Attributes",
        [
            "LONG NAME",
            "SHORT NAME",
            "AGGREGATION FIELD",
            "AGGREGATION SET",
            "AGGREGATION FUNCTIONS",
        ],
        ["string"] * 5,
        [
            [long, short, field, size, "none" if size == "1" else OPERATIONS]
            for short, long, field, size in HIERARCHIES[name]
        ],
    )
