"""Cube arrays on disk: ``.npy`` files written aside, published atomically, read memory-mapped.

A new array is *staged* under ``tmp/`` (name carries the writer's process id), then *published*
with one ``os.replace`` into ``data/`` while the catalog's write transaction that references it
is open. A process killed at any point therefore leaves either nothing visible, or a file no
catalog row points to, which :meth:`ArrayFiles.sweep` removes the next time the store opens.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import numpy as np

__all__ = ["ArrayFiles", "Staged"]


class Staged:
    """An array written under ``tmp/`` and not yet part of the store."""

    def __init__(self, files: ArrayFiles, array: np.ndarray | None = None) -> None:
        self.name = f"{uuid.uuid4().hex}.npy"
        self._files = files
        self.tmp_path = files.tmp / f"{os.getpid()}-{self.name}"
        self.final_path = files.data / self.name
        self._published = False
        self.array: np.memmap | None = None
        self.shape: tuple[int, ...] = ()
        self.dtype = np.dtype(np.float64)
        if array is not None:
            self._write(array)

    def _write(self, array: np.ndarray) -> None:
        # A plain buffered write: about twice as fast as filling a fresh memory map page by page.
        array = np.asarray(array)
        self.shape, self.dtype = tuple(array.shape), array.dtype
        with open(self.tmp_path, "wb") as fh:
            np.lib.format.write_array(fh, array, allow_pickle=False)
            fh.flush()
            os.fsync(fh.fileno())

    @classmethod
    def empty(cls, files: ArrayFiles, shape: tuple[int, ...], dtype: np.dtype) -> Staged:
        """Stage a file of the given shape, to be filled chunk by chunk through ``.array``."""
        staged = cls(files)
        staged.shape, staged.dtype = tuple(shape), np.dtype(dtype)
        staged.array = np.lib.format.open_memmap(
            staged.tmp_path, mode="w+", dtype=dtype, shape=shape
        )
        return staged

    def _flush(self, out: np.memmap) -> None:
        out.flush()
        del out
        with open(self.tmp_path, "rb") as fh:
            os.fsync(fh.fileno())

    def publish(self) -> None:
        """Move the file into ``data/``; call this inside the catalog write transaction."""
        if self.array is not None:
            self._flush(self.array)
            self.array = None
        os.replace(self.tmp_path, self.final_path)
        self._published = True

    def discard(self) -> None:
        """Forget the array (after a failure); safe to call more than once."""
        self.array = None
        for path in (self.tmp_path, self.final_path if self._published else None):
            if path is not None:
                path.unlink(missing_ok=True)


class ArrayFiles:
    """The ``data/`` and ``tmp/`` directories of a store."""

    def __init__(self, root: Path) -> None:
        self.data = root / "data"
        self.tmp = root / "tmp"
        self.data.mkdir(parents=True, exist_ok=True)
        self.tmp.mkdir(parents=True, exist_ok=True)

    def stage(self, array: np.ndarray) -> Staged:
        return Staged(self, array)

    def stage_empty(self, shape: tuple[int, ...], dtype: np.dtype) -> Staged:
        return Staged.empty(self, shape, dtype)

    def open(self, name: str) -> np.ndarray:
        """The array in ``name``, memory-mapped read-only (plain for empty arrays)."""
        path = self.data / name
        try:
            return np.load(path, mmap_mode="r")
        except ValueError:  # zero-size arrays cannot be memory-mapped
            return np.load(path)

    def size_of(self, name: str) -> int:
        return (self.data / name).stat().st_size

    def remove(self, name: str) -> None:
        (self.data / name).unlink(missing_ok=True)

    def sweep(self, referenced: set[str]) -> int:
        """Delete published files no cube uses and staged files of dead writers."""
        removed = 0
        for path in self.data.glob("*.npy"):
            if path.name not in referenced:
                path.unlink(missing_ok=True)
                removed += 1
        for path in self.tmp.glob("*.npy"):
            owner = path.name.split("-", 1)[0]
            if not owner.isdigit() or not _alive(int(owner)):
                path.unlink(missing_ok=True)
                removed += 1
        return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
