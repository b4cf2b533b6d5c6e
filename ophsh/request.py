"""The typed request and result that cross ophsh, from the prompt to the array on disk and back.

A :class:`TaskRequest` is one operator call: the operator, its ``key=value`` arguments in the
order given, and the command text that made it. The shell builds it from a typed line, the
server from the JSON workflow a client sent, the workflow engine from a task; the engine runs
it and answers with a :class:`TaskResult` (the response document and the task's outputs as
data). JSON appears only at the wire: :func:`to_workflow` and :func:`from_task` are the codec.

:class:`Context` is the one rule for what a request inherits from where it runs: the session,
the current folder and data directory, the current cube, and the other arguments Ophidia's
server carries on every task.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from ophsh.document import Document
from ophsh.spec import OperatorSpec

__all__ = [
    "CONTEXT_VARIABLES",
    "HEADER_KEYS",
    "Context",
    "TaskRequest",
    "TaskResult",
    "from_task",
    "parse_argument",
    "read_workflow",
    "takes_cube",
    "to_workflow",
]

# Deeper JSON than this is not a workflow anyone writes; refusing it keeps the parser safe.
MAX_JSON_DEPTH = 64

# Keys a client lifts from a command into the workflow header (PyOphidia, oph_term).
HEADER_KEYS = ("sessionid", "exec_mode", "callback_url", "project")

# The shell variable behind each context key, in oph_term's order.
CONTEXT_VARIABLES = {
    "sessionid": "OPH_SESSION_ID",
    "exec_mode": "OPH_EXEC_MODE",
    "ncores": "OPH_NCORES",
    "cube": "OPH_DATACUBE",
    "cwd": "OPH_CWD",
    "cdd": "OPH_CDD",
    "host_partition": "OPH_HOST_PARTITION",
}


def parse_argument(item: object) -> tuple[str, str] | None:
    """``"key=value"`` as (lower-case key, value), both trimmed; None without a key or ``=``."""
    key, sep, value = str(item).partition("=")
    key = key.strip().lower()
    if not sep or not key:
        return None
    return key, value.strip()


@dataclass(frozen=True)
class TaskRequest:
    """One operator call: the operator, its arguments in the order given, the command text."""

    operator: str
    arguments: tuple[tuple[str, str], ...] = ()
    command: str = ""

    def get(self, key: str, default: str | None = None) -> str | None:
        for k, v in self.arguments:
            if k == key:
                return v
        return default

    def has(self, key: str) -> bool:
        return any(k == key for k, _ in self.arguments)

    def keys(self) -> list[str]:
        return [k for k, _ in self.arguments]

    def with_arg(self, key: str, value: str) -> TaskRequest:
        """A copy with ``key`` set (replaced in place, or appended)."""
        if self.has(key):
            args = tuple((k, value if k == key else v) for k, v in self.arguments)
        else:
            args = (*self.arguments, (key, value))
        return replace(self, arguments=args)

    def without(self, *keys: str) -> TaskRequest:
        return replace(self, arguments=tuple((k, v) for k, v in self.arguments if k not in keys))

    def line(self) -> str:
        """The command as oph_term writes it: ``oph_op key=value;key=value;``."""
        body = "".join(f"{k}={v};" for k, v in self.arguments)
        return f"{self.operator} {body}" if body else self.operator

    @property
    def text(self) -> str:
        """What the user typed, or the command line when it was built in code."""
        return self.command or self.line()


@dataclass(frozen=True)
class TaskResult:
    """What one operator run produced: its response document and its outputs as data.

    ``outputs`` are Ophidia's task outputs by key (``cube``, ``cwd``, ``cdd``): the cubes a task
    made (every cube of a massive run), or the cube it was given when it made none, as the
    server carries it to the next task. ``massive`` names the parameter whose filter or list
    made the run massive ("" for a single run).
    """

    document: Document
    outputs: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    massive: str = ""

    @property
    def ok(self) -> bool:
        return self.document.ok

    def output(self, key: str = "cube") -> tuple[str, ...]:
        return tuple(self.outputs.get(key, ()))

    def last(self, key: str) -> str:
        """The last output of ``key`` ("" when there is none)."""
        values = self.output(key)
        return values[-1] if values else ""


@dataclass(frozen=True)
class Context:
    """Where a request runs: the values Ophidia's clients and server add to every task.

    The shell takes them from its variables (:meth:`from_variables`), the server from the
    workflow header (:meth:`from_mapping`); :meth:`apply` is the one rule that fills them in.
    """

    sessionid: str = ""
    exec_mode: str = ""
    ncores: str = ""
    cube: str = ""
    cwd: str = ""
    cdd: str = ""
    host_partition: str = ""
    nhost: str = ""
    nthreads: str = ""
    project: str = ""

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> Context:
        """From a workflow header or any mapping keyed like the task arguments."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: str(v) for k, v in values.items() if k in names and v not in (None, "")})

    @classmethod
    def of_workflow(cls, header: Mapping[str, Any]) -> Context:
        """What a workflow's header gives each of its tasks (cwd and cdd default to ``/``)."""
        return cls.from_mapping({"cwd": "/", "cdd": "/", **header})

    @classmethod
    def from_variables(cls, lookup: Callable[[str], str | None]) -> Context:
        """From the shell's variables (OPH_SESSION_ID, OPH_CWD, OPH_DATACUBE...)."""
        return cls(**{key: lookup(var) or "" for key, var in CONTEXT_VARIABLES.items()})

    def items(self) -> Iterable[tuple[str, str]]:
        for f in fields(self):
            value = getattr(self, f.name)
            if value:
                yield f.name, value

    def apply(
        self, request: TaskRequest, spec: OperatorSpec | None, *, passed: bool = False
    ) -> TaskRequest:
        """``request`` with every context value it does not set itself.

        The current cube goes only to operators that declare ``cube=`` themselves (``spec``),
        and only when no dependency of a workflow task passes one in (``passed``), as
        Ophidia's server does.
        """
        given_cube = takes_cube(spec) and not passed
        for key, value in self.items():
            if request.has(key) or (key == "cube" and not given_cube):
                continue
            request = request.with_arg(key, value)
        return request

    def header(self, workflow: Mapping[str, Any]) -> dict[str, Any]:
        """A workflow header with the context values it leaves out."""
        out = dict(workflow)
        for key, value in self.items():
            if key != "host_partition":  # left to the server in a workflow, as PyOphidia does
                out.setdefault(key, value)
        return out


def takes_cube(spec: OperatorSpec | None) -> bool:
    """True when the operator declares ``cube=`` itself: the current cube may fill it in (and
    only then is a ``cube=`` that a client adds to every command meant for it)."""
    param = spec.param("cube") if spec is not None else None
    return param is not None and not param.is_global


def to_workflow(request: TaskRequest, author: str, *, tool: str = "ophsh") -> dict[str, Any]:
    """The one-task workflow a client sends for a single command (its wire form)."""
    workflow: dict[str, Any] = {
        "name": request.operator,
        "author": author,
        "abstract": f"Workflow generated by {tool} to wrap a command",
        "command": request.text,
    }
    arguments = []
    for key, value in request.arguments:
        if key in HEADER_KEYS:
            workflow[key] = value
        else:
            arguments.append(f"{key}={value}")
    workflow["tasks"] = [{"name": "Task 0", "operator": request.operator, "arguments": arguments}]
    return workflow


def read_workflow(request: str | Mapping[str, Any]) -> dict[str, Any]:
    """The workflow of a request as it arrives (JSON text or parsed), with the checks every
    request must pass; ValueError says what is wrong."""
    if isinstance(request, str):
        if _depth(request) > MAX_JSON_DEPTH:
            raise ValueError("the request is nested too deeply")
        try:
            request = json.loads(request)
        except (json.JSONDecodeError, RecursionError) as err:
            raise ValueError(f"the request is not valid JSON: {err}") from None
    if not isinstance(request, Mapping):
        raise ValueError("the request must be a JSON object")
    tasks = request.get("tasks")
    if not isinstance(tasks, list) or not tasks or not all(isinstance(t, dict) for t in tasks):
        raise ValueError("the request has no tasks")
    if "name" not in request:
        raise ValueError("the request has no name")
    return dict(request)


def _depth(text: str) -> int:
    """How deeply brackets nest in JSON text (those inside strings count too: an upper bound)."""
    depth = deepest = 0
    for char in text:
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def from_task(task: Mapping[str, Any], command: str = "") -> TaskRequest:
    """The request of one workflow task: its operator and its ``key=value`` arguments."""
    pairs = [parse_argument(item) for item in _argument_list(task.get("arguments"))]
    return TaskRequest(
        str(task.get("operator", "")).strip().lower(),
        tuple(p for p in pairs if p is not None),
        command,
    )


def _argument_list(raw: Any) -> list[Any]:
    if raw is None:
        return []
    if isinstance(raw, list):
        return raw
    raise ValueError('a task\'s arguments must be a list of "key=value" strings')
