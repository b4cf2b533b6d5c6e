"""What one run leaves, as Ophidia's server reports it: the response document finished (source
keys, execution time, warnings before the status), the task's outputs, the job's final status
and the cube left current."""

from __future__ import annotations

import time

from ophsh.document import Document
from ophsh.engine.context import CancelFlag
from ophsh.engine.sessions import Job, Session
from ophsh.request import TaskRequest, TaskResult
from ophsh.syntax import split_values

__all__ = ["current_cube", "final_status", "finish", "outputs", "stamp"]


def current_cube(result: TaskResult) -> str:
    """The cube a task leaves current: the last it made or was given; after a massive run over
    cubes the first it made, as Ophidia's server keeps it."""
    made = result.output("cube")
    return made[0] if result.massive == "cube" and made else result.last("cube")


def outputs(made: dict[str, str], request: TaskRequest) -> dict[str, tuple[str, ...]]:
    """A task's outputs: what it made, else what it was given (as the server carries them)."""
    outputs: dict[str, tuple[str, ...]] = {}
    for key in ("cube", "cwd", "cdd"):
        value = made.get(key) or request.get(key) or ""
        if value:
            outputs[key] = tuple(v for v in split_values(value) if v)
    return outputs


def stamp(doc: Document, session: Session, job: Job, started: float) -> None:
    doc.source.update(
        keys=["Session Code", "Workflow", "Marker", "JobID"],
        values=[
            session.code,
            str(job.workflow),
            str(job.marker),
            session.jobid(job.workflow, job.marker),
        ],
    )
    doc.set_extra("execution_time", f"{time.monotonic() - started:.2f}")


def finish(doc: Document, warnings, failure: str | None) -> None:
    """Warnings after the operator's own output (clients find that first), then the status."""
    for warning in warnings:
        doc.add_text("warning", "WARNING", warning)
    doc.set_status(failure is None, failure)


def final_status(doc: Document, flag: CancelFlag | None) -> str:
    if doc.ok:
        return "OPH_STATUS_COMPLETED"
    stopped = flag is not None and (flag.is_set() or flag.halted)
    return "OPH_STATUS_ABORTED" if stopped else "OPH_STATUS_ERROR"
