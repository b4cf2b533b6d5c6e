"""One shell: turns a line into a built-in, an alias or an operator call on a backend.

Dispatch order (as oph_term): built-in, alias, then operator (``oph_`` optional). Only the first
word is looked up as an alias; its expansion is dispatched again. Operator lines get their
variables substituted, are parsed and validated against the operator's specification, receive
the context arguments the user left out (session, cwd, cdd, current cube...), and go to the
backend; the reply then updates the shell's variables.
"""

from __future__ import annotations

from collections.abc import Callable

from ophsh.backend import Backend, ProgressCallback
from ophsh.errors import OphshError, ParseError, UnknownCommandError, ValidationError
from ophsh.request import TaskRequest
from ophsh.shell import pictures, workflows
from ophsh.shell.advice import advise
from ophsh.shell.builtins import BUILTINS
from ophsh.shell.history import History
from ophsh.shell.outcome import Outcome
from ophsh.shell.state import ShellState
from ophsh.spec import Specs
from ophsh.syntax import (
    expand_alias,
    is_group,
    parse_request,
    repair,
    resolve_operator,
    split_values,
    split_words,
    strip_comment,
    validate,
)

__all__ = ["Shell"]

MAX_ALIAS_DEPTH = 50


class Shell:
    """Runs lines against a backend, keeping variables, aliases and history."""

    def __init__(
        self,
        backend: Backend,
        specs: Specs,
        *,
        state: ShellState | None = None,
        history: History | None = None,
    ) -> None:
        self.backend = backend
        self.specs = specs
        self.state = state or ShellState(specs)
        self.history = history or History(None)
        self.progress: ProgressCallback | None = None

    def start(self) -> None:
        """Resume the backend's session, cwd, cdd and last cube."""
        self.state.resume(self.backend.start())

    def run_line(self, line: str, *, depth: int = 0) -> Outcome:
        """Run one line; errors come back in the outcome, never as exceptions."""
        return _guarded(line.strip(), lambda: self._dispatch(line, depth))

    def _dispatch(self, line: str, depth: int) -> Outcome:
        text = strip_comment(line)
        if not text:
            return Outcome()
        word, _, rest = text.partition(" ")
        word = word.strip()
        if "\t" in word:
            word, _, more = word.partition("\t")
            rest = f"{more} {rest}"
        if word in BUILTINS:
            return BUILTINS[word](self, rest.strip())
        if word in self.state.aliases:
            if depth >= MAX_ALIAS_DEPTH:
                raise OphshError(f"alias '{word}' expands into itself too many times")
            expanded = expand_alias(self.state.aliases[word], split_words(rest))
            return self._dispatch(expanded, depth + 1)
        if word.startswith((".", "/", "~")) or word.endswith(".json"):
            return workflows.submit(
                self, self.state.expand(word), split_words(self.state.expand(rest))
            )
        return self.run_operator(text)

    def run_workflow(self, path: str, args: list[str]) -> Outcome:
        """Submit a workflow file with its ``$N`` arguments; errors come back in the outcome."""
        request = f"{path} {' '.join(args)}".strip()
        return _guarded(request, lambda: workflows.submit(self, path, args))

    def run_operator(self, text: str) -> Outcome:
        """Expand, parse, complete from the context, validate and submit an operator line."""
        expanded = self.state.expand(text)
        if not expanded.strip():
            return Outcome(request=text)
        if pictures.wanted(self, expanded):
            return pictures.show(self, expanded)
        request = self.request(expanded)
        self.state.check_size(request.line(), "request")
        reply = self.backend.submit(request, progress=self.progress)
        cube = request.get("cube") or ""
        self.state.follow(reply, massive=is_group(cube) or len(split_values(cube)) > 1)
        if request.operator == "oph_delete" and reply.ok:
            self.state.forget_cube(split_values(cube))
        outcome = Outcome(request=request.line(), reply=reply)
        if not outcome.ok:
            outcome.advice = advise(request, outcome.message or "")
        return outcome

    def request(self, line: str) -> TaskRequest:
        """The validated request an operator line makes where the shell is (variables already
        substituted); an error says what is wrong, with the corrected line when a PDF ate the
        underscores."""
        try:
            spec = resolve_operator(line.split(None, 1)[0], self.specs)
            parsed = parse_request(line)
            request, _ = validate(self.state.context().apply(parsed, spec), self.specs, strict=True)
            project = self.state.get("OPH_PROJECT")
            if project and not request.has("project"):
                request = request.with_arg("project", project)  # as oph_term sends it
        except (ParseError, UnknownCommandError, ValidationError) as err:
            fixed = repair(line, self.specs)
            if fixed and fixed != line:
                err.hint = f"did you mean: {fixed}"
            elif (
                isinstance(err, ValidationError) and err.param == "cube" and "needs" in err.message
            ):
                err.hint = "no current cube: OPH_DATACUBE is empty"
            raise
        return request


def _guarded(request: str, run: Callable[[], Outcome]) -> Outcome:
    """The shell's one boundary: a user's error becomes the outcome, never an exception."""
    try:
        return run()
    except OphshError as err:
        return Outcome(request=request, error=err)
