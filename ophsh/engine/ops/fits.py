"""FITS import: oph_importfits (oph_exportfits is in :mod:`ophsh.engine.ops.fits_export`).

Dimensions keep their FITS names (NAXIS1 is the fastest axis), so export can put every axis
back where it was whatever ``exp_dim``/``imp_dim`` chose at import. Integer data keep their
stored type (e.g. unsigned 16-bit with BZERO 32768), so a round trip gives the same pixels, bit
for bit; the measure type is still the one Ophidia reports (double for unsigned 16-bit).
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ophsh.engine.context import OpContext
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
    header, data = _read_hdu(path, source, p.int("hdu"))
    naxis = data.ndim
    names = [f"NAXIS{k}" for k in range(naxis, 0, -1)]  # array axis order: NAXISn ... NAXIS1
    data, starts = _subset(data, names, p)
    explicit, implicit = _split_dims(names, p.list("exp_dim"), p.list("imp_dim"))
    order = [names.index(n) for n in explicit + implicit]
    data = np.ascontiguousarray(np.transpose(data, order)) if order != list(range(naxis)) else data
    data = data.astype(data.dtype.newbyteorder("="), copy=False)
    dims = [
        Dim(
            name=name,
            type="int",
            size=data.shape[i],
            explicit=name in explicit,
            level=(explicit.index(name) if name in explicit else implicit.index(name)) + 1,
            values=np.arange(1, data.shape[i] + 1, dtype=np.int32) + starts[names.index(name)],
        )
        for i, name in enumerate(explicit + implicit)
    ]
    container = _target_container(ctx, p, path, dims)
    metadata = header_metadata(header) if p.yes("import_metadata") else []
    measure_type = _IMPORT_TYPES.get(data.dtype.str[1:]) or measure_type_of(data.dtype)
    ctx.make_cube(
        container=container,
        measure=p.str("measure"),
        measure_type=measure_type,
        dims=dims,
        data=data,
        source=source,
        description=p.str("description"),
        metadata=metadata,
        objkey="importfits",
    )


def _read_hdu(path: Path, shown: str, hdu: int) -> tuple[fits.Header, np.ndarray]:
    from astropy.io import fits
    from astropy.io.fits.verify import VerifyWarning

    if not path.exists():
        raise OperatorError(f"file '{shown}' does not exist")
    if path.is_dir():
        raise OperatorError(f"'{shown}' is a directory, not a FITS file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", VerifyWarning)
            with fits.open(path, memmap=False, lazy_load_hdus=True) as hdul:
                try:
                    chosen = hdul[hdu - 1]
                except IndexError:
                    raise OperatorError(f"'{shown}' has no HDU number {hdu}") from None
                if not chosen.is_image:
                    raise OperatorError(f"HDU {hdu} of '{shown}' is not an image")
                data = chosen.data
                header = chosen.header.copy()
    except OperatorError:
        raise
    except Exception as err:  # astropy raises OSError, ValueError, TypeError... on bad files
        raise OperatorError(f"'{shown}' is not a readable FITS file: {err}") from err
    if data is None or data.ndim == 0:
        raise OperatorError(f"HDU {hdu} of '{shown}' holds no image (NAXIS = 0)", hint="try hdu=2")
    return header, np.asarray(data)


def _subset(data: np.ndarray, names: list[str], p: Params) -> tuple[np.ndarray, list[int]]:
    """Apply subset_dims/subset_filter (0-based, inclusive) and return the start offsets."""
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
    return data[tuple(index)], starts


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
