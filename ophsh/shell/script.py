"""Replay of ``.oph`` command files: one command per line, ``#`` comments, ``$1..$N`` arguments.

A command may continue on the next lines while a ``[`` is open, after a trailing ``\\``, or when
the next line starts with ``key=`` (the way commands are wrapped in printed tutorials). The run
stops at the first failing command unless told to keep going; either way a failure makes the
exit status non-zero and is reported as ``file:line: message``. A line that starts with ``-``
may fail without stopping the run (as in make), e.g. ``-oph_deletecontainer ...`` at the top
of a script that is run again. In a ``setalias`` line ``$1..$N`` belong to the alias, not to
the script. The whole script is checked before its first line runs (see
:mod:`ophsh.shell.script_check`); ``--keep-going`` skips that check and runs what it can.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ophsh.errors import ExitCode, NotFoundError, OphshError
from ophsh.shell.outcome import Outcome
from ophsh.shell.script_check import check_commands
from ophsh.shell.shell import Shell
from ophsh.shell.wrapping import continues
from ophsh.spec import Specs
from ophsh.syntax import strip_comment, substitute_positional

__all__ = ["ScriptLine", "read_script", "run_script", "run_text"]

_CONTINUATION = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\s*=")


@dataclass(frozen=True)
class ScriptLine:
    number: int  # first physical line of the command
    text: str


def read_script(
    text: str, specs: Specs | None = None, aliases: dict[str, str] | None = None
) -> list[ScriptLine]:
    """Split a script into commands, joining continued lines (with ``specs``, also a line
    whose key lost its underscores, as ``exp dim=NAXIS1``)."""
    commands: list[ScriptLine] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = strip_comment(raw)
        if not line:
            continue
        wrapped = (
            continues(line, specs, aliases or {}) if specs else bool(_CONTINUATION.match(line))
        )
        if pending and (_open(pending) or pending[-1].endswith("\\") or wrapped):
            pending[-1] = pending[-1].removesuffix("\\")
            pending.append(line)
            continue
        if pending:
            commands.append(ScriptLine(start, "".join(pending)))
        pending, start = [line], number
    if pending:
        commands.append(ScriptLine(start, "".join(pending)))
    return commands


def _open(parts: list[str]) -> bool:
    joined = "".join(parts)
    return joined.count("[") > joined.count("]")


def run_script(
    shell: Shell,
    path: Path,
    args: Sequence[str],
    *,
    keep_going: bool = False,
    show: Callable[[Outcome], None],
    report: Callable[[str], None],
) -> int:
    """Run every command of the file ``path``; return 0 or the first failure's exit code."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        report(f"{path}: no such script")
        return NotFoundError.exit_code
    except (OSError, UnicodeDecodeError) as err:
        report(f"{path}: cannot read: {getattr(err, 'strerror', None) or err}")
        return ExitCode.ERROR
    return run_text(shell, text, str(path), args, keep_going=keep_going, show=show, report=report)


def run_text(
    shell: Shell,
    text: str,
    name: str,
    args: Sequence[str],
    *,
    keep_going: bool = False,
    show: Callable[[Outcome], None],
    report: Callable[[str], None],
) -> int:
    """Run the commands in ``text`` (a script called ``name``)."""
    prepared: list[tuple[ScriptLine, str | OphshError]] = []
    for command in read_script(text, shell.specs, shell.state.aliases):
        try:
            prepared.append((command, _fill(command, args)))
        except OphshError as err:
            prepared.append((command, err))
    if not keep_going:
        status = _check(shell, prepared, name, report)
        if status:
            return status
    status = ExitCode.OK
    for command, line in prepared:
        where = f"{name}:{command.number}"
        tolerated = command.text.startswith("-")
        if isinstance(line, OphshError):
            outcome = Outcome(request=command.text, error=line)
        else:
            outcome = shell.run_line(line.removeprefix("-") if tolerated else line)
        if tolerated and not outcome.ok:
            continue  # '-': this line may fail
        show(outcome)
        if outcome.quit:
            break
        if not outcome.ok:
            report(f"{where}: {outcome.message}")
            status = status or outcome.exit_code or ExitCode.ERROR
            if not keep_going:
                break
    return status


def _fill(command: ScriptLine, args: Sequence[str]) -> str:
    """The command with the script's arguments in place of ``$1..$N`` (not in ``setalias``,
    whose ``$N`` are the alias's own)."""
    if command.text.lstrip("-").split(None, 1)[0] == "setalias":
        return command.text
    return substitute_positional(command.text, args, where=f"line {command.number}")


def _check(
    shell: Shell,
    prepared: list[tuple[ScriptLine, str | OphshError]],
    name: str,
    report: Callable[[str], None],
) -> int:
    """Report every problem found before running; the exit status of the first, or 0."""
    problems = [(c.number, line) for c, line in prepared if isinstance(line, OphshError)]
    lines = [(c.number, line) for c, line in prepared if isinstance(line, str)]
    found = check_commands(lines, shell.specs, shell.state.variables, shell.state.aliases)
    problems += [(p.number, p.error) for p in found]
    if not problems:
        return ExitCode.OK
    problems.sort(key=lambda p: p[0])
    for number, error in problems:
        report(f"{name}:{number}: {error}")
    report(f"{name}: nothing was run ({len(problems)} problem(s) found before the first line)")
    return problems[0][1].exit_code or ExitCode.ERROR
