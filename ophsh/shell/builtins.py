"""Commands the shell runs itself. Each takes the shell and the text after its name."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ophsh import __version__
from ophsh.errors import NotFoundError, ValidationError
from ophsh.manual import builtin_page, operator_page, overview
from ophsh.shell import sessions, workflows
from ophsh.shell.outcome import Outcome
from ophsh.shell.state import check_name, parse_assignment

if TYPE_CHECKING:
    from ophsh.shell.shell import Shell

__all__ = ["BUILTINS"]

Builtin = Callable[["Shell", str], Outcome]


def _text(line: str, text: str) -> Outcome:
    return Outcome(request=line, text=text)


def help_(shell: Shell, args: str) -> Outcome:
    name = args.strip()
    if not name:
        return _text("help", overview(shell.specs, shell.state.aliases))
    page = builtin_page(shell.specs, name)
    if page is None and name in shell.state.aliases:
        note = shell.specs.aliases[name].help if name in shell.specs.aliases else "user alias"
        page = f"{name}: alias for '{shell.state.aliases[name]}'\n  {note}"
    if page is None and name in shell.specs.variables:
        var = shell.specs.variables[name]
        page = f"{name}: {var.summary}\n  current value: {shell.state.get(name) or '(unset)'}"
    if page is None:
        spec = shell.specs.operator(name)
        if spec is not None:
            page = operator_page(spec)
    if page is None:
        raise NotFoundError(f"no help for '{name}'", hint="type help for the list of commands")
    return _text(f"help {name}", page)


def history(shell: Shell, args: str) -> Outcome:
    if args.strip() == "-c":
        shell.history.clear()
        return _text("history -c", "")
    if args.strip():
        raise ValidationError("usage: history [-c]")
    lines = [f"{i}: {stamp}: {cmd}" for i, (stamp, cmd) in enumerate(shell.history.entries(), 1)]
    return _text("history", "\n".join(lines))


def quit_(shell: Shell, args: str) -> Outcome:
    return Outcome(request="quit", quit=True)


def clear(shell: Shell, args: str) -> Outcome:
    return Outcome(request="clear", clear=True)


def version(shell: Shell, args: str) -> Outcome:
    return _text("version", f"ophsh {__version__} ({shell.backend.label} backend)")


def env(shell: Shell, args: str) -> Outcome:
    return _text("env", "\n".join(f"{k}={v}" for k, v in shell.state.listing()))


def setenv(shell: Shell, args: str) -> Outcome:
    name, value, expand_now = parse_assignment(args)
    if name not in shell.specs.variables:
        check_name(name, "variable")
    shell.state.set(name, shell.state.expand(value) if expand_now else value)
    shell.state.keep(name)
    return Outcome(request=f"setenv {args}")


def getenv(shell: Shell, args: str) -> Outcome:
    name = args.strip()
    if not name:
        raise ValidationError("usage: getenv NAME")
    return _text(f"getenv {name}", shell.state.require(name))


def unsetenv(shell: Shell, args: str) -> Outcome:
    name = args.strip()
    if not name:
        raise ValidationError("usage: unsetenv NAME")
    shell.state.unset(name)
    shell.state.keep(name)
    return Outcome(request=f"unsetenv {name}")


def alias(shell: Shell, args: str) -> Outcome:
    return _text("alias", "\n".join(f"{k}={v}" for k, v in sorted(shell.state.aliases.items())))


def setalias(shell: Shell, args: str) -> Outcome:
    name, value, _ = parse_assignment(args)
    check_name(name, "alias", frozenset(BUILTINS))
    shell.state.aliases[name] = value
    return Outcome(request=f"setalias {args}")


def getalias(shell: Shell, args: str) -> Outcome:
    name = args.strip()
    if name not in shell.state.aliases:
        raise NotFoundError(f"alias {name} not found")
    return _text(f"getalias {name}", shell.state.aliases[name])


def unsetalias(shell: Shell, args: str) -> Outcome:
    name = args.strip()
    if shell.state.aliases.pop(name, None) is None:
        raise NotFoundError(f"alias {name} not found")
    return Outcome(request=f"unsetalias {name}")


def tutorial(shell: Shell, args: str) -> Outcome:
    return _text(
        "tutorial",
        "The guided course has its own practice store: leave (quit), then run\n"
        "  ophsh tutorial            start or resume the course\n"
        "  ophsh tutorial --list     the lessons (--lesson N starts one, --reset starts afresh)",
    )


BUILTINS: dict[str, Builtin] = {
    "help": help_,
    "history": history,
    "quit": quit_,
    "exit": quit_,
    "clear": clear,
    "version": version,
    "env": env,
    "setenv": setenv,
    "getenv": getenv,
    "unsetenv": unsetenv,
    "alias": alias,
    "setalias": setalias,
    "getalias": getalias,
    "unsetalias": unsetalias,
    "check": workflows.check,
    "view": workflows.view,
    "watch": workflows.watch,
    "tutorial": tutorial,
    "resume": sessions.resume,
    "update": sessions.update,
}
