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
from collections import OrderedDict
from pathlib import Path
from typing import Any

from ophsh.errors import StoreError
from ophsh.lazy import numpy as np

__all__ = ["NC_LOCK", "Variables"]

NC_LOCK = threading.RLock()


class Variables:
    """NetCDF files of referenced variables, kept open between blocks (at most ``limit``)."""

    def __init__(self, limit: int = 32) -> None:
        self.limit = limit
        self._open: OrderedDict[Path, Any] = OrderedDict()  # path -> its dataset
        self._variables: dict[tuple[Path, str], Any] = {}

    def rows(self, path: Path, name: str, start: int, stop: int, shown: str) -> np.ndarray:
        """Rows ``start:stop`` of the first axis of variable ``name``, as stored in the file
        (no fill value masked, no scale applied); ``shown`` names the file in errors."""
        with NC_LOCK:
            try:
                return np.asarray(self._variable(path, name)[max(0, start) : stop])
            except Exception as err:  # a damaged chunk fails only when it is read
                raise StoreError(f"cannot read variable '{name}' of {shown}: {err}") from None

    def _variable(self, path: Path, name: str) -> Any:
        var = self._variables.get((path, name))
        if var is not None:
            self._open.move_to_end(path)
            return var
        import netCDF4

        ds = self._open.get(path) or netCDF4.Dataset(path, "r")
        self._open[path] = ds
        while len(self._open) > self.limit:
            self._close(next(iter(self._open)))
        var = ds[name]
        var.set_auto_maskandscale(False)
        # uncompressed chunks are read straight into the block: a cache would only copy them
        with contextlib.suppress(RuntimeError, AttributeError):  # NetCDF3: no chunks
            var.set_var_chunk_cache(size=0, nelems=1, preemption=0)
        self._variables[path, name] = var
        return var

    def _close(self, path: Path) -> None:
        self._open.pop(path).close()
        for key in [k for k in self._variables if k[0] == path]:
            del self._variables[key]

    def forget(self, path: Path) -> None:
        """Close the file ``path`` (and, for a stack, its members')."""
        with NC_LOCK:
            for known in [p for p in self._open if p == path or p.parent == path]:
                self._close(known)

    def close(self) -> None:
        with NC_LOCK:
            for path in list(self._open):
                self._close(path)
