"""Data paths on disk: relative to the current data directory, always under the base path.

The base path (``OPH_BASE_SRC_PATH``) is the only part of the disk operators may touch: ``/`` for
the embedded shell on one's own machine, the ``--data-dir`` of ``ophsh serve``. A user path is
read as Ophidia reads it: absolute paths start at the base, relative ones at the cdd. Errors
name the path as the user wrote it, never the real one.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterable
from pathlib import Path

from ophsh.errors import OperatorError

__all__ = ["DataPaths", "shown"]

_NAME_MAX, _PATH_MAX = 255, 4096  # bytes, as Linux counts them


def shown(path: str | None) -> str:
    """A user path fit for a one-line message: printable, and shortened when very long."""
    text = (path or "").encode("unicode_escape").decode("ascii")
    return text if len(text) <= 80 else f"{text[:60]}...{text[-12:]}"


class DataPaths:
    """Maps user paths to real ones under ``base`` and back; never into a forbidden root."""

    def __init__(self, base: Path | str, forbidden: Iterable[Path | str] = ()) -> None:
        self.base = Path(base).resolve()
        self.forbidden = tuple(Path(root).resolve() for root in forbidden)

    def virtual(self, cdd: str, path: str | None) -> str:
        """The normalised user-visible path (``/`` = the base)."""
        path = (path or "").strip()
        if "\0" in path:
            raise OperatorError(f"path '{shown(path)}' contains a NUL character")
        joined = path if path.startswith("/") else posixpath.join(cdd or "/", path)
        parts: list[str] = []
        for part in joined.split("/"):
            if part in ("", "."):
                continue
            if part == "..":
                if not parts:
                    raise OperatorError(f"path '{shown(path)}' leaves the data directory")
                parts.pop()
            elif len(os.fsencode(part)) > _NAME_MAX:
                raise OperatorError(
                    f"path '{shown(path)}' has a name longer than {_NAME_MAX} bytes"
                )
            else:
                parts.append(part)
        return "/" + "/".join(parts)

    def real(self, cdd: str, path: str | None) -> Path:
        """The real path for a user path; refuses anything that resolves outside the base or
        into a forbidden root."""
        virtual = self.virtual(cdd, path)
        joined = self.base / virtual.lstrip("/")
        if len(os.fsencode(str(joined))) > _PATH_MAX:
            raise OperatorError(f"path '{shown(path)}' is too long")
        try:
            real = joined.resolve()
        except (OSError, RuntimeError):  # a symlink loop, or a component that cannot be read
            raise OperatorError(f"path '{shown(path)}' cannot be resolved") from None
        if real != self.base and self.base not in real.parents:
            raise OperatorError(f"path '{shown(path)}' leaves the data directory")
        if any(real == root or root in real.parents for root in self.forbidden):
            raise OperatorError(f"path '{shown(path)}' is reserved for the store")
        return real

    def to_virtual(self, real: Path) -> str:
        rel = Path(real).resolve().relative_to(self.base)
        text = rel.as_posix()
        return "/" if text == "." else "/" + text
