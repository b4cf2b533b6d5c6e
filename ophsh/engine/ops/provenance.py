"""oph_cubeio and oph_tasks: where a cube comes from and what was made from it.

Rows of the "Cube Provenance" grid go from input cube to output cube with the operator that
made the output; a cube made from no other (an import) has the row ("", ROOT, cube). The same
links form the "Cube Provenance Graph" (a directed graph of PIDs), which PyOphidia's
``Cube.provenance()`` returns.
"""

from __future__ import annotations

from ophsh.engine.context import OpContext
from ophsh.engine.massive import like, parse_cube_filter
from ophsh.engine.model import Cube
from ophsh.engine.params import Params
from ophsh.errors import NotFoundError

__all__ = ["cubeio", "tasks"]

Row = tuple[str, str, str, str]  # input PID, operation, output PID, source


def cubeio(ctx: OpContext, p: Params) -> None:
    cube = ctx.cube(p.str("cube"))
    branch = p.str("branch")
    rows: list[Row] = []
    if branch in ("parent", "all"):
        _up(ctx, cube, rows, set())
    else:
        rows.append(("", "ROOT", cube.pid, cube.source))
    if branch in ("children", "all"):
        _down(ctx, cube, rows, set())
    rows = list(dict.fromkeys(rows))  # a cube reached by two paths is listed once
    ctx.doc.add_grid(
        "cubeio",
        "Cube Provenance",
        ("INPUT CUBE", "OPERATION", "OUTPUT CUBE", "SOURCE"),
        ("string",) * 4,
        rows,
    )
    ctx.doc.add_object(_graph(rows))


def tasks(ctx: OpContext, p: Params) -> None:
    """The operations that made the cubes of a folder (and below): operator, input, output."""
    tree = ctx.tree
    folders = tree.walk(tree.folder(ctx.cwd, p.opt("path")), recursive=p.yes("recursive"))
    chosen, operators, container = (
        _unless_all(p.opt(name)) for name in ("cube_filter", "operator_filter", "container")
    )
    rows = []
    for cube in ctx.store.cubes_in([f.id for f in folders]):
        if container is not None and cube.container_name != container:
            continue
        if chosen is not None and cube.id not in parse_cube_filter(chosen, largest=cube.id):
            continue
        operation = _operation(cube)
        if operators is not None and not like(operation, operators):
            continue
        for parent in (_found(ctx, i) for i in ctx.store.parents(cube)):
            if parent is not None:
                rows.append([operation, parent.pid, cube.pid])
    ctx.doc.add_grid(
        "tasks",
        "Task List",
        ("OPERATOR", "INPUT DATACUBE", "OUTPUT DATACUBE"),
        ("string",) * 3,
        rows,
    )


def _unless_all(value: str | None) -> str | None:
    return None if value in (None, "all") else value


def _found(ctx: OpContext, cube_id: int) -> Cube | None:
    try:
        found = ctx.store.cube(cube_id)
    except NotFoundError:
        return None  # deleted since: its descendants keep their own history
    return found if ctx.may_see(found.folder) else None


def _operation(cube: Cube) -> str:
    """The operator that made ``cube``: the first word of the last command of its history."""
    lines = cube.provenance.splitlines()
    return lines[-1].split(None, 1)[0] if lines else "ROOT"


def _up(ctx: OpContext, cube: Cube, rows: list[Row], seen: set[int]) -> None:
    """The rows from the cube's first ancestors down to the cube itself."""
    if cube.id in seen:
        return
    seen.add(cube.id)
    parents = [c for c in (_found(ctx, i) for i in ctx.store.parents(cube)) if c is not None]
    if not parents:
        rows.append(("", "ROOT", cube.pid, cube.source))
        return
    for parent in parents:
        _up(ctx, parent, rows, seen)
        rows.append((parent.pid, _operation(cube), cube.pid, cube.source))


def _down(ctx: OpContext, cube: Cube, rows: list[Row], seen: set[int]) -> None:
    """The rows from the cube to every cube made from it, and on."""
    if cube.id in seen:
        return
    seen.add(cube.id)
    for child in (_found(ctx, i) for i in ctx.store.children(cube)):
        if child is not None:
            rows.append((cube.pid, _operation(child), child.pid, child.source))
            _down(ctx, child, rows, seen)


def _graph(rows: list[Row]) -> dict:
    """The rows as Ophidia's directed graph object: nodes (PID, SOURCE), links by node index."""
    nodes: dict[str, str] = {}
    for source, _, target, origin in rows:
        if source:
            nodes.setdefault(source, "")
        nodes[target] = origin
    index = {pid: str(i) for i, pid in enumerate(nodes)}
    links: list[list[dict[str, str]]] = [[] for _ in nodes]
    for source, operation, target, _ in rows:
        if source:
            links[int(index[source])].append({"node": index[target], "description": operation})
    return {
        "objclass": "digraph",
        "objkey": "cubeio_graph",
        "objcontent": [
            {
                "title": "Cube Provenance Graph",
                "nodekeys": ["PID", "SOURCE"],
                "nodevalues": [[pid, origin] for pid, origin in nodes.items()],
                "nodelinks": links,
            }
        ],
    }
