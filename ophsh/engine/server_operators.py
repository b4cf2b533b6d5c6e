"""Operators Ophidia's server answers itself, without a job: oph_get_config (the user's stored
state), oph_resume (jobs, their progress, stored responses and requests), oph_cancel (stop a
running workflow) and oph_manage_session (list and create sessions)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ophsh.backend import FINISHED_STATUSES as FINISHED
from ophsh.backend import Reply
from ophsh.document import Document
from ophsh.engine.sessions import Job, Session
from ophsh.errors import NotFoundError
from ophsh.request import TaskRequest

if TYPE_CHECKING:
    from ophsh.engine.service import Service

__all__ = ["SERVER_OPERATORS", "ServerOperators"]

SERVER_OPERATORS = ("oph_get_config", "oph_resume", "oph_manage_session", "oph_cancel")
CANCEL_TYPES = ("kill", "abort", "stop")
WRONG_PARAMETER = 7
LARGEST_ID = (1 << 63) - 1


def _document(user: str) -> Document:
    doc = Document(producer=user)
    doc.source = {
        "srckey": "oph",
        "srcname": "Ophidia",
        "description": "Ophidia Data Source",
        "producer": user,
    }
    return doc


def _whole(text: str | None, default: int) -> int:
    """A whole number in 0..2^63-1 (ids and levels); ValueError otherwise."""
    number = int(text) if text else default
    if not 0 <= number <= LARGEST_ID:
        raise ValueError(text)
    return number


def _source(
    doc: Document, session: Session, workflow: int, marker: int, jobid: str = ""
) -> Document:
    """The source keys Ophidia's server gives its own resume documents."""
    doc.source.update(
        keys=["Session Code", "Workflow", "Marker", "JobID"],
        values=[session.code, str(workflow), str(marker), jobid or session.url],
    )
    return doc


def _ratio(job: Job) -> str:
    """The progress of a workflow as Ophidia prints it (%f)."""
    return f"{1.0 if job.status in FINISHED else 0.0:f}"


def _command(job: Job, level: int) -> str:
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


def _tasks_of(job: Job) -> list[tuple[int, str]]:
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
class _ResumeQuery:
    """What an oph_resume request asks, checked as Ophidia checks it."""

    id: int
    by_marker: bool
    request: bool
    level: int
    save: bool
    execute: bool

    @classmethod
    def of(cls, request: TaskRequest) -> _ResumeQuery:
        def choice(key: str, values: tuple[str, str], default: str) -> bool:
            value = (request.get(key) or default).lower()
            if value not in values:
                raise ValueError(f"{key} must be {values[0]} or {values[1]}")
            return value == values[0]

        try:
            ident = _whole(request.get("id"), 0)
            level = _whole(request.get("level"), 1)
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


class ServerOperators:
    """The server's own operators, answered for one service."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.xml_url = ""  # where clients download the operator XMLs; set by the server
        self.sessions = service.sessions
        self.table: dict[str, Callable[[str, TaskRequest], Reply]] = {
            "oph_get_config": self.get_config,
            "oph_resume": self.resume,
            "oph_manage_session": self.manage_session,
            "oph_cancel": self.cancel,
        }

    def answer(self, user: str, request: TaskRequest) -> Reply:
        return self.table[request.operator](user, request)

    def _session(self, user: str, request: TaskRequest | None, named: str | None = None) -> Session:
        """The request's session, or the one ``named`` (a session URL) when given."""
        text = named if request is None else request.get("sessionid")
        return self.service.session_for(user, text or "null")

    def get_config(self, user: str, request: TaskRequest) -> Reply:
        """The user's stored state, one row per key (every key by default)."""
        key = request.get("key") or "all"
        state = self.sessions.state(user)
        session = self.sessions.last(user)
        values = {
            "OPH_XML_URL": self.xml_url,
            "OPH_BASE_SRC_PATH": str(self.service.paths.base),
            "OPH_SESSION_ID": session.url if session else "",
            "OPH_EXEC_MODE": state.exec_mode,
            "OPH_NCORES": state.ncores,
            "OPH_CDD": state.cdd,
            "OPH_DATACUBE": session.datacube if session else "",
            "OPH_CWD": session.cwd if session else "/",
        }
        if key != "all" and key not in values:
            return Reply(error=WRONG_PARAMETER, message=f"unknown configuration key '{key}'")
        doc = _document(user)
        doc.add_grid(
            "get_config",
            "Configuration Parameters",
            ("PARAMETER", "VALUE"),
            ("string", "string"),
            [[k, v] for k, v in values.items() if key in ("all", k)],
        )
        doc.set_status(True)
        return Reply(document=doc)

    def resume(self, user: str, request: TaskRequest) -> Reply:
        """oph_resume: the session's workflows (id=0), one workflow's (or task's, with
        id_type=marker) progress (level=0), response or request (document_type=request); with
        save=yes the session becomes the user's current one; with execute=yes the stored
        request runs again as a new workflow."""
        try:
            ask = _ResumeQuery.of(request)
        except ValueError as err:
            return Reply(error=WRONG_PARAMETER, message=f"oph_resume: {err}")
        named = request.get("session") or "this"
        session = self._session(user, request if named.lower() == "this" else None, named)
        if ask.execute:
            return self._repeat(user, session, ask.id)
        if ask.save:
            self.sessions.save_state(user, session=session.url)
        if ask.id == 0:
            doc = self._job_list(user, session, ask)
            return Reply(jobid=session.url if ask.save else None, document=doc)
        job = self._job_of(session, ask)
        if job is None:
            what = "marker" if ask.by_marker else "workflow"
            return Reply(error=WRONG_PARAMETER, message=f"no {what} {ask.id} in this session")
        jobid = session.jobid(job.workflow, job.marker)
        saved = jobid if ask.save else None
        if ask.request:
            doc = self._request_list(user, session, job, ask)
        elif ask.level == 0 or job.response is None:
            doc = _source(_document(user), session, job.workflow, job.marker, jobid)
            doc.add_text("workflow_status", "Workflow Status", job.status)
            doc.add_grid(
                "workflow_progress",
                "Workflow Progress Ratio",
                ("CREATION DATE", "PROGRESS RATIO"),
                ("string", "double"),
                [[job.created, _ratio(job)]],
            )
            doc.set_status(True)
        else:
            return Reply(jobid=saved or jobid, document=Document.from_json(job.response))
        return Reply(jobid=saved, document=doc)

    def _job_of(self, session: Session, ask: _ResumeQuery) -> Job | None:
        """The workflow a query names; by marker, the one whose markers include it."""
        jobs = self.sessions.jobs(session)
        if not ask.by_marker:
            return next((j for j in jobs if j.workflow == ask.id), None)
        owner = None
        for job in jobs:  # in workflow order, so markers grow
            if job.marker <= ask.id:
                owner = job
        return owner

    def _job_list(self, user: str, session: Session, ask: _ResumeQuery) -> Document:
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
        for job in self.sessions.jobs(session):
            row = [
                session.jobid(job.workflow, job.marker),
                session.code,
                str(job.workflow),
                str(job.marker),
                job.created,
            ]
            if ask.request:
                row.append(_command(job, ask.level))
            else:
                if ask.by_marker:
                    row.append("-")
                row.append(job.status if ask.level else _ratio(job))
            rows.append(row)
            if ask.by_marker and not ask.request:  # the tasks of a workflow, by their markers
                for marker, status in _tasks_of(job):
                    ratio = f"{1.0 if status in FINISHED else 0.0:f}"
                    rows.append(
                        [
                            session.jobid(job.workflow, marker),
                            session.code,
                            str(job.workflow),
                            str(marker),
                            job.created,
                            str(job.marker),
                            status if ask.level else ratio,
                        ]
                    )
        doc = _source(_document(user), session, 0, 0)
        doc.add_grid("resume", title, keys, types, rows)
        doc.set_status(True)
        return doc

    def _request_list(self, user: str, session: Session, job: Job, ask: _ResumeQuery) -> Document:
        """One workflow's request, as the one row of Ophidia's Request List."""
        by_marker = (0, ask.id) if ask.by_marker else (job.workflow, 0)
        doc = _source(_document(user), session, *by_marker)
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
                    _command(job, ask.level),
                ]
            ],
        )
        doc.set_status(True)
        return doc

    def _repeat(self, user: str, session: Session, job_id: int) -> Reply:
        if job_id <= 0:
            return Reply(error=WRONG_PARAMETER, message="oph_resume execute=yes needs id= a number")
        try:
            job = self.sessions.job(session, job_id)
        except NotFoundError as err:
            return Reply(error=WRONG_PARAMETER, message=str(err))
        stored = json.loads(job.request)
        stored["sessionid"] = session.url
        return self.service.execute(user, stored)

    def cancel(self, user: str, request: TaskRequest) -> Reply:
        """Stop a workflow of the caller's session (kill), or let its running tasks finish and
        start no more (abort, stop)."""
        running = self.service.runner.flags_of(self._session(user, request))
        doc = _document(user)
        kind = (request.get("type") or "kill").lower()
        try:
            wid = _whole(request.get("id"), 0)
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

    def manage_session(self, user: str, request: TaskRequest) -> Reply:
        """action=new makes a session (its id comes back as the job id); action=list lists."""
        action = request.get("action") or "list"
        doc = _document(user)
        if action == "new":
            label = request.get("value") or "" if request.get("key") == "label" else ""
            made = self.sessions.create(user, label)
            self.sessions.save_state(user, session=made.url)
            doc.set_status(True)
            return Reply(jobid=made.url, document=doc)
        if action != "list":
            doc.fail(f"oph_manage_session action={action} is not supported here")
            return Reply(document=doc)
        mine = self.sessions.of_user(user)
        rows = []
        for s in mine:
            jobs = self.sessions.jobs(s)
            last = jobs[-1] if jobs else None
            rows.append(
                [
                    s.url,
                    s.label,
                    s.owner,
                    s.created,
                    s.last_access,
                    str(last.workflow) if last else "0",
                    str(last.marker) if last else "0",
                    "yes" if s.active else "no",
                ]
            )
        doc.add_grid(
            "manage_session_list",
            "Session List",
            (
                "OPH_SESSION_ID",
                "OPH_LABEL",
                "OPH_OWNER",
                "OPH_CREATION_TIME",
                "OPH_LAST_ACCESS_TIME",
                "OPH_LAST_WORKFLOW",
                "OPH_LAST_MARKER",
                "OPH_ACTIVE",
            ),
            ("string",) * 8,
            rows,
        )
        count = len(mine)
        found = (
            "No session found"
            if not count
            else "Found 1 session"
            if count == 1
            else f"Found {count} sessions"
        )
        doc.add_text("manage_session_summary", "Summary", found)
        doc.set_status(True)
        return Reply(document=doc)
