"""oph_term's ``resume`` and ``update`` built-ins.

``resume [SESSION] [N] [-v]`` lists the last N workflows of the session (default 10) as
``[id] created [STATUS] command``, ``-v`` adding the whole command and the job id; a session
URL switches to that session first. ``update`` compares the operators the backend offers with
the specifications ophsh carries (oph_term downloads them; ophsh ships them with its grammar).
"""

from __future__ import annotations

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
        cube = shell.state.get("OPH_DATACUBE") or "none"
        notes.append(
            f"now in session {session} (folder {shell.state.get('OPH_CWD') or '/'}, "
            f"current cube {cube})"
        )
    lines = _listing(shell, count, verbose) if count > 0 else []
    outcome = Outcome(request=f"resume {rest}".strip(), text="\n".join(lines))
    outcome.notes = notes
    return outcome


def _switch(shell: Shell, session: str) -> None:
    checked = shell.run_operator(f"oph_resume session={session};save=yes;id=0;")
    if not checked.ok:
        raise NotFoundError(f"cannot resume session {session}: {checked.message}")
    start = shell.backend.start()  # the server now resumes that session: its folder and cube
    if start.session.rstrip("/") == session.rstrip("/"):
        shell.state.resume(start)
    else:
        shell.state.set("OPH_SESSION_ID", session)
        shell.state.set("OPH_CWD", "/")
        shell.state.variables.pop("OPH_DATACUBE", None)


def _listing(shell: Shell, count: int, verbose: bool) -> list[str]:
    """The last ``count`` workflows: Ophidia's workflow list (statuses) beside its request list
    (commands), both from oph_resume."""
    statuses = _grid(shell, "oph_resume id=0;")
    commands = _grid(shell, "oph_resume id=0;document_type=request;")
    if not statuses:
        return ["no workflow has run in this session yet"]
    command_of = {row["WORKFLOW ID"]: row.get("COMMAND", "?") for row in commands}
    lines = []
    for row in statuses[-count:]:
        wid = row["WORKFLOW ID"]
        status = row.get("EXIT STATUS", "UNKNOWN").removeprefix("OPH_STATUS_")
        command = command_of.get(wid, "?")
        short = command if len(command) <= CUT else command[: CUT - 3] + "..."
        lines.append(f"[{wid}] {row['CREATION DATE']} [{status}]\t{short}")
        if verbose:
            lines += [f"    command: {command}", f"    JobID: {row['OPH JOB ID']}"]
    return lines


def _grid(shell: Shell, line: str) -> list[dict[str, str]]:
    """The rows of the job list an oph_resume line answers, by column name."""
    grid = _ok(shell.run_operator(line)).reply.document.grid("resume")
    return [dict(zip(grid.keys, row, strict=True)) for row in grid.rows] if grid else []


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
