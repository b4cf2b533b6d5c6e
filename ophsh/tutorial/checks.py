"""Named checks a lesson step refers to, with its parameters from the lesson file.

A check looks at the store only through the shell (operators such as ``oph_list``,
``oph_cubeschema``, ``oph_metadata`` and ``oph_explorecube``, whose replies it reads), at files on
the practice disk, or at ``ophsh serve`` through PyOphidia. It returns None when the step's goal
is met, else one or two lines saying what is wrong.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from astropy.io import fits

from ophsh.document import Grid
from ophsh.shell.outcome import Outcome
from ophsh.shell.shell import Shell
from ophsh.tutorial.expected import Night, describe, difference, matches
from ophsh.tutorial.practice import DEFAULT_PORT, Practice

__all__ = ["CHECKS", "Context", "run_check"]

_TYPES = {"double": "<f8", "float": "<f4", "int": "<i4", "long": "<i8", "short": "<i2"}


@dataclass
class Context:
    """What a check may look at: the shell, the practice area, and the line just typed."""

    shell: Shell
    practice: Practice
    night: Night
    last: Outcome | None = None  # None when the user typed `next`

    def probe(self, line: str) -> Outcome:
        """Run a line for the check, leaving the user's variables as they were."""
        saved = dict(self.shell.state.variables)
        try:
            return self.shell.run_line(line)
        finally:
            self.shell.state.variables.clear()
            self.shell.state.variables.update(saved)

    def grid(self, line: str, objkey: str) -> Grid | None:
        outcome = self.probe(line)
        if not outcome.ok or outcome.reply is None or outcome.reply.document is None:
            return None
        return outcome.reply.document.grid(objkey)

    def count(self, value: int | str) -> int:
        return value if isinstance(value, int) else self.practice.counts[value]


Check = Callable[..., str | None]
CHECKS: dict[str, Check] = {}


def check(function: Check) -> Check:
    CHECKS[function.__name__] = function
    return function


def run_check(ctx: Context, name: str, params: Mapping[str, Any]) -> str | None:
    return CHECKS[name](ctx, **params)


def _cube(ctx: Context, ref: str) -> tuple[str | None, str | None]:
    """(PID, None) for ``$variable`` or a PID, or (None, why not)."""
    if ref.startswith("$"):
        name = ref[1:]
        value = ctx.shell.state.get(name)
        if not value:
            keep = f"keep it with: setenv {name}:=$OPH_DATACUBE" if name != "OPH_DATACUBE" else ""
            return None, f"Not yet: ${name} is not set; {keep}".rstrip("; ")
        return value, None
    return ref, None


@check
def ran(ctx: Context, request: str, what: str) -> str | None:
    """The line just typed matches ``request`` (a regular expression) and worked."""
    last = ctx.last
    if last is None or not re.search(request, last.request):
        return f"Not yet: this step wants {what}."
    if not last.ok:
        return "That command failed (see the error above); fix it and run it again."
    return None


@check
def reply_lists(ctx: Context, objkey: str, column: str, count: int | str, what: str) -> str | None:
    """The reply to the line just typed lists ``count`` different values in a grid's column."""
    problem = ran(ctx, ".", what)
    if problem is not None:
        return problem
    grid = ctx.last.reply.document.grid(objkey) if ctx.last.reply else None
    found = len(set(grid.column(column))) if grid is not None else 0
    want = ctx.count(count)
    if found != want:
        return f"That lists {found} {column.lower()}(s); the night has {want}. Check the filter."
    return None


@check
def container_exists(ctx: Context, container: str, exists: bool = True) -> str | None:
    grid = ctx.grid("oph_list level=2;path=/;recursive=yes", "list")
    found = grid is not None and any(row[0] == "c" and row[1] == container for row in grid.rows)
    if found and not exists:
        return f"Container {container} is still there (ll shows it)."
    if not found and exists:
        return f"There is no container {container} yet (ll lists the containers)."
    return None


@check
def cube_count(ctx: Context, container: str, count: int | str) -> str | None:
    grid = ctx.grid("oph_list level=2;path=/;recursive=yes", "list")
    rows = [] if grid is None else [r for r in grid.rows if r[1] == container and r[2]]
    want = ctx.count(count)
    if len(rows) == want:
        return None
    if len(rows) > want:
        return (
            f"{container} holds {len(rows)} cubes, {want} expected: something was imported twice.\n"
            f"Start again: oph_deletecontainer container={container};force=yes, then the lesson."
        )
    return f"{container} holds {len(rows)} cube(s); {want} expected."


def _schema(ctx: Context, pid: str) -> Grid | None:
    return ctx.grid(f"oph_cubeschema cube={pid}", "cubeschema_diminfo")


def _not_a_frame(ctx: Context, what: str, grid: Grid | None) -> str | None:
    """Why a cube (its dimension grid) is not one frame of the night, or None."""
    if grid is None:
        return f"{what} is not a cube of the store (ll lists them)."
    names, sizes = grid.column("NAME"), grid.column("SIZE")
    # a dimension reduced away stays listed with the size ALL: it no longer counts
    dims = {n: int(size) for n, size in zip(names, sizes, strict=True) if size.isdigit()}
    rows, cols = ctx.night.image("frame").shape
    if dims == {"NAXIS1": cols, "NAXIS2": rows}:
        return None
    shown = ", ".join(f"{k}={v}" for k, v in dims.items())
    return f"{what} has {shown}; a frame has NAXIS1={cols}, NAXIS2={rows} and nothing else."


@check
def cube_shape(ctx: Context, cube: str, implicit: str = "") -> str | None:
    """The cube is a frame: NAXIS1 x NAXIS2 of the night's size (``implicit`` the array dim)."""
    pid, why = _cube(ctx, cube)
    if pid is None:
        return why
    grid = _schema(ctx, pid)
    problem = _not_a_frame(ctx, cube, grid)
    if problem is not None:
        return problem
    names, arrays = grid.column("NAME"), grid.column("ARRAY")
    implicits = [n for n, a in zip(names, arrays, strict=True) if a == "yes"]
    if implicit and implicits != [implicit]:
        return f"{implicit} should be the implicit (array) dimension, it is {', '.join(implicits)}."
    return None


@check
def metadata_equals(ctx: Context, cube: str, key: str, value: str) -> str | None:
    pid, why = _cube(ctx, cube)
    if pid is None:
        return why
    grid = ctx.grid(f"oph_metadata mode=read;cube={pid};metadata_key={key}", "metadata_list")
    values = [] if grid is None else grid.column("Value")
    if values == [value]:
        return None
    return f"Metadata {key} of the cube is {values[0] if values else 'missing'}, not {value}."


def _values(ctx: Context, pid: str) -> np.ndarray:
    """The values of a one-frame cube, rows and columns as in the raw frame."""
    line = f"oph_explorecube cube={pid};base64=yes;limit_filter=0;level=1;show_index=no;show_id=no"
    grid = ctx.grid(line, "explorecube_data")
    dtype = np.dtype(_TYPES.get(grid.types[-1], "<f8"))
    data = np.vstack([np.frombuffer(base64.b64decode(row[-1]), dtype=dtype) for row in grid.rows])
    return data.T if grid.keys[0] == "NAXIS1" else data  # the frame's orientation


@check
def cube_is(
    ctx: Context, cube: str, image: str, filter: str = "", wrong: Mapping[str, str] | None = None
) -> str | None:
    """The cube holds the expected image (to 1e-5); ``wrong`` names known mistakes to explain."""
    pid, why = _cube(ctx, cube)
    if pid is None:
        return why
    problem = _not_a_frame(ctx, cube, _schema(ctx, pid))
    if problem is not None:
        return problem
    return _compare(ctx, _values(ctx, pid), cube, image, filter, wrong or {})


def _compare(
    ctx: Context, values: np.ndarray, what: str, image: str, filt: str, wrong: Mapping[str, str]
) -> str | None:
    expected = ctx.night.image(image, filt)
    if matches(values, expected):
        return None
    for other, say in wrong.items():
        if matches(values, ctx.night.image(other, filt)):
            return say.strip()
    if values.shape != expected.shape:
        return f"{what} is {values.shape[1]}x{values.shape[0]}, not a frame-sized image."
    off = difference(values, expected)
    return f"{what} is not {describe(image, filt)} (off by up to {off:.2g} of its peak)."


@check
def fits_matches(
    ctx: Context, path: str, image: str, filter: str = "", wrong: Mapping[str, str] | None = None
) -> str | None:
    """An exported FITS file on the practice disk holds the expected image."""
    real = ctx.practice.real(path)
    if not real.is_file():
        return f"There is no {path} yet (lsd {path.rsplit('/', 1)[0]} lists that folder)."
    data = fits.getdata(real).astype(np.float64)
    return _compare(ctx, data, path, image, filter, wrong or {})


@check
def file_exists(ctx: Context, path: str, magic: str = "") -> str | None:
    real = ctx.practice.real(path)
    if not real.is_file():
        return f"There is no {path} yet."
    if magic and not real.read_bytes().startswith(magic.encode("latin-1")):
        return f"{path} is there but is not the expected kind of file."
    return None


@check
def server_sees(
    ctx: Context, user: str, password: str, container: str = "", count: int | str = 0
) -> str | None:
    """``ophsh serve`` answers PyOphidia as ``user``, whose ``container`` holds ``count`` cubes."""
    from PyOphidia import client as oph_client

    port = ctx.shell.state.get("OPH_SERVER_PORT") or DEFAULT_PORT
    quiet = io.StringIO()
    try:
        with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
            connection = oph_client.Client(user, password, "127.0.0.1", port)
            connection.submit("oph_list level=2;path=/;recursive=yes;")
            reply = connection.last_response
    except Exception:  # PyOphidia raises plain exceptions for every failure
        reply = None
    if not reply:
        return (
            f"PyOphidia gets no answer as {user} on 127.0.0.1:{port}: is ophsh serve running,\n"
            f"and was the user added to this store? (the step's text has both commands)"
        )
    if not container:
        return None
    found = sum(1 for row in _rows(reply) if row[1] == container and row[2])
    want = ctx.count(count)
    if found != want:
        return (
            f"{user}'s container {container} holds {found} cube(s) on the server; {want} expected."
        )
    return None


def _rows(reply: str) -> list[list[str]]:
    """The rows of the oph_list grid in a raw JSON reply."""
    for obj in json.loads(reply).get("response", []):
        if obj.get("objkey") == "list":
            return obj["objcontent"][0].get("rowvalues", [])
    return []
