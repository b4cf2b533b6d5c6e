"""Help from the operator specifications: oph_man and oph_operators_list."""

from __future__ import annotations

import fnmatch

from ophsh.engine.context import OpContext
from ophsh.engine.params import Params
from ophsh.errors import NotFoundError
from ophsh.spec import closest

__all__ = ["man", "operators_list"]


def man(ctx: OpContext, p: Params) -> None:
    """The manual of one operator: what it does, its parameters, an example."""
    if p.str("function_type") == "primitive":
        raise NotFoundError(
            "the embedded store documents operators only",
            hint="see the README for the oph_apply primitives ophsh knows",
        )
    name = p.str("function")
    spec = ctx.specs.operator(name)
    if spec is None:
        guess = closest(name.lower(), list(ctx.specs.operators))
        raise NotFoundError(
            f"no operator called '{name}'", hint=f"did you mean {guess}?" if guess else None
        )
    ctx.doc.add_grid(
        "man_info",
        "Operator Information",
        ("NAME", "CATEGORY", "PERMISSION", "IN EMBEDDED STORE"),
        ("string",) * 4,
        [[spec.name, spec.category, spec.permission, "yes" if spec.family else "no"]],
    )
    ctx.doc.add_grid(
        "man_args",
        "Arguments",
        ("NAME", "TYPE", "MANDATORY", "DEFAULT", "MIN", "MAX", "VALUES", "MULTI", "HELP"),
        ("string",) * 9,
        [
            [
                a.name,
                a.type,
                "yes" if a.mandatory else "no",
                a.default or "",
                a.minvalue or "",
                a.maxvalue or "",
                "|".join(a.values or ()),
                "yes" if a.multivalue else "no",
                a.help,
            ]
            for a in spec.params
            if not a.is_global
        ],
    )
    text = spec.summary
    if spec.help:
        text += "\n\n" + spec.help
    if spec.example:
        text += "\n\nExample:\n  " + spec.example
    ctx.doc.add_text("man_function", spec.name, text)


def operators_list(ctx: OpContext, p: Params) -> None:
    """The names of the operators, optionally filtered by a shell pattern."""
    pattern = p.opt("operator_filter")
    names = sorted(ctx.specs.operators)
    if pattern and pattern not in ("''", '""'):
        glob = pattern.lower().replace("%", "*")
        if not any(c in glob for c in "*?["):
            glob = f"*{glob}*"
        names = [n for n in names if fnmatch.fnmatchcase(n, glob)]
    limit = p.int("limit_filter")
    if limit > 0:
        names = names[:limit]
    ctx.doc.add_grid(
        "operators_list_list", "Operators List", ("OPERATORS",), ("string",), [[n] for n in names]
    )
