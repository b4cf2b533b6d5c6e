"""Ophidia's request handling over the embedded store.

:class:`Service` takes the JSON request an Ophidia server receives (a one-task workflow wrapping
a command, as PyOphidia and oph_term send it) for an authenticated user and answers with a
:class:`~ophsh.backend.Reply`: sessions and job ids in Ophidia's forms, massive operations
expanded, the response document completed with ``source`` and ``extra``, and the user's state
(session, cwd, cdd, last cube) kept. The embedded backend and ``ophsh serve`` both call it.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ophsh.backend import Reply
from ophsh.document import Document
from ophsh.engine import server_operators
from ophsh.engine.context import CancelFlag, Cancelled, OpContext, Progress
from ophsh.engine.massive import select_cubes, select_files
from ophsh.engine.params import Params
from ophsh.engine.paths import DataPaths
from ophsh.engine.registry import HANDLERS
from ophsh.engine.sessions import Job, Session, Sessions
from ophsh.engine.store import Store
from ophsh.errors import NotFoundError, OphshError
from ophsh.spec import OperatorSpec, Specs, load_specs
from ophsh.syntax import Argument, OperatorCall, Request, is_group, missing_mandatory, split_values
from ophsh.syntax import validate as validate_request

__all__ = ["AUTH_ERROR", "WRONG_PARAMETER", "Service", "Task"]

log = logging.getLogger(__name__)

AUTH_ERROR = 5
WRONG_PARAMETER = 7
RESERVED_ARGS = frozenset(
    {
        "operator",
        "sessionid",
        "workflowid",
        "markerid",
        "jobid",
        "username",
        "userrole",
        "parentid",
        "taskindex",
        "lighttaskindex",
    }
)
CONTEXT_ARGS = ("cwd", "cdd", "ncores", "nhost", "nthreads", "project")
CLIENT_CONTEXT = frozenset({*CONTEXT_ARGS, "cube", "host_partition", "exec_mode", "sessionid"})


class RequestError(Exception):
    """A request refused before it runs (server error code and reason)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Task:
    """One operator run: what it was asked, and what it produced."""

    spec: OperatorSpec
    call: OperatorCall
    document: Document
    outputs: dict[str, str]
    massive: bool = False


class WorkflowRunner(Protocol):
    """Runs multi-task workflows for a :class:`Service` (ophsh.workflow provides one)."""

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
    ) -> tuple[Document, dict[str, str]]: ...


class Service:
    """The embedded store behind Ophidia's request semantics."""

    def __init__(
        self,
        store: Store,
        *,
        base_path: Path | str = "/",
        specs: Specs | None = None,
        workers: int = 4,
        workflows: WorkflowRunner | None = None,
        sync_limit: float | None = None,
    ) -> None:
        self.store = store
        self.sync_limit = sync_limit
        self.sessions = Sessions(store)
        self.paths = DataPaths(base_path)
        self.specs = specs or load_specs()
        self.workflows = workflows
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ophsh-job")
        self._running: dict[str, Future] = {}
        self._flags: dict[tuple[str, int], CancelFlag] = {}  # (session, workflow) -> its flag
        self._lock = threading.Lock()
        self.server_operators: dict[str, Callable[[str, dict, dict], Reply]] = {
            "oph_get_config": self._get_config,
            "oph_resume": self._resume,
            "oph_manage_session": self._manage_session,
            "oph_cancel": self._cancel,
        }

    # -- entry point ----------------------------------------------------------------------
    def execute(
        self,
        user: str,
        request: str | dict[str, Any],
        *,
        progress: Progress | None = None,
        cancel: CancelFlag | None = None,
    ) -> Reply:
        """Handle one request from ``user`` (already authenticated)."""
        try:
            workflow = self._load(request)
            task = workflow["tasks"][0]
            operator = str(task.get("operator", "")).lower()
            if operator in self.server_operators:
                if len(workflow["tasks"]) > 1:
                    raise RequestError(3, f"{operator} must be the only task of its request")
                return self.server_operators[operator](user, workflow, task)
            if len(workflow["tasks"]) > 1 or workflow.get("direct_output") == "no":
                return self._submit_workflow(user, workflow, progress, cancel)
            spec = self.specs.operators.get(operator)
            if spec is None:
                raise RequestError(WRONG_PARAMETER, f"unknown operator '{operator}'")
            session = self._session(user, workflow.get("sessionid"))
        except RequestError as err:
            return Reply(error=err.code, message=err.message)
        args = self.task_arguments(workflow, task, spec)
        mode = str(workflow.get("exec_mode") or "async").lower()
        command = str(workflow.get("command") or _line(operator, args))
        job = self.sessions.new_job(session, command, json.dumps(workflow))
        self.sessions.save_state(
            user, session=session.url, exec_mode=mode, ncores=str(workflow.get("ncores") or "1")
        )
        run = lambda flag: self._run(user, session, job, spec, args, command, progress, flag)  # noqa: E731
        return self._launch(mode, session, job, run, cancel)

    def _submit_workflow(self, user: str, workflow: dict, progress, cancel) -> Reply:
        """A multi-task workflow: checked whole first, then run (now, or as a job)."""
        if self.workflows is None:
            raise RequestError(WRONG_PARAMETER, "this service runs no multi-task workflows")
        try:
            prepared = self.workflows.prepare(workflow)
        except OphshError as err:
            hint = f" ({err.hint})" if err.hint else ""
            raise RequestError(WRONG_PARAMETER, f"{err}{hint}") from None
        session = self._session(user, workflow.get("sessionid"))
        mode = str(workflow.get("exec_mode") or "async").lower()
        command = str(workflow.get("command") or f"workflow {workflow.get('name')}")
        job = self.sessions.new_job(session, command, json.dumps(workflow), prepared.size + 1)
        self.sessions.save_state(user, session=session.url, exec_mode=mode)
        jobid = session.jobid(job.workflow, job.marker)

        def run(flag: CancelFlag) -> Document:
            started = time.monotonic()
            self.sessions.set_job_status(job, "OPH_STATUS_RUNNING")
            doc, outputs = self.workflows.run(
                self, user, session, prepared, job, progress=progress, cancel=flag
            )
            doc.source.update(
                keys=["Session Code", "Workflow", "Marker", "JobID"],
                values=[session.code, str(job.workflow), str(job.marker), jobid],
            )
            doc.set_extra("execution_time", f"{time.monotonic() - started:.2f}")
            if outputs.get("cube"):
                doc.set_extra("cube", outputs["cube"])
                self.sessions.touch(session, datacube=outputs["cube"])
            self.sessions.finish_job(job, _final_status(doc, flag), doc.to_json())
            return doc

        return self._launch(mode, session, job, run, cancel)

    # -- jobs -----------------------------------------------------------------------------
    def _launch(
        self,
        mode: str,
        session: Session,
        job: Job,
        run: Callable[[CancelFlag], Document],
        cancel: CancelFlag | None,
    ) -> Reply:
        """Run a job now (sync) or on the pool (async), where oph_cancel can reach it.

        A synchronous job also stops when the caller raises ``cancel`` (Ctrl-C) or when it
        outlives ``sync_limit``; an asynchronous one has a flag of its own.
        """
        jobid = session.jobid(job.workflow, job.marker)
        key = (session.url, job.workflow)
        flag = CancelFlag() if mode == "async" or cancel is None else cancel
        with self._lock:
            self._flags[key] = flag
        if mode == "async":
            with self._lock:
                self._running[jobid] = self._pool.submit(self._in_pool, key, run, flag)
            return Reply(jobid=jobid)
        timer = None
        if self.sync_limit is not None:
            reason = (
                f"stopped after {self.sync_limit:g} s, the longest a synchronous request may "
                "run here; submit long work with exec_mode=async"
            )
            timer = threading.Timer(self.sync_limit, flag.raise_for, (reason,))
            timer.daemon = True
            timer.start()
        try:
            return Reply(jobid=jobid, document=run(flag))
        finally:
            if timer is not None:
                timer.cancel()
            self._forget(key)

    def _in_pool(
        self, key: tuple[str, int], run: Callable[[CancelFlag], Document], flag
    ) -> Document:
        try:
            return run(flag)
        finally:
            self._forget(key)

    def _forget(self, key: tuple[str, int]) -> None:
        with self._lock:
            self._flags.pop(key, None)

    def wait(self) -> None:
        """Block until every asynchronous job has finished."""
        with self._lock:
            futures = list(self._running.values())
        for future in futures:
            future.result()

    def close(self) -> None:
        self.wait()
        self._pool.shutdown(wait=True)

    # -- request parsing ------------------------------------------------------------------
    @staticmethod
    def _load(request: str | dict[str, Any]) -> dict[str, Any]:
        if isinstance(request, str):
            try:
                request = json.loads(request)
            except json.JSONDecodeError as err:
                raise RequestError(
                    WRONG_PARAMETER, f"the request is not valid JSON: {err}"
                ) from None
        if not isinstance(request, dict):
            raise RequestError(WRONG_PARAMETER, "the request must be a JSON object")
        tasks = request.get("tasks")
        if not isinstance(tasks, list) or not tasks or not all(isinstance(t, dict) for t in tasks):
            raise RequestError(WRONG_PARAMETER, "the request has no tasks")
        if "name" not in request:
            raise RequestError(WRONG_PARAMETER, "the request has no name")
        return request

    @staticmethod
    def task_arguments(
        workflow: dict[str, Any], task: dict[str, Any], spec: OperatorSpec
    ) -> list[tuple[str, str]]:
        """The task's arguments, completed from the workflow header as the server does.

        Header values reach only operators that have the parameter, so they never show up as
        ignored arguments.
        """
        args: list[tuple[str, str]] = []
        for item in task.get("arguments") or []:
            key, sep, value = str(item).partition("=")
            key = key.strip().lower()
            if not sep or not key:
                continue
            if key in RESERVED_ARGS:
                raise RequestError(WRONG_PARAMETER, f"argument '{key}' is reserved")
            args.append((key, value.strip()))
        keys = {k for k, _ in args}
        for key in CONTEXT_ARGS:
            if key not in keys and workflow.get(key) not in (None, "") and spec.param(key):
                args.append((key, str(workflow[key])))
        if (
            "cube" not in keys
            and workflow.get("cube")
            and spec.param("cube")
            and not task.get("dependencies")
        ):
            args.append(("cube", str(workflow["cube"])))
        if spec.param("cwd") and not any(k == "cwd" for k, _ in args):
            args.append(("cwd", "/"))
        # Clients add their context to every command; an operator without such a parameter
        # simply does not use it (no warning for what the user never typed).
        return [(k, v) for k, v in args if k not in CLIENT_CONTEXT or spec.param(k)]

    def _session(self, user: str, sessionid: Any) -> Session:
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

    # -- running --------------------------------------------------------------------------
    def _run(
        self,
        user: str,
        session: Session,
        job: Job,
        spec: OperatorSpec,
        args: list[tuple[str, str]],
        command: str,
        progress: Progress | None,
        cancel: CancelFlag | None,
    ) -> Document:
        started = time.monotonic()
        self.sessions.set_job_status(job, "OPH_STATUS_RUNNING")
        task = self.run_task(
            user, session, spec, args, command=command, progress=progress, cancel=cancel
        )
        doc = task.document
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
        for key in ("cdd", "cube", "cwd"):
            if task.outputs.get(key):
                doc.set_extra(key, task.outputs[key])
        if doc.ok:
            self._remember(user, session, task)
        self.sessions.finish_job(job, _final_status(doc, cancel), doc.to_json())
        return doc

    def _remember(self, user: str, session: Session, task: Task) -> None:
        """Keep the session's cwd and last cube and the user's cdd, as the server does."""
        changes = {}
        if task.outputs.get("cwd"):
            changes["cwd"] = task.outputs["cwd"]
        if task.outputs.get("cube") is not None:
            changes["datacube"] = task.outputs["cube"]
        self.sessions.touch(session, **changes)
        if task.outputs.get("cdd"):
            self.sessions.save_state(user, cdd=task.outputs["cdd"])

    def run_task(
        self,
        user: str,
        session: Session,
        spec: OperatorSpec,
        args: list[tuple[str, str]],
        *,
        command: str = "",
        progress: Progress | None = None,
        cancel: CancelFlag | None = None,
    ) -> Task:
        """Validate and run one operator (massive or not); failures end up in the document."""
        doc = Document(producer=user)
        request = Request(spec.name, tuple(Argument(k, v) for k, v in args), command)
        warnings: list[str] = []
        try:
            call, warnings = validate_request(request, self.specs, strict=False)
            missing = missing_mandatory(spec, call)
            if missing:
                names = ", ".join(f"{p.name}=" for p in missing)
                raise OphshError(f"{spec.name} needs {names}")
            handler = HANDLERS.get(spec.name)
            if handler is None:
                raise OphshError(f"{spec.name} is not available in the embedded store")
            ctx = self._context(user, session, call, doc, command, progress, cancel)
            ctx.check_cancel()  # cancelled while it waited for its turn
            target = _massive_param(spec, call)
            if target is not None:
                return self._run_massive(ctx, spec, call, target, handler, warnings)
            handler(ctx, Params(spec, call))
            _warn(doc, warnings)
            if "cube" not in ctx.outputs and call.get("cube"):
                ctx.outputs["cube"] = call.get("cube") or ""
            for key in ("cwd", "cdd"):
                ctx.outputs.setdefault(key, call.get(key) or "")
            doc.set_status(True)
            return Task(spec, call, doc, ctx.outputs)
        except OphshError as err:
            _warn(doc, warnings)
            doc.fail(str(err))
        except Exception as err:  # a bug: keep the traceback in the log, tell the user briefly
            log.exception("internal error in %s", spec.name)
            doc.fail(f"internal error in {spec.name}: {type(err).__name__}: {err}")
        return Task(spec, OperatorCall(spec.name, tuple(args), command), doc, {})

    def _context(self, user, session, call, doc, command, progress, cancel) -> OpContext:
        ctx = OpContext(
            store=self.store,
            sessions=self.sessions,
            session=session,
            user=user,
            cwd=call.get("cwd") or "/",
            cdd=call.get("cdd") or "/",
            paths=self.paths,
            specs=self.specs,
            doc=doc,
            command=command,
        )
        if progress is not None:
            ctx.progress = progress
        if cancel is not None:
            ctx.cancel = cancel
        return ctx

    def _run_massive(
        self, ctx: OpContext, spec, call: OperatorCall, param: str, handler, warnings: list[str]
    ) -> Task:
        """Run the operator once per selected cube or file, and report each run."""
        value = call.get(param) or ""
        if is_group(value):
            body = value[1:-1]
            if param == "cube":
                targets = [c.pid for c in select_cubes(ctx, body)]
            else:
                targets = [str(ctx.paths.to_virtual(f)) for f in select_files(ctx, body)]
        else:
            targets = split_values(value)
        finished = 0
        lock = threading.Lock()

        def one(target: str) -> tuple[str, str]:
            """Run the operator on one target: (output cube, error or '')."""
            nonlocal finished
            ctx.check_cancel()
            sub = OpContext(**{**ctx.__dict__, "doc": Document(), "outputs": {}})
            try:
                handler(sub, Params(spec, call.with_arg(param, target)))
                result = sub.outputs.get("cube", ""), ""
            except Cancelled:
                raise
            except OphshError as err:
                result = "", f"{target}: {err}"
            with lock:
                finished += 1
                ctx.progress(spec.short_name, finished, len(targets))
            return result

        # Ophidia's ncores: the tasks of a massive operation run that many at a time.
        workers = max(1, min(_int(call.get("ncores"), 1), len(targets)))
        ctx.progress(spec.short_name, 0, len(targets))
        if workers == 1:
            results = [one(t) for t in targets]
        else:
            with ThreadPoolExecutor(workers, thread_name_prefix="ophsh-massive") as pool:
                results = list(pool.map(one, targets))
        rows, failures, outputs = [], [], []
        for i, (target, (output, error)) in enumerate(zip(targets, results, strict=True), 1):
            status = "OPH_STATUS_ERROR" if error else "OPH_STATUS_COMPLETED"
            rows.append([f"{i}", spec.name, target, output, status])
            if error:
                failures.append(error)
            if output:
                outputs.append(output)
        doc = ctx.doc
        ok = not failures
        doc.add_text(
            "massive_status",
            "Massive Operation Status",
            "OPH_STATUS_COMPLETED" if ok else "OPH_STATUS_ERROR",
        )
        doc.add_grid(
            "massive_list",
            "Massive Operation Task List",
            ("TASK", "OPERATOR", "INPUT", "OUTPUT", "EXIT STATUS"),
            ("string",) * 5,
            rows,
        )
        done = len(targets) - len(failures)
        doc.add_text(
            "massive_summary",
            "Summary",
            f"{done} of {len(targets)} task(s) completed"
            if targets
            else "no cube or file matched the filter",
        )
        _warn(doc, warnings)
        if failures:
            doc.set_status(False, f"{len(failures)} of {len(targets)} failed; first: {failures[0]}")
        else:
            doc.set_status(True)
        produced = {"cwd": call.get("cwd") or "", "cdd": call.get("cdd") or ""}
        if param != "cube" and outputs:
            produced["cube"] = outputs[-1]  # a massive import leaves its last cube current
        return Task(spec, call, doc, produced, massive=True)

    # -- server operators -----------------------------------------------------------------
    def _resume(self, user: str, workflow: dict, task: dict) -> Reply:
        args = server_operators.arguments(task)
        try:
            session = self._session(user, workflow.get("sessionid") or "null")
        except RequestError as err:
            return Reply(error=err.code, message=err.message)
        if args.get("execute", "no") == "yes":
            return self._repeat(user, session, args.get("id", ""))
        return server_operators.resume(self.sessions, user, session, args)

    def _repeat(self, user: str, session: Session, ident: str) -> Reply:
        """oph_resume execute=yes: submit a stored request again, as a new workflow."""
        try:
            job = self.sessions.job(session, int(ident))
        except ValueError:
            return Reply(error=WRONG_PARAMETER, message="oph_resume execute=yes needs id= a number")
        except NotFoundError as err:
            return Reply(error=WRONG_PARAMETER, message=str(err))
        request = json.loads(job.request)
        request["sessionid"] = session.url
        return self.execute(user, request)

    def _cancel(self, user: str, workflow: dict, task: dict) -> Reply:
        """oph_cancel: stop a workflow of the caller's session (kill), or let its running
        tasks finish and start no more (abort, stop)."""
        args = server_operators.arguments(task)
        try:
            session = self._session(user, workflow.get("sessionid") or "null")
        except RequestError as err:
            return Reply(error=err.code, message=err.message)
        with self._lock:
            flags = {wid: flag for (url, wid), flag in self._flags.items() if url == session.url}
        return server_operators.cancel(user, flags, args)

    def _manage_session(self, user: str, workflow: dict, task: dict) -> Reply:
        return server_operators.manage_session(
            self.sessions, user, server_operators.arguments(task)
        )

    def _get_config(self, user: str, workflow: dict, task: dict) -> Reply:
        """oph_get_config: the user's stored state, one row per key (every key by default)."""
        key = "all"
        for item in task.get("arguments") or []:
            k, _, v = str(item).partition("=")
            if k.strip() == "key" and v.strip():
                key = v.strip()
        state = self.sessions.state(user)
        session = self.sessions.last(user)
        values = {
            "OPH_XML_URL": "",
            "OPH_BASE_SRC_PATH": str(self.paths.base),
            "OPH_SESSION_ID": session.url if session else "",
            "OPH_EXEC_MODE": state.exec_mode,
            "OPH_NCORES": state.ncores,
            "OPH_CDD": state.cdd,
            "OPH_DATACUBE": session.datacube if session else "",
            "OPH_CWD": session.cwd if session else "/",
        }
        if key != "all" and key not in values:
            return Reply(error=WRONG_PARAMETER, message=f"unknown configuration key '{key}'")
        rows = [[k, v] for k, v in values.items() if key in ("all", k)]
        doc = Document(producer=user)
        doc.source = {
            "srckey": "oph",
            "srcname": "Ophidia",
            "description": "Ophidia Data Source",
            "producer": user,
        }
        doc.add_grid(
            "get_config",
            "Configuration Parameters",
            ("PARAMETER", "VALUE"),
            ("string", "string"),
            rows,
        )
        doc.set_status(True)
        return Reply(document=doc)


def _final_status(doc: Document, flag: CancelFlag | None) -> str:
    if doc.ok:
        return "OPH_STATUS_COMPLETED"
    stopped = flag is not None and (flag.is_set() or flag.halted)
    return "OPH_STATUS_ABORTED" if stopped else "OPH_STATUS_ERROR"


def _warn(doc: Document, warnings: list[str]) -> None:
    """Warnings go after the operator's own output, so clients find that output first."""
    for warning in warnings:
        doc.add_text("warning", "WARNING", warning)


def _int(text: str | None, default: int) -> int:
    try:
        return int(text) if text else default
    except ValueError:
        return default


def _massive_param(spec: OperatorSpec, call: OperatorCall) -> str | None:
    """The parameter that makes this call massive: a [filter] or several values, if any."""
    for name in ("cube", "src_path", "input"):
        param = spec.param(name)
        value = call.get(name)
        if param is None or not value:
            continue
        if is_group(value) or len(split_values(value)) > 1:
            return name
    return None


def _line(operator: str, args: list[tuple[str, str]]) -> str:
    return f"{operator} " + ";".join(f"{k}={v}" for k, v in args) + ";"
