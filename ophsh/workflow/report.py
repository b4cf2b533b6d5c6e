"""What a workflow answers when it ends: its status, its progress, and the list of its tasks
with their job ids, statuses, outputs and times, as Ophidia's workflow engine reports them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ophsh.document import Document
from ophsh.engine.context import CancelFlag
from ophsh.engine.sessions import Job, Session
from ophsh.request import TaskResult

__all__ = ["TaskState", "report"]


@dataclass
class TaskState:
    """Where one task of a running workflow stands, and what it gave."""

    status: str = "PENDING"
    outputs: list[str] = field(default_factory=list)
    taken: bool = False
    message: str = ""
    kind: str = "SIMPLE"
    begin: str = ""
    end: str = ""
    marker: int = 0
    reply: Document | None = None


def report(
    user: str,
    session: Session,
    job: Job,
    states: Mapping[str, TaskState],
    order: Sequence[str],
    cancel: CancelFlag,
) -> TaskResult:
    """The workflow's response document, and the cube it hands on (its last task's output)."""
    doc = Document(producer=user)
    failed = [(n, s) for n, s in states.items() if s.status in ("ERROR", "ABORTED") and s.message]
    status = "OPH_STATUS_ERROR" if failed else "OPH_STATUS_COMPLETED"
    if failed and (cancel.is_set() or cancel.halted):
        status = "OPH_STATUS_ABORTED"
    doc.add_text("workflow_status", "Workflow Status", status)
    counts = [
        sum(s.status == "COMPLETED" for s in states.values()),
        sum(s.status in ("SKIPPED", "UNSELECTED") for s in states.values()),
        len(states),
    ]
    doc.add_grid(
        "workflow_progress",
        "Workflow Progress",
        ("NUMBER OF COMPLETED TASKS", "NUMBER OF SKIPPED TASKS", "TOTAL NUMBER OF TASKS"),
        ("int", "int", "int"),
        [[str(c) for c in counts]],
    )
    jobid = session.jobid(job.workflow, job.marker)
    doc.add_grid(
        "workflow_list",
        "Workflow Task List",
        (
            "OPH JOB ID",
            "SESSION CODE",
            "WORKFLOW ID",
            "MARKER ID",
            "PARENT MARKER ID",
            "TASK NAME",
            "TYPE",
            "EXIT STATUS",
            "OUTPUT",
            "BEGIN TIME",
            "END TIME",
        ),
        ("string",) * 11,
        [
            [
                session.jobid(job.workflow, s.marker),
                session.code,
                str(job.workflow),
                str(s.marker),
                str(job.marker),
                name,
                s.kind,
                f"OPH_STATUS_{s.status}",
                "|".join(s.outputs),
                s.begin,
                s.end,
            ]
            for name, s in states.items()
        ],
    )
    for name, state in failed:
        doc.add_text("workflow_summary", "WARNING", f"task '{name}': {state.message}")
    if failed:
        name, state = failed[0]
        doc.set_status(False, f"task '{name}' failed: {state.message}")
    else:
        doc.set_status(True)
    outputs: dict[str, tuple[str, ...]] = {}
    for name in reversed(order):
        state = states[name]
        if state.status == "COMPLETED" and state.outputs:
            outputs["cube"] = (state.outputs[-1],)
            break
    doc.set_extra("jobid", jobid)
    return TaskResult(doc, outputs)
