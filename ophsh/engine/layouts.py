"""Where an array's numbers sit in a file, and how they become the cube's values.

Two kinds of files hold arrays. A ``.npy`` file says in its header where its numbers start, their
shape and type; the numbers are the values. A FITS image or a NetCDF variable *referenced in
place* (``*.fits``, a clone of or a hard link to the file that was imported) is described by a
small JSON file beside it (``*.json``): where the array starts and its big-endian numbers (or,
for a NetCDF variable that does not lie in one piece, the variable's name, read through netCDF4:
:mod:`ophsh.engine.netcdf_rows`), BZERO/BSCALE/BLANK (a NetCDF fill value is a BLANK), and the
size and modification time the file had when it was imported, so that a file written over in
place afterwards is refused, never misread.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

from ophsh.engine.ast_lock import AST_LOCK
from ophsh.errors import StoreError
from ophsh.lazy import numpy as np

__all__ = ["Layout", "SourceChanged", "layout_of", "place", "write_layout"]

FICLONE = 0x40049409  # Linux: share the source's blocks, copy-on-write (btrfs, XFS...)


class SourceChanged(StoreError):
    """A referenced FITS or NetCDF file was written over in place after it was imported."""


@dataclass(frozen=True)
class Layout:
    """An array of ``shape`` stored from byte ``offset`` as numbers of type ``disk`` (or, when
    ``variable`` names one, NetCDF's variable of that name), read as values of type ``dtype``;
    ``inode``/``size``/``mtime_ns`` (-1 for ``.npy``) are the file's identity when it was
    imported."""

    offset: int
    shape: tuple[int, ...]
    disk: np.dtype
    dtype: np.dtype
    bzero: float = 0
    bscale: float = 1
    blank: float | None = None
    source: str = ""
    inode: int = -1
    size: int = -1
    mtime_ns: int = -1
    variable: str = ""

    @property
    def nbytes(self) -> int:
        return self.disk.itemsize * int(np.prod(self.shape, dtype=np.int64))

    def values(self, numbers: np.ndarray, *, in_place: bool = False) -> np.ndarray:
        """Numbers as read from the file, as the array's values (as astropy would scale them).
        With ``in_place`` (a buffer just read, of no use afterwards) a change of byte order and
        missing values are made in ``numbers`` itself, with no second block in memory."""
        numbers = np.asarray(numbers)
        if self.disk == self.dtype and self.blank is None:
            return numbers
        plain = self.bscale == 1 and not self.bzero
        same = numbers.dtype.newbyteorder("=") == self.dtype
        if plain and same and in_place and numbers.flags.writeable:
            if numbers.dtype != self.dtype:
                numbers = numbers.byteswap(inplace=True).view(self.dtype)
            if self.blank is not None and self.dtype.kind == "f":
                np.copyto(numbers, np.nan, where=numbers == self.blank)
            return numbers
        if plain and self.blank is None:
            return numbers.astype(self.dtype)  # byte order only
        if self.dtype.kind in "iu":  # an offset to unsigned (or signed bytes): top bit flipped
            size, order = numbers.dtype.itemsize, numbers.dtype.byteorder
            native = np.dtype(f"u{size}")
            flipped = numbers.view(native.newbyteorder(order)).astype(native)  # a native copy
            flipped ^= np.array(1 << (8 * size - 1), dtype=native)
            return flipped.view(self.dtype)
        values = np.array(numbers, dtype=self.dtype)
        if self.bscale != 1:
            np.multiply(values, self.bscale, values)
        if self.bzero:
            values += self.bzero
        if self.blank is not None and values.dtype.kind == "f":
            np.copyto(values, np.nan, where=numbers == self.blank)
        return values

    def check(self, fd: int, path: Path) -> None:
        """Refuse a referenced file whose inode, size or modification time is not the recorded
        one (the inode is the store's own link, so the user deleting the file changes nothing)."""
        if self.size < 0:
            return
        stat = os.fstat(fd)
        if (stat.st_ino, stat.st_size, stat.st_mtime_ns) != (self.inode, self.size, self.mtime_ns):
            raise SourceChanged(
                f"the file it references, {self.source or path.name}, was changed in place "
                "after it was imported",
                hint="import the file again; files imported must not be edited in place",
            )


def layout_of(path: Path) -> Layout:
    """The layout of an array file: a ``.npy`` file or a referenced file (``.fits``)."""
    if path.suffix == ".fits":
        return _reference(path)
    return _npy(path)


@lru_cache(maxsize=8192)
def _npy(path: Path) -> Layout:
    """Read a ``.npy`` header (published files never change); a file shorter than its header
    says, or with no readable header, is damaged."""
    try:
        with open(path, "rb") as fh:
            version = np.lib.format.read_magic(fh)
            with AST_LOCK:
                if version == (1, 0):
                    shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
                else:
                    shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
            offset, size = fh.tell(), os.fstat(fh.fileno()).st_size
    except FileNotFoundError:
        raise StoreError(f"array file {path.name} is missing") from None
    except (ValueError, EOFError, OSError) as err:
        raise StoreError(f"array file {path.name} is damaged ({err})") from None
    layout = Layout(offset, tuple(shape), dtype, dtype)
    if fortran or size < offset + layout.nbytes:
        raise StoreError(
            f"array file {path.name} is damaged: {size} bytes of {offset + layout.nbytes}"
        )
    return layout


@lru_cache(maxsize=8192)
def _reference(path: Path) -> Layout:
    """Read the JSON description beside a referenced file (it never changes)."""
    try:
        fields = json.loads(path.with_suffix(".json").read_text())
        layout = Layout(
            **{
                **fields,
                "shape": tuple(fields["shape"]),
                "disk": np.dtype(fields["disk"]),
                "dtype": np.dtype(fields["dtype"]),
            }
        )
    except FileNotFoundError:
        raise StoreError(f"array file {path.parent.name}/{path.name} is missing") from None
    except (ValueError, TypeError, KeyError) as err:
        raise StoreError(f"array file {path.parent.name} is damaged ({err})") from None
    return layout


def write_layout(frame: Path, layout: Layout) -> Layout:
    """Record ``layout`` beside the placed file ``frame``, with the file's identity now."""
    stat = frame.stat()
    layout = replace(layout, inode=stat.st_ino, size=stat.st_size, mtime_ns=stat.st_mtime_ns)
    if not layout.variable and layout.offset + layout.nbytes > stat.st_size:
        raise StoreError(f"{layout.source} is shorter than its header says")
    fields = {
        **layout.__dict__,
        "disk": layout.disk.str,
        "dtype": layout.dtype.str,
        "shape": list(layout.shape),
    }
    frame.with_suffix(".json").write_text(json.dumps(fields))
    return layout


def place(source: Path, target: Path) -> str:
    """Give ``source`` the new name ``target`` without copying its bytes: a copy-on-write clone
    where the file system makes one (then editing the source later harms nothing), else a hard
    link. Raises OSError when neither works (another file system, a file we may not link)."""
    try:
        with open(source, "rb") as src, open(target, "xb") as dst:
            fcntl.ioctl(dst.fileno(), FICLONE, src.fileno())
        return "clone"
    except OSError as err:
        target.unlink(missing_ok=True)
        if err.errno in (errno.ENOENT, errno.EACCES):
            raise
    os.link(source, target)
    return "link"
