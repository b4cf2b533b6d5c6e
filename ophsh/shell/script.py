"""Replay of ``.oph`` command files: one command per line, ``#`` comments, ``$1..$N`` arguments.

A command may continue on the next lines while a ``[`` is open, after a trailing ``\\``, or when
the next line starts with ``key=`` (the way commands are wrapped in printed tutorials). The run
stops at the first failing command unless told to keep going; either way a failure makes the
exit status non-zero and is reported as ``file:line: message``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ophsh.errors import ExitCode, NotFoundError, OphshError
from ophsh.shell.outcome import Outcome
from ophsh.shell.shell import Shell
from ophsh.syntax import strip_comment, substitute_positional

__all__ = ["ScriptLine", "read_script", "run_script", "run_text"]

_CONTINUATION = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\s*=")


@dataclass(frozen=True)
class ScriptLine:
    number: int  # first physical line of the command
    text: str


def read_script(text: str) -> list[ScriptLine]:
    """Split a script into commands, joining continued lines."""
    commands: list[ScriptLine] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = strip_comment(raw)
        if not line:
            continue
        if pending and (_open(pending) or pending[-1].endswith("\\") or _CONTINUATION.match(line)):
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
    status = ExitCode.OK
    for command in read_script(text):
        where = f"{name}:{command.number}"
        try:
            line = substitute_positional(command.text, args, where=f"line {command.number}")
        except OphshError as err:
            outcome = Outcome(request=command.text, error=err)
        else:
            outcome = shell.run_line(line)
        show(outcome)
        if outcome.quit:
            break
        if not outcome.ok:
            report(f"{where}: {outcome.message}")
            status = status or outcome.exit_code or ExitCode.ERROR
            if not keep_going:
                break
    return status
