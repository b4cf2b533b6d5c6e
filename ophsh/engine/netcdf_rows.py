"""Rows of a NetCDF variable referenced in place, read through netCDF4 when they are needed.

A NetCDF-4 (HDF5) variable lies in chunks, often compressed, and a classic record variable lies
interleaved with the others: neither can be read with pread like a variable in one piece
(:mod:`ophsh.engine.layouts`). Imported whole in the file's order, such a variable is still not
copied: the store keeps its link to the file, and an operator's block of rows is read from it
through netCDF4 (as xarray reads a file it opened lazily), decompressed on the way.

netCDF-C is not thread-safe: every call into it from the engine's threads holds :data:`NC_LOCK`.
netCDF4 is imported when a file is first opened, never at the shell's start.
"""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path
from typing import Any

from ophsh.engine.open_files import OpenFiles
from ophsh.errors import StoreError
from ophsh.lazy import numpy as np

__all__ = ["NC_LOCK", "Variables"]

NC_LOCK = threading.RLock()


class Variables:
    """Referenced NetCDF variables, their files kept open between blocks (at most ``limit``);
    a file referenced in the store holds one referenced variable."""

    def __init__(self, limit: int = 32) -> None:
        self._files = OpenFiles(lambda var: var.group().close(), limit=limit, lock=NC_LOCK)

    def rows(self, path: Path, name: str, start: int, stop: int, shown: str) -> np.ndarray:
        """Rows ``start:stop`` of the first axis of variable ``name``, as stored in the file
        (no fill value masked, no scale applied); ``shown`` names the file in errors."""
        with NC_LOCK:
            try:
                var = self._files.get(path, lambda known: _open_variable(known, name))
                return np.asarray(var[max(0, start) : stop])
            except Exception as err:  # a damaged chunk fails only when it is read
                raise StoreError(f"cannot read variable '{name}' of {shown}: {err}") from None

    def forget(self, path: Path) -> None:
        """Close the file ``path`` (and, for a stack, its members')."""
        self._files.forget(path)

    def close(self) -> None:
        self._files.close()


def _open_variable(path: Path, name: str) -> Any:
    """Variable ``name`` of the NetCDF file ``path``, read as stored and with no chunk cache
    (uncompressed chunks are read straight into the block: a cache would only copy them)."""
    import netCDF4

    var = netCDF4.Dataset(path, "r")[name]
    var.set_auto_maskandscale(False)
    with contextlib.suppress(RuntimeError, AttributeError):  # NetCDF3: no chunks
        var.set_var_chunk_cache(size=0, nelems=1, preemption=0)
    return var
