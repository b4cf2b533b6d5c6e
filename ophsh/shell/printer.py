"""Show outcomes: human-readable on a console, or one JSON object per command with ``-j``."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import TextIO

from rich.console import Console
from rich.text import Text

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
        self.plain = Console(
            file=out, width=None if _tty(out) else 4000, **{**options, "no_color": True}
        )
        self._raw_out = out
        # oph_term's viewer settings (OPH_TERM_VIEWER, OPH_TERM_PS1, OPH_RESPONSE_BUFFER), read
        # at each reply from the shell's variables; None: the defaults
        self.variables: Callable[[str], str | None] = lambda name: None

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
                from ophsh.render.commands import highlight_commands  # pygments, when needed

                self._print_long(highlight_commands(outcome.text))  # help pages are long
            else:
                self.out.print(outcome.text, markup=False)
        reply = outcome.reply
        if reply is not None and reply.document is not None:
            if reply.document.ok or reply.document.objects[:-1]:
                self._show_document(reply.document, fmt)
        elif reply is not None and reply.jobid and reply.error == 0:
            self.out.print(Text.assemble(("[JobID]: ", "bold blue"), reply.jobid))
        if errors and not outcome.ok:
            self.error(outcome.message or "failed")

    def _show_document(self, document, fmt: str) -> None:
        """A response as OPH_TERM_VIEWER asks: dump (its JSON), basic (no colours), coloured
        (titles in the prompt's colour), extended[_coloured] (each object announced); a
        response larger than OPH_RESPONSE_BUFFER kB is not shown, as in oph_term."""
        viewer = (self.variables("OPH_TERM_VIEWER") or "basic").strip()
        if viewer not in VIEWERS:
            self.error(f"OPH_TERM_VIEWER={viewer} is not one of {', '.join(VIEWERS)}")
            viewer = "basic"
        text = json.dumps(document.to_dict(), indent=4)
        limit = _kilobytes(self.variables("OPH_RESPONSE_BUFFER"))
        if limit is not None and len(text.encode()) > limit * 1024:
            self.error(
                f"the response is {len(text.encode()) // 1024 + 1} kB, more than "
                f"OPH_RESPONSE_BUFFER={limit} kB: not shown (setenv OPH_RESPONSE_BUFFER=N, or -j)"
            )
            return
        if viewer == "dump":
            self._raw_out.write(text + "\n")
            self._raw_out.flush()
            return
        if viewer.startswith("extended") and not fmt.startswith("extended"):
            fmt = "extended_compact" if fmt.endswith("compact") else "extended"
        accent = None
        if viewer.endswith("coloured"):
            accent = ps1_colour(self.variables("OPH_TERM_PS1") or "")
        rendered = render_document(document, fmt, accent=accent)
        self._print_long(rendered, plain=viewer in ("basic", "extended"))

    def _print_long(self, renderable, *, plain: bool = False) -> None:
        """Print (``plain``: without colours); in the interactive shell, through a pager when
        it is taller than the screen."""
        console = self.plain if plain else self.out
        if not (self.paged and self.out.is_terminal):
            console.print(renderable)
            return
        with console.capture() as captured:
            console.print(renderable)
        text = captured.get()
        if text.count("\n") < self.out.height - 2:
            self._raw_out.write(text)
            self._raw_out.flush()
            return
        os.environ.setdefault("LESS", "-RFX")  # colours kept; one screen or less just prints
        with console.pager(styles=True):
            console.print(renderable)

    def error(self, message: str) -> None:
        # not folded by rich: a corrected command in the message stays one line to copy
        self.err.print(Text(f"Error: {message}", style="bold red"), soft_wrap=True)

    def note(self, message: str) -> None:
        self.err.print(Text(message, style="dim"))


VIEWERS = ("dump", "basic", "coloured", "extended", "extended_coloured")
PS1_COLOURS = ("black", "red", "green", "yellow", "blue", "purple", "cyan", "white")


def ps1_colour(setting: str) -> str:
    """The colour OPH_TERM_PS1 names (a substring is enough, as in oph_term; else red)."""
    for name in PS1_COLOURS:
        if name in setting.lower():
            return "magenta" if name == "purple" else name
    return "red"


def _kilobytes(value: str | None) -> int | None:
    """A positive number of kB, or None (unset or not a number: no limit)."""
    try:
        number = int(value or "")
    except ValueError:
        return None
    return number if number > 0 else None


def _tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
