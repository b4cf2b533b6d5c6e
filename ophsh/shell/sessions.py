"""oph_term's ``resume`` and ``update`` built-ins.

``resume [SESSION] [N] [-v]`` lists the last N workflows of the session (default 10) as
``[id] created [STATUS] command``, ``-v`` adding the whole command and the job id; a session
URL switches to that session first. ``update`` compares the operators the backend offers with
the specifications ophsh carries (oph_term downloads them; ophsh ships them with its grammar).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from ophsh.errors import NotFoundError, OphshError, ValidationError
from ophsh.shell.outcome import Outcome
from ophsh.syntax import split_words

if TYPE_CHECKING:
    from ophsh.shell.shell import Shell

__all__ = ["resume", "update"]

CUT = 72  # characters of a command in the short listing, as oph_term


def resume(shell: Shell, rest: str) -> Outcome:
    words = split_words(rest)
    verbose = "-v" in words
    words = [w for w in words if w != "-v"]
    session = next((w for w in words if "sessions" in w), None)
    numbers = [w for w in words if w.lstrip("-").isdigit()]
    if len(words) != len(numbers) + (session is not None) or len(numbers) > 1:
        raise ValidationError("usage: resume [SESSION] [N] [-v]")
    count = int(numbers[0]) if numbers else 10
    notes = []
    if session:
        _switch(shell, session)
        notes.append(f"now in session {session} (folder /, no current cube)")
    lines = _listing(shell, count, verbose) if count > 0 else []
    outcome = Outcome(request=f"resume {rest}".strip(), text="\n".join(lines))
    outcome.notes = notes
    return outcome


def _switch(shell: Shell, session: str) -> None:
    checked = shell.run_operator(f"oph_resume session={session};save=yes;id=0;")
    if not checked.ok:
        raise NotFoundError(f"cannot resume session {session}: {checked.message}")
    shell.state.set("OPH_SESSION_ID", session)
    shell.state.set("OPH_CWD", "/")
    shell.state.variables.pop("OPH_DATACUBE", None)


def _listing(shell: Shell, count: int, verbose: bool) -> list[str]:
    listed = _ok(shell.run_operator("oph_resume id=0;"))
    grid = listed.reply.document.grid("resume")
    if grid is None or not grid.rows:
        return ["no workflow has run in this session yet"]
    column = {name: i for i, name in enumerate(grid.keys)}
    lines = []
    for row in grid.rows[-count:]:
        wid, jobid = row[column["WORKFLOW ID"]], row[column["OPH JOB ID"]]
        created = row[column["CREATION DATE"]]
        status, command = _status(shell, wid), _command(shell, wid)
        short = command if len(command) <= CUT else command[: CUT - 3] + "..."
        lines.append(f"[{wid}] {created} [{status}]\t{short}")
        if verbose:
            lines += [f"    command: {command}", f"    JobID: {jobid}"]
    return lines


def _status(shell: Shell, wid: str) -> str:
    outcome = shell.run_operator(f"oph_resume id={wid};level=0;")
    doc = outcome.reply.document if outcome.ok and outcome.reply else None
    status = (doc.text_titled("Workflow Status") if doc else None) or "UNKNOWN"
    return status.removeprefix("OPH_STATUS_")


def _command(shell: Shell, wid: str) -> str:
    outcome = shell.run_operator(f"oph_resume id={wid};document_type=request;")
    doc = outcome.reply.document if outcome.ok and outcome.reply else None
    text = doc.text_titled("Request") if doc else None
    try:
        request = json.loads(text or "{}")
    except ValueError:
        return text or "?"
    return str(request.get("command") or request.get("name") or "?")


def update(shell: Shell, rest: str) -> Outcome:
    if rest.strip() not in ("", "-f"):
        raise ValidationError("usage: update [-f]")
    listed = _ok(shell.run_operator("oph_operators_list"))
    grid = listed.reply.document.grid("operators_list_list")
    offered = {row[0].lower() for row in (grid.rows if grid else [])}
    known = set(shell.specs.operators)
    lines = [
        f"The {shell.backend.label} backend offers {len(offered)} operators; ophsh knows "
        f"{len(known)} from its own specifications (grammar/), so nothing is downloaded."
    ]
    unknown = sorted(offered - known)
    if unknown:
        lines.append(f"Offered but unknown here (not completed nor checked): {', '.join(unknown)}")
    else:
        lines.append("Every operator offered is known here: completion and checks are up to date.")
    return Outcome(request=f"update {rest}".strip(), text="\n".join(lines))


def _ok(outcome: Outcome) -> Outcome:
    if not outcome.ok or outcome.reply is None or outcome.reply.document is None:
        raise OphshError(outcome.message or "the backend did not answer")
    return outcome
