"""The two small languages of oph_apply, parsed by hand and never run as Python.

A query is a nest of primitive calls over ``measure`` (the row's array), ``dimension`` (the
implicit dimension's values), numbers and quoted strings. Predicates and a few primitives take
expressions of ``x`` (the element): numbers, ``x``, ``nan``, ``+ - * / ^``, parentheses and a
few functions of one argument.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ophsh.errors import ValidationError

__all__ = ["Call", "Keyword", "Literal", "Node", "parse_query", "x_expression"]


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Node, ...]
    position: int


@dataclass(frozen=True)
class Keyword:
    name: str  # measure or dimension


@dataclass(frozen=True)
class Literal:
    value: float | str


Node = Call | Keyword | Literal

_TOKEN = re.compile(
    r"\s*(?:(?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<string>'[^']*'|\"[^\"]*\")"
    r"|(?P<op>\*\*|[-+*/^(),]))"
)


def _tokens(text: str, what: str) -> list[tuple[str, str, int]]:
    out, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            raise ValidationError(f"{what}: unexpected '{text[pos:].strip()[:20]}' at {pos + 1}")
        kind = match.lastgroup or "op"
        out.append((kind, match.group(kind), match.start(kind)))
        pos = match.end()
    out.append(("end", "", len(text)))
    return out


class _Parser:
    def __init__(self, text: str, what: str) -> None:
        self.what = what
        self.tokens = _tokens(text, what)
        self.i = 0

    def peek(self) -> tuple[str, str, int]:
        return self.tokens[self.i]

    def take(self, value: str | None = None) -> tuple[str, str, int]:
        token = self.tokens[self.i]
        if value is not None and token[1] != value:
            found = token[1] or "the end"
            raise ValidationError(f"{self.what}: expected '{value}' at {token[2] + 1}, not {found}")
        self.i += 1
        return token

    def finish(self) -> None:
        kind, value, pos = self.peek()
        if kind != "end":
            raise ValidationError(f"{self.what}: unexpected '{value}' at {pos + 1}")


def parse_query(text: str) -> Node:
    """The query as a tree of calls, keywords and literals."""
    try:
        parser = _Parser(text, "query")
        node = _query_node(parser)
        parser.finish()
    except ValidationError as err:
        raise ValidationError(
            err.message, hint="a query is made of primitive calls, measure, numbers and strings"
        ) from None
    return node


def _query_node(p: _Parser) -> Node:
    kind, value, pos = p.take()
    if kind == "op" and value in "-+" and p.peek()[0] == "number":
        number = float(p.take()[1])
        return Literal(-number if value == "-" else number)
    if kind == "number":
        return Literal(float(value))
    if kind == "string":
        return Literal(value[1:-1])
    if kind == "name":
        if p.peek()[1] == "(":
            p.take("(")
            args: list[Node] = []
            if p.peek()[1] != ")":
                args.append(_query_node(p))
                while p.peek()[1] == ",":
                    p.take(",")
                    args.append(_query_node(p))
            p.take(")")
            return Call(value.lower(), tuple(args), pos)
        if value.lower() in ("measure", "dimension"):
            return Keyword(value.lower())
        if value.lower() in ("null", "nan"):
            return Literal(float("nan"))
        raise ValidationError(f"query: '{value}' is neither measure, dimension nor a primitive")
    raise ValidationError(f"query: unexpected '{value or 'end'}' at {pos + 1}")


_FUNCTIONS = {
    "abs": np.abs,
    "sqrt": np.sqrt,
    "exp": np.exp,
    "log": np.log,
    "ln": np.log,
    "log10": np.log10,
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
    "floor": np.floor,
    "ceil": np.ceil,
    "round": np.round,
}
_CONSTANTS = {"nan": np.nan, "inf": np.inf, "pi": np.pi, "e": np.e}


def x_expression(text: str, x: np.ndarray | float) -> np.ndarray | float:
    """The value of an expression of ``x`` such as ``'x-500'``, ``'2*x^2'`` or ``'abs(x)'``."""
    p = _Parser(str(text), f"expression '{text}'")
    with np.errstate(all="ignore"):
        value = _sum(p, x)
    p.finish()
    return value


def _sum(p: _Parser, x):
    value = _product(p, x)
    while p.peek()[1] in ("+", "-"):
        op = p.take()[1]
        right = _product(p, x)
        value = value + right if op == "+" else value - right
    return value


def _product(p: _Parser, x):
    value = _power(p, x)
    while p.peek()[1] in ("*", "/"):
        op = p.take()[1]
        right = _power(p, x)
        value = value * right if op == "*" else np.true_divide(value, right)
    return value


def _power(p: _Parser, x):
    base = _unary(p, x)
    if p.peek()[1] in ("^", "**"):
        p.take()
        return np.power(base, _power(p, x))
    return base


def _unary(p: _Parser, x):
    if p.peek()[1] in ("-", "+"):
        sign = p.take()[1]
        value = _unary(p, x)
        return -value if sign == "-" else value
    kind, value, pos = p.take()
    if kind == "number":
        return float(value)
    if value == "(":
        inner = _sum(p, x)
        p.take(")")
        return inner
    if kind == "name":
        name = value.lower()
        if name == "x":
            return x
        if name in _CONSTANTS:
            return _CONSTANTS[name]
        if name in _FUNCTIONS and p.peek()[1] == "(":
            p.take("(")
            inner = _sum(p, x)
            p.take(")")
            return _FUNCTIONS[name](inner)
    allowed = "x, numbers, + - * / ^, ( ) and " + ", ".join(_FUNCTIONS)
    raise ValidationError(f"{p.what}: '{value or 'end'}' at {pos + 1}; allowed: {allowed}")
