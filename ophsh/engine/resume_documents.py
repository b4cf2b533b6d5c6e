"""The documents oph_resume answers with, in the shapes of Ophidia's server: the lists of a
session's workflows (Workflow, Response, Request and Command List), one workflow's request,
its progress; and what a request asks, checked as Ophidia checks it."""

from __future__ import annotations

import json
from dataclasses import dataclass

from ophsh.backend import FINISHED_STATUSES as FINISHED
from ophsh.document import Document
from ophsh.engine.sessions import Job, Session
from ophsh.request import TaskRequest

__all__ = ["ResumeQuery", "job_list", "progress", "request_list", "whole"]

LARGEST_ID = (1 << 63) - 1


def whole(text: str | None, default: int) -> int:
    """A whole number in 0..2^63-1 (ids and levels); ValueError otherwise."""
    number = int(text) if text else default
    if not 0 <= number <= LARGEST_ID:
        raise ValueError(text)
    return number


def source(
    doc: Document, session: Session, workflow: int, marker: int, jobid: str = ""
) -> Document:
    """The source keys Ophidia's server gives its own resume documents."""
    doc.source.update(
        keys=["Session Code", "Workflow", "Marker", "JobID"],
        values=[session.code, str(workflow), str(marker), jobid or session.url],
    )
    return doc


def ratio(job: Job) -> str:
    """The progress of a workflow as Ophidia prints it (%f)."""
    return f"{1.0 if job.status in FINISHED else 0.0:f}"


def command_of(job: Job, level: int) -> str:
    """What oph_resume document_type=request shows of a stored request: the command as typed
    (level 1), the command as a submission string (level 2), the whole JSON (level 3+)."""
    if level >= 3:
        return job.request
    try:
        stored = json.loads(job.request)
    except ValueError:
        return job.command or "-"
    typed = str(stored.get("command") or "") if isinstance(stored, dict) else ""
    name = str(stored.get("name") or "") if isinstance(stored, dict) else ""
    if level == 2:
        return job.command or typed or name or "-"
    return typed or job.command or name or "-"


def tasks_of(job: Job) -> list[tuple[int, str]]:
    """(marker, exit status) of each task of a finished multi-task workflow, from the task
    list of its stored document."""
    if not job.response:
        return []
    try:
        grid = Document.from_json(job.response).grid("workflow_list")
    except ValueError:
        return []
    if grid is None or "MARKER ID" not in grid.keys or "EXIT STATUS" not in grid.keys:
        return []
    marker, status = grid.keys.index("MARKER ID"), grid.keys.index("EXIT STATUS")
    return [
        (int(row[marker]), row[status])
        for row in grid.rows
        if row[marker].isdigit() and int(row[marker]) != job.marker
    ]


@dataclass(frozen=True)
class ResumeQuery:
    """What an oph_resume request asks, checked as Ophidia checks it."""

    id: int
    by_marker: bool
    request: bool
    level: int
    save: bool
    execute: bool

    @classmethod
    def of(cls, request: TaskRequest) -> ResumeQuery:
        def choice(key: str, values: tuple[str, str], default: str) -> bool:
            value = (request.get(key) or default).lower()
            if value not in values:
                raise ValueError(f"{key} must be {values[0]} or {values[1]}")
            return value == values[0]

        try:
            ident = whole(request.get("id"), 0)
            level = whole(request.get("level"), 1)
        except ValueError:
            raise ValueError("id and level must be whole numbers") from None
        if level > 5:
            raise ValueError("level must be 0 to 5")
        by_marker = choice("id_type", ("marker", "workflow"), "workflow")
        wants_request = choice("document_type", ("request", "response"), "response")
        if wants_request and level == 0:
            level = 1  # for requests, level 0 and 1 are the same
        return cls(
            id=ident,
            by_marker=by_marker,
            request=wants_request,
            level=level,
            save=choice("save", ("yes", "no"), "no"),
            execute=choice("execute", ("yes", "no"), "no"),
        )


def progress(doc: Document, session: Session, job: Job) -> Document:
    """A workflow's status and progress ratio (oph_resume level=0)."""
    source(doc, session, job.workflow, job.marker, session.jobid(job.workflow, job.marker))
    doc.add_text("workflow_status", "Workflow Status", job.status)
    doc.add_grid(
        "workflow_progress",
        "Workflow Progress Ratio",
        ("CREATION DATE", "PROGRESS RATIO"),
        ("string", "double"),
        [[job.created, ratio(job)]],
    )
    doc.set_status(True)
    return doc


def job_list(doc: Document, session: Session, jobs: list[Job], ask: ResumeQuery) -> Document:
    """Ophidia's list of a session's workflows: the request, response or workflow list."""
    keys = ["OPH JOB ID", "SESSION CODE", "WORKFLOW ID", "MARKER ID", "CREATION DATE"]
    types = ["string", "string", "int", "int", "string"]
    if ask.request:
        keys.append("COMMAND")
        types.append("string")
        title = "Command List" if ask.by_marker else "Request List"
    else:
        if ask.by_marker:
            keys.append("PARENT MARKER ID")
            types.append("int")
        keys.append("EXIT STATUS" if ask.level else "PROGRESS RATIO")
        types.append("string" if ask.level else "double")
        title = "Response List" if ask.by_marker else "Workflow List"
    rows = []
    for job in jobs:
        row = [
            session.jobid(job.workflow, job.marker),
            session.code,
            str(job.workflow),
            str(job.marker),
            job.created,
        ]
        if ask.request:
            row.append(command_of(job, ask.level))
        else:
            if ask.by_marker:
                row.append("-")
            row.append(job.status if ask.level else ratio(job))
        rows.append(row)
        if ask.by_marker and not ask.request:  # the tasks of a workflow, by their markers
            for marker, status in tasks_of(job):
                share = f"{1.0 if status in FINISHED else 0.0:f}"
                rows.append(
                    [
                        session.jobid(job.workflow, marker),
                        session.code,
                        str(job.workflow),
                        str(marker),
                        job.created,
                        str(job.marker),
                        status if ask.level else share,
                    ]
                )
    source(doc, session, 0, 0)
    doc.add_grid("resume", title, keys, types, rows)
    doc.set_status(True)
    return doc


def request_list(doc: Document, session: Session, job: Job, ask: ResumeQuery) -> Document:
    """One workflow's request, as the one row of Ophidia's Request List."""
    by_marker = (0, ask.id) if ask.by_marker else (job.workflow, 0)
    source(doc, session, *by_marker)
    doc.add_grid(
        "resume",
        "Request List",
        ("OPH JOB ID", "SESSION CODE", "WORKFLOW ID", "MARKER ID", "CREATION DATE", "COMMAND"),
        ("string", "string", "int", "int", "string", "string"),
        [
            [
                session.jobid(job.workflow, job.marker),
                session.code,
                str(job.workflow),
                str(job.marker),
                job.created,
                command_of(job, ask.level),
            ]
        ],
    )
    doc.set_status(True)
    return doc
