"""Ophidia's request handling over the embedded store: the engine's one door.

:class:`Service` answers requests for authenticated users the way an Ophidia server does. Two
entries lead to the same path: :meth:`Service.execute` takes a request as it arrives on the wire
(the JSON workflow PyOphidia and oph_term send) and :meth:`Service.submit` a
:class:`~ophsh.request.TaskRequest` the shell has already validated. Either way the answer is a
:class:`~ophsh.backend.Reply` with sessions and job ids in Ophidia's forms, and the user's state
(session, cwd, cdd, last cube) is kept. :meth:`Service.run_task` runs one validated request and
returns its :class:`~ophsh.request.TaskResult`; the workflow engine calls it for each task.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from ophsh.backend import Reply
from ophsh.document import ERROR, Document
from ophsh.engine.activity import ActivityLog
from ophsh.engine.context import CancelFlag, OpContext, Progress
from ophsh.engine.fanout import massive_param, run_massive
from ophsh.engine.inputs import Inputs
from ophsh.engine.params import Params
from ophsh.engine.paths import DataPaths
from ophsh.engine.registry import HANDLERS
from ophsh.engine.results import current_cube, final_status, finish, outputs, stamp
from ophsh.engine.runner import JobRunner
from ophsh.engine.server_operators import SERVER_OPERATORS, ServerOperators
from ophsh.engine.sessions import Job, Session, Sessions
from ophsh.engine.settings import Settings
from ophsh.engine.store import Store
from ophsh.errors import OphshError, StoreFull
from ophsh.request import (
    Context,
    TaskRequest,
    TaskResult,
    from_task,
    read_workflow,
    takes_cube,
    to_workflow,
)
from ophsh.spec import Specs, load_specs
from ophsh.syntax import validate

__all__ = ["AUTH_ERROR", "WRONG_PARAMETER", "RequestError", "Service", "WorkflowRunner"]

log = logging.getLogger(__name__)

IO_ERROR = 4
AUTH_ERROR = 5
WRONG_PARAMETER = 7
# Operators that free room in the store: on a full disk they may use its reserve.
FREEING = frozenset({"oph_delete", "oph_deletecontainer"})


class RequestError(Exception):
    """A request refused before it runs (server error code and reason)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class WorkflowRunner(Protocol):
    """Runs multi-task workflows for a :class:`Service` (ophsh.workflow provides one)."""

    controls: frozenset[str]  # operators only a workflow runs (oph_wait, oph_if, ...)

    def prepare(self, document: dict[str, Any]) -> Any: ...

    def run(
        self,
        service: Service,
        user: str,
        session: Session,
        prepared: Any,
        job: Job,
        *,
        progress: Progress | None = None,
        cancel: CancelFlag | None = None,
    ) -> TaskResult: ...


Check = Callable[[TaskRequest], tuple[TaskRequest, list[str]]]


class Service:
    """The embedded store behind Ophidia's request semantics."""

    def __init__(
        self,
        store: Store,
        *,
        base_path: Path | str = "/",
        specs: Specs | None = None,
        settings: Settings | None = None,
        workers: int = 4,
        workflows: WorkflowRunner | None = None,
        sync_limit: float | None = None,
        admins: Callable[[str], bool] | None = None,
    ) -> None:
        self.store = store
        self.settings = settings or Settings()
        self.sessions = Sessions(store)
        self.paths = DataPaths(base_path, forbidden=(store.root,))  # no path operation reaches it
        self.specs = specs or load_specs()
        self.workflows = workflows
        self.runner = JobRunner(workers=workers, sync_limit=sync_limit)
        self.server_operators = ServerOperators(self)
        self.inputs = Inputs()  # tasks waiting for oph_input
        self._reserved = self.specs.reserved | {"sessionid"}
        # Who may run administrators' operators; the embedded store's user owns it.
        self.is_admin = admins or (lambda user: True)
        self.activity = ActivityLog()  # what oph_log_info shows

    # -- the doors ------------------------------------------------------------------------
    def execute(
        self,
        user: str,
        request: str | dict[str, Any],
        *,
        progress: Progress | None = None,
        cancel: CancelFlag | None = None,
    ) -> Reply:
        """Answer a request as it came over the wire (a JSON workflow, text or parsed)."""
        try:
            try:
                workflow = read_workflow(request)
            except ValueError as err:
                raise RequestError(WRONG_PARAMETER, str(err)) from None
            tasks = workflow["tasks"]
            operator = str(tasks[0].get("operator", "")).lower()
            if len(tasks) > 1 and operator in SERVER_OPERATORS:
                raise RequestError(3, f"{operator} must be the only task of its request")
            alone = len(tasks) == 1 and workflow.get("direct_output") != "no"
            if not alone or self._controls(operator):
                return self._submit_workflow(user, workflow, progress, cancel)
            raw = self._from_wire(workflow, tasks[0])
        except RequestError as err:
            return Reply(error=err.code, message=err.message)
        check: Check = lambda r: validate(r, self.specs, strict=False)  # noqa: E731
        return self._answer(user, raw, check, workflow, progress, cancel)

    def _controls(self, operator: str) -> bool:
        """Whether ``operator`` only runs inside a workflow (oph_wait, oph_if...), even alone."""
        return self.workflows is not None and operator in self.workflows.controls

    def submit(
        self,
        user: str,
        request: TaskRequest,
        *,
        progress: Progress | None = None,
        cancel: CancelFlag | None = None,
    ) -> Reply:
        """Answer a request the caller has validated (context arguments included)."""
        stored = to_workflow(request, user)
        if self._controls(request.operator):
            return self._submit_workflow(user, stored, progress, cancel)
        return self._answer(user, request, None, stored, progress, cancel)

    def _answer(
        self,
        user: str,
        request: TaskRequest,
        check: Check | None,
        stored: dict[str, Any],
        progress: Progress | None,
        cancel: CancelFlag | None,
    ) -> Reply:
        try:
            self._check_role(user, request.operator)
            if request.operator in SERVER_OPERATORS:
                if check is not None:
                    request, _ = check(request)
                return self.server_operators.answer(user, request)
            session = self.session_for(user, request.get("sessionid"))
            job = self._new_job(session, request, stored)
        except RequestError as err:
            return Reply(error=err.code, message=err.message)
        except StoreFull as err:
            return Reply(error=IO_ERROR, message=str(err))
        except OphshError as err:
            return Reply(error=WRONG_PARAMETER, message=str(err))
        mode = (request.get("exec_mode") or "async").lower()
        self._record(
            self.sessions.save_state,
            user,
            session=session.url,
            exec_mode=mode,
            ncores=request.get("ncores") or "1",
        )

        def body(flag: CancelFlag) -> Document:
            return self._run_job(user, session, job, request, check, progress, flag)

        return self.runner.launch(mode, session, job, body, cancel)

    def _check_role(self, user: str, operator: str) -> None:
        """Refuse an administrators' operator (oph_log_info) to anyone else, as Ophidia does."""
        spec = self.specs.operators.get(operator)
        if spec is not None and spec.admin and not self.is_admin(user):
            raise RequestError(AUTH_ERROR, f"{operator} is for administrators only")

    def _new_job(self, session: Session, request: TaskRequest, stored: dict[str, Any]) -> Job:
        """Record the job; on a full disk a request that frees room may use the reserve."""
        try:
            return self.sessions.new_job(session, request.text, json.dumps(stored))
        except StoreFull:
            if request.operator not in FREEING or not self.store.make_room():
                raise
        return self.sessions.new_job(session, request.text, json.dumps(stored))

    @staticmethod
    def _record(write: Callable[..., None], *args: Any, **changes: Any) -> None:
        """Keep a job's or a user's record; a full disk loses the record, never the answer."""
        try:
            write(*args, **changes)
        except StoreFull:
            log.warning("the store's disk is full: %s was not recorded", write.__name__)

    def _from_wire(self, workflow: dict[str, Any], task: dict[str, Any]) -> TaskRequest:
        """The request of a one-task workflow, with what its header gives every task."""
        try:
            raw = from_task(task, str(workflow.get("command") or ""))
        except ValueError as err:
            raise RequestError(WRONG_PARAMETER, str(err)) from None
        for key, _ in raw.arguments:
            if key in self._reserved:
                raise RequestError(WRONG_PARAMETER, f"argument '{key}' is reserved")
        spec = self.specs.operators.get(raw.operator)
        if spec is None:
            raise RequestError(WRONG_PARAMETER, f"unknown operator '{raw.operator}'")
        if not takes_cube(spec):
            raw = raw.without("cube")  # clients add the current cube to every command
        return Context.of_workflow(workflow).apply(raw, spec, passed=bool(task.get("dependencies")))

    def session_for(self, user: str, sessionid: Any) -> Session:
        """The session a request names: none = a new one, ``null`` = the user's last one."""
        if sessionid in (None, ""):
            return self.sessions.create(user)
        text = str(sessionid)
        if text.lower() == "null":
            return self.sessions.last(user) or self.sessions.create(user)
        session = self.sessions.by_url(text)
        if session is None:
            raise RequestError(WRONG_PARAMETER, f"session {text} does not exist")
        if session.owner != user:
            raise RequestError(AUTH_ERROR, f"session {text} belongs to another user")
        if not session.active:
            raise RequestError(AUTH_ERROR, f"session {text} is disabled")
        return session

    # -- one job ---------------------------------------------------------------------------
    def _run_job(
        self,
        user: str,
        session: Session,
        job: Job,
        request: TaskRequest,
        check: Check | None,
        progress: Progress | None,
        cancel: CancelFlag,
    ) -> Document:
        started = time.monotonic()
        self._record(self.sessions.set_job_status, job, "OPH_STATUS_RUNNING")
        try:
            checked, warnings = check(request) if check else (request, [])
        except OphshError as err:
            result = TaskResult(Document(producer=user).fail(str(err)))
        else:
            result = self.run_task(
                user,
                session,
                checked,
                warnings=warnings,
                progress=progress,
                cancel=cancel,
                marker=(job.workflow, job.marker),
            )
        doc = result.document
        stamp(doc, session, job, started)
        current = current_cube(result)
        for key, value in (
            ("cdd", result.last("cdd")),
            ("cube", current),
            ("cwd", result.last("cwd")),
        ):
            if value:
                doc.set_extra(key, value)
        if doc.ok:
            self._remember(user, session, result, current)
            if request.operator in FREEING:
                self.store.keep_reserve()
        self._record(self.sessions.finish_job, job, final_status(doc, cancel), doc.to_json())
        return doc

    def _remember(self, user: str, session: Session, result: TaskResult, cube: str) -> None:
        """Keep the session's cwd and current cube and the user's cdd, as the server does."""
        changes = {}
        if result.last("cwd"):
            changes["cwd"] = result.last("cwd")
        if "cube" in result.outputs:
            changes["datacube"] = cube
        self._record(self.sessions.touch, session, **changes)
        if result.last("cdd"):
            self._record(self.sessions.save_state, user, cdd=result.last("cdd"))

    def run_task(
        self,
        user: str,
        session: Session,
        request: TaskRequest,
        *,
        warnings: list[str] | tuple[str, ...] = (),
        progress: Progress | None = None,
        cancel: CancelFlag | None = None,
        marker: tuple[int, int] | None = None,
    ) -> TaskResult:
        """Run one validated request (massive or not); failures end up in the document.
        ``marker`` is the (workflow id, marker id) of the task, for a massive one's report."""
        self.activity.add("INFO", f"{request.operator} started by {user}: {request.text}")
        result = self._run_task(user, session, request, warnings, progress, cancel, marker)
        self._log_outcome(request.operator, result)
        return result

    def _log_outcome(self, operator: str, result: TaskResult) -> None:
        title, message = result.document.status
        if title == ERROR:
            self.activity.add("ERROR", f"{operator} failed: {message}")
            return
        cube = result.last("cube")
        container = cube.rsplit("/", 2)[-2] if cube.count("/") >= 2 else ""
        self.activity.add(
            "INFO",
            f"{operator} completed" + (f"; cube {cube}" if cube else ""),
            int(container) if container.isdigit() else None,
        )

    def _run_task(self, user, session, request, warnings, progress, cancel, marker) -> TaskResult:
        doc = Document(producer=user)
        spec = self.specs.operators[request.operator]
        try:
            self._check_role(user, spec.name)
            handler = HANDLERS.get(spec.name)
            if handler is None:
                raise OphshError(f"{spec.name} is not available in the embedded store")
            ctx = self._context(user, session, request, doc, progress, cancel)
            ctx.marker = marker
            ctx.check_cancel()  # cancelled while it waited for its turn
            target = massive_param(spec, request)
            if target is not None:
                result = run_massive(ctx, spec, request, target, handler)
            else:
                handler(ctx, Params(spec, request))
                result = TaskResult(doc, outputs(ctx.outputs, request))
        except RequestError as err:
            finish(doc, warnings, err.message)
            return TaskResult(doc)
        except OphshError as err:
            finish(doc, warnings, str(err))
            return TaskResult(doc)
        except MemoryError:
            finish(doc, warnings, f"{spec.name} needs more memory than this machine has free")
            return TaskResult(doc)
        except Exception:  # a bug: the log keeps the traceback, the user gets its id
            ident = uuid.uuid4().hex[:8]
            log.exception("internal error %s in %s", ident, spec.name)
            finish(doc, warnings, f"internal error {ident} in {spec.name}; the log has the details")
            return TaskResult(doc)
        title, message = doc.status
        finish(doc, warnings, message if title == ERROR else None)
        return result

    def _context(self, user, session, request, doc, progress, cancel) -> OpContext:
        ctx = OpContext(
            store=self.store,
            sessions=self.sessions,
            session=session,
            user=user,
            cwd=request.get("cwd") or "/",
            cdd=request.get("cdd") or "/",
            paths=self.paths,
            specs=self.specs,
            doc=doc,
            settings=self.settings,
            command=request.text,
            activity=self.activity,
        )
        if progress is not None:
            ctx.progress = progress
        if cancel is not None:
            ctx.cancel = cancel
        return ctx

    # -- workflows ------------------------------------------------------------------------
    def _submit_workflow(self, user: str, workflow: dict, progress, cancel) -> Reply:
        """A multi-task workflow: checked whole first, then run (now, or as a job)."""
        if self.workflows is None:
            raise RequestError(WRONG_PARAMETER, "this service runs no multi-task workflows")
        try:
            prepared = self.workflows.prepare(workflow)
        except OphshError as err:
            hint = f" ({err.hint})" if err.hint else ""
            raise RequestError(WRONG_PARAMETER, f"{err.message}{hint}") from None
        session = self.session_for(user, workflow.get("sessionid"))
        mode = str(workflow.get("exec_mode") or "async").lower()
        command = str(workflow.get("command") or f"workflow {workflow.get('name')}")
        job = self.sessions.new_job(session, command, json.dumps(workflow), prepared.size + 1)
        self.sessions.save_state(user, session=session.url, exec_mode=mode)

        def body(flag: CancelFlag) -> Document:
            started = time.monotonic()
            self.sessions.set_job_status(job, "OPH_STATUS_RUNNING")
            result = self.workflows.run(
                self, user, session, prepared, job, progress=progress, cancel=flag
            )
            doc = result.document
            stamp(doc, session, job, started)
            cube = result.last("cube")
            if cube:
                doc.set_extra("cube", cube)
                self.sessions.touch(session, datacube=cube)
            self.sessions.finish_job(job, final_status(doc, flag), doc.to_json())
            return doc

        return self.runner.launch(mode, session, job, body, cancel)

    def wait(self) -> None:
        """Block until every asynchronous job has finished."""
        self.runner.wait()

    def close(self) -> None:
        self.runner.close()
