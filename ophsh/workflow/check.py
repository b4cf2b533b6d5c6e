"""Checking a workflow before anything runs: operators, arguments, dependencies, cycles."""

from __future__ import annotations

import re

from ophsh.spec import Specs, closest
from ophsh.workflow.model import CONTROL, Workflow, WorkflowError

__all__ = ["check", "order"]

ON_ERROR = re.compile(r"^(skip|continue|break|abort|repeat \d+.*)$")


def check(workflow: Workflow, specs: Specs) -> None:
    """Raise :class:`WorkflowError` naming the first task that cannot run as written."""
    header = workflow.header
    mode = str(header.get("exec_mode", "sync") or "sync").lower()
    if mode not in ("sync", "async"):
        raise WorkflowError(f"exec_mode must be sync or async, not '{mode}'")
    if not str(header.get("ncores", "1") or "1").isdigit():
        raise WorkflowError(f"ncores must be a whole number, not '{header.get('ncores')}'")
    _check_on_error(header.get("on_error"), "the workflow")
    names = [t.name for t in workflow.tasks]
    seen: set[str] = set()
    for task in workflow.tasks:
        if task.name in seen:
            raise WorkflowError(f"two tasks are named '{task.name}'")
        seen.add(task.name)
    for task in workflow.tasks:
        where = f"task '{task.name}'"
        _check_on_error(task.on_error, where)
        if task.operator not in specs.operators and task.operator not in CONTROL:
            guess = closest(task.operator, [*specs.operators, *CONTROL])
            raise WorkflowError(
                f"{where}: unknown operator '{task.operator}'",
                hint=f"did you mean {guess}?" if guess else None,
            )
        spec = specs.operators.get(task.operator)
        if spec is not None:
            for key, _ in task.arguments:
                if key in specs.reserved:
                    raise WorkflowError(f"{where}: argument '{key}' is set by the server")
                if spec.param(key) is None and key != "cube":
                    # Ophidia ignores parameters an operator lacks (published workflows carry
                    # some: oph_deletecontainer vocabulary=); one close to a real name is a typo
                    guess = closest(key, spec.param_names, cutoff=0.8)
                    if guess:
                        raise WorkflowError(
                            f"{where}: {task.operator} has no parameter '{key}'",
                            hint=f"did you mean {guess}=?",
                        )
        for dep in task.dependencies:
            if dep.task not in names:
                guess = closest(dep.task, names)
                raise WorkflowError(
                    f"{where} depends on '{dep.task}', which is not a task of this workflow",
                    hint=f"did you mean {guess}?" if guess else None,
                )
            if dep.task == task.name:
                raise WorkflowError(f"{where} depends on itself")
            if dep.type not in ("all", "single", "embedded"):
                raise WorkflowError(
                    f"{where}: dependency type '{dep.type}' is not all, single or embedded"
                )
    order(workflow)


def _check_on_error(value, where: str) -> None:
    if value is not None and not ON_ERROR.match(str(value)):
        raise WorkflowError(
            f"{where}: on_error '{value}' is not skip, continue, break, abort or repeat N"
        )


def order(workflow: Workflow) -> list[str]:
    """Task names in an order that respects every dependency; a cycle is an error."""
    parents = {t.name: {d.task for d in t.dependencies} for t in workflow.tasks}
    done: list[str] = []
    remaining = dict(parents)
    while remaining:
        finished = set(done)
        ready = [name for name, deps in remaining.items() if deps <= finished]
        if not ready:
            cycle = sorted(remaining)
            raise WorkflowError(
                f"the dependencies of tasks {', '.join(repr(n) for n in cycle)} form a cycle"
            )
        for name in ready:
            done.append(name)
            del remaining[name]
    return done
