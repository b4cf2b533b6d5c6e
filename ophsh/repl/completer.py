"""Completion as you type: :func:`ophsh.syntax.suggest.suggest` says what kind of thing goes
where the cursor is; this module turns that into candidates from the specifications, the
shell's variables and aliases, and what the backend says exists (cubes with their
descriptions, containers, folders, files). Both backends answer those questions, so completion
works the same on the embedded store and against a remote server.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document as Line

from ophsh.backend import Entry
from ophsh.spec import ParamSpec
from ophsh.syntax.suggest import FirstWord, Parameter, Primitive, Value, Variable, suggest

if TYPE_CHECKING:
    from ophsh.shell.shell import Shell

__all__ = ["ShellCompleter"]

log = logging.getLogger(__name__)
FRESH_SECONDS = 2.0  # how long a listing from the backend is reused


class ShellCompleter(Completer):
    """Completions for the line before the cursor."""

    def __init__(self, shell: Shell) -> None:
        self.shell = shell
        self._cache: dict[tuple, tuple[float, list[Entry]]] = {}

    def get_completions(
        self, document: Line, complete_event: CompleteEvent
    ) -> Iterator[Completion]:
        wanted = suggest(document.text_before_cursor, self.shell.specs, self.shell.state.aliases)
        if isinstance(wanted, FirstWord):
            yield from self._first_words(wanted.prefix)
        elif isinstance(wanted, Parameter):
            yield from self._parameters(wanted)
        elif isinstance(wanted, Value):
            yield from self._values(wanted.param, wanted.prefix)
        elif isinstance(wanted, Primitive):
            yield from self._primitives(wanted.prefix)
        elif isinstance(wanted, Variable):
            yield from self._variables(wanted.prefix)

    def _primitives(self, prefix: str) -> Iterator[Completion]:
        """Primitive names inside oph_apply's query=, with an opening parenthesis."""
        lowered = prefix.lower()
        for name, spec in sorted(self.shell.specs.primitives.items()):
            if name.startswith(lowered) or name.removeprefix("oph_").startswith(lowered):
                yield Completion(name + "(", -len(prefix), display=name, display_meta=spec.help)

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

    def _parameters(self, wanted: Parameter) -> Iterator[Completion]:
        for param in wanted.operator.params:
            if param.is_system or param.name in wanted.given:
                continue
            if not param.name.startswith(wanted.prefix):
                continue
            default = f", default {param.default}" if param.default not in (None, "") else ""
            need = "required " if param.mandatory else ""
            yield Completion(
                param.name + "=",
                -len(wanted.prefix),
                display=param.name,
                display_meta=f"{need}{param.type}{default}",
            )

    def _values(self, param: ParamSpec, item: str) -> Iterator[Completion]:
        if param.values:
            for allowed in param.values:
                if allowed.startswith(item):
                    yield Completion(allowed, -len(item))
            return
        where = self.shell.state.context()
        backend = self.shell.backend
        if param.kind == "cube":
            entries = self._listed("cubes", lambda: backend.cubes(where))
        elif param.kind == "container":
            entries = self._listed("containers", lambda: backend.containers(where), where.cwd)
        elif param.kind == "folder":
            entries = self._listed("folders", lambda: backend.folders(where), where.cwd)
        elif param.kind in ("file", "dir"):
            directory, _, item = item.rpartition("/")
            entries = self._listed(
                "files", lambda: backend.files(where, directory), where.cdd, directory
            )
            entries = [e for e in entries if e.is_dir or param.kind == "file"]
        else:
            return
        for entry in entries:
            if entry.name.startswith(item) and (item or not entry.name.startswith(".")):
                text = entry.name + ("/" if entry.is_dir else "")
                yield Completion(text, -len(item), display_meta=entry.note)

    def _variables(self, prefix: str) -> Iterator[Completion]:
        names = set(self.shell.state.variables) | set(self.shell.specs.variables)
        for name in sorted(names):
            if name.startswith(prefix):
                value = self.shell.state.get(name) or ""
                yield Completion(name, -len(prefix), display_meta=value[:60])

    def _listed(self, kind: str, fetch: Callable[[], list[Entry]], *key: str) -> list[Entry]:
        """What the backend lists, reused for a moment; a failure offers nothing and is logged
        (completion never breaks typing)."""
        cache_key = (kind, *key)
        hit = self._cache.get(cache_key)
        if hit and time.monotonic() - hit[0] < FRESH_SECONDS:
            return hit[1]
        try:
            found = list(fetch())
        except Exception:
            log.warning("completion could not list %s", kind, exc_info=True)
            found = []
        self._cache[cache_key] = (time.monotonic(), found)
        return found
