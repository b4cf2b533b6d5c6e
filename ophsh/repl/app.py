"""The interactive loop: read a line with prompt_toolkit, run it, show the outcome.

A command continues over several lines while a ``[`` is open or a line ends with ``\\`` (the
next lines are marked with ``...``); pasted text arrives whole. A line that only holds
``key=value...`` continues the previous command when that one failed (see
:mod:`ophsh.repl.followup`). A correction the shell can spell out is offered on the next prompt
in grey: Enter runs it, the right arrow takes it for editing, typing something else ignores it.
Enter in a Ctrl-R search runs the command found, as in bash. History events (``!!``, ``!N``,
``!text``, ``^old^new``) are expanded as oph_term does, the expansion echoed, and the history
keeps the expanded line. ``watch [-n SECS] COMMAND`` re-runs a command until Ctrl-C.

The line runs in a worker thread so that Ctrl-C can stop the operator (the backend is asked to
cancel and nothing half-made is kept) without leaving the shell.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
from pathlib import Path

from prompt_toolkit import PromptSession, search
from prompt_toolkit.auto_suggest import AutoSuggest, Suggestion
from prompt_toolkit.buffer import Buffer
from prompt_toolkit.filters import Condition, is_searching
from prompt_toolkit.formatted_text import FormattedText
from prompt_toolkit.history import FileHistory, InMemoryHistory
from prompt_toolkit.key_binding import KeyBindings
from prompt_toolkit.lexers import PygmentsLexer
from prompt_toolkit.shortcuts import CompleteStyle

from ophsh.errors import OphshError, ValidationError
from ophsh.locations import log_file
from ophsh.render.progress import TerminalProgress
from ophsh.repl.completer import ShellCompleter
from ophsh.repl.followup import continues, correction, joined
from ophsh.repl.prompt import prompt_text
from ophsh.shell.history import expand_history
from ophsh.shell.outcome import Outcome
from ophsh.shell.printer import Printer
from ophsh.shell.shell import Shell
from ophsh.shell.workflows import watch_request
from ophsh.syntax.lexer import CommandLexer

__all__ = ["needs_more", "run_repl"]

log = logging.getLogger(__name__)

BANNER = "ophsh {version} - Ophidia shell on the {backend} backend. Type help, or quit to leave."


class _Expanding:
    """A prompt history that keeps a line with its history events expanded."""

    def append_string(self, string: str) -> None:
        with contextlib.suppress(OphshError):  # (then the line does not run; it is kept as typed)
            string = expand_history(string, list(self.get_strings())) or string
        super().append_string(string)


class ExpandingFileHistory(_Expanding, FileHistory):
    pass


class ExpandingMemoryHistory(_Expanding, InMemoryHistory):
    pass


def needs_more(text: str) -> bool:
    """True while the command is unfinished: an open '[' or a trailing backslash."""
    return text.count("[") > text.count("]") or text.rstrip().endswith("\\")


def _join(text: str) -> str:
    lines = [line.strip() for line in text.split("\n")]
    return "".join(line.removesuffix("\\") for line in lines)


class Offer(AutoSuggest):
    """The correction offered after a failure, shown in grey while what is typed fits it."""

    def __init__(self) -> None:
        self.text = ""

    def get_suggestion(self, buffer: Buffer, document) -> Suggestion | None:
        if self.text and self.text.startswith(document.text) and self.text != document.text:
            return Suggestion(self.text[len(document.text) :])
        return None

    def show(self, buffer: Buffer) -> None:
        """Put the offer on the fresh prompt (suggestions are otherwise made as one types)."""
        buffer.suggestion = Suggestion(self.text) if self.text else None


def _bindings(session_ref: list[PromptSession]) -> KeyBindings:
    keys = KeyBindings()

    def offered() -> bool:
        buffer = session_ref[0].default_buffer
        return not buffer.text and buffer.suggestion is not None

    @keys.add("enter", filter=Condition(offered))
    def _run_offer(event) -> None:
        buffer = event.current_buffer
        buffer.insert_text(buffer.suggestion.text)
        buffer.validate_and_handle()

    @keys.add("enter", filter=Condition(lambda: needs_more(session_ref[0].default_buffer.text)))
    def _newline(event) -> None:
        event.current_buffer.insert_text("\n")

    @keys.add("enter", filter=is_searching)
    def _run_found(event) -> None:
        search.accept_search()
        found = session_ref[0].default_buffer
        if needs_more(found.text):
            return
        found.validate_and_handle()

    return keys


def _continuation(width: int, line_number: int, wrap_count: int) -> FormattedText:
    """The marker before each further line of an unfinished command."""
    if wrap_count:
        return FormattedText([])
    return FormattedText([("ansiblue", "...".rjust(max(width - 1, 3)) + " ")])


def _watch(shell: Shell, printer: Printer, seconds: float, line: str) -> None:
    """Run ``line`` every ``seconds`` on a cleared screen until Ctrl-C."""
    fmt = shell.state.get("OPH_TERM_FORMAT") or "classic"
    try:
        while True:
            printer.out.clear()
            printer.note(f"Watching every {seconds:g} seconds: {line}  (Ctrl-C stops)")
            outcome = _run_interruptibly(shell, line)
            printer.show(outcome, fmt=fmt)
            if not outcome.ok:
                return
            time.sleep(seconds)
    except KeyboardInterrupt:
        printer.note("stopped watching")


def _lone_continuation(line: str) -> ValidationError:
    return ValidationError(
        f"'{line}' looks like the rest of a command (it starts with key=), and no failed "
        "command comes before it to continue",
        hint="type the whole command on one line, or end a line with \\ to continue it",
    )


def _timeout(shell: Shell) -> float | None:
    """OPH_TIMEOUT in seconds (unset, 0 or not a number: no limit)."""
    try:
        seconds = float(shell.state.get("OPH_TIMEOUT") or 0)
    except ValueError:
        return None
    return seconds if seconds > 0 else None


def _run_interruptibly(shell: Shell, line: str) -> Outcome:
    """Run the line in a worker thread; Ctrl-C meanwhile asks the backend to stop it.

    While the command runs, SIGINT calls a handler instead of raising KeyboardInterrupt, so a
    Ctrl-C can land anywhere (even as the worker starts) without losing track of the command.
    """
    result: list[Outcome] = []
    failure: list[BaseException] = []
    done = threading.Event()  # not Thread.join: an interrupted join can lose track of the thread
    stopping = threading.Event()

    def work() -> None:
        try:
            result.append(shell.run_line(line))
        except BaseException as err:  # reported below; the shell itself goes on
            failure.append(err)
        finally:
            done.set()

    def on_ctrl_c(signum, frame) -> None:
        shell.backend.interrupt()
        if not stopping.is_set():
            stopping.set()
            print("^C  stopping...", flush=True)

    limit = _timeout(shell)
    started = time.monotonic()
    previous = signal.signal(signal.SIGINT, on_ctrl_c)
    try:
        threading.Thread(target=work, daemon=True).start()
        while not done.wait(0.1):
            if limit and not stopping.is_set() and time.monotonic() - started > limit:
                stopping.set()  # OPH_TIMEOUT: no reply in time, as oph_term gives up
                print(f"no reply within OPH_TIMEOUT={limit:g} seconds: stopping...", flush=True)
            if stopping.is_set():
                shell.backend.interrupt()  # again: the request may have started since
    finally:
        signal.signal(signal.SIGINT, previous)
    if failure:
        log.error("'%s' failed", line, exc_info=failure[0])
        error = failure[0]
        return Outcome(
            request=line,
            error=OphshError(
                f"internal error ({type(error).__name__}: {error}); details in {log_file()}"
            ),
        )
    return result[0]


def run_repl(
    shell: Shell,
    printer: Printer,
    history_path: Path | None,
    version: str,
    *,
    progress: bool = True,
) -> int:
    """Run until quit or Ctrl-D; return the exit status."""
    history = ExpandingFileHistory(str(history_path)) if history_path else ExpandingMemoryHistory()
    ref: list[PromptSession] = []
    offer = Offer()
    session: PromptSession = PromptSession(
        history=history,
        key_bindings=_bindings(ref),
        multiline=False,
        lexer=PygmentsLexer(CommandLexer),
        completer=ShellCompleter(shell),
        complete_while_typing=False,
        complete_style=CompleteStyle.MULTI_COLUMN,
        prompt_continuation=_continuation,
        auto_suggest=offer,
    )
    ref.append(session)
    bars = TerminalProgress(enabled=progress)
    printer.paged = True
    shell.progress = bars
    printer.note(BANNER.format(version=version, backend=shell.backend.label))
    failed = ""  # the last command, when it failed: a key= line may continue it
    while True:
        try:
            text = session.prompt(
                lambda: prompt_text(shell), pre_run=lambda: offer.show(session.default_buffer)
            )
        except KeyboardInterrupt:
            offer.text = ""
            continue
        except EOFError:
            break
        offer.text = ""
        line = _join(text)
        if not line.strip():
            continue
        try:
            expanded = expand_history(line, list(history.get_strings())[:-1])
            if expanded is not None:
                line = expanded
                printer.note(line)
            watched = watch_request(line)
        except OphshError as err:
            printer.show(Outcome(request=line, error=err))
            continue
        if watched is not None:
            _watch(shell, printer, *watched)
            continue
        if continues(line, shell.specs, shell.state.aliases):
            if not failed:
                printer.show(Outcome(request=line, error=_lone_continuation(line)))
                continue
            line = joined(failed, line)
            printer.note(f"(joined with the previous command: {line})")
        try:
            outcome = _run_interruptibly(shell, line)
        except KeyboardInterrupt:  # Ctrl-C before the command had started: it never runs
            shell.backend.interrupt()
            continue
        bars.close()
        printer.show(outcome, fmt=shell.state.get("OPH_TERM_FORMAT") or "classic")
        if outcome.quit:
            break
        failed = "" if outcome.ok else line
        offer.text = correction(outcome) or ""
        if offer.text:
            printer.note("(the correction is offered on the prompt: Enter runs it, -> edits it)")
    printer.note("Bye!")
    return 0
