"""Files an export writes for the user: written aside, named in one step, never replacing an
existing file unless asked, and no temporary left behind by a writer that died.

A file being written is ``.ophsh-export-<pid>-<random><suffix>`` in the target folder (hidden
from ``oph_fs ls``); the next export to that folder removes those whose writer is gone.
"""

from __future__ import annotations

import os
import posixpath
import re
import secrets
from collections.abc import Callable
from pathlib import Path

from ophsh.engine.context import OpContext
from ophsh.engine.model import Cube
from ophsh.engine.params import Params
from ophsh.engine.paths import shown
from ophsh.errors import OperatorError, ValidationError

__all__ = ["publish", "where_to"]

_TMP_PREFIX = ".ophsh-export-"
_TMP_NAME = re.compile(r"^\.ophsh-export-(\d{1,9})-[0-9a-f]+\.\w+$")


def where_to(
    ctx: OpContext, p: Params, cube: Cube, suffixes: tuple[str, ...]
) -> tuple[Path, str, str]:
    """The folder, the file name and the path to show for an export of ``cube``: output_path
    (a folder, or the file itself when it ends in one of ``suffixes``) and output_name
    (default: the measure), else the session's export area in the store (once, unless force)."""
    path, name = p.opt("output_path"), p.opt("output_name")
    if path and path.rstrip().lower().endswith(suffixes):
        if name:
            raise ValidationError(
                f"output_path '{shown(path)}' names a file, so output_name= cannot be given too",
                param="output_name",
                hint=f"give output_path=DIR;output_name=NAME or output_path=DIR/NAME{suffixes[0]}",
            )
        head, slash, name = path.strip().rpartition("/")
        path = head or slash or "."
    name = re.sub(r"[/:]", "_", name or cube.measure)
    if not name.lower().endswith(suffixes):
        name += suffixes[0]
    if path:
        return ctx.paths.real(ctx.cdd, path), name, posixpath.join(path, name)
    directory = ctx.store.root / "export" / ctx.session.code / str(cube.container) / str(cube.id)
    if directory.exists() and not p.yes("force"):
        raise OperatorError(
            "this cube was exported to the default place already", hint="add force=yes to overwrite"
        )
    return directory, name, name


def publish(
    directory: Path,
    name: str,
    write: Callable[[Path], None],
    *,
    force: bool,
    place: str,
    kind: str,
    sync: bool = False,
    refused: tuple[type[Exception], ...] = (),
) -> Path:
    """Write ``directory/name`` with ``write`` (given the temporary path to fill) and name it
    in one step, replacing an existing file only when ``force``. Failures name ``place``, the
    path as the user gave it; ``refused`` are the errors by which the format library says it
    cannot hold something (reported as such, e.g. "cannot write 'x.nc' as NetCDF: ...").
    ``sync`` forces the file to the disk before it is named (the store's fsync setting)."""
    if "\0" in name:
        raise OperatorError(f"the file name '{shown(name)}' contains a NUL character")
    target = directory / name
    try:
        directory.mkdir(parents=True, exist_ok=True)
        if target.is_dir():
            raise OperatorError(f"'{shown(place)}' is a directory, not a {kind} file")
        if target.exists() and not force:
            raise OperatorError(f"'{shown(place)}' already exists", hint="add force=yes")
        _sweep(directory)
        tmp = directory / f"{_TMP_PREFIX}{os.getpid()}-{secrets.token_hex(4)}{Path(name).suffix}"
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))  # the umask applies
    except OSError as err:
        raise OperatorError(f"cannot write '{shown(place)}': {err.strerror}") from None
    try:
        write(tmp)
        if sync:
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        if force:
            os.replace(tmp, target)
        else:
            os.link(tmp, target)  # fails, rather than replace, if the name was taken meanwhile
    except FileExistsError:
        raise OperatorError(f"'{shown(place)}' already exists", hint="add force=yes") from None
    except OSError as err:
        raise OperatorError(f"cannot write '{shown(place)}': {err.strerror or err}") from None
    except refused as err:
        raise OperatorError(f"cannot write '{shown(place)}' as {kind}: {err}") from None
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _sweep(directory: Path) -> None:
    """Remove the temporary files of exports whose writing process has ended."""
    for entry in directory.glob(f"{_TMP_PREFIX}*"):
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
