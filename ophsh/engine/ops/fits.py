"""FITS import: oph_importfits (oph_exportfits is in :mod:`ophsh.engine.ops.fits_export`).

Dimensions keep their FITS names (NAXIS1 is the fastest axis), so export can put every axis
back where it was whatever ``exp_dim``/``imp_dim`` chose at import. Integer data keep their
stored type (e.g. unsigned 16-bit with BZERO 32768), so a round trip gives the same pixels, bit
for bit; the measure type is still the one Ophidia reports (double for unsigned 16-bit).
A whole image in the file's axis order is referenced in place, not copied (see
:mod:`ophsh.engine.arrays`); its values are the ones a copy would hold.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ophsh.engine.arrays import Staged, pread_rows
from ophsh.engine.context import OpContext
from ophsh.engine.layouts import Layout
from ophsh.engine.metadata import MetadataItem
from ophsh.engine.model import Dim, measure_type_of
from ophsh.engine.params import Params
from ophsh.errors import OperatorError, ValidationError

if TYPE_CHECKING:  # astropy is imported where it is used: it doubles the shell's start-up time
    from astropy.io import fits

__all__ = ["FITS_SUFFIXES", "STRUCTURAL_KEYS", "header_metadata", "importfits"]

STRUCTURAL_KEYS = re.compile(
    r"^(SIMPLE|BITPIX|NAXIS\d*|EXTEND|BZERO|BSCALE|END|PCOUNT|GCOUNT|XTENSION|CHECKSUM|DATASUM)$"
)
# Ophidia's measure type for each pixel type astropy gives after BZERO/BSCALE (CFITSIO's
# "equivalent type"); unsigned and signed-byte images become double there. 8-bit images (0..255)
# are "short" here, because Ophidia's signed byte would wrap values above 127.
_IMPORT_TYPES = {"u1": "short", "u2": "double", "u4": "double", "u8": "double", "i1": "double"}
FITS_SUFFIXES = (".fits", ".fit", ".fts")


# -- import -------------------------------------------------------------------------------
def importfits(ctx: OpContext, p: Params) -> None:
    """Read one image HDU into a new cube, with every header card as metadata."""
    source = p.opt("input") or p.opt("src_path")
    if not source:
        raise ValidationError("oph_importfits needs src_path=", param="src_path")
    if source.startswith(("http://", "https://")):
        raise OperatorError("the embedded store reads local files only; download the file first")
    path = ctx.paths.real(ctx.cdd, source)
    with _opened(path, source, p.int("hdu")) as (header, whole, offset):
        names = [f"NAXIS{k}" for k in range(whole.ndim, 0, -1)]  # array order: NAXISn ... NAXIS1
        index, starts = _subset(whole, names, p)
        explicit, implicit = _split_dims(names, p.list("exp_dim"), p.list("imp_dim"))
        order = [names.index(n) for n in explicit + implicit]
        layout = _layout(header, whole, offset, path)
        subset = whole[index].shape  # a view of the file: nothing is read yet
        shape = tuple(subset[a] for a in order)
        dims = [
            Dim(
                name=name,
                type="int",
                size=shape[i],
                explicit=name in explicit,
                level=(explicit.index(name) if name in explicit else implicit.index(name)) + 1,
                values=np.arange(1, shape[i] + 1, dtype=np.int32) + starts[names.index(name)],
            )
            for i, name in enumerate(explicit + implicit)
        ]
        if not p.yes("run"):
            _fragmentation(ctx, p, dims)
            return
        container = _target_container(ctx, p, path, dims)
        metadata = header_metadata(header) if p.yes("import_metadata") else []
        ctx.expect(shape, layout.dtype)
        staged = _staged(ctx, path, whole, index, order, layout)
    measure_type = _IMPORT_TYPES.get(layout.dtype.str[1:]) or measure_type_of(layout.dtype)
    ctx.make_cube(
        container=container,
        measure=p.str("measure"),
        measure_type=measure_type,
        dims=dims,
        staged=staged,
        source=source,
        description=p.str("description"),
        metadata=metadata,
        objkey="importfits",
    )


def _fragmentation(ctx: OpContext, p: Params, dims: list[Dim]) -> None:
    """run=no: how the cube would be cut into fragments, and nothing imported."""
    rows = int(np.prod([d.size for d in dims if d.explicit], dtype=np.int64)) if dims else 1
    hosts = max(1, p.int("nhost"))
    fragments = p.int("nfrag") or 1
    if rows % (hosts * fragments):
        raise ValidationError(
            f"nfrag={fragments} does not divide the {rows} rows of this image",
            param="nfrag",
            hint="choose a divisor of the number of rows, or nfrag=0",
        )
    ctx.doc.add_text(
        "importfits",
        "Fragmentation parameters",
        f"Number of hosts: {hosts}\nNumber of fragments per database: {fragments}\n"
        f"Number of tuples per fragment: {rows // (hosts * fragments)}\n",
    )


# Integer images whose BZERO makes them unsigned (or signed bytes): the values are the stored
# numbers with their top bit flipped, which costs one pass over each block.
_OFFSET_TYPES = {
    (8, -128): np.dtype(np.int8),
    (16, 1 << 15): np.dtype(np.uint16),
    (32, 1 << 31): np.dtype(np.uint32),
    (64, 1 << 63): np.dtype(np.uint64),
}


def _staged(
    ctx: OpContext,
    path: Path,
    whole: np.ndarray,
    index: tuple[slice, ...],
    order: list[int],
    layout: Layout,
) -> Staged:
    """The image as the cube's array. The whole image, in the file's order, is referenced in
    place (nothing copied) when the store can link the file; otherwise it is copied: its rows
    streamed with pread, or all of it in memory when the axes change order (or it is
    compressed)."""
    in_order = order == sorted(order) and layout.offset >= 0
    if in_order and all(s == slice(None) for s in index):
        staged = ctx.store.arrays.reference(path, layout)
        if staged is not None:
            return staged
    if in_order:
        return _stream(ctx, path, whole, index, layout)
    values = layout.values(whole[index])
    if order != sorted(order):
        values = np.transpose(values, order)
    return ctx.store.arrays.stage(np.ascontiguousarray(values))


def _stream(
    ctx: OpContext, path: Path, whole: np.ndarray, index: tuple[slice, ...], layout: Layout
) -> Staged:
    """Stage a copy of the image (or its subset) block by block, reading the file's rows with
    pread: memory stays within the budget whatever the frame size, and each value is converted
    once."""
    first = index[0].start or 0
    rows = whole[index].shape
    inner = (slice(None), *index[1:])
    fd = os.open(path, os.O_RDONLY)
    try:
        return ctx.stream(
            rows,
            layout.dtype,
            lambda a, b: pread_rows(
                fd, layout.offset, whole.shape, whole.dtype, first + a, first + b, path
            )[inner],
            lambda numbers: layout.values(numbers, in_place=True),
            label="importfits",
            row_bytes=max(1, int(np.prod(whole.shape[1:])))
            * (layout.dtype.itemsize + whole.itemsize),
        )
    finally:
        os.close(fd)


def _layout(header: fits.Header, whole: np.ndarray, offset: int | None, path: Path) -> Layout:
    """How the image's numbers become values: as they are (in native byte order), offset to
    unsigned by BZERO, or scaled as astropy scales them (float32 for 8 and 16 bits and float32
    images, float64 beyond, times BSCALE plus BZERO, BLANK pixels NaN)."""
    bitpix = int(header["BITPIX"])
    bzero, bscale = header.get("BZERO", 0), header.get("BSCALE", 1)
    common = {
        "offset": -1 if offset is None else offset,
        "shape": tuple(int(n) for n in whole.shape),
        "disk": whole.dtype,
        "source": str(path),
    }
    raw = np.dtype({8: "u1", 16: "i2", 32: "i4", 64: "i8", -32: "f4", -64: "f8"}[bitpix])
    blank = header["BLANK"] if "BLANK" in header and bitpix > 0 else None
    if bscale == 1 and not bzero:
        return Layout(dtype=raw, **common)
    offset_type = _OFFSET_TYPES.get((bitpix, int(bzero))) if float(bzero).is_integer() else None
    if bscale == 1 and offset_type is not None and blank is None:
        return Layout(dtype=offset_type, bzero=bzero, **common)
    kind = np.dtype(np.float32 if abs(bitpix) <= 16 or bitpix == -32 else np.float64)
    return Layout(dtype=kind, bzero=bzero, bscale=bscale, blank=blank, **common)


@contextmanager
def _opened(
    path: Path, shown: str, hdu: int
) -> Iterator[tuple[fits.Header, np.ndarray, int | None]]:
    """The header, the stored numbers of image HDU ``hdu`` (memory-mapped, not scaled) and
    where they start in the file (None when they are compressed)."""
    from astropy.io import fits

    if not path.exists():
        raise OperatorError(f"file '{shown}' does not exist")
    if path.is_dir():
        raise OperatorError(f"'{shown}' is a directory, not a FITS file")
    with _quiet():
        try:
            hdul = fits.open(path, memmap=True, lazy_load_hdus=True, do_not_scale_image_data=True)
        except Exception as err:  # astropy raises OSError, ValueError, TypeError... on bad files
            raise OperatorError(f"'{shown}' is not a readable FITS file: {err}") from err
    with hdul:
        with _quiet():
            header, raw, offset = _image(hdul, path, shown, hdu)
        yield header, raw, offset


@contextmanager
def _quiet() -> Iterator[None]:
    """What astropy would print about a file is said once, in our own error."""
    from astropy.io.fits.verify import VerifyWarning
    from astropy.utils.exceptions import AstropyUserWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", VerifyWarning)
        warnings.simplefilter("ignore", AstropyUserWarning)
        yield


def _image(hdul, path: Path, shown: str, hdu: int) -> tuple[fits.Header, np.ndarray, int | None]:
    """The header, stored numbers and data offset of HDU ``hdu`` (None when compressed)."""
    from astropy.io import fits

    try:
        chosen = hdul[hdu - 1]
    except IndexError:
        raise OperatorError(f"'{shown}' has no HDU number {hdu}") from None
    except Exception as err:
        raise OperatorError(f"'{shown}' is not a readable FITS file: {err}") from err
    if not chosen.is_image:
        raise OperatorError(f"HDU {hdu} of '{shown}' is not an image")
    info = chosen.fileinfo()
    if info and info["datLoc"] + info["datSpan"] > path.stat().st_size:
        raise OperatorError(f"'{shown}' is truncated: its image is cut short")
    try:
        raw = chosen.data
    except Exception as err:
        raise OperatorError(f"'{shown}' is not a readable FITS file: {err}") from err
    if raw is None or raw.ndim == 0:
        raise OperatorError(f"HDU {hdu} of '{shown}' holds no image (NAXIS = 0)", hint="try hdu=2")
    in_place = not isinstance(chosen, fits.CompImageHDU)  # a compressed image's rows are not
    return chosen.header.copy(), raw, info["datLoc"] if in_place else None


def _subset(data: np.ndarray, names: list[str], p: Params) -> tuple[tuple[slice, ...], list[int]]:
    """The slices subset_dims/subset_filter (0-based, inclusive) choose, and their starts."""
    starts = [0] * data.ndim
    dims = p.list("subset_dims") if p.opt("subset_dims") else []
    filters = (
        p.list("subset_filter")
        if p.opt("subset_filter") and p.str("subset_filter") != "all"
        else []
    )
    if len(dims) != len(filters):
        raise ValidationError("subset_dims and subset_filter need the same number of values")
    index: list[slice] = [slice(None)] * data.ndim
    for name, text in zip(dims, filters, strict=True):
        if name not in names:
            raise ValidationError(
                f"subset_dims: '{name}' is not an axis of this file ({', '.join(names)})"
            )
        axis = names.index(name)
        bounds = text.split(":")
        if not all(b.isdigit() for b in bounds) or len(bounds) > 2:
            raise ValidationError(f"subset_filter '{text}' must be i or i:j (0-based)")
        lo, hi = int(bounds[0]), int(bounds[-1])
        if lo > hi or hi >= data.shape[axis]:
            raise ValidationError(f"subset_filter '{text}' is outside 0:{data.shape[axis] - 1}")
        index[axis] = slice(lo, hi + 1)
        starts[axis] = lo
    return tuple(index), starts


def _split_dims(names: list[str], exp: list[str], imp: list[str]) -> tuple[list[str], list[str]]:
    """Explicit and implicit dimension names, from exp_dim/imp_dim (``auto`` = Ophidia's rule)."""
    exp = [] if exp in ([], ["auto"]) else exp
    imp = [] if imp in ([], ["auto"]) else imp
    for name in exp + imp:
        if name not in names:
            raise ValidationError(f"'{name}' is not an axis of this file ({', '.join(names)})")
    if len(set(exp + imp)) != len(exp + imp):
        raise ValidationError("a dimension is both in exp_dim and imp_dim, or named twice")
    if not exp and not imp:
        return names[:-1], names[-1:]
    if not imp:
        imp = [n for n in names if n not in exp]
    if not exp:
        exp = [n for n in names if n not in imp]
    if set(exp + imp) != set(names):
        missing = ", ".join(n for n in names if n not in exp + imp)
        raise ValidationError(f"exp_dim and imp_dim must cover every axis; missing {missing}")
    if not imp:
        raise ValidationError("at least one dimension must be implicit (imp_dim)")
    return exp, imp


def _target_container(ctx: OpContext, p: Params, path: Path, dims: list[Dim]):
    name = p.opt("container")
    if name is None:
        folder = ctx.tree.folder(ctx.cwd)
        return ctx.store.containers.create(
            folder.id, path.name.split("#", 1)[0], [(d.name, "int", "oph_base") for d in dims]
        )
    container = ctx.container(name)
    missing = [d.name for d in dims if container.dim_type(d.name) is None]
    if missing:
        raise OperatorError(
            f"container '{container.name}' does not declare dimension(s) {', '.join(missing)}",
            hint="create it with dim=" + "|".join(d.name for d in dims),
        )
    return container


def header_metadata(header: fits.Header) -> list[MetadataItem]:
    """One metadata item per card: clean value, typed where numeric, comment kept apart."""
    items = []
    for card in header.cards:
        key = card.keyword
        if key in ("", "COMMENT", "HISTORY"):
            items.append(MetadataItem(key or "COMMENT", str(card.value), "text"))
            continue
        value = card.value
        if isinstance(value, bool):
            items.append(MetadataItem(key, "T" if value else "F", "text", comment=card.comment))
        elif isinstance(value, (int, np.integer)):
            kind = "int" if -(2**31) <= int(value) < 2**31 else "long"
            items.append(MetadataItem(key, str(int(value)), kind, comment=card.comment))
        elif isinstance(value, (float, np.floating)):
            items.append(MetadataItem(key, repr(float(value)), "double", comment=card.comment))
        else:
            items.append(MetadataItem(key, str(value).rstrip(), "text", comment=card.comment))
    return items
