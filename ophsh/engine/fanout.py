"""Massive operations: one operator run once per cube or file that a filter or a list names.

``cube=[container=c;level=0]``, ``src_path=[path=raw;file=*.fits]`` or several ``|``-joined
values make the operator run once per target, ``ncores`` at a time as Ophidia's massive tasks
do, sharing the memory budget. The reply lists every run (Ophidia's massive objects), and the
result carries every cube made.
"""

from __future__ import annotations

import posixpath
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime

from ophsh.document import Document
from ophsh.engine.context import Cancelled, Handler, OpContext
from ophsh.engine.massive import select_cubes, select_files
from ophsh.engine.params import Params
from ophsh.errors import OphshError
from ophsh.request import TaskRequest, TaskResult
from ophsh.spec import OperatorSpec
from ophsh.syntax import is_group, split_values

__all__ = ["MASSIVE_PARAMS", "massive_param", "run_massive"]

# The parameters whose filter or list makes a call massive, in the order they are looked at.
MASSIVE_PARAMS = ("cube", "src_path", "input")


@dataclass(frozen=True)
class Run:
    """One task of a massive operation: its target, the cube it made, its error, its times."""

    target: str
    output: str
    error: str
    begin: str
    end: str
    marker: int | None = None


def now() -> str:
    """The time as Ophidia's task lists print it."""
    return datetime.now().strftime("%Y-%m-%d %H:%M:%S")


def massive_param(spec: OperatorSpec, request: TaskRequest) -> str | None:
    """The parameter that makes this call massive (a [filter] or several values), if any."""
    for name in MASSIVE_PARAMS:
        param = spec.param(name)
        value = request.get(name)
        if param is None or param.is_global or not value or name in spec.gathers:
            continue
        if is_group(value) or len(split_values(value)) > 1:
            return name
    return None


def _targets(ctx: OpContext, param: str, value: str) -> list[str]:
    if not is_group(value):
        return split_values(value)
    body = value[1:-1]
    if param == "cube":
        return [c.pid for c in select_cubes(ctx, body)]
    # each file by its own name (a link is not followed here: a link that leads out of the data
    # directory fails its own task, not the whole operation)
    return [posixpath.join(ctx.paths.to_virtual(f.parent), f.name) for f in select_files(ctx, body)]


def run_massive(
    ctx: OpContext, spec: OperatorSpec, request: TaskRequest, param: str, handler: Handler
) -> TaskResult:
    """Run the operator once per target and report each run in ``ctx.doc``."""
    targets = _targets(ctx, param, request.get(param) or "")
    workers = max(1, min(_int(request.get("ncores"), 1), len(targets)))
    # the tasks that run at once share the budget, so memory is the same whatever ncores
    shared = replace(ctx.settings, memory_bytes=max(1, ctx.settings.memory_bytes // workers))
    finished = 0
    lock = threading.Lock()
    stopped: list[str] = []  # targets an interruption kept from running to the end

    def one(target: str) -> Run:
        """Run the operator on one target."""
        nonlocal finished
        begin = now()
        sub = OpContext(**{**ctx.__dict__, "doc": Document(), "outputs": {}, "settings": shared})
        try:
            sub.check_cancel()
            handler(sub, Params(spec, request.with_arg(param, target)))
            result = Run(target, sub.outputs.get("cube", ""), "", begin, now())
        except Cancelled:
            stopped.append(target)
            result = Run(target, "", f"{target}: not run ({ctx.cancel.reason})", begin, now())
        except OphshError as err:
            result = Run(target, "", f"{target}: {err}", begin, now())
        with lock:
            finished += 1
            ctx.progress(spec.short_name, finished, len(targets))
        return result

    ctx.progress(spec.short_name, 0, len(targets))
    # newest cubes are deleted first: a virtual cube goes before the cubes it is computed
    # from, which then need not write it (reported in the targets' order all the same)
    backwards = spec.name == "oph_delete"
    order = targets[::-1] if backwards else targets
    if workers == 1:
        results = [one(t) for t in order]
    else:
        with ThreadPoolExecutor(workers, thread_name_prefix="ophsh-massive") as pool:
            results = list(pool.map(one, order))
    results = results[::-1] if backwards else results
    results, whose = _numbered(ctx, results)
    _report(ctx.doc, results, whose)
    made = tuple(run.output for run in results if run.output)
    if stopped:  # say what is kept, so that a second run does not add it again
        ctx.doc.set_status(
            False,
            f"{ctx.cancel.reason} after {len(made)} of {len(targets)} task(s): "
            f"the {len(made)} cube(s) made are kept (see OUTPUT above); "
            f"{len(stopped)} did not run",
        )
    outputs = {
        "cube": made,
        "cwd": (request.get("cwd") or "",),
        "cdd": (request.get("cdd") or "",),
    }
    return TaskResult(ctx.doc, outputs, massive=param)


def _numbered(ctx: OpContext, runs: list[Run]) -> tuple[list[Run], list[str] | None]:
    """Each task with a marker id of the session, and whose tasks they are (job id, workflow,
    parent marker), as Ophidia's server says; a task run outside a job has neither."""
    if ctx.marker is None or not runs:
        return runs, None
    workflow, parent = ctx.marker
    first = ctx.sessions.reserve_markers(ctx.session, len(runs))
    numbered = [replace(run, marker=first + i) for i, run in enumerate(runs)]
    return numbered, [ctx.session.jobid(workflow, parent), str(workflow), str(parent)]


def _report(doc: Document, runs: list[Run], whose: list[str] | None) -> None:
    """Ophidia's massive objects: the massive status, one row per task (in the shape its server
    gives when no output_format is asked for), a warning when nothing matched."""
    failures = [run.error for run in runs if run.error]
    doc.add_text(
        "massive_status",
        "Massive Operation Status",
        "OPH_STATUS_ERROR" if failures else "OPH_STATUS_COMPLETED",
    )
    if whose is not None:
        doc.add_grid(
            "massive_info",
            "Massive Operation Information",
            ("OPH JOB ID", "WORKFLOW ID", "PARENT MARKER ID"),
            ("string", "int", "int"),
            [whose],
        )
    doc.add_grid(
        "massive_list",
        "Massive Operation Task List",
        ("MARKER ID", "EXIT STATUS", "INPUT", "OUTPUT", "BEGIN TIME", "END TIME"),
        ("int", "string", "string", "string", "string", "string"),
        [
            [
                "-" if run.marker is None else str(run.marker),
                "OPH_STATUS_ERROR" if run.error else "OPH_STATUS_COMPLETED",
                run.target,
                run.output,
                run.begin,
                run.end,
            ]
            for run in runs
        ],
    )
    if not runs:
        doc.add_text("massive_summary", "WARNING", "No object found!")
    if failures:
        doc.set_status(False, f"{len(failures)} of {len(runs)} failed; first: {failures[0]}")


def _int(text: str | None, default: int) -> int:
    try:
        return int(text) if text else default
    except ValueError:
        return default
