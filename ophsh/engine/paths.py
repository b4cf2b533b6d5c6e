"""Data paths on disk: relative to the current data directory, always under the base path.

The base path (``OPH_BASE_SRC_PATH``) is the only part of the disk operators may touch: ``/`` for
the embedded shell on one's own machine, the ``--data-dir`` of ``ophsh serve``. A user path is
read as Ophidia reads it: absolute paths start at the base, relative ones at the cdd.
"""

from __future__ import annotations

import posixpath
from pathlib import Path

from ophsh.errors import OperatorError

__all__ = ["DataPaths"]


class DataPaths:
    """Maps user paths to real ones under ``base`` and back."""

    def __init__(self, base: Path | str) -> None:
        self.base = Path(base).resolve()

    def virtual(self, cdd: str, path: str | None) -> str:
        """The normalised user-visible path (``/`` = the base)."""
        path = (path or "").strip()
        joined = path if path.startswith("/") else posixpath.join(cdd or "/", path)
        parts: list[str] = []
        for part in joined.split("/"):
            if part in ("", "."):
                continue
            if part == "..":
                if not parts:
                    raise OperatorError(f"path '{path}' leaves the data directory")
                parts.pop()
            else:
                parts.append(part)
        return "/" + "/".join(parts)

    def real(self, cdd: str, path: str | None) -> Path:
        """The real path for a user path; refuses anything that resolves outside the base."""
        virtual = self.virtual(cdd, path)
        real = (self.base / virtual.lstrip("/")).resolve()
        if real != self.base and self.base not in real.parents:
            raise OperatorError(f"path '{path}' leaves the data directory")
        return real

    def to_virtual(self, real: Path) -> str:
        rel = Path(real).resolve().relative_to(self.base)
        text = rel.as_posix()
        return "/" if text == "." else "/" + text
