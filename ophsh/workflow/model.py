"""A workflow as Ophidia's server reads it: header, tasks, dependencies; and ``$N`` arguments."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from typing import Any

from ophsh.errors import ExitCode, OphshError
from ophsh.request import parse_argument

__all__ = [
    "CONTROL",
    "Dependency",
    "Task",
    "Workflow",
    "WorkflowError",
    "parse",
    "substitute_arguments",
]

CONTROL = frozenset(
    {
        "oph_for",
        "oph_endfor",
        "oph_if",
        "oph_elseif",
        "oph_else",
        "oph_endif",
        "oph_set",
        "oph_wait",
    }
)


class WorkflowError(OphshError):
    """The workflow cannot run as written; nothing of it was executed."""

    exit_code = ExitCode.INVALID_PARAMETER


@dataclass(frozen=True)
class Dependency:
    task: str
    argument: str = "cube"
    type: str = "embedded"
    filter: str = "all"
    output_argument: str = "cube"
    order: int = 0

    @property
    def passes(self) -> bool:
        """True when the parent's output goes into the child's argument."""
        return self.type in ("all", "single")


@dataclass(frozen=True)
class Task:
    name: str
    operator: str
    arguments: tuple[tuple[str, str], ...] = ()
    dependencies: tuple[Dependency, ...] = ()
    on_error: str | None = None
    on_exit: str | None = None
    run: str = "yes"

    def arg(self, key: str, default: str = "") -> str:
        for k, v in self.arguments:
            if k == key:
                return v
        return default

    def with_(self, **changes) -> Task:
        return replace(self, **changes)


@dataclass
class Workflow:
    name: str
    header: dict[str, Any]
    tasks: list[Task] = field(default_factory=list)

    def task(self, name: str) -> Task:
        for task in self.tasks:
            if task.name == name:
                return task
        raise WorkflowError(f"no task named '{name}'")


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _dependency(owner: str, raw: Any) -> Dependency:
    if not isinstance(raw, dict) or not raw.get("task"):
        raise WorkflowError(f"task '{owner}': every dependency needs a \"task\"")
    given_argument = "argument" in raw
    kind = str(raw.get("type") or ("all" if given_argument else "embedded"))
    try:
        order = int(raw.get("order") or 0)
    except ValueError:
        raise WorkflowError(f"task '{owner}': dependency order must be a number") from None
    return Dependency(
        task=str(raw["task"]),
        argument=str(raw.get("argument") or "cube"),
        type=kind,
        filter=str(raw.get("filter") or "all"),
        output_argument=str(raw.get("output_argument") or "cube"),
        order=order,
    )


def parse(document: str | dict[str, Any]) -> Workflow:
    """Read a workflow document (text or parsed JSON)."""
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except json.JSONDecodeError as err:
            raise WorkflowError(f"the workflow is not valid JSON: {err}") from None
    if not isinstance(document, dict):
        raise WorkflowError("a workflow is a JSON object")
    if not document.get("name"):
        raise WorkflowError('the workflow has no "name"')
    raw_tasks = document.get("tasks")
    if not isinstance(raw_tasks, list) or not raw_tasks:
        raise WorkflowError('the workflow has no "tasks"')
    tasks = []
    for i, raw in enumerate(raw_tasks):
        if not isinstance(raw, dict) or not raw.get("name"):
            raise WorkflowError(f'task number {i + 1} has no "name"')
        name = str(raw["name"])
        if not raw.get("operator"):
            raise WorkflowError(f"task '{name}' has no \"operator\"")
        listed = raw.get("arguments") or []
        if not isinstance(listed, list):
            raise WorkflowError(f"task '{name}': arguments must be a list of \"key=value\"")
        arguments = []
        for item in listed:
            pair = parse_argument(_text(item))
            if pair is None or not re.fullmatch(r"[a-z0-9_]+", pair[0]):
                raise WorkflowError(f"task '{name}': argument '{item}' is not key=value")
            arguments.append(pair)
        tasks.append(
            Task(
                name=name,
                operator=str(raw["operator"]).strip().lower(),
                arguments=tuple(arguments),
                dependencies=tuple(_dependency(name, d) for d in raw.get("dependencies") or []),
                on_error=raw.get("on_error"),
                on_exit=raw.get("on_exit"),
                run=str(raw.get("run") or "yes"),
            )
        )
    header = {k: v for k, v in document.items() if k != "tasks"}
    return Workflow(name=str(document["name"]), header=header, tasks=tasks)


_POSITIONAL = re.compile(r"\$\{(\d+)\}|\$(\d+)(?!\d)")


def substitute_arguments(text: str, args: list[str]) -> str:
    """Replace ``$N`` and ``${N}`` by the N-th argument, as oph_term and PyOphidia do before
    sending; a reference to an argument not given is an error naming the task that uses it."""
    document = json.loads(text) if text.strip().startswith("{") else None
    missing: set[int] = set()

    def value(match: re.Match) -> str:
        n = int(match.group(1) or match.group(2))
        if 1 <= n <= len(args):
            return args[n - 1]
        missing.add(n)
        return match.group(0)

    result = _POSITIONAL.sub(value, text)
    if missing:
        where = ""
        if document:
            for task in document.get("tasks") or []:
                if any(
                    f"${n}" in json.dumps(task) or f"${{{n}}}" in json.dumps(task) for n in missing
                ):
                    where = f" (task '{task.get('name')}')"
                    break
        first = min(missing)
        raise WorkflowError(
            f"the workflow uses ${first}{where} but only {len(args)} argument(s) were given",
            hint="pass them after the file name, or with -a arg1,arg2",
        )
    return result
