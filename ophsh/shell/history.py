"""Command history in a file, in prompt_toolkit's ``FileHistory`` format.

Each entry is a ``# <timestamp>`` line followed by ``+``-prefixed lines, so the REPL's reverse
search and the ``history`` built-in read the same file.
"""

from __future__ import annotations

import datetime
from pathlib import Path

__all__ = ["History"]


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
