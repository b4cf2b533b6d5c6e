"""The virtual file system (oph_folder, oph_list) and the data directory on disk (oph_fs)."""

from __future__ import annotations

import fnmatch
import os
import posixpath
from collections.abc import Callable
from pathlib import Path

from ophsh.engine.context import OpContext
from ophsh.engine.massive import like
from ophsh.engine.params import Params
from ophsh.engine.paths import shown
from ophsh.engine.vfs import Folder
from ophsh.errors import OperatorError, ValidationError

__all__ = ["folder", "fs", "list_"]


def folder(ctx: OpContext, p: Params) -> None:
    """cd, mkdir, rm and mv on the session's virtual folders."""
    command = p.str("command")
    paths = p.list("path") if p.opt("path") else []
    tree = ctx.tree
    if command == "cd":
        target = tree.folder(ctx.cwd, paths[0] if paths else "/")
        ctx.doc.add_text("folder", "Current Working Directory", target.path)
        ctx.outputs["cwd"] = target.path
        return
    if not paths:
        raise ValidationError(f"oph_folder command={command} needs path=", param="path")
    if command == "mkdir":
        for path in paths:
            tree.mkdir(ctx.cwd, path)
    elif command == "rm":
        for path in paths:
            tree.rmdir(ctx.cwd, path)
    elif command == "mv":
        if len(paths) != 2:
            raise ValidationError("oph_folder command=mv needs path=SOURCE|TARGET", param="path")
        tree.move(ctx.cwd, paths[0], paths[1])


LIST_COLUMNS = {
    0: ("T", "PATH"),
    1: ("T", "PATH"),
    2: ("T", "PATH", "DATACUBE PID", "DESCRIPTION"),
    3: ("T", "PATH", "DATACUBE PID", "DESCRIPTION", "MEASURE", "LEVEL", "SOURCE"),
}


# Levels 4 to 8 describe where a cube's values are kept; each level adds a column.
STORAGE_COLUMNS = (
    "CONTAINER PATH",
    "DATACUBE PID",
    "HOSTNAME",
    "ID DBMS",
    "DB NAME",
    "FRAGMENT NAME",
)
STORAGE_TYPES = ("string", "string", "string", "int", "string", "string")


def list_(ctx: OpContext, p: Params) -> None:
    """List folders (level 0), containers (1), cubes (2) and their measure and source (3); for
    one cube (``cube=``), where its values are kept (4 to 8: here one host, one store, one file
    per cube)."""
    level = p.int("level")
    if level > 3:
        _storage(ctx, p, level)
        return
    tree = ctx.tree
    start = tree.folder(ctx.cwd, p.opt("path"))
    recursive = p.yes("recursive")
    container_filter = _filter(p.opt("container_filter"))
    measure_filter = _filter(p.opt("measure_filter"))
    columns = LIST_COLUMNS[level]
    rows: list[list[str]] = []
    for current in tree.walk(start, recursive=recursive):
        rows.extend(_rows(ctx, start, current, level, container_filter, measure_filter))
    types = ["string"] * len(columns)
    if level == 3:
        types[columns.index("LEVEL")] = "int"
    ctx.doc.add_grid(
        "list",
        f"Ophidia Filesystem: {start.path if start.path != '/' else '/'}",
        columns,
        types,
        rows,
    )


def _storage(ctx: OpContext, p: Params, level: int) -> None:
    pid = p.opt("cube")
    if pid in (None, "all"):
        raise ValidationError(
            f"oph_list level={level} describes one cube: give cube=", param="cube"
        )
    cube = ctx.cube(pid)
    container = posixpath.join(ctx.tree.path_of(cube.folder), cube.container_name)
    row = [container, cube.pid, "localhost (up)", "1", "catalog.sqlite", cube.data_file]
    width = level - 2
    ctx.doc.add_grid(
        "list",
        f"Ophidia Filesystem: cube {cube.pid}",
        STORAGE_COLUMNS[:width],
        STORAGE_TYPES[:width],
        [row[:width]],
    )


def _relative(start: Folder, path: str) -> str:
    return posixpath.relpath(path, start.path) if path != start.path else ""


def _rows(ctx, start, current, level, container_filter, measure_filter) -> list[list[str]]:
    width = len(LIST_COLUMNS[level])
    prefix = _relative(start, current.path)
    prefix = f"{prefix}/" if prefix else ""
    rows = []
    for sub in ctx.tree.subfolders(current):
        rows.append(_pad(["f", f"{prefix}{posixpath.basename(sub.path)}/"], width))
    if level == 0:
        return rows
    for container in ctx.store.containers.in_folder(current.id):
        if container_filter and not like(container.name, container_filter):
            continue
        name = f"{prefix}{container.name}"
        rows.append(_pad(["c", name], width))
        if level < 2:
            continue
        for cube in ctx.store.cubes_of(container):
            if measure_filter and not like(cube.measure, measure_filter):
                continue
            row = ["c", name, cube.pid, cube.description]
            if level == 3:
                row += [cube.measure, str(cube.level), cube.source]
            rows.append(row)
    return rows


def _filter(value: str | None) -> str | None:
    return None if value in (None, "all", "%") else value


def _pad(row: list[str], width: int) -> list[str]:
    return row + [""] * (width - len(row))


def fs(ctx: OpContext, p: Params) -> None:
    """ls and cd on the data directory on disk (mkdir, rm and mv too); mv never replaces."""
    command = p.str("command")
    paths = p.list("dpath") if p.opt("dpath") else []
    if command in ("cd", "ls"):
        target = paths[0] if paths else None
        try:
            if command == "cd":
                _cd(ctx, target or "/")
            else:
                _ls(ctx, p, target)
        except OSError as err:
            where = shown(target or ctx.cdd)
            raise OperatorError(f"{command} '{where}' failed: {err.strerror}") from None
        return
    if not paths:
        raise ValidationError(f"oph_fs command={command} needs dpath=", param="dpath")
    if command == "mv" and len(paths) != 2:
        raise ValidationError("oph_fs command=mv needs dpath=SOURCE|TARGET", param="dpath")
    real = [ctx.paths.real(ctx.cdd, path) for path in paths]
    if command == "mv":
        _attempt(command, paths[0], lambda: _move(real[0], real[1], paths[1]))
    for path, text in zip(real, paths, strict=True):
        if command == "mkdir":
            _attempt(command, text, lambda path=path: path.mkdir(parents=False))
        elif command == "rm":
            _attempt(command, text, path.rmdir)


def _attempt(command: str, path: str, action: Callable[[], None]) -> None:
    """Run a file-system action; its failure names the user's path, not the real one."""
    try:
        action()
    except OSError as err:
        raise OperatorError(f"{command} '{shown(path)}' failed: {err.strerror}") from None


def _cd(ctx: OpContext, target: str) -> None:
    real = ctx.paths.real(ctx.cdd, target)
    if not real.is_dir():
        raise OperatorError(f"directory '{shown(target)}' does not exist")
    virtual = ctx.paths.to_virtual(real)
    ctx.doc.add_text("fs", "Current Data Directory", virtual)
    ctx.outputs["cdd"] = virtual


def _move(source: Path, target: Path, shown_target: str) -> None:
    """Rename ``source``; an existing ``target`` is never replaced (a file is linked to its new
    name first, which fails if the name is taken, then unlinked)."""
    if target.exists() or target.is_symlink():
        raise OperatorError(
            f"'{shown(shown_target)}' already exists",
            hint="remove it first, or give a new name (e.g. DIR/NAME to move into DIR)",
        )
    if source.is_file() and not source.is_symlink():
        try:
            os.link(source, target)
        except FileExistsError:
            raise OperatorError(f"'{shown(shown_target)}' already exists") from None
        source.unlink()
    else:
        source.rename(target)


def _ls(ctx: OpContext, p: Params, target: str | None) -> None:
    real = ctx.paths.real(ctx.cdd, target)
    if not real.exists():
        raise OperatorError(f"'{shown(target or ctx.cdd)}' does not exist on disk")
    pattern = p.opt("file")
    recursive = p.yes("recursive")
    depth = p.int("depth") if recursive else 1  # 0: every level below
    rows = []
    for entry, name in _entries(real, depth):
        if pattern and not fnmatch.fnmatchcase(entry.name, pattern):
            continue
        is_dir = entry.is_dir()
        shown_name = f"{name}/" if is_dir and recursive else name
        rows.append(["d" if is_dir else "f", shown_name])
    title = ctx.paths.to_virtual(real)
    ctx.doc.add_grid("fs", title, ("T", "OBJECT"), ("string", "string"), rows)


def _entries(top: Path, depth: int, prefix: str = "") -> list[tuple[Path, str]]:
    """The visible entries under ``top`` down to ``depth`` levels (0: all), by relative name,
    each folder followed by what it holds; links are not followed."""
    if not top.is_dir():
        return [(top, top.name)]
    found = []
    for entry in sorted(top.iterdir()):
        if entry.name.startswith("."):
            continue
        name = f"{prefix}{entry.name}"
        found.append((entry, name))
        if depth != 1 and entry.is_dir() and not entry.is_symlink():
            found.extend(_entries(entry, depth - 1 if depth else 0, f"{name}/"))
    return found
