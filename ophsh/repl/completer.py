"""Completion as you type, driven by the operator specifications in ``grammar/``.

At the start of a line: operators (with or without ``oph_``), built-ins and aliases. After an
operator: its parameters not given yet (with type and default), then, after ``key=``, the
allowed values, cube PIDs (with their descriptions), container names, folders or files,
depending on what the parameter names. After ``$``: variable names.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document as Line

from ophsh.spec import OperatorSpec

if TYPE_CHECKING:
    from ophsh.shell.shell import Shell

__all__ = ["ShellCompleter"]

_VARIABLE = re.compile(r"\$\{?([A-Za-z0-9_]*)$")


class ShellCompleter(Completer):
    """Completions for the line before the cursor, from the shell's specs, state and store."""

    def __init__(self, shell: Shell) -> None:
        self.shell = shell
        self._cache: dict[str, tuple[float, list[tuple[str, str]]]] = {}

    def get_completions(
        self, document: Line, complete_event: CompleteEvent
    ) -> Iterator[Completion]:
        text = document.text_before_cursor
        variable = _VARIABLE.search(text)
        if variable:
            yield from self._variables(variable.group(1))
            return
        stripped = text.lstrip()
        if " " not in stripped and "\t" not in stripped:
            yield from self._first_words(stripped)
            return
        word, _, rest = stripped.partition(" ")
        spec = self._operator(word)
        if spec is None:
            return
        segment = _current_segment(rest)
        if "=" not in segment:
            yield from self._parameters(spec, rest, segment)
            return
        key, _, value = segment.partition("=")
        param = spec.param(key.strip().lower())
        if param is not None:
            yield from self._values(param, value)

    # -- what can be offered -------------------------------------------------------------------
    def _first_words(self, prefix: str) -> Iterator[Completion]:
        specs = self.shell.specs
        seen: set[str] = set()
        for name, builtin in specs.builtins.items():
            if name.startswith(prefix):
                seen.add(name)
                yield Completion(name, -len(prefix), display_meta=builtin.summary)
        for name, body in self.shell.state.aliases.items():
            if name.startswith(prefix) and name not in seen:
                seen.add(name)
                yield Completion(name, -len(prefix), display_meta=f"alias: {body}")
        for name, spec in sorted(specs.operators.items()):
            short = name.removeprefix("oph_")
            if name.startswith(prefix) or short.startswith(prefix):
                shown = name if name.startswith(prefix) else short
                meta = spec.summary + ("" if spec.family else " (not in the embedded store)")
                yield Completion(shown + " ", -len(prefix), display=shown, display_meta=meta)

    def _operator(self, word: str) -> OperatorSpec | None:
        alias = self.shell.state.aliases.get(word)
        if alias:
            word = alias.split(None, 1)[0]
        return self.shell.specs.operator(word)

    def _parameters(self, spec: OperatorSpec, rest: str, prefix: str) -> Iterator[Completion]:
        given = {part.split("=", 1)[0].strip().lower() for part in _segments(rest)[:-1]}
        for param in spec.params:
            if param.is_system or param.name in given or not param.name.startswith(prefix):
                continue
            default = f", default {param.default}" if param.default not in (None, "") else ""
            need = "required " if param.mandatory else ""
            yield Completion(
                param.name + "=",
                -len(prefix),
                display=param.name,
                display_meta=f"{need}{param.type}{default}",
            )

    def _values(self, param, value: str) -> Iterator[Completion]:
        item = value.rsplit("|", 1)[-1] if param.multivalue else value
        if param.values:
            for allowed in param.values:
                if allowed.startswith(item):
                    yield Completion(allowed, -len(item))
            return
        if param.kind == "cube":
            for pid, description in self._cubes():
                if pid.startswith(item):
                    yield Completion(pid, -len(item), display_meta=description)
        elif param.kind == "container":
            for name, description in self._containers():
                if name.startswith(item):
                    yield Completion(name, -len(item), display_meta=description)
        elif param.kind == "folder":
            for name in self._folders():
                if name.startswith(item):
                    yield Completion(name + "/", -len(item), display_meta="folder")
        elif param.kind in ("file", "dir"):
            inner = item.rsplit("path=", 1)[-1] if item.startswith("[") else item
            yield from _paths(self._data_dir(), inner, dirs_only=param.kind == "dir")

    def _variables(self, prefix: str) -> Iterator[Completion]:
        names = set(self.shell.state.variables) | set(self.shell.specs.variables)
        for name in sorted(names):
            if name.startswith(prefix):
                value = self.shell.state.get(name) or ""
                yield Completion(name, -len(prefix), display_meta=value[:60])

    # -- the store's contents (embedded backend), cached briefly --------------------------------
    def _cached(self, key: str, fetch) -> list[tuple[str, str]]:
        hit = self._cache.get(key)
        if hit and time.monotonic() - hit[0] < 2.0:
            return hit[1]
        try:
            found = list(fetch())
        except Exception:  # completion never breaks typing: nothing offered instead
            found = []
        self._cache[key] = (time.monotonic(), found)
        return found

    def _tree(self):
        service = getattr(self.shell.backend, "service", None)
        session_url = self.shell.state.get("OPH_SESSION_ID")
        if service is None or not session_url:
            return None, None
        session = service.sessions.by_url(session_url)
        if session is None:
            return None, None
        from ophsh.engine.vfs import Tree

        return service.store, Tree(service.store, session)

    def _cubes(self) -> list[tuple[str, str]]:
        def fetch() -> Iterable[tuple[str, str]]:
            store, tree = self._tree()
            if tree is None:
                return []
            ids = [f.id for f in tree.walk(tree.root, recursive=True)]
            marks = ",".join("?" * len(ids))
            cubes = store.cubes_where(f"containers.folder IN ({marks})", tuple(ids))
            return [(c.pid, c.description or f"{c.container_name}, level {c.level}") for c in cubes]

        return self._cached("cubes", fetch)

    def _containers(self) -> list[tuple[str, str]]:
        def fetch() -> Iterable[tuple[str, str]]:
            store, tree = self._tree()
            if tree is None:
                return []
            folder = tree.folder(self.shell.state.get("OPH_CWD") or "/")
            return [(c.name, c.description) for c in store.containers_in(folder.id)]

        return self._cached("containers", fetch)

    def _folders(self) -> list[str]:
        def fetch() -> Iterable[tuple[str, str]]:
            _, tree = self._tree()
            if tree is None:
                return []
            folder = tree.folder(self.shell.state.get("OPH_CWD") or "/")
            return [(sub.path.rsplit("/", 1)[-1], "") for sub in tree.subfolders(folder)]

        return [name for name, _ in self._cached("folders", fetch)]

    def _data_dir(self) -> Path:
        return Path(os.getcwd())


def _segments(rest: str) -> list[str]:
    """``key=value`` pieces split on ``;`` outside brackets (the last one may be unfinished)."""
    parts, depth, current = [], 0, ""
    for char in rest:
        depth += char == "["
        depth -= char == "]"
        if char == ";" and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [p.strip() for p in parts]


def _current_segment(rest: str) -> str:
    return _segments(rest)[-1]


def _paths(base: Path, prefix: str, *, dirs_only: bool) -> Iterator[Completion]:
    folder, _, start = prefix.rpartition("/")
    where = (base / folder) if not prefix.startswith("/") else Path(folder or "/")
    try:
        entries = sorted(os.scandir(where), key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        if not entry.name.startswith(start) or entry.name.startswith("."):
            continue
        is_dir = entry.is_dir()
        if dirs_only and not is_dir:
            continue
        yield Completion(
            entry.name + ("/" if is_dir else ""),
            -len(start),
            display_meta="folder" if is_dir else "file",
        )
