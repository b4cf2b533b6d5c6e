"""The interface every backend implements, and the reply they all return.

A backend takes an Ophidia request (one validated :class:`~ophsh.request.TaskRequest`, or a
workflow) and answers the way an Ophidia server does: an error code (0 = the request was
accepted), a job id, and the response document. It also tells what exists where the user is
(cubes, containers, folders, files), which is what completion needs. The embedded store and a
remote server behind PyOphidia both fit it, so the shell, the scripts, the completer and the
renderer never know which one they talk to.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from ophsh.document import Document
from ophsh.request import Context, TaskRequest

__all__ = [
    "FINISHED_STATUSES",
    "SERVER_ERRORS",
    "Backend",
    "Entry",
    "ProgressCallback",
    "Reply",
    "StartState",
]

# The server-level error codes of Ophidia's protocol (not operator failures).
SERVER_ERRORS = {
    0: "ok",
    1: "unknown error",
    2: "null pointer",
    3: "error",
    4: "I/O error",
    5: "authentication error",
    6: "system error",
    7: "wrong parameter",
    8: "no response",
}

# The job statuses after which nothing about a job changes any more.
FINISHED_STATUSES = ("OPH_STATUS_COMPLETED", "OPH_STATUS_ERROR", "OPH_STATUS_ABORTED")

ProgressCallback = Callable[[str, int, int], None]


@dataclass
class Reply:
    """What a request got back: server error code, job id and response document."""

    error: int = 0
    jobid: str | None = None
    document: Document | None = None
    message: str | None = None  # why, when error != 0
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error == 0 and (self.document is None or self.document.ok)

    @property
    def failure(self) -> str | None:
        """One line saying what went wrong, or None."""
        if self.error:
            reason = SERVER_ERRORS.get(self.error, f"error {self.error}")
            return f"server {reason}: {self.message}" if self.message else f"server {reason}"
        if self.document is not None:
            return self.document.error_message
        return None

    @property
    def session(self) -> str | None:
        """The session id carried by the job id (``<session>?<workflow>#<marker>``)."""
        if not self.jobid:
            return None
        return self.jobid.split("?", 1)[0]


@dataclass(frozen=True)
class StartState:
    """What a shell resumes from the backend when it starts."""

    session: str = ""
    cwd: str = "/"
    cdd: str = "/"
    datacube: str = ""


@dataclass(frozen=True)
class Entry:
    """Something that exists where the user is: a cube PID, container, folder or file name."""

    name: str
    note: str = ""  # a cube's description, a container's description...
    is_dir: bool = False


@runtime_checkable
class Backend(Protocol):
    """A place that runs Ophidia operators."""

    label: str  # shown in the prompt, e.g. "embedded" or "user@host:11732"

    def start(self) -> StartState:
        """Connect (or open) and return the state to resume."""
        ...

    def submit(self, request: TaskRequest, *, progress: ProgressCallback | None = None) -> Reply:
        """Run one validated request (context arguments such as sessionid already in it)."""
        ...

    def submit_workflow(self, workflow: dict[str, Any]) -> Reply:
        """Run a workflow document (parsed JSON, arguments already substituted)."""
        ...

    def interrupt(self) -> None:
        """Ask the running request to stop (called from a signal handler's thread)."""
        ...

    def close(self) -> None:
        """Finish pending work and release resources."""
        ...

    # -- what exists (for completion); never raises for an empty answer -------------------
    def cubes(self, where: Context) -> list[Entry]:
        """The cubes of the session, in every folder, with their descriptions."""
        ...

    def containers(self, where: Context) -> list[Entry]:
        """The containers in the current folder."""
        ...

    def folders(self, where: Context) -> list[Entry]:
        """The folders in the current folder."""
        ...

    def files(self, where: Context, directory: str) -> list[Entry]:
        """Files and directories in ``directory`` of the data directory (relative to cdd)."""
        ...
