"""Operators Ophidia's server answers itself, without a job: oph_get_config (the user's stored
state), oph_resume (jobs, their progress, stored responses and requests), oph_cancel (stop a
running workflow) and oph_manage_session (list and create sessions)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING

from ophsh.backend import FINISHED_STATUSES as FINISHED
from ophsh.backend import Reply
from ophsh.document import Document
from ophsh.engine.sessions import Session
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

    def _session(self, user: str, request: TaskRequest) -> Session:
        return self.service.session_for(user, request.get("sessionid") or "null")

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
        """The session's jobs (id=0), one job's progress (level=0), response or request; with
        execute=yes, the stored request submitted again as a new workflow."""
        session = self._session(user, request)
        try:
            job_id = _whole(request.get("id"), 0)
            level = _whole(request.get("level"), 1)
        except ValueError:
            return Reply(error=WRONG_PARAMETER, message="id and level must be whole numbers")
        if request.get("execute") == "yes":
            return self._repeat(user, session, job_id)
        doc = _document(user)
        if job_id == 0:
            self._job_list(doc, session, level)
            return Reply(document=doc)
        try:
            job = self.sessions.job(session, job_id)
        except NotFoundError as err:
            doc.fail(str(err))
            return Reply(document=doc)
        if request.get("document_type") == "request":
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
            jobid = session.jobid(job.workflow, job.marker)
            return Reply(jobid=jobid, document=Document.from_json(job.response))
        doc.set_status(True)
        return Reply(document=doc)

    def _job_list(self, doc: Document, session: Session, level: int) -> None:
        rows = [
            [
                session.jobid(j.workflow, j.marker),
                session.code,
                str(j.workflow),
                str(j.marker),
                j.created,
                "1.0" if j.status in FINISHED else "0.0" if level == 0 else j.status,
            ]
            for j in self.sessions.jobs(session)
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
