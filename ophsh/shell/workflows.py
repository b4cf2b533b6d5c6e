"""Workflows from the shell: ``./file.json arg...`` at the prompt and in scripts, ``ophsh -w``,
and the ``check``, ``view`` and ``watch`` built-ins."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ophsh.backend import FINISHED_STATUSES
from ophsh.errors import NotFoundError, OphshError, ValidationError
from ophsh.shell.outcome import Outcome
from ophsh.syntax import split_words
from ophsh.workflow.check import check as check_workflow
from ophsh.workflow.model import Workflow, WorkflowError, parse, substitute_arguments

if TYPE_CHECKING:
    from ophsh.shell.shell import Shell

__all__ = ["check", "load", "submit", "view", "watch", "watch_request"]

LAYOUTS = ("horizontal_compact", "vertical_compact", "horizontal_ranked", "vertical_ranked")
IMAGES = ("no_op", "save", "open")


def load(shell: Shell, path: str, args: list[str]) -> dict:
    """The workflow in ``path`` with ``$N`` replaced and the shell's context added."""
    file = Path(path).expanduser()
    if not file.is_file():
        raise NotFoundError(f"workflow file '{path}' does not exist")
    try:
        text = file.read_text()
    except (OSError, UnicodeDecodeError) as err:
        raise OphshError(f"cannot read '{path}': {err}") from None
    try:
        json.loads(text)
    except json.JSONDecodeError as err:
        what = err.msg.removesuffix(" at").lower()
        raise WorkflowError(
            f"'{path}' is not valid JSON: {what} at line {err.lineno}, column {err.colno}"
        ) from None
    document = parse(substitute_arguments(text, args))
    raw = shell.state.context().header(json.loads(substitute_arguments(text, args)))
    raw.setdefault("exec_mode", "sync")
    raw.setdefault("command", f"{path} {' '.join(args)}".strip())
    project = shell.state.get("OPH_PROJECT")
    if project:
        raw.setdefault("project", project)  # as oph_term puts it in the header
    check_workflow(document, shell.specs)
    return raw


def submit(shell: Shell, path: str, args: list[str]) -> Outcome:
    """Check the workflow here, then send it to the backend; the shell follows the reply."""
    document = load(shell, path, args)
    shell.state.check_size(json.dumps(document), "workflow")
    reply = shell.backend.submit_workflow(document)
    shell.state.follow(reply, massive=False)
    outcome = Outcome(request=f"{path} {' '.join(args)}".strip(), reply=reply)
    autoview = (shell.state.get("OPH_WORKFLOW_AUTOVIEW") or "off").strip()
    if autoview == "off" or not reply.jobid or "?" not in reply.jobid:
        return outcome
    times, interval = _autoview(autoview)
    wid = reply.jobid.split("?", 1)[1].split("#", 1)[0]
    return _poll(shell, wid, times, interval)


def _autoview(setting: str) -> tuple[int, float]:
    """OPH_WORKFLOW_AUTOVIEW: ``on`` is ``view <id> 0 5`` (until the end, every 5 s), and
    ``on_X_Y`` is ``view <id> X Y``."""
    if setting == "on":
        return 0, 5.0
    parts = setting.split("_")
    try:
        if len(parts) == 3 and parts[0] == "on":
            return int(parts[1]), float(parts[2])
    except ValueError:
        pass
    raise ValidationError(f"OPH_WORKFLOW_AUTOVIEW={setting}: expected off, on or on_TIMES_SECONDS")


def _graph(workflow: Workflow) -> str:
    lines = []
    for task in workflow.tasks:
        parents = ", ".join(
            f"{d.task} ({d.type}{' -> ' + d.argument if d.passes else ''})"
            for d in task.dependencies
        )
        lines.append(f"  {task.name} [{task.operator}]" + (f" <- {parents}" if parents else ""))
    return "\n".join(lines)


# How view draws a task by its status and kind, as oph_term does.
STATUS_FILL = {
    "COMPLETED": "palegreen",
    "RUNNING": "orange",
    "ERROR": "brown1",
    "ABORTED": "brown1",
    "SKIPPED": "khaki1",
    "WAITING": "cyan",
    "PENDING": "peachpuff",
}
SHAPES = {"oph_for": "hexagon", "oph_if": "diamond"}


def _dot(
    workflow: Workflow,
    layout: str = "vertical_compact",
    statuses: dict[str, tuple[str, str]] | None = None,
) -> str:
    """The task graph in graphviz's language, laid out as OPH_GRAPH_LAYOUT says: horizontal
    (left to right) or vertical, compact or ranked (each task on the row of its depth). With
    ``statuses`` (task name -> (status, SIMPLE|MASSIVE)) tasks are filled by their status and
    shaped by their kind, and edges that pass nothing are dashed, as oph_term draws a run."""
    edges = [
        f'  "{d.task}" -> "{t.name}"'
        + (f' [label="{d.argument}"]' if d.passes else " [style=dashed]" if statuses else "")
        for t in workflow.tasks
        for d in t.dependencies
    ]
    nodes = []
    for t in workflow.tasks:
        look = ""
        if statuses is not None:
            status, kind = statuses.get(t.name, ("", "SIMPLE"))
            fill = STATUS_FILL.get(status.removeprefix("OPH_STATUS_"), "grey90")
            shape = "doublecircle" if kind == "MASSIVE" else SHAPES.get(t.operator, "circle")
            look = f",style=filled,fillcolor={fill},shape={shape}"
        nodes.append(f'  "{t.name}" [label="{t.name}\\n{t.operator}"{look}]')
    head = ["  rankdir=LR;" if layout.startswith("horizontal") else "  rankdir=TB;"]
    if layout.endswith("ranked"):
        parents = {t.name: [d.task for d in t.dependencies] for t in workflow.tasks}
        depth: dict[str, int] = {}

        def level_of(name: str) -> int:  # a checked workflow has no cycle
            if name not in depth:
                depth[name] = 1 + max(map(level_of, parents.get(name, [])), default=0)
            return depth[name]

        for task in workflow.tasks:
            level_of(task.name)
        for level in sorted(set(depth.values())):
            names = " ".join(f'"{n}"' for n, d in depth.items() if d == level)
            head.append(f"  {{rank=same; {names}}}")
    return "digraph workflow {\n" + "\n".join(head + nodes + edges) + "\n}\n"


def check(shell: Shell, rest: str) -> Outcome:
    """check FILE [ARG...] [--png OUT.png]: validate a workflow and draw its task graph."""
    words = split_words(rest)
    png = None
    if "--png" in words:
        at = words.index("--png")
        if at + 1 >= len(words):
            raise ValidationError("--png needs a file name")
        png = words[at + 1]
        words = words[:at] + words[at + 2 :]
    if not words:
        raise ValidationError("usage: check FILE [ARG...] [--png OUT.png]")
    layout = (shell.state.get("OPH_GRAPH_LAYOUT") or "vertical_compact").strip()
    if layout not in LAYOUTS:
        raise ValidationError(f"OPH_GRAPH_LAYOUT={layout} is not one of {', '.join(LAYOUTS)}")
    images = (shell.state.get("OPH_TERM_IMGS") or "no_op").strip()
    if images not in IMAGES:
        raise ValidationError(f"OPH_TERM_IMGS={images} is not one of {', '.join(IMAGES)}")
    document = load(shell, words[0], words[1:])
    workflow = parse(document)
    text = f"workflow '{workflow.name}' is valid: {len(workflow.tasks)} task(s)\n{_graph(workflow)}"
    outcome = Outcome(request=f"check {rest}".strip())
    drawings = [(png, "png")] if png else []
    if images != "no_op":  # oph_term writes <name>.svg where it runs, and may open it
        drawings.append((re.sub(r"[^A-Za-z0-9]", "_", workflow.name) + ".svg", "svg"))
    dot = shutil.which("dot")
    for target, kind in drawings:
        if dot is None:
            if kind == "png":
                raise OphshError("drawing a PNG needs graphviz's dot program", hint="install it")
            outcome.notes.append(
                f"OPH_TERM_IMGS={images}: no graph drawn, graphviz's dot is missing"
            )
            continue
        graph = _dot(workflow, layout)
        subprocess.run([dot, f"-T{kind}", "-o", target], input=graph, text=True, check=True)
        text += f"\ngraph written to {target}"
        if kind == "svg" and images == "open" and shutil.which("xdg-open"):
            subprocess.Popen(
                ["xdg-open", target], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
    outcome.text = text
    return outcome


def view(shell: Shell, rest: str) -> Outcome:
    """view [ID]: the stored result of a workflow (default: the last one), with its task list;
    with OPH_TERM_IMGS=save|open also its graph, each task coloured by its status."""
    ident = rest.strip() or _last_workflow(shell)
    outcome = shell.run_operator(f"oph_resume id={ident};")
    images = (shell.state.get("OPH_TERM_IMGS") or "no_op").strip()
    if images != "no_op" and outcome.ok and outcome.reply and outcome.reply.document:
        _draw_run(shell, ident, outcome, images)
    return outcome


def _draw_run(shell: Shell, ident: str, outcome: Outcome, images: str) -> None:
    """``<session code>_<marker>.svg`` of a workflow that ran, as oph_term names it."""
    tasks = outcome.reply.document.grid("workflow_list")
    if tasks is None:
        return
    dot = shutil.which("dot")
    if dot is None:
        outcome.notes.append(f"OPH_TERM_IMGS={images}: no graph drawn, graphviz's dot is missing")
        return
    asked = shell.run_operator(f"oph_resume id={ident};document_type=request;level=3;")
    grid = asked.reply.document.grid("resume") if asked.ok and asked.reply else None
    if grid is None or not grid.rows:
        return
    workflow = parse(grid.column("COMMAND")[0])
    statuses = {
        row[tasks.keys.index("TASK NAME")]: (
            row[tasks.keys.index("EXIT STATUS")],
            row[tasks.keys.index("TYPE")],
        )
        for row in tasks.rows
    }
    jobid = outcome.reply.jobid or ""
    code = (shell.state.get("OPH_SESSION_ID") or "").rstrip("/").split("/")[-2:-1] or ["session"]
    target = f"{code[0]}_{jobid.rsplit('#', 1)[-1] or ident}.svg"
    layout = (shell.state.get("OPH_GRAPH_LAYOUT") or "vertical_compact").strip()
    graph = _dot(workflow, layout if layout in LAYOUTS else "vertical_compact", statuses)
    subprocess.run([dot, "-Tsvg", "-o", target], input=graph, text=True, check=True)
    outcome.notes.append(f"graph of the run written to {target}")
    if images == "open" and shutil.which("xdg-open"):
        subprocess.Popen(["xdg-open", target], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def watch_request(line: str) -> tuple[float, str] | None:
    """(seconds, command) for oph_term's ``watch [-n SECS] COMMAND``; None for ``watch [ID]``
    (ophsh's wait for a workflow) or another line."""
    word, _, rest = line.strip().partition(" ")
    rest = rest.strip()
    if word != "watch" or not rest or rest.isdigit():
        return None
    seconds = 2.0
    if rest.startswith("-n"):
        _, _, after = rest.partition(" ")
        value, _, rest = after.strip().partition(" ")
        try:
            seconds = float(value)
        except ValueError:
            raise ValidationError(f"watch -n takes seconds, not '{value}'") from None
        if seconds <= 0:
            raise ValidationError("watch -n takes a positive number of seconds")
    if not rest.strip():
        raise ValidationError("usage: watch [-n SECS] COMMAND, or watch [WORKFLOW_ID]")
    return seconds, rest.strip()


def watch(shell: Shell, rest: str) -> Outcome:
    """watch [ID]: wait for a workflow to finish, showing its progress, then view it."""
    if watch_request(f"watch {rest}") is not None:
        raise ValidationError(
            "watch COMMAND repeats a command on the screen: it runs at the prompt only"
        )
    return _poll(shell, rest.strip() or _last_workflow(shell), 0, 0.5)


def _poll(shell: Shell, ident: str, times: int, interval: float) -> Outcome:
    """Ask for the workflow's status ``times`` times (0: until it ends), then view it."""
    asked = 0
    while True:
        outcome = shell.run_operator(f"oph_resume id={ident};level=0;")
        asked += 1
        doc = outcome.reply.document if outcome.reply else None
        status = doc.text_titled("Workflow Status") if doc else None
        if not outcome.ok or status in (None, *FINISHED_STATUSES) or asked == times:
            break
        if shell.progress:
            shell.progress(f"workflow {ident}", 0, 0)
        time.sleep(interval)
    return view(shell, ident)


def _last_workflow(shell: Shell) -> str:
    outcome = shell.run_operator("oph_resume id=0;")
    grid = outcome.reply.document.grid("resume") if outcome.ok and outcome.reply else None
    if not grid or not grid.rows:
        raise NotFoundError("no workflow has run in this session yet")
    return grid.rows[-1][2]
