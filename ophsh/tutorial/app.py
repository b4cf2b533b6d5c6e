"""``ophsh tutorial``: the guided course at the normal prompt (completion, history, help).

ophsh tutorial              start, or resume where you stopped
ophsh tutorial --list       the lessons
ophsh tutorial --lesson N   start lesson N
ophsh tutorial --reset      a fresh practice store and night (progress forgotten)
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from prompt_toolkit import PromptSession
from prompt_toolkit.completion import WordCompleter, merge_completers
from prompt_toolkit.filters import Condition
from prompt_toolkit.history import FileHistory
from prompt_toolkit.key_binding import KeyBindings
from prompt_toolkit.lexers import PygmentsLexer
from prompt_toolkit.shortcuts import CompleteStyle
from rich.console import Console
from rich.text import Text

from ophsh import __version__
from ophsh.errors import ExitCode
from ophsh.render.progress import TerminalProgress
from ophsh.repl.app import needs_more
from ophsh.repl.completer import ShellCompleter
from ophsh.repl.prompt import prompt_text
from ophsh.shell.outcome import Outcome
from ophsh.shell.printer import Printer
from ophsh.syntax.lexer import CommandLexer
from ophsh.tutorial.checks import CHECKS
from ophsh.tutorial.course import COMMANDS, Course, Message
from ophsh.tutorial.lessons import LessonError, load_lessons
from ophsh.tutorial.practice import Practice

__all__ = ["main"]

STYLES = {
    "title": "bold magenta",
    "step": "cyan",
    "ok": "bold green",
    "wrong": "bold yellow",
    "hint": "blue",
    "solution": "blue",
    "info": "dim",
}
MARKS = {"ok": "✓ ", "wrong": "✗ "}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ophsh tutorial",
        description="A guided course through the INDIGO tutorial on a practice store.",
    )
    parser.add_argument("--list", action="store_true", help="list the lessons and exit")
    parser.add_argument("--lesson", type=int, metavar="N", help="start lesson N")
    parser.add_argument("--reset", action="store_true", help="start afresh (progress forgotten)")
    parser.add_argument("--dir", type=Path, help="the practice directory")
    return parser


def main(argv: list[str]) -> int:
    options = _parser().parse_args(argv)
    practice = Practice((options.dir or Practice.default_root()).expanduser().resolve())
    try:
        lessons = load_lessons(CHECKS)
    except LessonError as err:
        print(f"ophsh tutorial: a lesson file is broken: {err}", file=sys.stderr)
        return ExitCode.USAGE
    if not (options.list or sys.stdin.isatty()):
        print("ophsh tutorial: the course is interactive; run it in a terminal", file=sys.stderr)
        return ExitCode.USAGE
    console = Console(highlight=False)
    if options.reset:
        practice.reset()
        console.print(f"The practice area {practice.root} is fresh again.")
        if options.lesson is None:
            options.lesson = lessons[0].number
    practice.prepare()
    os.chdir(practice.home)  # /data on the practice disk: relative paths land there
    shell = practice.open_shell()
    try:
        course = Course(lessons, practice, shell)
        if options.list:
            console.print(course.listing())
            return 0
        return _loop(course, console, options.lesson)
    finally:
        shell.backend.close()


def say(console: Console, printer: Printer, messages: list[Message]) -> None:
    """Show the course's messages; commands run for the user are shown as if typed."""
    for kind, said in messages:
        if isinstance(said, Outcome):
            printer.show(said)
        else:
            console.print(Text(MARKS.get(kind, "") + said, style=STYLES.get(kind, "")))


def _course_completer() -> WordCompleter:
    """Tab completes the course's own commands too, typed at the start of a line."""
    words = [name.removesuffix(" N") + (" " if name.endswith(" N") else "") for name in COMMANDS]
    return WordCompleter(words, sentence=True)


def _loop(course: Course, console: Console, lesson: int | None) -> int:
    shell = course.shell
    printer = Printer()
    printer.paged = True
    bars = TerminalProgress(enabled=True)
    shell.progress = bars
    keys = KeyBindings()
    session: PromptSession = PromptSession(
        history=FileHistory(str(course.practice.history)),
        key_bindings=keys,
        lexer=PygmentsLexer(CommandLexer),
        completer=merge_completers([ShellCompleter(shell), _course_completer()]),
        complete_while_typing=False,
        complete_style=CompleteStyle.MULTI_COLUMN,
    )

    @keys.add("enter", filter=Condition(lambda: needs_more(session.default_buffer.text)))
    def _newline(event) -> None:  # an open '[' or a trailing '\\' continues the command
        event.current_buffer.insert_text("\n")

    console.print(
        Text(
            f"ophsh {__version__} tutorial - practice area {course.practice.root}\n"
            "Course commands: " + ", ".join(COMMANDS) + ". Everything else goes to the shell.",
            style="dim",
        )
    )
    first = course.start_lesson(lesson) if lesson is not None else course.show(intro=True)
    say(console, printer, first)
    while True:
        try:
            text = session.prompt(lambda: prompt_text(shell))
        except KeyboardInterrupt:
            continue
        except EOFError:
            break
        line = "".join(part.strip().removesuffix("\\") for part in text.split("\n"))
        if not line.strip():
            continue
        if line.strip() in ("quit", "exit"):
            break
        answer = course.command(line)
        if answer is not None:
            bars.close()
            say(console, printer, answer)
            continue
        try:
            outcome = shell.run_line(line)
        except KeyboardInterrupt:
            shell.backend.interrupt()
            bars.close()
            console.print(Text("interrupted", style="bold red"))
            continue
        bars.close()
        printer.show(outcome, fmt=shell.state.get("OPH_TERM_FORMAT") or "classic")
        say(console, printer, course.verdict(outcome))
    console.print(Text("Your progress is kept: ophsh tutorial resumes here.", style="dim"))
    return 0
