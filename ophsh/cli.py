"""The ``ophsh`` command: choose a backend, then run the REPL, one command, or a script.

ophsh                         interactive shell on the embedded store
ophsh -e "COMMAND" [-j]       run one line and exit with its status
ophsh FILE.oph [ARG...]       replay a script ($1..$N are the arguments)
ophsh -H HOST -P PORT -u USER -p PASS ...   the same against a remote Ophidia server

Each mode imports what only it needs once it is chosen (scripts, the REPL, serve, the tutorial,
the remote backend), so that ``ophsh -e`` starts fast.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from ophsh import __version__
from ophsh.backend import Backend
from ophsh.errors import ExitCode, OphshError
from ophsh.locations import default_store, log_file
from ophsh.render.progress import TerminalProgress
from ophsh.shell.history import History
from ophsh.shell.outcome import Outcome
from ophsh.shell.printer import Printer
from ophsh.shell.shell import Shell
from ophsh.shell.state import ShellState
from ophsh.spec import load_specs

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ophsh",
        description="An Ophidia shell with an embedded datacube store.",
        epilog="Subcommands: ophsh serve ..., ophsh user ... (see ophsh serve -h), "
        "ophsh tutorial (a guided course; ophsh tutorial -h).",
    )
    parser.add_argument("script", nargs="?", help="a .oph file to run")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="arguments of the script ($1..$N)")
    parser.add_argument("-e", "--execute", metavar="COMMAND", help="run one command and exit")
    parser.add_argument("-w", "--workflow", metavar="FILE", help="submit a JSON workflow and exit")
    parser.add_argument(
        "-a",
        "--args",
        dest="workflow_args",
        metavar="A1,A2",
        default="",
        help="the workflow's $1,$2... (with -w)",
    )
    parser.add_argument("-j", "--json", action="store_true", help="print replies as JSON")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars or banner")
    parser.add_argument("--store", type=Path, help="embedded store directory (or OPHSH_STORE)")
    parser.add_argument(
        "--keep-going",
        action="store_true",
        help="in a script, continue after a failing command (still exit non-zero)",
    )
    remote = parser.add_argument_group("remote Ophidia server")
    remote.add_argument("-H", "--hostname", help="server host (or OPH_SERVER_HOST)")
    remote.add_argument("-P", "--port", help="server port (or OPH_SERVER_PORT)")
    remote.add_argument("-u", "--username", help="user name (or OPH_USER)")
    remote.add_argument("-p", "--password", help="password (or OPH_PASSWD)")
    remote.add_argument("-t", "--token", help="access token (or OPH_TOKEN)")
    parser.add_argument("-v", "--version", action="version", version=f"ophsh {__version__}")
    return parser


def _backend(options: argparse.Namespace, store: Path) -> Backend:
    host = options.hostname or os.environ.get("OPH_SERVER_HOST")
    if host:
        try:
            from ophsh.remote.client import RemoteBackend
        except ImportError:
            raise OphshError("remote mode is not available in this build of ophsh") from None
        return RemoteBackend.from_options(options)
    from ophsh.engine.embedded import EmbeddedBackend
    from ophsh.engine.settings import Settings
    from ophsh.workflow.run import WorkflowEngine

    return EmbeddedBackend(
        store, workflows=WorkflowEngine(load_specs()), settings=Settings.from_environment()
    )


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("serve", "user"):
        try:
            from ophsh.server.cli import main as server_main
        except ImportError:
            print(f"ophsh: '{argv[0]}' is not available in this build", file=sys.stderr)
            return ExitCode.USAGE
        return server_main(argv)
    if argv and argv[0] == "tutorial":
        from ophsh.tutorial.app import main as tutorial_main

        return tutorial_main(argv[1:])
    options = _parser().parse_args(argv)
    _log_to_file()
    printer = Printer(json_mode=options.json)
    store = (options.store or default_store()).expanduser()
    specs = load_specs()
    try:
        backend = _backend(options, store)
    except OphshError as err:
        printer.error(str(err))
        return err.exit_code
    local = options.hostname is None and not os.environ.get("OPH_SERVER_HOST")
    history = History(store / "history" if options.hostname is None else None)
    kept = store / "variables.json" if local else None
    shell = Shell(backend, specs, state=ShellState(specs, kept=kept), history=history)
    printer.variables = shell.state.get
    try:
        shell.start()
        return _run(shell, printer, options, history)
    except OphshError as err:
        printer.error(str(err))
        return err.exit_code
    except KeyboardInterrupt:
        backend.interrupt()
        printer.error("interrupted")
        return 130
    finally:
        backend.close()


def _run(shell: Shell, printer: Printer, options: argparse.Namespace, history: History) -> int:
    fmt = lambda: shell.state.get("OPH_TERM_FORMAT") or "classic"  # noqa: E731
    bars = TerminalProgress(enabled=not options.quiet and not options.json)
    shell.progress = bars

    def show(outcome: Outcome) -> None:
        bars.close()
        printer.show(outcome, fmt=fmt(), errors=False)

    def report(message: str) -> None:
        bars.close()
        printer.error(message)

    if options.workflow:
        args = options.workflow_args.split(",") if options.workflow_args else []
        outcome = shell.run_workflow(options.workflow, args)
        bars.close()
        printer.show(outcome, fmt=fmt())
        return outcome.exit_code
    if options.execute is not None:
        history.append(options.execute)
        outcome = shell.run_line(options.execute)
        bars.close()
        printer.show(outcome, fmt=fmt())
        return outcome.exit_code
    from ophsh.shell.script import run_script, run_text

    if options.script:
        script = Path(options.script)
        return run_script(
            shell, script, options.args, keep_going=options.keep_going, show=show, report=report
        )
    if not sys.stdin.isatty():
        return run_text(
            shell,
            sys.stdin.read(),
            "<stdin>",
            [],
            keep_going=options.keep_going,
            show=show,
            report=report,
        )
    from ophsh.repl.app import run_repl

    return run_repl(shell, printer, history.path, __version__, progress=not options.quiet)


def _log_to_file() -> None:
    """The log (tracebacks of internal errors, what completion could not list) goes to a file:
    the terminal shows one line per error, and nothing lands in what the user types."""
    root = logging.getLogger()
    root.setLevel(logging.WARNING)
    path = log_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.FileHandler(path)
    except OSError:  # no writable log directory: standard error it is
        handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.handlers = [handler]
