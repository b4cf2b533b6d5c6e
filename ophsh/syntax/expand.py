"""Variable substitution, script arguments and alias expansion, as oph_term does them."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Sequence

from ophsh.errors import OphshError, ValidationError

__all__ = [
    "expand_alias",
    "split_words",
    "strip_comment",
    "substitute",
    "substitute_positional",
    "variable_names",
]

_VAR = re.compile(r"\$(?:\{([A-Za-z0-9_]*)\}|([A-Za-z0-9_]*))")
_POSITIONAL = re.compile(r"\$(?:\{([0-9]+)\}|([0-9]+))")
_COMMENT = re.compile(r"(^|\s)#.*$")
MAX_PASSES = 100
MAX_LENGTH = 1 << 20


def substitute(text: str, lookup: Callable[[str], str | None]) -> str:
    """Replace ``$name`` and ``${name}`` until none is left; unknown names become empty.

    Values may themselves hold variables (``setenv a=$b`` is a live binding), so substitution
    repeats. A variable that refers to itself is reported instead of looping forever.
    """
    for _ in range(MAX_PASSES):
        if "$" not in text:
            return text
        new = _VAR.sub(lambda m: lookup(_name(m)) or "", text)
        if len(new) > MAX_LENGTH:
            break
        if new == text:
            return text
        text = new
    names = ", ".join(sorted(set(variable_names(text)))) or "?"
    raise OphshError(f"variables refer to themselves without end: {names}")


def variable_names(text: str) -> list[str]:
    """The names of the variables used in ``text``, in order."""
    return [_name(m) for m in _VAR.finditer(text) if _name(m)]


def _name(match: re.Match[str]) -> str:
    return match.group(1) if match.group(1) is not None else match.group(2)


def substitute_positional(text: str, args: Sequence[str], *, where: str = "") -> str:
    """Replace ``$1``...``$N`` (and ``${N}``) with ``args``; a missing one is an error."""

    def replace(match: re.Match[str]) -> str:
        index = int(_name(match))
        if index == 0:
            return match.group(0)
        if index > len(args):
            place = f"{where} " if where else ""
            raise ValidationError(
                f"{place}uses ${index} but only {len(args)} argument(s) were given"
            )
        return args[index - 1]

    return _POSITIONAL.sub(replace, text)


def expand_alias(body: str, words: Sequence[str]) -> str:
    """Fill ``$1``... of an alias body with the words after the alias; missing ones are empty."""

    def replace(match: re.Match[str]) -> str:
        index = int(_name(match))
        return words[index - 1] if 0 < index <= len(words) else ""

    return _POSITIONAL.sub(replace, body)


def split_words(text: str) -> list[str]:
    """Split the words after a command, honouring quotes when they are balanced."""
    try:
        return shlex.split(text, comments=False, posix=True)
    except ValueError:
        return text.replace('"', " ").split()


def strip_comment(line: str) -> str:
    """Drop a ``#`` comment that starts the line or follows white space."""
    return _COMMENT.sub("", line).strip()
