"""Cube arrays on disk: ``.npy`` files written aside, published atomically, read memory-mapped.

A new array is *staged* under ``tmp/`` (name carries the writer's process id), then *published*
with one ``os.replace`` into ``data/`` while the catalog's write transaction that references it
is open. A process killed at any point therefore leaves either nothing visible, or a file no
catalog row points to, which :meth:`ArrayFiles.sweep` removes the next time the store opens.

Besides plain ``<uuid>.npy`` files a cube may be a *stack*, ``<uuid>.stack/``: a directory of
hard links to other cubes' files, read as those arrays stacked along a new last axis. Merging
frames (oph_mergecubes2) thus costs no copy, and a reduction over the stack reads each frame
directly. Hard links keep a stack valid when the cubes it was made from are deleted.

An imported FITS image (or NetCDF variable) is not copied but *referenced*, ``<uuid>.ref/``: a
clone of or a hard link to the imported file (``frame.fits``, whatever its format) and its
layout (``frame.json``, see :mod:`ophsh.engine.layouts`), read block by block with pread (or
through netCDF4, :mod:`ophsh.engine.netcdf_rows`) and scaled on the way. Stacks of
referenced frames link the frame and its layout side by side (``000001.fits``, ``000001.json``).
Deleting the cube removes the store's name for the file, never the user's.
"""

from __future__ import annotations

import errno
import os
import shutil
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from ophsh.engine.ast_lock import AST_LOCK
from ophsh.engine.layouts import Layout, layout_of, place, write_layout
from ophsh.engine.netcdf_rows import Variables
from ophsh.engine.open_files import OpenFiles
from ophsh.errors import StoreFull
from ophsh.lazy import numpy as np

__all__ = ["ArrayFiles", "Staged", "load", "pread_rows"]

STACK = ".stack"
REF = ".ref"
FRAME = "frame.fits"
FULL_BELOW = 1 << 20  # bytes free under which a failed write is taken for a full disk


def _sync(fh, force: bool) -> None:
    """Flush a staged file; when ``force`` (Settings.fsync) also push it to the disk.

    Publishing by rename keeps every cube whole when a process dies, with or without forcing.
    Forcing (fsync) protects new cubes against a power cut too, at about twice the run time of
    the calibration; by default the array files are as durable as the catalog, which SQLite
    keeps in WAL mode with synchronous=NORMAL.
    """
    fh.flush()
    if force:
        os.fsync(fh.fileno())


class Staged:
    """An array written under ``tmp/`` and not yet part of the store."""

    def __init__(self, files: ArrayFiles, array: np.ndarray | None = None, suffix=".npy") -> None:
        self.name = f"{uuid.uuid4().hex}{suffix}"
        self._files = files
        self.tmp_path = files.tmp / f"{os.getpid()}-{self.name}"
        self.final_path = files.data / self.name
        self._published = False
        self._stream = None
        self._rows = 0
        self._values_at = 0  # where the values of a streamed array begin in its file
        self.shape: tuple[int, ...] = ()
        self.dtype = np.dtype(np.float64)
        if array is not None:
            self._write(array)

    def _write(self, array: np.ndarray) -> None:
        # A plain buffered write: about twice as fast as filling a fresh memory map page by page.
        array = np.asarray(array)
        self.shape, self.dtype = tuple(array.shape), array.dtype
        with self._room(), open(self.tmp_path, "wb") as fh:
            np.lib.format.write_array(fh, array, allow_pickle=False)
            _sync(fh, self._files.fsync)

    @contextmanager
    def _room(self) -> Iterator[None]:
        """A full disk while writing: the staged file goes, and the user is told."""
        try:
            yield
        except OSError as err:
            # numpy checks the room first, or reports a short write, without an errno
            no_room = "free space" in str(err) or (
                shutil.disk_usage(self._files.tmp).free < FULL_BELOW
            )
            if err.errno not in (errno.ENOSPC, errno.EDQUOT) and not no_room:
                raise
            self.discard()
            raise StoreFull(
                "the disk holding the store is full; nothing of this cube was kept",
                hint="free space, e.g. delete cubes with oph_delete",
            ) from err

    @classmethod
    def stream(cls, files: ArrayFiles, shape: tuple[int, ...], dtype: np.dtype) -> Staged:
        """Stage an array written block by block along its first axis with :meth:`append`."""
        if not shape:
            raise ValueError("a streamed array needs at least one axis")
        staged = cls(files)
        staged.shape, staged.dtype = tuple(shape), np.dtype(dtype)
        staged._stream = open(staged.tmp_path, "wb")  # noqa: SIM115 (closed by publish/discard)
        header = {"descr": staged.dtype.str, "fortran_order": False, "shape": staged.shape}
        np.lib.format.write_array_header_2_0(staged._stream, header)
        staged._values_at = staged._stream.tell()
        return staged

    def append(self, block: np.ndarray) -> None:
        """Write the next rows (a block of ``shape[1:]`` arrays) of a streamed array."""
        if self._stream is None or tuple(block.shape[1:]) != self.shape[1:]:
            raise ValueError(f"block of shape {block.shape} does not fit an array {self.shape}")
        with self._room():
            self._stream.write(np.ascontiguousarray(block, dtype=self.dtype).data)
        self._rows += block.shape[0]

    def write_at(self, position: int, data: memoryview) -> None:
        """Write bytes of a streamed array at ``position`` (counted from its first value) ahead
        of :meth:`append`. An array filled in two passes is laid out this way first; then each
        block is read back with :meth:`read_at`, rearranged and appended in order."""
        if self._stream is None:
            raise ValueError("only a streamed array is written in place")
        with self._room():
            done = 0
            while done < data.nbytes:
                at = self._values_at + position + done
                done += os.pwrite(self._stream.fileno(), data[done:], at)

    def read_at(self, position: int, count: int) -> np.ndarray:
        """``count`` values of a streamed array from ``position`` (bytes from its first value),
        as written by :meth:`write_at`."""
        fd = os.open(self.tmp_path, os.O_RDONLY)
        try:
            return pread_rows(
                fd, self._values_at + position, (count,), self.dtype, 0, count, self.tmp_path
            )
        finally:
            os.close(fd)

    @classmethod
    def stack(cls, files: ArrayFiles, members: Sequence[str]) -> Staged:
        """Stage a stack of the published arrays ``members`` (names in ``data/``)."""
        staged = cls(files, suffix=STACK)
        staged.tmp_path.mkdir()
        frames = [files.frame(name) for name in members]
        layouts = [layout_of(frame) for frame in frames]
        staged.shape = (*layouts[0].shape, len(layouts))
        staged.dtype = np.result_type(*[layout.dtype for layout in layouts])
        for i, frame in enumerate(frames):
            os.link(frame, staged.tmp_path / f"{i:06d}{frame.suffix}")
            if frame.suffix == ".fits":
                os.link(frame.with_suffix(".json"), staged.tmp_path / f"{i:06d}.json")
        return staged

    @classmethod
    def reference(cls, files: ArrayFiles, source: Path, layout: Layout) -> Staged | None:
        """Stage a reference to the array ``layout`` describes in ``source`` (a clone or a
        hard link, no copy); None when the file cannot be linked (e.g. another file system)."""
        staged = cls(files, suffix=REF)
        staged.tmp_path.mkdir()
        frame = staged.tmp_path / FRAME
        try:
            place(source, frame)
        except OSError:
            staged.discard()
            return None
        try:
            layout = write_layout(frame, layout)
        except BaseException:
            staged.discard()
            raise
        staged.shape, staged.dtype = layout.shape, layout.dtype
        return staged

    @classmethod
    def link(cls, files: ArrayFiles, name: str) -> Staged:
        """Stage a second name for the published array ``name`` (hard links, no copy)."""
        source = files.data / name
        staged = cls(files, suffix=source.suffix)
        if source.is_dir():
            staged.tmp_path.mkdir()
            for member in sorted(source.iterdir()):
                os.link(member, staged.tmp_path / member.name)
        else:
            os.link(source, staged.tmp_path)
        layouts = [layout_of(path) for path in files.frames(name)]
        staged.dtype = np.result_type(*[layout.dtype for layout in layouts])
        staged.shape = layouts[0].shape
        if files.is_stack(name):
            staged.shape = (*staged.shape, len(layouts))
        return staged

    def publish(self) -> None:
        """Move the file into ``data/``; call this inside the catalog write transaction."""
        if self._stream is not None:
            with self._room():
                _sync(self._stream, self._files.fsync)
            stream, self._stream = self._stream, None
            stream.close()
            if self._rows != self.shape[0]:
                raise ValueError(f"{self._rows} of {self.shape[0]} rows were written")
        os.replace(self.tmp_path, self.final_path)
        self._published = True

    def discard(self) -> None:
        """Forget the array (after a failure); safe to call more than once."""
        if self._stream is not None:
            self._stream.close()
            self._stream = None
        for path in (self.tmp_path, self.final_path if self._published else None):
            if path is not None:
                _unlink(path)


class ArrayFiles:
    """The ``data/`` and ``tmp/`` directories of a store."""

    def __init__(self, root: Path, *, fsync: bool = False) -> None:
        self.fsync = fsync
        self._descriptors = OpenFiles(os.close, limit=256)  # read-only descriptors
        self._variables = Variables()
        self.data = root / "data"
        self.tmp = root / "tmp"
        self.data.mkdir(parents=True, exist_ok=True)
        self.tmp.mkdir(parents=True, exist_ok=True)

    def stage(self, array: np.ndarray) -> Staged:
        return Staged(self, array)

    def stream(self, shape: tuple[int, ...], dtype: np.dtype) -> Staged:
        return Staged.stream(self, shape, dtype)

    def stack(self, members: Sequence[str]) -> Staged:
        return Staged.stack(self, members)

    def link(self, name: str) -> Staged:
        return Staged.link(self, name)

    def reference(self, source: Path, layout: Layout) -> Staged | None:
        return Staged.reference(self, source, layout)

    def open(self, name: str) -> np.ndarray:
        """The array in ``name``: a ``.npy`` file memory-mapped read-only, a stack or a
        referenced FITS image read into memory."""
        members = self.members(name)
        if members is not None:
            return np.stack(members, axis=-1)
        return self._whole(self.frame(name))

    def members(self, name: str) -> list[np.ndarray] | None:
        """The arrays a stack is made of, or None for a plain array."""
        if not name.endswith(STACK):
            return None
        return [self._whole(path) for path in self.frames(name)]

    def is_stack(self, name: str) -> bool:
        return name.endswith(STACK)

    def member_count(self, name: str) -> int:
        return len(self.frames(name))

    def frame(self, name: str) -> Path:
        """The one file holding the plain (not stacked) array ``name``."""
        if name.endswith(STACK):
            raise ValueError(f"{name} is a stack; stacks are not nested")
        return self.data / name / FRAME if name.endswith(REF) else self.data / name

    def frames(self, name: str) -> list[Path]:
        """The files holding the array ``name``: one, or a stack's members in order."""
        if not name.endswith(STACK):
            return [self.frame(name)]
        return sorted(p for p in (self.data / name).iterdir() if p.suffix in (".npy", ".fits"))

    def rows(self, name: str, start: int, stop: int) -> np.ndarray:
        """Rows ``start:stop`` of the first axis, read into memory (a stack: from each member).

        Reading with pread rather than through a memory map keeps the process small: mapped
        pages would count in its memory however many frames it walks through.
        """
        if name.endswith(STACK):
            return np.stack(self.member_rows(name, start, stop), axis=-1)
        return self._read(self.frame(name), start, stop)

    def member_rows(self, name: str, start: int, stop: int) -> list[np.ndarray]:
        """Rows ``start:stop`` of every member of a stack, one array each."""
        return [self._read(path, start, stop) for path in self.frames(name)]

    def _whole(self, path: Path) -> np.ndarray:
        if path.suffix == ".npy":
            return _load(path)
        return self._read(path, 0, layout_of(path).shape[0])

    def _read(self, path: Path, start: int, stop: int) -> np.ndarray:
        """Rows of a published file, through a descriptor kept open between blocks (an
        operator walking a stack block by block opens each frame once, not once a block); a
        referenced file is checked unchanged, and its numbers scaled, block by block."""
        layout = layout_of(path)
        if not layout.shape:
            return load(path)
        fd = self._descriptors.get(path, _read_only)
        layout.check(fd, path)
        if layout.variable:
            shown = layout.source or path.name
            numbers = self._variables.rows(path, layout.variable, start, stop, shown)
        else:
            numbers = pread_rows(fd, layout.offset, layout.shape, layout.disk, start, stop, path)
        return layout.values(numbers, in_place=True)

    def close(self) -> None:
        """Close the files kept open for reading."""
        self._descriptors.close()
        self._variables.close()

    def remove(self, name: str) -> None:
        if not name:  # a virtual cube has no file
            return
        # its disk space goes with the last descriptor
        self._descriptors.forget(self.data / name)
        self._variables.forget(self.data / name)
        _unlink(self.data / name)

    def sweep(self, referenced: set[str]) -> int:
        """Delete published files no cube uses and staged files of dead writers."""
        removed = 0
        for path in self.data.iterdir():
            if path.name not in referenced:
                _unlink(path)
                removed += 1
        for path in self.tmp.iterdir():
            owner = path.name.split("-", 1)[0]
            if not owner.isdigit() or not _alive(int(owner)):
                _unlink(path)
                removed += 1
        return removed


def pread_rows(
    fd: int,
    offset: int,
    shape: tuple[int, ...],
    dtype: np.dtype,
    start: int,
    stop: int,
    path: Path,
) -> np.ndarray:
    """Rows ``start:stop`` of an array of ``shape`` stored from ``offset`` in the open file
    ``fd`` (named ``path`` in errors), read into memory with pread."""
    start, stop = max(0, start), min(stop, shape[0])
    out = np.empty((max(0, stop - start), *shape[1:]), dtype=dtype)
    view = memoryview(out).cast("B")
    position = offset + start * dtype.itemsize * int(np.prod(shape[1:], dtype=np.int64))
    done = 0
    while done < view.nbytes:
        got = os.preadv(fd, [view[done:]], position + done)
        if got <= 0:
            raise OSError(f"{path.name} is shorter than its header says")
        done += got
    return out


def load(source, *, mmap: bool = False) -> np.ndarray:
    """``np.load`` of a path or file object, its header parsed under :data:`AST_LOCK`."""
    with AST_LOCK:
        return np.load(source, mmap_mode="r" if mmap else None, allow_pickle=False)


def _load(path: Path) -> np.ndarray:
    layout_of(path)  # a damaged file is refused before numpy maps it
    try:
        return load(path, mmap=True)
    except ValueError:  # zero-size arrays cannot be memory-mapped
        return load(path)


def _read_only(path: Path) -> int:
    return os.open(path, os.O_RDONLY)


def _unlink(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


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
