"""Running a workflow on the embedded store, as Ophidia's workflow engine does.

Tasks start when their parents are done, up to ``ncores`` at a time. A dependency of type
``single`` or ``all`` writes the parent's output cube(s) into the child's argument (``cube`` by
default); ``embedded`` only orders. ``on_error`` decides what a failure does: ``break``/``abort``
(the default) stop the workflow, ``continue`` goes on without the failed task's dependents,
``skip`` lets them run on the skipped task's input, ``repeat N`` tries again. Control operators
(oph_if/elseif/else/endif, oph_set, oph_wait, and the remains of unrolled loops) run here.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ophsh.engine.catalog import now
from ophsh.engine.context import CancelFlag
from ophsh.engine.inputs import variables
from ophsh.engine.sessions import Job, Session
from ophsh.errors import OphshError
from ophsh.request import Context, TaskRequest, TaskResult
from ophsh.spec import Specs
from ophsh.syntax import validate
from ophsh.workflow.check import check, order
from ophsh.workflow.conditions import truth
from ophsh.workflow.loops import (
    counter_values,
    reads_replies,
    substitute_variables,
    unfold,
    unroll,
)
from ophsh.workflow.model import CONTROL, Task, Workflow, parse
from ophsh.workflow.references import expand
from ophsh.workflow.report import TaskState, report

if TYPE_CHECKING:
    from ophsh.engine.service import Service

__all__ = ["Prepared", "WorkflowEngine"]

log = logging.getLogger(__name__)

FINAL = ("COMPLETED", "ERROR", "SKIPPED", "ABORTED", "UNSELECTED")


@dataclass
class Prepared:
    """A checked workflow with its loops unrolled."""

    workflow: Workflow
    order: list[str]

    @property
    def size(self) -> int:
        return len(self.workflow.tasks)


class WorkflowEngine:
    """What :class:`~ophsh.engine.service.Service` calls for multi-task requests."""

    controls = CONTROL

    def __init__(self, specs: Specs) -> None:
        self.specs = specs

    def prepare(self, document: dict[str, Any] | str) -> Prepared:
        workflow = parse(document)
        check(workflow, self.specs)
        workflow = unroll(workflow)
        return Prepared(workflow, order(workflow))

    def run(
        self,
        service: Service,
        user: str,
        session: Session,
        prepared: Prepared,
        job: Job,
        *,
        progress=None,
        cancel: CancelFlag | None = None,
    ) -> TaskResult:
        run = _Run(service, user, session, prepared, job, progress, cancel or CancelFlag())
        return run.execute()


class _TaskFailed(OphshError):
    pass


class _Run:
    def __init__(self, service, user, session, prepared, job, progress, cancel) -> None:
        self.service, self.user, self.session = service, user, session
        self.workflow: Workflow = prepared.workflow
        self.order = prepared.order
        self.job, self.progress, self.cancel = job, progress, cancel
        self.header = self.workflow.header
        self.tasks = {t.name: t for t in self.workflow.tasks}
        self.states = {
            name: TaskState(marker=job.marker + i + 1) for i, name in enumerate(self.order)
        }
        self.variables: dict[str, str] = {
            "OPH_SESSION_ID": session.url,
            "OPH_SESSION_CODE": session.code,
            "OPH_WORKFLOW_ID": str(job.workflow),
            "OPH_MARKER_ID": str(job.marker),
            "OPH_USER": user,
            "NCORES": str(self.header.get("ncores") or "1"),
        }
        self.lock = threading.Lock()
        self.stop = False
        self.context = Context.of_workflow(self.header)

    # -- scheduling ------------------------------------------------------------------------
    def execute(self) -> TaskResult:
        workers = max(1, int(str(self.header.get("ncores") or "1")))
        pending = list(self.order)
        running: dict[Future, str] = {}
        with ThreadPoolExecutor(workers, thread_name_prefix="ophsh-task") as pool:
            while pending or running:
                if self.cancel.is_set() or self.cancel.halted:
                    self.stop = True
                unfolded = False
                for name in list(pending):
                    if name not in pending:  # the body of a loop unfolded meanwhile
                        continue
                    if self.stop:
                        self._finish(name, "ABORTED", "the workflow stopped before this task")
                        pending.remove(name)
                        continue
                    verdict = self._readiness(self.tasks[name])
                    if verdict == "wait" or (verdict == "run" and len(running) >= workers):
                        continue
                    pending.remove(name)
                    if verdict == "run" and reads_replies(self.tasks[name]):
                        self._unfold(self.tasks[name], pending)
                        unfolded = True
                    elif verdict == "run":
                        self.states[name].status = "RUNNING"
                        running[pool.submit(self._run_task, self.tasks[name])] = name
                    else:
                        self._finish(name, verdict, "")
                if running:
                    finished, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in finished:
                        running.pop(future)
                        future.result()
                elif pending and not self.stop and not unfolded:
                    for name in pending:  # unreachable with a checked workflow; never hang
                        self._finish(name, "ABORTED", "its dependencies cannot be met")
                    pending.clear()
        self._on_exit()
        return report(self.user, self.session, self.job, self.states, self.order, self.cancel)

    def _unfold(self, loop: Task, pending: list[str]) -> None:
        """Unroll a loop over values read from its parents' replies, now that they have run:
        its body's tasks give way to their iterations, which join the schedule."""
        self.states[loop.name].begin = now()
        replies = [self.states[d.task].reply for d in loop.dependencies]
        given = substitute_variables(loop.arg("values"), self.variables, {})
        values = expand(given, [r for r in replies if r is not None])
        if reads_replies(loop.with_(arguments=(("values", values),))):
            message = f"oph_for values={given} names nothing in its parents' replies"
            self._finish(loop.name, "ERROR", message)
            self.stop = True
            return
        try:
            tasks = unfold(list(self.tasks.values()), loop, values)
        except OphshError as err:
            self._finish(loop.name, "ERROR", str(err))
            self.stop = True
            return
        names = {t.name for t in tasks}
        gone = [n for n in self.tasks if n not in names]
        added = [t.name for t in tasks if t.name not in self.tasks]
        with self.lock:  # _finish counts the states from the workers' threads
            marker = max(s.marker for s in self.states.values())
            for name in gone:
                del self.states[name]
            for i, name in enumerate(added):
                self.states[name] = TaskState(marker=marker + i + 1)
        self.tasks = {t.name: t for t in tasks}
        self.order = [n for n in self.order if n in names] + added
        pending[:] = [n for n in pending if n in names] + added
        self._finish(loop.name, "COMPLETED", "")

    def _readiness(self, task: Task) -> str:
        """run, wait, or the final status the task gets without running."""
        states = [(d, self.states[d.task]) for d in task.dependencies]
        if any(s.status not in FINAL for _, s in states):
            return "wait"
        if task.operator == "oph_endif":
            done = [s for _, s in states if s.status in ("COMPLETED", "SKIPPED")]
            forwarded = self._forwarding_if(task) is not None
            return "run" if done or not states or forwarded else "UNSELECTED"
        for dep, state in states:
            if state.status in ("ERROR", "ABORTED"):
                return "ABORTED"
            if state.status == "UNSELECTED":
                return "UNSELECTED"
            parent = self.tasks[dep.task]
            if parent.operator in ("oph_if", "oph_elseif", "oph_else"):
                alternative = task.operator in ("oph_elseif", "oph_else")
                if state.taken == alternative:
                    return "UNSELECTED"
        return "run"

    def _forwarding_if(self, endif: Task) -> str | None:
        """The oph_if this oph_endif closes when it was false, has no branch that ran and says
        forward=yes: the endif then passes the if's input cube on."""
        todo, seen = [d.task for d in endif.dependencies], set()
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            task, state = self.tasks[name], self.states[name]
            if task.operator == "oph_if":
                forward = task.arg("forward", "no") == "yes"
                return name if forward and state.status == "COMPLETED" and not state.taken else None
            if state.status == "UNSELECTED" and task.operator != "oph_endif":
                todo.extend(d.task for d in task.dependencies)
        return None

    def _finish(self, name: str, status: str, message: str) -> None:
        with self.lock:
            state = self.states[name]
            state.status, state.message = status, message
            state.end = state.end or now()
            done = sum(s.status in FINAL for s in self.states.values())
        if self.progress:
            self.progress("workflow", done, len(self.states))

    # -- one task --------------------------------------------------------------------------
    def _run_task(self, task: Task) -> None:
        state = self.states[task.name]
        state.begin = now()
        policy = str(task.on_error or self.header.get("on_error") or "break")
        attempts = 1 + (int(policy.split()[1]) if policy.startswith("repeat") else 0)
        for attempt in range(attempts):
            try:
                self._perform(task, state)
                self._finish(task.name, "COMPLETED", "")
                return
            except OphshError as err:
                message = str(err)
            except Exception as err:  # a bug: the task fails, the log keeps the traceback
                log.exception("task %s failed", task.name)
                message = f"internal error: {type(err).__name__}: {err}"
            if attempt + 1 < attempts and not self.cancel.is_set():
                continue
        if policy == "skip":
            given = task.arg("cube")  # a skipped task hands its input on
            state.outputs = [v for v in given.split("|") if v]
            self._finish(task.name, "SKIPPED", message)
            return
        self._finish(task.name, "ABORTED" if self.cancel.is_set() else "ERROR", message)
        if policy not in ("continue", "skip"):
            self.stop = True

    def _perform(self, task: Task, state: TaskState) -> None:
        if self.cancel.is_set():
            raise _TaskFailed(self.cancel.reason)
        if task.operator in CONTROL:
            self._control(task, state)
            return
        request, warnings = validate(self._request(task), self.service.specs, strict=False)
        result = self.service.run_task(
            self.user,
            self.session,
            request,
            warnings=warnings,
            cancel=self.cancel,
            marker=(self.job.workflow, state.marker),
        )
        state.kind = "MASSIVE" if result.massive else "SIMPLE"
        state.reply = result.document
        state.outputs = list(result.output("cube"))
        if not result.ok:
            raise _TaskFailed(result.document.error_message or f"{task.operator} failed")

    def _inputs(self, task: Task) -> dict[str, str]:
        """The task's own arguments with the outputs its dependencies pass in."""
        values = dict(self._substituted(task))
        passed: dict[str, list[tuple[int, list[str]]]] = {}
        for dep in task.dependencies:
            if not dep.passes:
                continue
            outputs = _filtered(self.states[dep.task].outputs, dep.filter)
            if dep.type == "single" and len(outputs) != 1:
                raise _TaskFailed(
                    f"'{dep.task}' gave {len(outputs)} outputs; a single dependency needs one"
                )
            passed.setdefault(dep.argument, []).append((dep.order, outputs))
        for argument, items in passed.items():
            values[argument] = "|".join(
                v for _, outs in sorted(items, key=lambda x: x[0]) for v in outs
            )
        return values

    def _substituted(self, task: Task) -> list[tuple[str, str]]:
        """The task's arguments with variables replaced; @CUBE is the cube its dependencies
        pass it."""
        given = [
            o
            for d in task.dependencies
            if d.passes and d.argument == "cube"
            for o in self.states[d.task].outputs
        ]
        known = {**self.variables, "CUBE": "|".join(dict.fromkeys(given))}
        return [(k, substitute_variables(v, known, {})) for k, v in task.arguments]

    def _request(self, task: Task) -> TaskRequest:
        """The task's request: its arguments, what its dependencies pass in, and what the
        workflow header gives every task."""
        values = self._inputs(task)
        raw = TaskRequest(task.operator, tuple(values.items()))
        spec = self.service.specs.operators[task.operator]
        passed = any(d.passes for d in task.dependencies)
        return self.context.apply(raw, spec, passed=passed).without("sessionid", "exec_mode")

    def _control(self, task: Task, state: TaskState) -> None:
        inputs = [o for d in task.dependencies for o in self.states[d.task].outputs]
        if task.operator == "oph_endif" and not inputs and (fwd := self._forwarding_if(task)):
            inputs = self.states[fwd].outputs
        state.outputs = list(dict.fromkeys(inputs))
        values = dict(self._substituted(task))
        if "value" in values:  # oph_set and oph_wait may read their parents' replies
            replies = [self.states[d.task].reply for d in task.dependencies]
            values["value"] = expand(values["value"], [r for r in replies if r is not None])
        if task.operator in ("oph_if", "oph_elseif"):
            state.taken = truth(values.get("condition", "true"))
        elif task.operator == "oph_else":
            state.taken = True
        elif task.operator == "oph_set":
            pairs = variables(
                values.get("key") or values.get("keys") or "", values.get("value", "")
            )
            if not pairs:
                raise _TaskFailed("oph_set needs key=")
            self.variables.update(pairs)
        elif task.operator == "oph_wait":
            self._wait(task.name, values)

    def _wait(self, name: str, values: dict[str, str]) -> None:
        """oph_wait: sleep for timeout= seconds (type=clock), or until filename= exists in the
        data directory (type=file) or oph_input answers (type=input), at most timeout= seconds
        (-1: no limit); then set the variables key= to value= (and those oph_input gives)."""
        kind = values.get("type", "clock")
        try:
            seconds = float(values.get("timeout", "-1"))
        except ValueError:
            raise _TaskFailed(f"oph_wait: timeout '{values['timeout']}' is not a number") from None
        if kind == "clock":
            if seconds < 0:
                raise _TaskFailed("oph_wait type=clock needs timeout= seconds")
            if self.cancel.wait(seconds):
                raise _TaskFailed(self.cancel.reason)
        elif kind == "file":
            name = values.get("filename", "-")
            if name in ("", "-"):
                raise _TaskFailed("oph_wait type=file needs filename=")
            cdd = values.get("cdd") or self.context.cdd or "/"
            path = self.service.paths.real(cdd, name)
            deadline = time.monotonic() + seconds if seconds >= 0 else None
            while not path.exists():
                if deadline is not None and time.monotonic() >= deadline:
                    raise _TaskFailed(f"oph_wait: '{name}' did not appear in {seconds:g} s")
                if self.cancel.wait(0.2):
                    raise _TaskFailed(self.cancel.reason)
        elif kind == "input":
            self._await_input(name, seconds)
        else:
            raise _TaskFailed(f"oph_wait type={kind}: use clock, file or input")
        self.variables.update(variables(values.get("key", "-"), values.get("value", "-")))

    def _await_input(self, name: str, seconds: float) -> None:
        """Wait until oph_input says continue (setting its variables) or abort."""
        deadline = time.monotonic() + seconds if seconds >= 0 else None
        code, workflow = self.session.code, self.job.workflow
        with self.service.inputs.waiting(code, workflow, name) as inbox:
            while True:
                try:
                    answer = inbox.get(timeout=0.2)
                except queue.Empty:
                    if self.cancel.is_set():
                        raise _TaskFailed(self.cancel.reason) from None
                    if deadline is not None and time.monotonic() >= deadline:
                        raise _TaskFailed(f"oph_wait: no input came in {seconds:g} s") from None
                    continue
                if answer.action == "abort":
                    raise _TaskFailed(f"aborted by oph_input (workflow {workflow})")
                if answer.action == "continue":
                    self.variables.update(answer.variables)
                    return

    # -- the end ---------------------------------------------------------------------------
    def _on_exit(self) -> None:
        for name, state in self.states.items():
            task = self.tasks[name]
            policy = task.on_exit or self.header.get("on_exit") or "nop"
            if policy != "oph_delete" or state.status != "COMPLETED" or task.operator in CONTROL:
                continue
            for cube in state.outputs:
                request = TaskRequest("oph_delete", (("cube", cube),))
                self.service.run_task(self.user, self.session, request)


def _filtered(outputs: list[str], text: str) -> list[str]:
    if text in ("", "all"):
        return outputs
    chosen = [int(v) for v in counter_values(text)]
    return [outputs[i - 1] for i in chosen if 1 <= i <= len(outputs)]
