"""Operators Ophidia's server answers itself, without a job: oph_get_config (the user's stored
state), oph_resume (jobs, their progress, stored responses and requests), oph_cancel (stop a
running workflow), oph_input (answer a task waiting in a running workflow) and
oph_manage_session (list and create sessions)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING

from ophsh.backend import Reply
from ophsh.document import Document
from ophsh.engine.inputs import ACTIONS, Answer, variables
from ophsh.engine.resume_documents import ResumeQuery, job_list, progress, request_list, whole
from ophsh.engine.sessions import Job, Session
from ophsh.errors import NotFoundError
from ophsh.request import TaskRequest

if TYPE_CHECKING:
    from ophsh.engine.service import Service

__all__ = ["SERVER_OPERATORS", "ServerOperators"]

SERVER_OPERATORS = (
    "oph_get_config",
    "oph_resume",
    "oph_manage_session",
    "oph_cancel",
    "oph_input",
)
CANCEL_TYPES = ("kill", "abort", "stop")
WRONG_PARAMETER = 7


def _document(user: str) -> Document:
    doc = Document(producer=user)
    doc.source = {
        "srckey": "oph",
        "srcname": "Ophidia",
        "description": "Ophidia Data Source",
        "producer": user,
    }
    return doc


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
            "oph_input": self.input,
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
            ask = ResumeQuery.of(request)
        except ValueError as err:
            return Reply(error=WRONG_PARAMETER, message=f"oph_resume: {err}")
        named = request.get("session") or "this"
        session = self._session(user, request if named.lower() == "this" else None, named)
        if ask.execute:
            return self._repeat(user, session, ask.id)
        if ask.save:
            self.sessions.save_state(user, session=session.url)
        if ask.id == 0:
            doc = job_list(_document(user), session, self.sessions.jobs(session), ask)
            return Reply(jobid=session.url if ask.save else None, document=doc)
        job = self._job_of(session, ask)
        if job is None:
            what = "marker" if ask.by_marker else "workflow"
            return Reply(error=WRONG_PARAMETER, message=f"no {what} {ask.id} in this session")
        jobid = session.jobid(job.workflow, job.marker)
        saved = jobid if ask.save else None
        if ask.request:
            doc = request_list(_document(user), session, job, ask)
        elif ask.level == 0 or job.response is None:
            doc = progress(_document(user), session, job)
        else:
            return Reply(jobid=saved or jobid, document=Document.from_json(job.response))
        return Reply(jobid=saved, document=doc)

    def _job_of(self, session: Session, ask: ResumeQuery) -> Job | None:
        """The workflow a query names; by marker, the one whose markers include it."""
        jobs = self.sessions.jobs(session)
        if not ask.by_marker:
            return next((j for j in jobs if j.workflow == ask.id), None)
        owner = None
        for job in jobs:  # in workflow order, so markers grow
            if job.marker <= ask.id:
                owner = job
        return owner

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
            wid = whole(request.get("id"), 0)
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

    def input(self, user: str, request: TaskRequest) -> Reply:
        """Answer a task of a running workflow that waits with oph_wait type=input."""
        session = self._session(user, request)
        doc = _document(user)
        try:
            wid = whole(request.get("id"), 0)
        except ValueError:
            wid = 0
        task = request.get("taskname") or "Task 0"
        action = (request.get("action") or "continue").lower()
        answer = Answer(action, variables(request.get("key") or "-", request.get("value") or "-"))
        if wid <= 0:
            doc.fail("oph_input needs id= the workflow number (see oph_resume)")
        elif action not in ACTIONS:
            doc.fail(f"oph_input action={action}: use one of {', '.join(ACTIONS)}")
        elif not self.service.inputs.give(session.code, wid, task, answer):
            doc.fail(f"no task '{task}' of workflow {wid} is waiting for input")
        else:  # Ophidia answers with the status alone
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
