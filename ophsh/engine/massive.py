"""Bracket filters: ``cube=[...]`` selects cubes, ``src_path=[...]`` selects files.

Filter keys are those of Ophidia's massive operations. Cube filters look in the cwd (or
``path``), optionally below it, and AND the conditions; ``metadata_key`` i pairs with
``metadata_value`` i on the same metadata item, and values match exactly. A leading ``!``
negates a condition. Matches come back in a stable order (by cube id, by file name).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from pathlib import Path

from ophsh.engine.context import OpContext
from ophsh.engine.model import Cube, parse_pid
from ophsh.errors import OperatorError, ValidationError
from ophsh.syntax import parse_arguments, split_values

__all__ = ["filter_args", "parse_cube_filter", "select_cubes", "select_files"]


def like(text: str, pattern: str) -> bool:
    """SQL LIKE, as Ophidia's name filters use it: ``%`` any run, ``_`` one character."""
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, text, flags=re.DOTALL) is not None


def filter_args(body: str, bare_key: str) -> dict[str, str]:
    """The ``key=value`` pairs of a filter body; a body without ``=`` is ``bare_key=body``."""
    body = body.strip()
    if body in ("", "*", "all"):
        return {}
    if "=" not in body:
        return {bare_key: body}
    return {key.lower(): value for key, value in parse_arguments(body) if value != ""}


def parse_cube_filter(text: str, largest: int) -> set[int]:
    """Cube ids chosen by a subset string: ``3``, ``2:7``, ``1:2:9``, ``end``, joined by ``,``."""
    chosen: set[int] = set()
    for part in text.replace("|", ",").split(","):
        bounds = [b.strip() for b in part.split(":")]
        try:
            nums = [largest if b == "end" else int(b) for b in bounds]
        except ValueError:
            raise ValidationError(f"cube_filter '{part}' is not an id or a range of ids") from None
        if len(nums) == 1:
            chosen.add(nums[0])
        elif len(nums) == 2:
            chosen.update(range(nums[0], nums[1] + 1))
        elif len(nums) == 3 and nums[1] > 0:
            chosen.update(range(nums[0], nums[2] + 1, nums[1]))
        else:
            raise ValidationError(f"cube_filter '{part}' is not a valid range")
    return chosen


def _negated(value: str) -> tuple[bool, str]:
    return (True, value[1:]) if value.startswith("!") else (False, value)


def select_cubes(ctx: OpContext, body: str) -> list[Cube]:
    """The cubes a ``cube=[...]`` filter names, in id order."""
    args = filter_args(body, "cube_filter")
    tree = ctx.tree
    start = tree.folder(ctx.cwd, args.get("path"))
    recursive = args.get("recursive", "no") == "yes"
    folders = tree.walk(start, recursive=recursive)
    depth = int(args.get("depth", "0") or 0)
    if depth > 0:
        base = start.path.rstrip("/").count("/")
        folders = [f for f in folders if f.path.rstrip("/").count("/") - base < depth]
    cubes = ctx.store.cubes_in([f.id for f in folders])
    predicates = _predicates(ctx, args)
    return [c for c in cubes if all(test(c) for test in predicates)]


Predicate = Callable[[Cube], bool]


def _predicates(ctx: OpContext, args: dict[str, str]) -> list[Predicate]:
    """One test per filter key; a value starting with '!' selects the cubes that fail it."""
    tests: list[Predicate] = []

    def add(key: str, test: Callable[[Cube, str], bool]) -> None:
        if key in args:
            negate, value = _negated(args[key])
            tests.append(lambda c: test(c, value) != negate)

    add("container", lambda c, v: c.container_name in split_values(v))
    add(
        "container_pid",
        lambda c, v: f"{c.web_server}/{c.container}" in [x.rstrip("/") for x in split_values(v)],
    )
    add("level", lambda c, v: str(c.level) in split_values(v))
    add("measure", lambda c, v: c.measure in split_values(v))
    add("parent_cube", lambda c, v: _parent_id(v) in ctx.store.parents(c))
    add("cube_filter", lambda c, v: c.id in parse_cube_filter(v, largest=c.id))
    if "metadata_key" in args or "metadata_value" in args:
        keys = split_values(args.get("metadata_key", ""))
        values = split_values(args["metadata_value"]) if "metadata_value" in args else []
        if len(values) > len(keys):
            raise ValidationError("each metadata_value needs its metadata_key")
        pairs = [(k, values[i] if i < len(values) else None) for i, k in enumerate(keys)]
        tests.append(lambda c: _metadata_match(ctx, c, pairs))
    return tests


def _parent_id(pid: str) -> int | None:
    parts = parse_pid(pid)
    return parts.cube if parts else None


def _metadata_match(ctx: OpContext, cube: Cube, pairs: list[tuple[str, str | None]]) -> bool:
    """Every pair holds: the cube has key K (with value V); ``!K`` / ``!V`` ask for the opposite."""
    for key, value in pairs:
        key_negated, key = _negated(key)
        value_negated, value = _negated(value) if value is not None else (False, None)
        found = ctx.store.metadata.has(cube.id, key, value)
        if (not found) != (key_negated or value_negated):
            return False
    return True


def select_files(ctx: OpContext, body: str) -> list[Path]:
    """The files a ``src_path=[path=...;file=...]`` filter names, sorted by path; a path whose
    last part is a shell pattern (``[data/*.nc]``) is a folder and a ``file=`` pattern."""
    args = filter_args(body, "path")
    head, slash, tail = (args.get("path") or "").rpartition("/")
    if "file" not in args and any(c in tail for c in "*?["):  # [dir/*.nc]: a path with a pattern
        args["file"] = tail
        if slash:
            args["path"] = head or "/"
        else:
            del args["path"]
    directory = ctx.paths.real(ctx.cdd, args.get("path"))
    if not directory.is_dir():
        raise OperatorError(f"directory '{args.get('path', ctx.cdd)}' does not exist")
    pattern = args.get("file") or "*"
    recursive = args.get("recursive", "no") == "yes"
    candidates = directory.rglob("*") if recursive else directory.iterdir()
    patterns = split_values(pattern)
    files = [p for p in candidates if p.is_file()]
    chosen = sorted(p for p in files if any(fnmatch.fnmatchcase(p.name, pat) for pat in patterns))
    if not chosen:
        where = args.get("path") or ctx.cdd
        below = " or below it" if recursive else ""
        kinds = sorted({f"*{p.suffix}" if p.suffix else p.name for p in files})[:5]
        held = f"it holds {len(files)} file(s): {', '.join(kinds)}" if files else "it has no files"
        raise OperatorError(
            f"no file matches file={pattern} in '{where}'{below} ({held}); "
            "check file= (a shell pattern such as *.fits) and path="
        )
    return chosen
