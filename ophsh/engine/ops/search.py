"""oph_search: find cubes by container name and metadata, in a folder (and below it)."""

from __future__ import annotations

from ophsh.engine.context import OpContext
from ophsh.engine.massive import like
from ophsh.engine.params import Params

__all__ = ["search"]


def _filters(p: Params, name: str) -> list[str]:
    values = p.list(name)
    return [] if values in ([], ["all"]) else values


def search(ctx: OpContext, p: Params) -> None:
    """One row per matching metadata item: (cube PID, key, value), cubes in id order.

    Container and key filters are SQL LIKE patterns (exact unless % or _ is used); value filters
    match anywhere in the value. Key filter i goes with value filter i on the same item; a
    cube's items are listed when any pair matches.
    """
    tree = ctx.tree
    folders = tree.walk(tree.folder(ctx.cwd, p.opt("path")), recursive=p.yes("recursive"))
    cubes = ctx.store.cubes_in([f.id for f in folders])
    containers = _filters(p, "container_filter")
    keys = _filters(p, "metadata_key_filter")
    values = _filters(p, "metadata_value_filter")
    pairs = [
        (keys[i] if i < len(keys) else None, values[i] if i < len(values) else None)
        for i in range(max(len(keys), len(values)))
    ] or [(None, None)]
    rows = []
    for cube in cubes:
        if containers and not any(like(cube.container_name, c) for c in containers):
            continue
        for item in ctx.store.metadata.items(cube.id):
            if any(
                (key is None or like(item.key, key))
                and (value is None or value.lower() in item.value.lower())
                for key, value in pairs
            ):
                rows.append([cube.pid, item.key, item.value])
    ctx.doc.add_grid(
        "search", "Searching results", ("Datacube", "Key", "Value"), ("string",) * 3, rows
    )
