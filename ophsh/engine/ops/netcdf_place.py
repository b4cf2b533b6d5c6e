"""Where a NetCDF variable's numbers sit in its file, when they sit in one piece.

A classic NetCDF file (CDF-1, CDF-2 "64-bit offset", CDF-5) stores each variable that does not
grow along the record dimension contiguously, big-endian, from an offset its header gives; so
does a growing one when it is the file's only record variable. Such a variable, imported whole
in the file's order, can be referenced in place like a FITS image (:mod:`ophsh.engine.layouts`):
the import copies nothing. NetCDF-4 (HDF5) files and interleaved record variables are read and
copied as before (None here).
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO

import numpy as np

__all__ = ["contiguous_variable"]

_TYPES = {1: "i1", 2: "S1", 3: "i2", 4: "i4", 5: "f4", 6: "f8", 7: "u1", 8: "u2", 9: "u4"}
_TYPES.update({10: "i8", 11: "u8"})


class _Header:
    """A reader of a classic header's numbers (their widths depend on the format version)."""

    def __init__(self, fh: BinaryIO, version: int) -> None:
        self.fh, self.version = fh, version

    def int32(self) -> int:
        return struct.unpack(">i", self.fh.read(4))[0]

    def count(self) -> int:
        """A count of elements (NON_NEG): 8 bytes in CDF-5, else 4."""
        return struct.unpack(">q", self.fh.read(8))[0] if self.version == 5 else self.int32()

    def offset(self) -> int:
        """A variable's begin (OFFSET): 4 bytes in CDF-1, else 8."""
        return self.int32() if self.version == 1 else struct.unpack(">q", self.fh.read(8))[0]

    def skip(self, size: int) -> None:
        """Skip ``size`` bytes and their padding to 4."""
        self.fh.seek(size + (-size % 4), 1)

    def name(self) -> str:
        size = self.count()
        text = self.fh.read(size).decode("utf-8", "replace")
        self.fh.seek(-size % 4, 1)
        return text

    def attributes(self) -> None:
        """Skip an attribute list."""
        self.int32()
        for _ in range(self.count()):
            self.name()
            kind = self.int32()
            self.skip(self.count() * np.dtype(_TYPES.get(kind, "i1")).itemsize)


def contiguous_variable(path: Path, name: str) -> tuple[int, tuple[int, ...], np.dtype] | None:
    """(offset, shape, big-endian type) of variable ``name`` when the file is classic NetCDF
    and the variable's numbers lie in one piece; None otherwise (or when the header cannot be
    read)."""
    try:
        with open(path, "rb") as fh:
            magic = fh.read(4)
            if magic[:3] != b"CDF" or magic[3] not in (1, 2, 5):
                return None
            return _find(_Header(fh, magic[3]), name)
    except (OSError, struct.error, KeyError, ValueError):
        return None


def _find(h: _Header, name: str) -> tuple[int, tuple[int, ...], np.dtype] | None:
    records = h.count()
    h.int32()  # NC_DIMENSION or ABSENT
    sizes = []
    for _ in range(h.count()):
        h.name()
        sizes.append(h.count())
    h.attributes()
    h.int32()  # NC_VARIABLE or ABSENT
    found, growing = None, 0
    for _ in range(h.count()):
        var = h.name()
        dims = [h.count() for _ in range(h.count())]
        h.attributes()
        kind, _size, begin = h.int32(), h.count(), h.offset()
        grows = bool(dims) and sizes[dims[0]] == 0
        growing += grows
        if var == name:
            shape = tuple(records if i == 0 and grows else sizes[d] for i, d in enumerate(dims))
            found = (begin, shape, np.dtype(">" + _TYPES[kind]), grows)
    if found is None or found[2].kind == "S" or (found[3] and growing > 1):
        return None
    return found[0], found[1], found[2]
