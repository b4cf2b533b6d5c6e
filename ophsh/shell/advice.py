"""What to do next, added to the message of a failure the shell recognises.

The engine says what went wrong; some failures have a next step only the shell knows about (a
script re-run on the same store, a cube filter that also picks derived cubes).
"""

from __future__ import annotations

import re

from ophsh.request import TaskRequest
from ophsh.syntax import is_group

__all__ = ["advise"]

_SHAPES = re.compile(r"dimension\(s\) and|dimension \S+ differs|holds \w+ values and")


def advise(request: TaskRequest, message: str) -> str | None:
    """The next step for ``request`` that failed with ``message``, if one is known."""
    if request.operator == "oph_createcontainer" and "already exists" in message:
        name = request.get("container") or "NAME"
        return (
            f"to start again, delete it first: oph_deletecontainer container={name};force=yes "
            "(its cubes go too); in a script, a leading '-' lets that line fail when there is "
            "nothing to delete"
        )
    if _SHAPES.search(message):
        filters = [v for _, v in request.arguments if is_group(v) and "level" not in v]
        if any("=" in v for v in filters):
            return (
                "the filter may also pick cubes derived from the frames, which inherit their "
                "metadata: add level=0 to it to take only the imported frames"
            )
    return None
