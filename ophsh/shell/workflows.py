"""Workflows from the shell: ``./file.json arg...`` at the prompt and in scripts, ``ophsh -w``,
and the ``check``, ``view`` and ``watch`` built-ins."""

from __future__ import annotations

import json
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
from ophsh.workflow.model import Workflow, parse, substitute_arguments

if TYPE_CHECKING:
    from ophsh.shell.shell import Shell

__all__ = ["check", "load", "submit", "view", "watch", "watch_request"]


def load(shell: Shell, path: str, args: list[str]) -> dict:
    """The workflow in ``path`` with ``$N`` replaced and the shell's context added."""
    file = Path(path).expanduser()
    if not file.is_file():
        raise NotFoundError(f"workflow file '{path}' does not exist")
    try:
        text = file.read_text()
    except (OSError, UnicodeDecodeError) as err:
        raise OphshError(f"cannot read '{path}': {err}") from None
    document = parse(substitute_arguments(text, args))
    raw = shell.state.context().header(json.loads(substitute_arguments(text, args)))
    raw.setdefault("exec_mode", "sync")
    raw.setdefault("command", f"{path} {' '.join(args)}".strip())
    check_workflow(document, shell.specs)
    return raw


def submit(shell: Shell, path: str, args: list[str]) -> Outcome:
    """Check the workflow here, then send it to the backend; the shell follows the reply."""
    document = load(shell, path, args)
    reply = shell.backend.submit_workflow(document)
    shell.state.follow(reply, massive=False)
    return Outcome(request=f"{path} {' '.join(args)}".strip(), reply=reply)


def _graph(workflow: Workflow) -> str:
    lines = []
    for task in workflow.tasks:
        parents = ", ".join(
            f"{d.task} ({d.type}{' -> ' + d.argument if d.passes else ''})"
            for d in task.dependencies
        )
        lines.append(f"  {task.name} [{task.operator}]" + (f" <- {parents}" if parents else ""))
    return "\n".join(lines)


def _dot(workflow: Workflow) -> str:
    edges = [
        f'  "{d.task}" -> "{t.name}"' + (f' [label="{d.argument}"]' if d.passes else "")
        for t in workflow.tasks
        for d in t.dependencies
    ]
    nodes = [f'  "{t.name}" [label="{t.name}\\n{t.operator}"]' for t in workflow.tasks]
    return "digraph workflow {\n" + "\n".join(nodes + edges) + "\n}\n"


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
    document = load(shell, words[0], words[1:])
    workflow = parse(document)
    text = f"workflow '{workflow.name}' is valid: {len(workflow.tasks)} task(s)\n{_graph(workflow)}"
    if png:
        dot = shutil.which("dot")
        if dot is None:
            raise OphshError("drawing a PNG needs graphviz's dot program", hint="install graphviz")
        subprocess.run([dot, "-Tpng", "-o", png], input=_dot(workflow), text=True, check=True)
        text += f"\ngraph written to {png}"
    return Outcome(request=f"check {rest}".strip(), text=text)


def view(shell: Shell, rest: str) -> Outcome:
    """view [ID]: the stored result of a workflow (default: the last one), with its task list."""
    ident = rest.strip() or _last_workflow(shell)
    return shell.run_operator(f"oph_resume id={ident};")


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
    ident = rest.strip() or _last_workflow(shell)
    while True:
        outcome = shell.run_operator(f"oph_resume id={ident};level=0;")
        doc = outcome.reply.document if outcome.reply else None
        status = doc.text_titled("Workflow Status") if doc else None
        if not outcome.ok or status in (None, *FINISHED_STATUSES):
            break
        if shell.progress:
            shell.progress(f"workflow {ident}", 0, 0)
        time.sleep(0.5)
    return view(shell, ident)


def _last_workflow(shell: Shell) -> str:
    outcome = shell.run_operator("oph_resume id=0;")
    grid = outcome.reply.document.grid("resume") if outcome.ok and outcome.reply else None
    if not grid or not grid.rows:
        raise NotFoundError("no workflow has run in this session yet")
    return grid.rows[-1][2]
