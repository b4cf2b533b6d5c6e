"""Commands wrapped over several lines, the way printed tutorials show them.

A line that starts with ``key=`` (or with a key whose underscores a PDF lost, ``exp dim=``)
and is no command is the rest of the command before it. Scripts join such lines; the prompt
joins one onto the previous command when that one failed.
"""

from __future__ import annotations

import re

from ophsh.shell.builtins import BUILTINS
from ophsh.spec import Specs

__all__ = ["continues"]

_KEY_FIRST = re.compile(r"^[A-Za-z_]\w*(?:[ \t]+\w+)*[ \t]*=")


def continues(line: str, specs: Specs, aliases: dict[str, str]) -> bool:
    """True when ``line`` is the rest of a command: it starts with ``key=``, not a command."""
    line = line.strip()
    if not _KEY_FIRST.match(line):
        return False
    words = line.split(None, 2)
    if "=" in words[0]:
        return True  # no command name holds '='
    if words[0] in BUILTINS or words[0] in aliases or specs.operator(words[0]) is not None:
        return False
    # "exp dim=NAXIS1" lost an underscore: a continuation when exp_dim is a parameter name
    key = "_".join(line.partition("=")[0].split()).lower()
    return any(key in spec.param_names for spec in specs.operators.values())
