"""What running one line produced, for the REPL, the script runner and ``-j`` to show."""

from __future__ import annotations

from dataclasses import dataclass, field

from ophsh.backend import Reply
from ophsh.errors import ExitCode, OphshError

__all__ = ["Outcome"]


@dataclass
class Outcome:
    """The result of one line: a reply, text from a built-in, or an error."""

    request: str = ""  # what was sent (after expansion), or the built-in line
    reply: Reply | None = None
    text: str = ""
    error: OphshError | None = None
    quit: bool = False
    clear: bool = False
    notes: list[str] = field(default_factory=list)  # warnings shown before the reply
    visual: object | None = None  # a picture for the terminal (a rich renderable), if any
    advice: str | None = None  # what to do about a failure, when the shell knows

    @property
    def ok(self) -> bool:
        return self.error is None and (self.reply is None or self.reply.ok)

    @property
    def exit_code(self) -> int:
        if self.error is not None:
            return self.error.exit_code
        if self.reply is not None and self.reply.error:
            return ExitCode.TRANSPORT if self.reply.error in (1, 2, 6) else ExitCode.ERROR
        if self.reply is not None and not self.reply.ok:
            return ExitCode.ERROR
        return ExitCode.OK

    @property
    def message(self) -> str | None:
        """The one-line reason of a failure, or None."""
        if self.error is not None:
            text = str(self.error)
        elif self.reply is not None:
            text = self.reply.failure
        else:
            return None
        return f"{text} ({self.advice})" if text and self.advice else text
