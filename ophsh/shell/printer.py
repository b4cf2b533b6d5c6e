"""Show outcomes: human-readable on a console, or one JSON object per command with ``-j``."""

from __future__ import annotations

import json
import os
import sys
from typing import TextIO

from rich.console import Console
from rich.text import Text

from ophsh.render.commands import highlight_commands
from ophsh.render.document import render_document
from ophsh.shell.outcome import Outcome

__all__ = ["Printer", "json_envelope"]


def json_envelope(outcome: Outcome) -> dict:
    """oph_term's ``-j`` object: request, jobid, response, stdout, stderr."""
    reply = outcome.reply
    response = reply.document.to_dict() if reply and reply.document else {}
    return {
        "request": outcome.request,
        "jobid": (reply.jobid or "") if reply else "",
        "response": response,
        "stdout": outcome.text,
        "stderr": outcome.message or "",
    }


class Printer:
    """Writes outcomes to stdout and failures to stderr, in the chosen style."""

    def __init__(
        self,
        *,
        json_mode: bool = False,
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
        color: bool | None = None,
    ) -> None:
        self.json_mode = json_mode
        self.paged = False  # the interactive shell turns paging of long outputs on
        out, err = stdout or sys.stdout, stderr or sys.stderr
        options: dict = {"highlight": False, "soft_wrap": False}
        if color is False or json_mode:
            options["no_color"] = True
        # On a terminal tables fit its width; in a pipe or a file they keep their natural width.
        self.out = Console(file=out, width=None if _tty(out) else 4000, **options)
        self.err = Console(file=err, width=None if _tty(err) else 4000, **options)
        self._raw_out = out

    def show(self, outcome: Outcome, *, fmt: str = "classic", errors: bool = True) -> None:
        """Print an outcome; with ``errors=False`` a failure is left to the caller to report."""
        if self.json_mode:
            self._raw_out.write(json.dumps(json_envelope(outcome), indent=4) + "\n")
            self._raw_out.flush()
            return
        if outcome.clear:
            self.out.clear()
        for note in outcome.notes:
            self.err.print(Text(note, style="yellow"))
        if outcome.visual is not None and self.out.is_terminal:
            self.out.print(outcome.visual)
        if outcome.text:
            if self.out.is_terminal:
                self._print_long(highlight_commands(outcome.text))  # help pages are long
            else:
                self.out.print(outcome.text, markup=False)
        reply = outcome.reply
        if reply is not None and reply.document is not None:
            if reply.document.ok or reply.document.objects[:-1]:
                self._print_long(render_document(reply.document, fmt))
        elif reply is not None and reply.jobid and reply.error == 0:
            self.out.print(Text.assemble(("[JobID]: ", "bold blue"), reply.jobid))
        if errors and not outcome.ok:
            self.error(outcome.message or "failed")

    def _print_long(self, renderable) -> None:
        """Print; in the interactive shell, through a pager when it is taller than the screen."""
        if not (self.paged and self.out.is_terminal):
            self.out.print(renderable)
            return
        with self.out.capture() as captured:
            self.out.print(renderable)
        text = captured.get()
        if text.count("\n") < self.out.height - 2:
            self._raw_out.write(text)
            self._raw_out.flush()
            return
        os.environ.setdefault("LESS", "-RFX")  # colours kept; one screen or less just prints
        with self.out.pager(styles=True):
            self.out.print(renderable)

    def error(self, message: str) -> None:
        # not folded by rich: a corrected command in the message stays one line to copy
        self.err.print(Text(f"Error: {message}", style="bold red"), soft_wrap=True)

    def note(self, message: str) -> None:
        self.err.print(Text(message, style="dim"))


def _tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
