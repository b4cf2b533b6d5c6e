"""oph_for ... oph_endfor unrolled into plain tasks before a workflow runs.

The body of a loop is every task that depends (directly or not) on the oph_for and on which the
matching oph_endfor depends. Each iteration gets copies of the body named ``TASK [i]``, with
``@{key}``/``@key`` replaced by the iteration's value and ``&{key}``/``&key`` by its counter.
Iterations run one after the other unless ``parallel=yes``. Inner loops unroll first.

A loop whose ``values=`` points into a parent's reply (an item such as ``/data(*,2)``, see
:mod:`ophsh.workflow.references`) cannot be unrolled before its parents have run: it is left
whole and :func:`unfold` unrolls it when it is reached, with the values read from the replies.
"""

from __future__ import annotations

import re
from dataclasses import replace

from ophsh.workflow.model import Dependency, Task, Workflow, WorkflowError

__all__ = ["counter_values", "reads_replies", "substitute_variables", "unfold", "unroll"]


def counter_values(text: str) -> list[str]:
    """A subset string (``1:3``, ``1:2:9``, ``4,7``) as its values."""
    values: list[str] = []
    for part in text.split(","):
        bounds = part.split(":")
        try:
            nums = [int(b) for b in bounds]
        except ValueError:
            raise WorkflowError(f"counter '{text}' must look like 1:10, 1:2:9 or 4,7") from None
        if len(nums) == 1:
            values.append(str(nums[0]))
        elif len(nums) == 2:
            values += [str(n) for n in range(nums[0], nums[1] + 1)]
        elif len(nums) == 3 and nums[1] > 0:
            values += [str(n) for n in range(nums[0], nums[2] + 1, nums[1])]
        else:
            raise WorkflowError(f"counter '{text}' must look like 1:10, 1:2:9 or 4,7")
    return values


def substitute_variables(text: str, values: dict[str, str], counters: dict[str, str]) -> str:
    """``@{key}``/``@key`` from ``values``, ``&{key}``/``&key`` from ``counters``; unknown names
    are left for later (an outer loop, or oph_set when the task runs)."""

    def swap(table: dict[str, str]):
        def sub(match: re.Match) -> str:
            name = match.group(1) or match.group(2)
            return table.get(name, match.group(0))

        return sub

    text = re.sub(r"@\{(\w+)\}|@(\w+)", swap(values), text)
    return re.sub(r"&\{(\w+)\}|&(\w+)", swap(counters), text)


def reads_replies(task: Task) -> bool:
    """Whether an oph_for takes its values from a parent's reply (an item ``name(row,col)``)."""
    values = task.arg("values", "-")
    return task.operator == "oph_for" and any(
        re.fullmatch(r"[^()]+\([^()]*\)", item) for item in values.split("|")
    )


def unfold(tasks: list[Task], loop: Task, values: str) -> list[Task]:
    """The tasks with ``loop`` (left whole by :func:`unroll`) replaced by its iterations over
    ``values``, as they are once its parents' replies are known."""
    end, body = _matching_end(tasks, loop)
    arguments = tuple((k, values if k == "values" else v) for k, v in loop.arguments)
    return _expand(tasks, loop.with_(arguments=arguments), end, body)


def _matching_end(tasks: list[Task], loop: Task) -> tuple[Task, set[str]]:
    """The oph_endfor closing ``loop`` (the first below it with as many oph_for as oph_endfor
    in between) and the loop's body."""
    kids, parents = _children(tasks), {t.name: {d.task for d in t.dependencies} for t in tasks}
    below = _reach(loop.name, kids)
    by_name = {t.name: t for t in tasks}
    for task in tasks:
        if task.operator != "oph_endfor" or task.name not in below:
            continue
        between = [by_name[n].operator for n in below & _reach(task.name, parents)]
        if between.count("oph_for") == between.count("oph_endfor"):
            return task, below & _reach(task.name, parents)
    raise WorkflowError(f"task '{loop.name}': this oph_for has no oph_endfor after it")


def _children(tasks: list[Task]) -> dict[str, set[str]]:
    kids: dict[str, set[str]] = {t.name: set() for t in tasks}
    for task in tasks:
        for dep in task.dependencies:
            kids.setdefault(dep.task, set()).add(task.name)
    return kids


def _reach(start: str, links: dict[str, set[str]]) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for nxt in links.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def unroll(workflow: Workflow) -> Workflow:
    """The workflow with every loop replaced by its iterations."""
    tasks = list(workflow.tasks)
    done: set[str] = set()  # loops unrolled, and the oph_endfor each closed
    while True:
        loops = [t for t in tasks if t.operator == "oph_for" and t.name not in done]
        if not loops:
            return Workflow(workflow.name, workflow.header, tasks)
        kids = _children(tasks)
        parents = {t.name: {d.task for d in t.dependencies} for t in tasks}
        # innermost first: a loop none of whose descendants is an unprocessed loop
        for loop in loops:
            below = _reach(loop.name, kids)
            if not any(t.name in below for t in loops):
                break
        if reads_replies(loop):  # unrolled when it runs (unfold); its oph_endfor is taken
            done |= {loop.name, _matching_end(tasks, loop)[0].name}
            continue
        ends = [t for t in tasks if t.operator == "oph_endfor" and t.name in below - done]
        end = next(
            (e for e in ends if not (_reach(e.name, parents) & {x.name for x in ends})), None
        )
        if end is None:
            raise WorkflowError(f"task '{loop.name}': this oph_for has no oph_endfor after it")
        body = below & _reach(end.name, parents)
        tasks = _expand(tasks, loop, end, body)
        done |= {loop.name, end.name}
        # an inner loop already unrolled is copied whole by its outer loop ("name [i]")
        done |= {
            t.name
            for t in tasks
            if t.operator in ("oph_for", "oph_endfor") and t.name.rsplit(" [", 1)[0] in done
        }


def _expand(tasks: list[Task], loop: Task, end: Task, body: set[str]) -> list[Task]:
    key = loop.arg("key")
    if not key:
        raise WorkflowError(f"task '{loop.name}': oph_for needs key=")
    labels = loop.arg("values", "-")
    labels_list = [] if labels in ("", "-") else labels.split("|")
    counters_text = loop.arg("counter", "-")
    counters = [] if counters_text in ("", "-") else counter_values(counters_text)
    if labels_list and counters and len(labels_list) != len(counters):
        raise WorkflowError(
            f"task '{loop.name}': values has {len(labels_list)} items but counter {len(counters)}"
        )
    count = max(len(labels_list), len(counters))
    if not count:
        raise WorkflowError(f"task '{loop.name}': oph_for needs values= or counter=")
    counters = counters or [str(i + 1) for i in range(count)]
    labels_list = labels_list or counters
    parallel = loop.arg("parallel", "no") == "yes"
    ordered = [t for t in tasks if t.name in body]
    lasts = {d.task for d in end.dependencies} & body
    firsts = [t.name for t in ordered if any(d.task == loop.name for d in t.dependencies)]
    copies: list[Task] = []
    previous: list[str] = []
    for i in range(count):
        rename = {name: f"{name} [{i + 1}]" for name in body}
        for task in ordered:
            deps = [replace(d, task=rename.get(d.task, d.task)) for d in task.dependencies]
            if not parallel and previous and task.name in firsts:
                deps += [Dependency(task=p) for p in previous]
            args = tuple(
                (k, substitute_variables(v, {key: labels_list[i]}, {key: counters[i]}))
                for k, v in task.arguments
            )
            copies.append(
                task.with_(name=rename[task.name], arguments=args, dependencies=tuple(deps))
            )
        previous = [rename[name] for name in lasts]
    # a sequential loop's oph_endfor hands on what the last iteration gives (each iteration
    # waits for the one before); a parallel loop's, what all of them give
    last = f" [{count}]"
    out: list[Task] = []
    for task in tasks:
        if task.name in body:
            continue
        if task.name == end.name:
            deps = [d for d in task.dependencies if d.task not in body]
            deps += [
                Dependency(
                    task=c.name, argument=d.argument, type=d.type, output_argument=d.output_argument
                )
                for d in task.dependencies
                if d.task in body
                for c in copies
                if c.name.rsplit(" [", 1)[0] == d.task and (parallel or c.name.endswith(last))
            ]
            task = task.with_(dependencies=tuple(deps))
        elif any(d.task in body for d in task.dependencies):
            raise WorkflowError(
                f"task '{task.name}' uses a task inside the loop '{loop.name}'; depend on its "
                "oph_endfor instead"
            )
        out.append(task)
        if task.name == loop.name:
            out.extend(copies)
    return out
