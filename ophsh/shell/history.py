"""Command history in a file, in prompt_toolkit's ``FileHistory`` format.

Each entry is a ``# <timestamp>`` line followed by ``+``-prefixed lines, so the REPL's reverse
search and the ``history`` built-in read the same file.
"""

from __future__ import annotations

import datetime
import re
from pathlib import Path

from ophsh.errors import NotFoundError, ValidationError

__all__ = ["History", "expand_history"]


class History:
    """The history file of one store or server; None keeps nothing."""

    def __init__(self, path: Path | None) -> None:
        self.path = path

    def entries(self) -> list[tuple[str, str]]:
        """(timestamp, command) pairs, oldest first."""
        if self.path is None or not self.path.exists():
            return []
        out: list[tuple[str, str]] = []
        stamp, lines = "??", []
        for raw in self.path.read_text(errors="replace").splitlines():
            if raw.startswith("#"):
                if lines:
                    out.append((stamp, "\n".join(lines)))
                stamp, lines = raw[1:].strip() or "??", []
            elif raw.startswith("+"):
                lines.append(raw[1:])
        if lines:
            out.append((stamp, "\n".join(lines)))
        return out

    def append(self, command: str) -> None:
        if self.path is None or not command.strip():
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        stamp = datetime.datetime.now()
        with self.path.open("a") as fh:
            fh.write(f"\n# {stamp}\n")
            for line in command.split("\n"):
                fh.write(f"+{line}\n")

    def clear(self) -> None:
        if self.path is not None and self.path.exists():
            self.path.write_text("")


_EVENT = re.compile(r"(?<!\S)!(!|-?\d+)")
_PREFIX = re.compile(r"^!([^\s!=\d-][^\s]*)")


def expand_history(line: str, previous: list[str]) -> str | None:
    """``line`` with oph_term's (readline's) history events replaced, or None if it has none.

    ``!!`` is the last command, ``!N`` the N-th of ``history`` (``!-N`` the N-th from the end),
    ``!text`` at the start the last command that starts with text, and ``^old^new`` the last
    command with old replaced by new. A ``!`` inside a value (``metadata_value=!BIAS``) and ``!=``
    are left alone. An event that does not exist is an error, and the line does not run.
    """
    if line.startswith("^") and line.count("^") >= 2:
        old, new = line[1:].split("^")[:2]
        last = _event(previous, -1, "^")
        if not old or old not in last:
            raise ValidationError(f"^{old}^{new}: '{old}' is not in the last command ({last})")
        return last.replace(old, new, 1)
    found = False

    def event(match: re.Match[str]) -> str:
        nonlocal found
        found = True
        token = match.group(1)
        if token == "!":
            return _event(previous, -1, "!!")
        number = int(token)
        if number == 0:
            raise NotFoundError("!0: history events are numbered from 1")
        return _event(previous, number - 1 if number > 0 else number, f"!{token}")

    text = _EVENT.sub(event, line)
    prefix = _PREFIX.match(text)
    if prefix:
        start = prefix.group(1)
        matches = [p for p in previous if p.startswith(start)]
        if not matches:
            raise NotFoundError(f"!{start}: no earlier command starts with '{start}'")
        text = matches[-1] + text[prefix.end() :]
        found = True
    return text if found else None


def _event(previous: list[str], index: int, name: str) -> str:
    try:
        return previous[index]
    except IndexError:
        raise NotFoundError(f"{name}: event not found in the history") from None
