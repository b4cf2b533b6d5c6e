"""``show ... output=FILE.png`` and ``preview=yes``: pictures of a 2-D cube from the shell.

These keys are ophsh's own, on top of oph_explorecube: the shell takes them off, asks the
backend for the values (oph_explorecube base64=yes, as PyOphidia does, so it works on a remote
server too), and renders them (:mod:`ophsh.render.picture`).
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import TYPE_CHECKING

from ophsh.errors import OperatorError, ValidationError
from ophsh.request import TaskRequest
from ophsh.shell.outcome import Outcome
from ophsh.syntax import parse_request

if TYPE_CHECKING:  # numpy and the picture code load when a picture is asked for
    import numpy as np

    from ophsh.shell.shell import Shell

__all__ = ["KEYS", "show", "wanted"]

KEYS = ("output", "stretch", "preview")
# How the values are fetched: every row, as base64 of the packed array (as PyOphidia does).
RAW_VALUES = (
    ("base64", "yes"),
    ("limit_filter", "0"),
    ("level", "2"),  # with the values of every dimension, to see how many there are
    ("show_index", "no"),
    ("show_id", "no"),
)
_TYPES = {
    "double": "<f8",
    "float": "<f4",
    "int": "<i4",
    "long": "<i8",
    "short": "<i2",
    "byte": "i1",
}


def wanted(shell: Shell, line: str) -> bool:
    """True for an oph_explorecube line that carries one of our picture keys."""
    word = line.split(None, 1)[0] if line.strip() else ""
    spec = shell.specs.operator(word)
    if spec is None or spec.name != "oph_explorecube":
        return False
    try:
        request = parse_request(line)
        return any(request.get(key) is not None for key in KEYS)
    except Exception:  # a malformed line: the normal path reports it
        return False


def show(shell: Shell, line: str) -> Outcome:
    request = parse_request(line)
    output = request.get("output")
    stretch = request.get("stretch") or "zscale"
    from ophsh.render.picture import STRETCHES, grey_image, preview, write_png

    if stretch not in STRETCHES:
        raise ValidationError(
            f"stretch={stretch} is not allowed; choose one of {', '.join(STRETCHES)}"
        )
    look = (request.get("preview") or ("no" if output else "yes")).lower() == "yes"
    if output and not output.lower().endswith(".png"):
        raise ValidationError("output= names a .png file", hint="e.g. output=galaxy.png")
    target = Path(output).expanduser() if output else None
    if target is not None and not (Path.cwd() / target).parent.is_dir():
        raise ValidationError(
            f"output={output}: the folder {(Path.cwd() / target).parent} does not exist",
            hint="create it first, or write the picture where you are",
        )
    asked = TaskRequest("oph_explorecube", request.without(*KEYS).arguments)
    for key, value in RAW_VALUES:
        asked = asked.with_arg(key, value)
    fetched = shell.run_operator(asked.line())
    if not fetched.ok:
        return fetched
    image = grey_image(_values(fetched), stretch)
    notes = []
    if output:
        target = Path(output).expanduser()
        target = target if target.is_absolute() else Path.cwd() / target
        write_png(target, image)
        notes.append(f"picture written to {target} ({image.shape[1]}x{image.shape[0]}, {stretch})")
    outcome = Outcome(request=line, text="\n".join(notes))
    if look:
        outcome.visual = preview(image)
    return outcome


def _values(fetched: Outcome) -> np.ndarray:
    import numpy as np

    """The 2-D array in an explorecube reply (rows along its one explicit dimension)."""
    grid = fetched.reply.document.grid("explorecube_data")
    if grid is None or not grid.rows:
        raise OperatorError("the cube has no values to draw")
    explicit = list(grid.keys[:-1])
    if len(explicit) != 1:
        raise OperatorError(
            f"a picture needs a 2-D cube with one explicit dimension (it has {len(explicit)})",
            hint="take one plane with oph_subset, or reduce the others away",
        )
    sizes = {g.title: len(g.rows) for g in fetched.reply.document.grids("explorecube_dimvalues")}
    planes = [name for name, size in sizes.items() if name not in explicit and size > 1]
    if len(planes) > 1:
        shape = ", ".join(f"{name}={size}" for name, size in sizes.items())
        raise OperatorError(
            f"a picture needs a 2-D cube, and this one is {len(sizes)}-D ({shape})",
            hint=f"pick one plane first, e.g. oph_subset subset_dims={planes[-1]};subset_filter=1",
        )
    dtype = np.dtype(_TYPES.get(grid.types[-1], "<f8")).newbyteorder("=")
    rows = [np.frombuffer(base64.b64decode(row[-1]), dtype=dtype) for row in grid.rows]
    if len({len(r) for r in rows}) != 1 or len(rows[0]) < 2:
        raise OperatorError("a picture needs a 2-D cube (one implicit dimension)")
    data = np.vstack(rows)
    return data.T if explicit[0] == "NAXIS1" else data  # keep the frame's orientation
