"""Help from the operator specifications: oph_man and oph_operators_list, in the shapes of
Ophidia's replies (function name and version, function info, function arguments; the operator
list and a closing tip)."""

from __future__ import annotations

import fnmatch

from ophsh.engine.context import OpContext
from ophsh.engine.params import Params
from ophsh.errors import NotFoundError
from ophsh.spec import OperatorSpec, PrimitiveSpec, closest

__all__ = ["AUTHOR", "VERSION", "abstract", "man", "operators_list", "primitives_list"]

VERSION = "1.0"  # every operator of Ophidia 1.9 is at version 1.0
AUTHOR = "ophsh (from its operator specifications)"
TIP = (
    "For the arguments of one of these operators, with their defaults and allowed values, "
    "run:\n OPH_TERM: oph_man function=OPERATORNAME;\n"
    ' SUBMISSION STRING: "operator=oph_man;function=OPERATORNAME;"\n'
)


def abstract(spec: OperatorSpec) -> str:
    """What an operator does, in Ophidia's sections ([Type], [Behaviour], [Parameters],
    [Examples]) but in our own words."""
    lines = ["[Type]", f"{spec.category or 'General'}.", "", "[Behaviour]"]
    lines.append(spec.summary or spec.name)
    if spec.help:
        lines += ["", spec.help]
    documented = [p for p in spec.params if p.help and not p.is_global]
    if documented:
        lines += ["", "[Parameters]"]
        lines += [f"- {p.name} : {p.help}" for p in documented]
    if spec.example:
        lines += ["", "[Examples]", f"OPH_TERM: {spec.example}"]
    if not spec.family:
        lines += ["", "(Not run by the embedded store of ophsh.)"]
    return "\n".join(lines)


def man(ctx: OpContext, p: Params) -> None:
    """The manual of one operator: name and version, what it does, its arguments."""
    if p.str("function_type") == "primitive":
        _man_primitive(ctx, p.str("function"))
        return
    name = p.str("function")
    spec = ctx.specs.operator(name)
    if spec is None:
        if name.lower() in ctx.specs.primitives:
            raise NotFoundError(
                f"{name} is a primitive of oph_apply, not an operator",
                hint=f"oph_man function={name};function_type=primitive;",
            )
        guess = closest(name.lower(), list(ctx.specs.operators))
        raise NotFoundError(
            f"no operator called '{name}'", hint=f"did you mean {guess}?" if guess else None
        )
    ctx.doc.add_text("man_function", "Function Name and Version", f"{spec.name.upper()} v{VERSION}")
    ctx.doc.add_grid(
        "man_info",
        "Function Info",
        ("INFO TYPE", "INFO VALUE"),
        ("string", "string"),
        [["Abstract", abstract(spec)], ["Author", AUTHOR], ["Category", spec.category]],
    )
    ctx.doc.add_grid(
        "man_args",
        "Function Arguments",
        ("NAME", "TYPE", "MANDATORY", "DEFAULT", "MIN", "MAX", "VALUES", "MULTIVALUE"),
        ("string",) * 8,
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
            ]
            for a in spec.params
            if not a.is_global
        ],
    )


def operators_list(ctx: OpContext, p: Params) -> None:
    """The operators' names (as Ophidia writes them, OPH_...), optionally those containing a
    text (any case) or matching a shell pattern."""
    pattern = p.opt("operator_filter")
    names = sorted(name.upper() for name in ctx.specs.operators)
    if pattern and pattern not in ("''", '""'):
        glob = pattern.upper().replace("%", "*")
        if not any(c in glob for c in "*?["):
            glob = f"*{glob}*"
        names = [n for n in names if fnmatch.fnmatchcase(n, glob)]
    limit = p.int("limit_filter")
    if limit > 0:
        names = names[:limit]
    ctx.doc.add_grid(
        "operators_list_list", "Operators List", ("OPERATORS",), ("string",), [[n] for n in names]
    )
    ctx.doc.add_text("operators_list_tip", "Help Message", TIP)


PRIMITIVE_COLUMNS = ("PRIMITIVE NAME", "RETURN TYPE", "PRIMITIVE TYPE", "DBMS ID", "LIBRARY")
PRIMITIVES_TIP = (
    "For the arguments of one of these primitives run:\n"
    " OPH_TERM: oph_man function=PRIMITIVENAME;function_type=primitive;\n"
)


def primitives_list(ctx: OpContext, p: Params) -> None:
    """The primitives of oph_apply, with more columns at higher levels."""
    level = p.int("level")
    returns = p.str("return_type")
    kind = p.str("primitive_type")
    text = (p.opt("primitive_filter") or "").strip("'\"").lower().replace("%", "")
    dbms = p.opt("dbms_filter")
    rows = [
        [s.name, s.returns, s.kind, "1", "embedded"]
        for s in sorted(ctx.specs.primitives.values(), key=lambda s: s.name)
        if returns in ("all", s.returns)
        and kind in ("all", s.kind)
        and text in s.name
        and dbms in (None, "", "-", "1")
    ]
    limit = p.int("limit_filter")
    if limit > 0:
        rows = rows[:limit]
    width = max(1, min(level, len(PRIMITIVE_COLUMNS)))
    ctx.doc.add_grid(
        "primitives_list_list",
        "Primitives List",
        PRIMITIVE_COLUMNS[:width],
        ("string",) * width,
        [row[:width] for row in rows],
    )
    ctx.doc.add_text("primitives_list_tip", "Help Message", PRIMITIVES_TIP)


def _man_primitive(ctx: OpContext, name: str) -> None:
    """The manual of one primitive, in the same three parts as an operator's."""
    spec = ctx.specs.primitives.get(name.lower())
    if spec is None:
        guess = closest(name.lower(), list(ctx.specs.primitives))
        raise NotFoundError(
            f"no primitive called '{name}'", hint=f"did you mean {guess}?" if guess else None
        )
    ctx.doc.add_text("man_function", "Function Name and Version", f"{spec.name.upper()} v{VERSION}")
    abstract = [
        "[Behaviour]",
        spec.help,
        "",
        "[Signature]",
        f"measure_type=manual: {spec.signature}",
        f"measure_type=auto: {spec.name}({spec.args})",
        "",
        f"[Returns]\n{'An array' if spec.returns == 'array' else 'A number'} "
        + ("for all the rows together." if spec.kind == "aggregate" else "for every row."),
    ]
    ctx.doc.add_grid(
        "man_info",
        "Function Info",
        ("INFO TYPE", "INFO VALUE"),
        ("string", "string"),
        [
            ["Abstract", "\n".join(abstract)],
            ["Author", AUTHOR],
            ["Category", "Primitive"],
            ["Return type", spec.returns],
            ["Primitive type", spec.kind],
        ],
    )
    ctx.doc.add_grid(
        "man_args",
        "Function Arguments",
        ("NAME", "TYPE", "MANDATORY", "DEFAULT", "MIN", "MAX", "VALUES", "MULTIVALUE"),
        ("string",) * 8,
        [[n, t, m, "", "", "", "", "no"] for n, t, m in _arguments(spec)],
    )


def _arguments(spec: PrimitiveSpec) -> list[tuple[str, str, str]]:
    """(name, type, mandatory) of the types and of each argument of the signature."""
    out = [("input_type", "string", "yes"), ("output_type", "string", "yes")]
    optional = False
    for raw in spec.args.split(","):
        word = raw.strip()
        optional = optional or word.startswith("[")
        name = word.strip("[] ")
        if not name or name == "...":
            continue
        arrayish = name.startswith("measure") or name in ("dimension", "old_dim", "new_dim")
        textual = "|" in name or name.isupper() or name.endswith(("_string", "mask", "mode"))
        kind = "array" if arrayish else "string" if textual else "number"
        out.append((name, kind, "no" if optional else "yes"))
        optional = optional and not word.endswith("]")
    return out
