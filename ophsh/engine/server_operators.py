"""Operators Ophidia's server answers itself: oph_resume (job status and stored documents),
oph_cancel (stop a running workflow) and oph_manage_session (list and create sessions).
oph_get_config lives with the service."""

from __future__ import annotations

from typing import Any

from ophsh.backend import FINISHED_STATUSES as FINISHED
from ophsh.backend import Reply
from ophsh.document import Document
from ophsh.engine.context import CancelFlag
from ophsh.engine.sessions import Session, Sessions
from ophsh.errors import NotFoundError

__all__ = ["arguments", "cancel", "manage_session", "resume"]

CANCEL_TYPES = ("kill", "abort", "stop")


def arguments(task: dict[str, Any]) -> dict[str, str]:
    """A task's ``key=value`` arguments as a dictionary."""
    found = {}
    for item in task.get("arguments") or []:
        key, sep, value = str(item).partition("=")
        if sep:
            found[key.strip().lower()] = value.strip()
    return found


def _server_document(user: str) -> Document:
    doc = Document(producer=user)
    doc.source = {
        "srckey": "oph",
        "srcname": "Ophidia",
        "description": "Ophidia Data Source",
        "producer": user,
    }
    return doc


def resume(sessions: Sessions, user: str, session: Session, args: dict[str, str]) -> Reply:
    """The session's jobs (id=0), or one job's progress (level=0), response or request."""
    try:
        job_id = int(args.get("id", "0") or 0)
        level = int(args.get("level", "1") or 1)
    except ValueError:
        return Reply(error=7, message="id and level must be whole numbers")
    doc = _server_document(user)
    if job_id == 0:
        rows = [
            [
                session.jobid(j.workflow, j.marker),
                session.code,
                str(j.workflow),
                str(j.marker),
                j.created,
                "1.0" if j.status in FINISHED else "0.0" if level == 0 else j.status,
            ]
            for j in sessions.jobs(session)
        ]
        last = "PROGRESS RATIO" if level == 0 else "EXIT STATUS"
        doc.add_grid(
            "resume",
            "Workflow List",
            ("OPH JOB ID", "SESSION CODE", "WORKFLOW ID", "MARKER ID", "CREATION DATE", last),
            ("string", "string", "int", "int", "string", "double" if level == 0 else "string"),
            rows,
        )
        doc.set_status(True)
        return Reply(document=doc)
    try:
        job = sessions.job(session, job_id)
    except NotFoundError as err:
        doc.fail(str(err))
        return Reply(document=doc)
    if args.get("document_type", "response") == "request":
        doc.add_text("resume", "Request", job.request)
    elif level == 0 or job.response is None:
        doc.add_text("workflow_status", "Workflow Status", job.status)
        doc.add_grid(
            "workflow_progress",
            "Workflow Progress Ratio",
            ("CREATION DATE", "PROGRESS RATIO"),
            ("string", "double"),
            [[job.created, "1.0" if job.status in FINISHED else "0.0"]],
        )
    else:
        return Reply(
            jobid=session.jobid(job.workflow, job.marker), document=Document.from_json(job.response)
        )
    doc.set_status(True)
    return Reply(document=doc)


def cancel(user: str, running: dict[int, CancelFlag], args: dict[str, str]) -> Reply:
    """Stop workflow ``id`` of the session, given its running jobs' cancel flags."""
    doc = _server_document(user)
    kind = (args.get("type") or "kill").lower()
    try:
        wid = int(args.get("id", ""))
    except ValueError:
        wid = 0
    if wid <= 0:
        doc.fail("oph_cancel needs id= the workflow number (see oph_resume)")
    elif kind not in CANCEL_TYPES:
        doc.fail(f"oph_cancel type={kind}: use one of {', '.join(CANCEL_TYPES)}")
    elif wid not in running:
        doc.fail(f"workflow {wid} is not running in this session")
    else:
        if kind == "kill":
            running[wid].raise_for(f"cancelled by oph_cancel (workflow {wid})")
        else:
            running[wid].halt()
        doc.add_text("cancel", "Cancel", f"Workflow {wid}: {kind} requested")
        doc.set_status(True)
    return Reply(document=doc)


def manage_session(sessions: Sessions, user: str, args: dict[str, str]) -> Reply:
    """action=new makes a session (its id comes back as the job id); action=list lists them."""
    action = args.get("action", "list")
    doc = _server_document(user)
    if action == "new":
        made = sessions.create(user, args.get("value", "") if args.get("key") == "label" else "")
        sessions.save_state(user, session=made.url)
        doc.set_status(True)
        return Reply(jobid=made.url, document=doc)
    if action != "list":
        doc.fail(f"oph_manage_session action={action} is not supported here")
        return Reply(document=doc)
    mine = sessions.of_user(user)
    doc.add_grid(
        "manage_session_list",
        "Session List",
        (
            "OPH_SESSION_ID",
            "OPH_LABEL",
            "OPH_OWNER",
            "OPH_CREATION_TIME",
            "OPH_LAST_ACCESS_TIME",
            "OPH_ACTIVE",
        ),
        ("string",) * 6,
        [
            [s.url, s.label, s.owner, s.created, s.last_access, "yes" if s.active else "no"]
            for s in mine
        ],
    )
    doc.add_text("manage_session_summary", "Summary", f"Found {len(mine)} sessions")
    doc.set_status(True)
    return Reply(document=doc)
