"""Manual pages written from the specifications: operators, built-ins, aliases, variables."""

from __future__ import annotations

from ophsh.spec import OperatorSpec, ParamSpec, Specs

__all__ = ["builtin_page", "operator_page", "overview", "param_line"]


def param_line(param: ParamSpec) -> str:
    """``name  type, default x, one of a|b``: one line per parameter."""
    facts = [param.type + (" list" if param.multivalue else "")]
    if param.mandatory:
        facts.append("required")
    elif param.default not in (None, ""):
        facts.append(f"default {param.default}")
    if param.values:
        facts.append("one of " + "|".join(param.values))
    if param.minvalue not in (None, "") and not param.values:
        facts.append(f"min {param.minvalue}")
    if param.maxvalue not in (None, "") and not param.values:
        facts.append(f"max {param.maxvalue}")
    text = f"{param.name:<22} {', '.join(facts)}"
    if param.help:
        text += f"\n{'':<22} {param.help}"
    return text


def operator_page(spec: OperatorSpec, *, system: bool = False) -> str:
    """The manual of an operator; system parameters (sessionid, ncores...) only on request."""
    lines = [f"{spec.name} - {spec.summary}", ""]
    if spec.help:
        lines += [spec.help, ""]
    if not spec.family:
        lines += ["(Runs on a remote Ophidia server; the embedded store does not have it.)", ""]
    lines.append("Parameters:")
    params = [p for p in spec.params if system or not p.is_system]
    lines += ["  " + param_line(p).replace("\n", "\n  ") for p in params]
    if spec.example:
        lines += ["", "Example:", "  " + spec.example]
    return "\n".join(lines)


def builtin_page(specs: Specs, name: str) -> str | None:
    builtin = specs.builtins.get(name)
    if builtin is None:
        return None
    text = f"{builtin.usage}\n  {builtin.summary}"
    if builtin.help:
        text += "\n\n" + builtin.help
    return text


def overview(specs: Specs, aliases: dict[str, str]) -> str:
    """``help`` without arguments: built-ins, aliases, variables, and how to learn more."""
    lines = ["Built-in commands:"]
    lines += [f"  {b.usage:<40} {b.summary}" for b in specs.builtins.values()]
    lines += ["", "Aliases (first word of a line; $1, $2... take the next words):"]
    for name, body in aliases.items():
        note = specs.aliases[name].help if name in specs.aliases else "user alias"
        lines.append(f"  {name:<12} {note}  [{body}]")
    lines += ["", "Variables (setenv NAME=value, use as $NAME or ${NAME}):"]
    lines += [f"  {v.name:<22} {v.summary}" for v in specs.variables.values()]
    lines += [
        "",
        "Operators: oph_NAME key=value;key=value;  (the oph_ prefix is optional).",
        "  help OPERATOR or man OPERATOR shows one; oph_operators_list lists them all.",
        "  Several values: key=a|b. A filter over many cubes: cube=[container=C;level=0].",
    ]
    return "\n".join(lines)
