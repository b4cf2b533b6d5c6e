"""Guess the command a user meant when underscores went missing.

Text copied from a PDF often loses its underscores: ``oph importfits src path=[...]``. When a
line cannot be read, :func:`repair` tries joining the words of the operator name and of each
parameter name with ``_`` and returns the corrected line if that yields known names.
"""

from __future__ import annotations

import re

from ophsh.spec import Specs

__all__ = ["repair"]

_KEY_BEFORE_EQUALS = re.compile(r"(^|;)(\s*)([A-Za-z_][A-Za-z0-9_ \t]*?)(\s*)=")


def repair(line: str, specs: Specs) -> str | None:
    """The line with underscores restored, or None when no better reading is found."""
    words = line.split(None, 2)
    if not words:
        return None
    name, rest = words[0], line[len(words[0]) :].lstrip()
    spec = specs.operator(name)
    if spec is None and len(words) >= 2:
        joined = f"{words[0]}_{words[1]}"
        spec = specs.operator(joined) or specs.operator(words[1])
        if spec is not None:
            rest = words[2] if len(words) > 2 else ""
    if spec is None:
        return None
    known = set(spec.param_names)
    changed = spec.name != name

    def fix(match: re.Match[str]) -> str:
        nonlocal changed
        key = match.group(3)
        if " " in key or "\t" in key:
            candidate = "_".join(key.split())
            if candidate.lower() in known:
                changed = True
                return f"{match.group(1)}{match.group(2)}{candidate}="
        return match.group(0)

    fixed_rest = _fix_outside_brackets(rest, fix)
    if not changed:
        return None
    return f"{spec.name} {fixed_rest}".strip()


def _fix_outside_brackets(text: str, fix) -> str:
    """Apply ``fix`` to key positions at bracket depth zero only."""
    out, depth, start = [], 0, 0
    for i, char in enumerate(text):
        if char == "[":
            if depth == 0:
                out.append(_KEY_BEFORE_EQUALS.sub(fix, text[start:i]))
                start = i
            depth += 1
        elif char == "]" and depth:
            depth -= 1
            if depth == 0:
                out.append(text[start : i + 1])
                start = i + 1
    tail = text[start:]
    out.append(tail if depth else _KEY_BEFORE_EQUALS.sub(fix, tail))
    return "".join(out)
