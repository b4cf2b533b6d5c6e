"""What kind of thing goes where the cursor is: the pure half of completion.

:func:`suggest` reads the text before the cursor and says what may come next: a first word, a
parameter of the operator, a value of one of its parameters, or a variable name. It knows the
specifications and the aliases, nothing else; the completer then looks the candidates up
(pgcli's ``suggest_type`` is the model).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from ophsh.spec import OperatorSpec, ParamSpec, Specs

__all__ = [
    "FirstWord",
    "Nothing",
    "Parameter",
    "Primitive",
    "Suggestion",
    "Value",
    "Variable",
    "suggest",
]

_VARIABLE = re.compile(r"\$\{?([A-Za-z0-9_]*)$")
_PLACEHOLDER = re.compile(r"^\$\{?(\d+)\}?$")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class FirstWord:
    """An operator (``oph_`` optional), a built-in or an alias starting with ``prefix``."""

    prefix: str


@dataclass(frozen=True)
class Parameter:
    """A parameter of ``operator`` not yet given."""

    operator: OperatorSpec
    prefix: str
    given: frozenset[str]


@dataclass(frozen=True)
class Value:
    """A value of ``param``; ``prefix`` is the part of the current item already typed."""

    operator: OperatorSpec
    param: ParamSpec
    prefix: str


@dataclass(frozen=True)
class Primitive:
    """A primitive of oph_apply's query (grammar/primitives.toml) starting with ``prefix``."""

    prefix: str


@dataclass(frozen=True)
class Variable:
    prefix: str


@dataclass(frozen=True)
class Nothing:
    pass


Suggestion = FirstWord | Parameter | Value | Primitive | Variable | Nothing


def suggest(text: str, specs: Specs, aliases: Mapping[str, str]) -> Suggestion:
    """What may follow ``text`` (the line before the cursor)."""
    variable = _VARIABLE.search(text)
    if variable:
        return Variable(variable.group(1))
    stripped = text.lstrip()
    if not any(c in stripped for c in " \t"):
        return FirstWord(stripped)
    word, rest = re.split(r"[ \t]+", stripped, maxsplit=1)
    if word in aliases:
        return _after_alias(aliases[word], rest, specs)
    spec = specs.operator(word)
    if spec is None:
        return Nothing()
    segments = _segments(rest)
    current = segments[-1]
    if "=" not in current:
        given = frozenset(s.split("=", 1)[0].strip().lower() for s in segments[:-1])
        return Parameter(spec, current, given)
    key, _, value = current.partition("=")
    param = spec.param(key.strip().lower())
    if param is None:
        return Nothing()
    if spec.name == "oph_apply" and param.name == "query":
        word = _WORD.search(value)
        return Primitive(word.group(0) if word else "")
    return Value(spec, param, _item(param, value))


def _after_alias(body: str, rest: str, specs: Specs) -> Suggestion:
    """After an alias the words fill its ``$1, $2...``: offer values of the parameter the
    current word lands in (``del `` offers cubes), never ``key=`` names that would break it."""
    spec = specs.operator(body.split(None, 1)[0]) if body.strip() else None
    if spec is None:
        return Nothing()
    words = rest.split()
    position = len(words) + (0 if not rest or rest[-1] in " \t" else -1) + 1
    prefix = "" if not rest or rest[-1] in " \t" else words[-1]
    for segment in _segments(body.split(None, 1)[1] if " " in body.strip() else ""):
        key, _, value = segment.partition("=")
        for item in value.split("|"):
            match = _PLACEHOLDER.match(item.strip())
            if match and int(match.group(1)) == position:
                param = spec.param(key.strip().lower())
                return Value(spec, param, prefix) if param is not None else Nothing()
    return Nothing()


def _item(param: ParamSpec, value: str) -> str:
    """The part of a value being typed: the last ``|`` item, or a path inside ``[path=...``."""
    item = value.rsplit("|", 1)[-1] if param.multivalue else value
    if item.startswith("[") and param.kind in ("file", "dir"):
        return item.rsplit("path=", 1)[-1] if "path=" in item else item[1:]
    return item


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
