"""What the prompt does between two commands: join a wrapped line, offer the correction.

Printed tutorials wrap long commands, so a line typed alone may be the rest of the previous
one (``exp dim=NAXIS1;imp dim=NAXIS2;container=FITS2``). Such a line starts with ``key=`` (or a
key whose underscore was lost) and is no command: it is joined onto the previous command when
that one failed, and the shell says so. When a command fails with a correction the shell can
spell out in full, that corrected line is put on the next prompt, ready to edit or run.
"""

from __future__ import annotations

import re

from ophsh.errors import UnknownCommandError, ValidationError
from ophsh.shell.outcome import Outcome
from ophsh.shell.wrapping import continues

__all__ = ["continues", "correction", "joined"]

_GUESS = re.compile(r"did you mean:? (\S+?)=?\?$")
_FULL = "did you mean: "


def joined(previous: str, rest: str) -> str:
    """``previous`` with ``rest`` after it, separated by one ``;``."""
    head = previous.rstrip()
    return f"{head}{'' if head.endswith(';') else ';'}{rest.strip()}"


def correction(outcome: Outcome) -> str | None:
    """The failed line with the suggested fix made, when the fix is a whole line, another
    operator name or another parameter name; else None."""
    err = outcome.error
    if err is None or not err.hint:
        return None
    line = outcome.request
    if err.hint.startswith(_FULL):
        return err.hint[len(_FULL) :]
    guess = _GUESS.search(err.hint)
    if guess is None:
        return None
    word = guess.group(1)
    if isinstance(err, UnknownCommandError):
        first, _, rest = line.partition(" ")
        return f"{word} {rest}".rstrip() if first else None
    if isinstance(err, ValidationError) and err.param and "has no parameter" in err.message:
        fixed, count = re.subn(
            rf"(^|[\s;])({re.escape(err.param)})(\s*=)",
            lambda m: f"{m.group(1)}{word}{m.group(3)}",
            line,
            count=1,
            flags=re.IGNORECASE,
        )
        return fixed if count else None
    return None
