"""Command lines inside text (help examples, listings) coloured with the command lexer."""

from __future__ import annotations

import re

from rich.syntax import Syntax
from rich.text import Text

from ophsh.syntax.lexer import CommandLexer

__all__ = ["highlight_commands"]

_COMMAND = re.compile(r"^(\s*)(oph_\w+\s.*|oph_\w+)$")


def highlight_commands(text: str) -> Text:
    """``text`` with every line that is an operator command coloured; the rest as it is."""
    lexer = CommandLexer()
    out = Text()
    for line in text.split("\n"):
        match = _COMMAND.match(line)
        if match:
            out.append(match.group(1))
            syntax = Syntax(match.group(2), lexer, theme="ansi_dark", background_color="default")
            coloured = syntax.highlight(match.group(2))
            coloured.rstrip()
            out.append_text(coloured)
        else:
            out.append(line)
        out.append("\n")
    out.rstrip()
    return out
