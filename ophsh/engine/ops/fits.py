"""FITS import and export: oph_importfits and oph_exportfits.

Dimensions keep their FITS names (NAXIS1 is the fastest axis), so export can put every axis
back where it was whatever ``exp_dim``/``imp_dim`` chose at import. Integer data keep their
stored type (e.g. unsigned 16-bit with BZERO 32768), so a round trip gives the same pixels, bit
for bit; the measure type is still the one Ophidia reports (double for unsigned 16-bit).
"""

from __future__ import annotations

import os
import posixpath
import re
import secrets
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ophsh.engine.context import OpContext
from ophsh.engine.metadata import MetadataItem
from ophsh.engine.model import Cube, Dim, measure_type_of
from ophsh.engine.params import Params
from ophsh.engine.paths import shown
from ophsh.errors import OperatorError, ValidationError

if TYPE_CHECKING:  # astropy is imported where it is used: it doubles the shell's start-up time
    from astropy.io import fits

__all__ = ["STRUCTURAL_KEYS", "exportfits", "header_metadata", "importfits"]

STRUCTURAL_KEYS = re.compile(
    r"^(SIMPLE|BITPIX|NAXIS\d*|EXTEND|BZERO|BSCALE|END|PCOUNT|GCOUNT|XTENSION|CHECKSUM|DATASUM)$"
)
# Ophidia's measure type for each pixel type astropy gives after BZERO/BSCALE (CFITSIO's
# "equivalent type"); unsigned and signed-byte images become double there. 8-bit images (0..255)
# are "short" here, because Ophidia's signed byte would wrap values above 127.
_IMPORT_TYPES = {"u1": "short", "u2": "double", "u4": "double", "u8": "double", "i1": "double"}
FITS_SUFFIXES = (".fits", ".fit", ".fts")
# An export is written aside under this prefix (hidden from oph_fs ls) with its writer's pid.
_TMP_PREFIX = ".ophsh-export-"
_TMP_NAME = re.compile(r"^\.ophsh-export-(\d{1,9})-[0-9a-f]+\.fits$")


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
        return ctx.store.create_container(
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


# -- export -------------------------------------------------------------------------------
def exportfits(ctx: OpContext, p: Params) -> None:
    """Write a cube as a FITS image, its metadata as header cards and its history.

    ``output_path`` is a directory, or the file itself when it ends in .fits, .fit or .fts; an
    existing file is replaced only with ``force=yes``.
    """
    from astropy.io import fits

    cube = ctx.cube(p.str("cube"))
    force = p.yes("force")
    path, name = p.opt("output_path"), p.opt("output_name")
    if path and path.rstrip().lower().endswith(FITS_SUFFIXES):
        if name:
            raise ValidationError(
                f"output_path '{shown(path)}' names a file, so output_name= cannot be given too",
                param="output_name",
                hint="give output_path=DIR;output_name=NAME or output_path=DIR/NAME.fits",
            )
        head, slash, name = path.strip().rpartition("/")
        path = head or slash or "."
    name = re.sub(r"[/:]", "_", name or cube.measure)
    if not name.lower().endswith(FITS_SUFFIXES):
        name += ".fits"
    if path:
        directory = ctx.paths.real(ctx.cdd, path)
        place = posixpath.join(path, name)
    else:
        directory = (
            ctx.store.root / "export" / ctx.session.code / str(cube.container) / str(cube.id)
        )
        if directory.exists() and not force:
            raise OperatorError(
                "this cube was exported to the default place already",
                hint="add force=yes to overwrite",
            )
        place = name
    data = _fits_array(ctx, cube)
    header = fits.Header()
    template = p.opt("template_path")
    if template:
        header = _template_header(ctx, template)
    if p.yes("export_metadata"):
        _metadata_cards(ctx, cube, header)
    for line in cube.provenance.splitlines():
        header.add_history(f"ophsh: {line}")
    target = _publish(directory, name, fits.PrimaryHDU(data=data, header=header), force, place)
    shown_target = ctx.paths.to_virtual(target) if path else str(target)
    ctx.doc.add_text("exportfits", "Output File", shown_target)


def _fits_array(ctx: OpContext, cube: Cube) -> np.ndarray:
    """The array with NAXIS1 as the fastest axis: by name when the dims are NAXISk."""
    data = np.asarray(ctx.store.data(cube))
    dims = cube.active_dims
    if not dims:
        return data.reshape(1)
    names = [d.name for d in dims]
    wanted = [f"NAXIS{k}" for k in range(len(names), 0, -1)]
    if sorted(names) == sorted(wanted):
        data = np.transpose(data, [names.index(n) for n in wanted])
    return np.ascontiguousarray(data)


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


def _publish(directory: Path, name: str, hdu: fits.PrimaryHDU, force: bool, place: str) -> Path:
    """Write ``hdu`` aside in ``directory`` and give it its name in one step (replacing an
    existing file only when ``force``); failures name ``place``, the path the user gave."""
    from astropy.io.fits.verify import VerifyWarning

    if "\0" in name:
        raise OperatorError(f"the file name '{shown(name)}' contains a NUL character")
    target = directory / name
    try:
        directory.mkdir(parents=True, exist_ok=True)
        if target.is_dir():
            raise OperatorError(f"'{shown(place)}' is a directory, not a FITS file")
        if target.exists() and not force:
            raise OperatorError(f"'{shown(place)}' already exists", hint="add force=yes")
        _sweep(directory)
        tmp = directory / f"{_TMP_PREFIX}{os.getpid()}-{secrets.token_hex(4)}.fits"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies
    except OSError as err:
        raise OperatorError(f"cannot write '{shown(place)}': {err.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as fh, warnings.catch_warnings():
            warnings.simplefilter("ignore", VerifyWarning)
            hdu.writeto(fh, output_verify="fix")
            fh.flush()
            os.fsync(fh.fileno())
        if force:
            os.replace(tmp, target)
        else:
            os.link(tmp, target)  # fails, rather than replace, if the name was taken meanwhile
    except FileExistsError:
        raise OperatorError(f"'{shown(place)}' already exists", hint="add force=yes") from None
    except OSError as err:
        raise OperatorError(f"cannot write '{shown(place)}': {err.strerror}") from None
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _sweep(directory: Path) -> None:
    """Remove the temporary files of exports whose writing process has ended."""
    for entry in directory.glob(f"{_TMP_PREFIX}*.fits"):
        match = _TMP_NAME.match(entry.name)
        try:
            if match and not _writing(int(match[1]), entry.stat().st_mtime):
                entry.unlink()
        except FileNotFoundError:
            continue  # removed meanwhile: renamed by its writer, or swept by another export


def _writing(pid: int, mtime: float) -> bool:
    """Whether process ``pid`` may still be writing a file last written at ``mtime`` (alive,
    and not a newer process that got the same number)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, another user's
    try:
        ticks = int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[19])
        boot = next(
            float(line.split()[1])
            for line in Path("/proc/stat").read_text().splitlines()
            if line.startswith("btime ")
        )
    except (OSError, ValueError, IndexError, StopIteration):
        return True  # no /proc: trust the number
    started = boot + ticks / os.sysconf("SC_CLK_TCK")
    return mtime >= started - 1
