"""Check a whole ``.oph`` script before its first line runs.

Every command is read as it will be run: ``$1..$N`` filled in (a missing one is an error),
aliases expanded, operators parsed and checked against their specifications (unknown
operators and parameters, values out of range, parameters a command cannot do without). A
value that holds a variable the script sets itself, or one that follows the replies
(``$OPH_DATACUBE``...), is only known while the script runs: its parameter name is checked,
its value is not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

from ophsh.errors import OphshError, ValidationError
from ophsh.request import Context, TaskRequest
from ophsh.shell import pictures
from ophsh.shell.builtins import BUILTINS
from ophsh.shell.state import parse_assignment
from ophsh.spec import Specs
from ophsh.syntax import (
    expand_alias,
    parse_request,
    repair,
    resolve_operator,
    split_words,
    substitute,
    validate,
)

__all__ = ["FOLLOWED", "Problem", "check_commands"]

# Variables that change as commands run: their value now says nothing about later lines.
FOLLOWED = frozenset({"OPH_SESSION_ID", "OPH_CWD", "OPH_CDD", "OPH_DATACUBE", "OPH_TOKEN"})
_LATER = "\x00later\x00"  # stands for a value known only when the line runs
_MAX_DEPTH = 20
_CONTEXT = frozenset(f.name for f in fields(Context))  # what the shell adds to every command


@dataclass(frozen=True)
class Problem:
    number: int  # the script line
    error: OphshError


class _Checker:
    def __init__(self, specs: Specs, variables: dict[str, str], aliases: dict[str, str]) -> None:
        self.specs = specs
        self.variables = dict(variables)
        self.aliases = dict(aliases)
        self.later: set[str] = set(FOLLOWED)  # names whose value is known only at run time

    def lookup(self, name: str) -> str | None:
        return _LATER if name in self.later else self.variables.get(name)

    def line(self, text: str, depth: int = 0) -> None:
        word, _, rest = text.partition(" ")
        word = word.strip()
        if word in BUILTINS:
            self.builtin(word, rest.strip())
        elif word in self.aliases:
            if depth < _MAX_DEPTH:
                self.line(expand_alias(self.aliases[word], split_words(rest)), depth + 1)
        elif word.startswith((".", "/", "~", "$")) or word.endswith(".json"):
            return  # a workflow file (checked when it is submitted), or a computed command
        else:
            self.operator(text)

    def builtin(self, word: str, rest: str) -> None:
        if word in ("setenv", "setalias"):
            name, value, _ = parse_assignment(rest)
            if word == "setalias":
                self.aliases[name] = value
            else:
                self.later.add(name)
        elif word == "unsetenv":
            self.later.add(rest)

    def operator(self, text: str) -> None:
        try:
            self._operator(text)
        except OphshError as err:
            fixed = repair(text, self.specs)
            if fixed and fixed != text:
                err.hint = f"did you mean: {fixed}"
            raise

    def _operator(self, text: str) -> None:
        spec = resolve_operator(text.split(None, 1)[0], self.specs)
        line = substitute(text, self.lookup)
        request = parse_request(line)
        if spec.name == "oph_explorecube":
            request = request.without(*pictures.KEYS)  # the shell's own picture keys
        given = {k.lower() for k, _ in request.arguments}
        known = TaskRequest(
            request.operator, tuple((k, "" if _LATER in v else v) for k, v in request.arguments)
        )
        validate(known, self.specs, strict=True, complete=False)
        for param in spec.params:
            filled_by_context = param.is_global or param.name in _CONTEXT
            if param.mandatory and param.name not in given and not filled_by_context:
                raise ValidationError(f"{spec.name} needs {param.name}=", param=param.name)


def check_commands(
    commands: Sequence[tuple[int, str]],
    specs: Specs,
    variables: dict[str, str],
    aliases: dict[str, str],
) -> list[Problem]:
    """The problems found in ``commands`` (line number, text with ``$N`` already filled)."""
    checker = _Checker(specs, variables, aliases)
    problems = []
    for number, text in commands:
        try:
            checker.line(text.lstrip("-").strip())
        except OphshError as err:
            problems.append(Problem(number, err))
    return problems
