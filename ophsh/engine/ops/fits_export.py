"""oph_exportfits: a cube written as a FITS image, streamed block by block.

Axes named NAXISn go back to their place, so the image has the orientation of the frame it came
from. When the cube's first axis is the image's outermost one (the usual case), rows are read and
written a block at a time within the memory budget, so memory stays flat whatever the frame
size; a cube stored transposed is written whole. Integer storage keeps its type (unsigned 16-bit
as BITPIX 16 with BZERO 32768), so an import-export round trip is bit-identical. The file is
written aside and named in one step; an existing file is replaced only with ``force=yes``.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import numpy as np

from ophsh.engine.context import OpContext
from ophsh.engine.exports import publish, where_to
from ophsh.engine.kernels import blocks
from ophsh.engine.model import Cube
from ophsh.engine.ops.fits import FITS_SUFFIXES, STRUCTURAL_KEYS
from ophsh.engine.params import Params
from ophsh.errors import OperatorError

if TYPE_CHECKING:  # astropy is imported where it is used: it doubles the shell's start-up time
    from astropy.io import fits

__all__ = ["exportfits"]

BLOCK = 2880  # bytes in a FITS block
# How each stored type is written: BITPIX, BZERO, and the type of the numbers in the file.
_LAYOUTS = {
    "u1": (8, 0, ">u1"),
    "i1": (8, -128, ">u1"),
    "i2": (16, 0, ">i2"),
    "u2": (16, 1 << 15, ">i2"),
    "i4": (32, 0, ">i4"),
    "u4": (32, 1 << 31, ">i4"),
    "i8": (64, 0, ">i8"),
    "f4": (-32, 0, ">f4"),
    "f8": (-64, 0, ">f8"),
}


def exportfits(ctx: OpContext, p: Params) -> None:
    """Write a cube as a FITS image, its metadata as header cards and its history.

    ``output_path`` is a directory, or the file itself when it ends in .fits, .fit or .fts; an
    existing file is replaced only with ``force=yes``.
    """
    from astropy.io import fits

    cube = ctx.cube(p.str("cube"))
    force = p.yes("force")
    directory, name, place = where_to(ctx, p, cube, FITS_SUFFIXES)
    cards = fits.Header()
    template = p.opt("template_path")
    if template:
        cards = _template_header(ctx, template)
    if p.yes("export_metadata"):
        _metadata_cards(ctx, cube, cards)
    for line in cube.provenance.splitlines():
        cards.add_history(f"ophsh: {line}")

    def write(tmp: Path) -> None:
        from astropy.io.fits.verify import VerifyWarning

        with open(tmp, "wb") as fh, warnings.catch_warnings():
            warnings.simplefilter("ignore", VerifyWarning)
            _write_image(ctx, cube, cards, fh)

    target = publish(
        directory, name, write, force=force, place=place, kind="FITS", sync=ctx.settings.fsync
    )
    shown_target = ctx.paths.to_virtual(target) if p.opt("output_path") else str(target)
    ctx.doc.add_text("exportfits", "Output File", shown_target)


def _fits_axes(cube: Cube) -> list[int]:
    """The cube's axes in the image's order, outermost (NAXISn) first: by name when the
    dimensions are NAXISk, else as stored."""
    names = [d.name for d in cube.active_dims]
    wanted = [f"NAXIS{k}" for k in range(len(names), 0, -1)]
    if sorted(names) == sorted(wanted):
        return [names.index(n) for n in wanted]
    return list(range(len(names)))


def _write_image(ctx: OpContext, cube: Cube, cards: fits.Header, fh: BinaryIO) -> None:
    """The primary HDU: structural cards, then ``cards``, then the values block by block."""
    from astropy.io import fits

    axes = _fits_axes(cube)
    shape = tuple(cube.shape[a] for a in axes) or (1,)
    stored = np.dtype(cube.storage)
    bitpix, bzero, raw = _LAYOUTS.get(stored.str[1:], (-64, 0, ">f8"))
    header = fits.Header([("SIMPLE", True), ("BITPIX", bitpix), ("NAXIS", len(shape))])
    for k, size in enumerate(reversed(shape), 1):
        header[f"NAXIS{k}"] = size
    if bzero:
        header["BZERO"], header["BSCALE"] = bzero, 1
    header.extend(cards, end=True)
    for card in header.cards:
        card.verify("silentfix")  # what writeto(output_verify="fix") did for odd cards
    fh.write(header.tostring().encode("ascii"))  # padded to whole FITS blocks, END included
    written = 0

    def write(values: np.ndarray) -> None:
        nonlocal written
        ctx.check_cancel()
        data = _file_numbers(np.asarray(values, dtype=stored), raw, bzero)
        fh.write(data.data)
        written += data.nbytes

    if not cube.shape:
        write(np.asarray(ctx.store.data(cube)).reshape(1))
    elif axes[0] != 0:  # stored transposed: the image's rows are columns of the cube
        write(np.transpose(ctx.whole(cube), axes))
    else:
        rows = cube.shape[0]
        # a row as read, and as the file's numbers
        row_bytes = max(1, cube.elements // rows) * (stored.itemsize + np.dtype(raw).itemsize)
        inner = [a - 1 for a in axes[1:]]
        for start, stop in blocks(rows, row_bytes, ctx.settings.memory_bytes):
            block = ctx.store.rows(cube, start, stop)
            write(np.transpose(block, [0, *(1 + a for a in inner)]))
            ctx.progress("exportfits", stop, rows)
    fh.write(b"\0" * (-written % BLOCK))  # the data end on a whole FITS block


def _file_numbers(values: np.ndarray, raw: str, bzero: int) -> np.ndarray:
    """``values`` as the file holds them, in one new array: big-endian numbers of type ``raw``,
    less ``bzero``. The offsets of :data:`_LAYOUTS` (half the type's range) are the top bit
    flipped."""
    big = np.dtype(raw)
    if not bzero:
        return np.ascontiguousarray(values, dtype=big)
    unsigned = np.dtype(f"u{big.itemsize}")
    numbers = np.empty(values.shape, unsigned)
    np.bitwise_xor(values.view(unsigned), unsigned.type(1 << (8 * big.itemsize - 1)), out=numbers)
    return numbers.byteswap(inplace=True).view(big)


def _template_header(ctx: OpContext, template: str) -> fits.Header:
    from astropy.io import fits

    path = ctx.paths.real(ctx.cdd, template)
    try:
        with fits.open(path) as hdul:
            header = hdul[0].header.copy()
    except Exception as err:
        raise OperatorError(f"template '{template}' is not a readable FITS file: {err}") from err
    for key in list(header):
        if STRUCTURAL_KEYS.match(key):
            header.remove(key, ignore_missing=True, remove_all=True)
    return header


def _metadata_cards(ctx: OpContext, cube: Cube, header: fits.Header) -> None:
    from astropy.io import fits
    from astropy.io.fits.verify import VerifyWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", VerifyWarning)
        for item in ctx.store.metadata.items(cube.id):
            key, value = item.key, _card_value(item.type, item.value)
            if STRUCTURAL_KEYS.match(key.upper()):
                continue
            try:
                if key == "COMMENT":
                    header.add_comment(item.value)
                elif key == "HISTORY":
                    header.add_history(item.value)
                else:
                    header.append(fits.Card(key, value, item.comment), end=True)
            except (ValueError, TypeError):
                continue  # a key or value FITS cannot hold; the cube keeps it


def _card_value(kind: str, text: str):
    if kind in ("int", "long", "short"):
        try:
            return int(text)
        except ValueError:
            return text
    if kind in ("double", "float"):
        try:
            return float(text)
        except ValueError:
            return text
    if text in ("T", "F"):
        return text == "T"
    return text
